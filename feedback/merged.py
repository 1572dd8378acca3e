"""Every petitioner answered (issue 15).

A case merged into another (co-petitioners, the same matter from another channel, a 12345
duplicate) is not handled on its own, but its petitioner is answered and visited as if it
were:

- when the main case is replied to, each case merged into it (and each case merged into
  those) gets a Reply of its own carrying the main case's answer, by its own petitioner's
  channel, in the reply's transaction; a case merged after the reply gets the main case's
  standing reply at merge time (a consequence of the `merge` transition);
- its petitioner gives their own verdict (the `record_merged_visit` act, or their signed
  rating link), stored as a ReturnVisit on the merged case, which stays MERGED;
- the main case's events say so (`merged_answered`, `merged_verdict`), so that its figures
  are read from its own events: petitioners_answered = the main petitioner (when the main
  case was answered) + each merged petitioner answered; its visit verdicts count the merged
  petitioners' verdicts too (they are petitioners), while volume counts the matter once
  (a merged case is invalid for volume).

The merged petitioner reads the main case's answer, never the main petitioner's identity:
their name, phones, ID number, e-mail and address are taken out of the relayed text.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import services as case_services
from cases.acts import ensure_allowed
from cases.models import (Case, Delivery, DeliveryChannel, Petitioner, ReplyChannel,
                          Satisfaction, State, condition)
from cases.notifications import Message, alert_supervisors, notify_many, office_staff
from dispatch.notices import mobile_number, petitioner_channel

from .models import RatingLinkUse, Reply, ReturnVisit, VisitMethod

# Events on the merged case.
MERGED_REPLY = "merged_reply"
MERGED_VISIT = "record_merged_visit"  # the act's name: its label names the event
# Events on the main case (the figures read them).
MERGED_ANSWERED = "merged_answered"
MERGED_VERDICT = "merged_verdict"


# ---------------------------------------------------------------- the merged cases
def is_merged(case_id: int) -> bool:
    return Case.objects.filter(pk=case_id, state=State.MERGED).exists()


def top_case_of(case: Case) -> Case:
    """The case a merged case's matter is handled under (a merged case's main case may
    itself have been merged since)."""
    seen = {case.pk}
    while case.state == State.MERGED and case.merged_into_id and case.merged_into_id not in seen:
        case = Case.objects.get(pk=case.merged_into_id)
        seen.add(case.pk)
    return case


def merged_below(case: Case) -> list[Case]:
    """Every case merged into this one, and into those, locked, in order of key (call with
    `case` locked: the main case first, then what hangs off it)."""
    found: list[int] = []
    level = [case.pk]
    while level:
        level = list(Case.objects.filter(merged_into_id__in=level, state=State.MERGED)
                     .exclude(pk__in=[case.pk, *found]).values_list("pk", flat=True))
        found.extend(level)
    return list(Case.objects.select_for_update().filter(pk__in=found).order_by("pk"))


def merged_channel(case: Case) -> str:
    """How a merged petitioner is told: the way chosen with them or the way they came
    (dispatch.notices.petitioner_channel: e-mail needs their address, SMS a mobile). A
    petitioner who came by phone, in person or through 12345 gets the answer in writing by
    SMS when they have a mobile number, else the office calls them."""
    channel = petitioner_channel(case)
    if channel == ReplyChannel.PHONE and not case.reply_channel and mobile_number(case):
        return ReplyChannel.SMS
    return channel


def without_identity(text: str, of: Petitioner, for_: Petitioner) -> str:
    """The main case's answer as a merged petitioner may read it: the main petitioner's
    name becomes the reader's own, their phones, ID number, e-mail and address are masked."""
    if not text:
        return text
    if of.pk == for_.pk:
        return text
    if len(of.name or "") >= 2 and of.name != for_.name:
        text = text.replace(of.name, for_.name)
    for value in (of.phone, of.phone_alt, of.id_number, of.email, of.address):
        value = (value or "").strip()
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


# ---------------------------------------------------------------- the answer
def relay_reply(main: Case, reply: Reply, *, actor, to: list[Case] | None = None) -> list[Reply]:
    """Answer the merged petitioners with the main case's reply (call with `main` locked,
    in the act's transaction): one Reply each, by their own channel, an event on each
    merged case and one on the main case per petitioner answered."""
    relayed = []
    main_petitioner = Petitioner.objects.get(pk=main.petitioner_id)
    for merged in merged_below(main) if to is None else to:
        relayed.append(_relay(main, main_petitioner, reply, merged, actor=actor))
    return relayed


def _relay(main: Case, main_petitioner: Petitioner, reply: Reply, merged: Case, *,
           actor) -> Reply:
    petitioner = merged.petitioner
    channel = merged_channel(merged)
    own = Reply.objects.create(
        case=merged, channel=channel,
        content=without_identity(reply.content, main_petitioner, petitioner),
        next_steps=without_identity(reply.next_steps, main_petitioner, petitioner),
        handling_unit=reply.handling_unit, sent_by=reply.sent_by, sent_at=timezone.now())
    if merged.reply_channel != channel:
        merged.reply_channel = channel  # the letter's and the next message's channel
        merged.save(update_fields=["reply_channel"])
    case_services.record_event(merged, actor=actor, action=MERGED_REPLY,
                               data={"channel": channel, "reply": own.pk,
                                     "main_reply": reply.pk})
    case_services.record_event(main, actor=actor, action=MERGED_ANSWERED,
                               data={"case": merged.number, "reply": own.pk,
                                     "channel": channel})
    tell_merged_petitioner(merged, own)
    return own


def tell_merged_petitioner(case: Case, reply: Reply) -> None:
    """The answer leaves by the merged petitioner's channel: an e-mail (with their own
    rating link) or an SMS record through the outbox, a letter or a call as a task for the
    office; a web petitioner reads it on the tracking page."""
    from .services import rating_url

    facts = {"office": settings.OFFICE_NAME, "number": case.number,
             "url": settings.PUBLIC_SITE_URL + rating_url(reply)}
    if reply.channel == ReplyChannel.EMAIL:
        body = "\n\n".join([
            _("您反映的事项（案件编号 %(number)s）已与同一事项合并办理，现答复如下：") % facts,
            reply.full_text,
            _("办理单位：%(unit)s") % {"unit": reply.handling_unit},
            _("请通过下面的链接评价办理结果（链接只能使用一次，%(days)s 天内有效，请勿转发）：\n%(url)s")
            % {**facts, "days": settings.RATING_LINK_MAX_AGE_DAYS}])
        case_services.queue_deliveries([Delivery(
            channel=DeliveryChannel.EMAIL, to=case.petitioner.email, case=case, body=body,
            subject=_("%(office)s 答复意见（%(number)s）") % facts)])
    elif reply.channel == ReplyChannel.SMS:
        case_services.queue_deliveries([Delivery(
            channel=DeliveryChannel.SMS, to=mobile_number(case), case=case,
            subject=_("答复短信（%(number)s）") % facts,
            body=_("【%(office)s】您反映的事项（案件编号 %(number)s）已合并办理并答复：%(text)s"
                   "（办理单位：%(unit)s）。评价办理结果：%(url)s") % {
                **facts, "text": reply.full_text, "unit": reply.handling_unit})])
    elif reply.channel in (ReplyChannel.LETTER, ReplyChannel.PHONE):
        how = (_("请打印本案的答复意见书（案件页“文书与办理情况”）寄送信访人。")
               if reply.channel == ReplyChannel.LETTER else _("请按答复意见电话答复信访人。"))
        notify_many([Message(
            office_staff(), "merged_reply",
            _("请答复并案信访人：%(number)s（%(channel)s）") % {
                "number": case.number, "channel": ReplyChannel(reply.channel).label},
            "\n".join([_("该信访人反映的事项已合并办理，主案已答复。"), how]), case)])


def answer_at_merge(case: Case) -> None:
    """The `merge` transition's consequence: a case merged into one already answered gets
    the standing reply now (with the cases merged into it). `case` and its main case are
    locked by merge_case."""
    main = Case.objects.get(pk=case.merged_into_id)
    if main.replied_at is None:
        return  # not answered yet, or reopened: the next reply answers everyone
    reply = main.replies.order_by("-sent_at", "-pk").first()
    if reply is None:
        return
    merge_event = case.events.filter(action="merge").order_by("-pk").first()
    actor = merge_event.actor if merge_event else None
    relay_reply(main, reply, actor=actor, to=[case, *merged_below(case)])


# ---------------------------------------------------------------- the merged petitioner's verdict
def reply_awaiting_visit(case: Case) -> Reply | None:
    """A merged case's latest relayed reply while its petitioner's verdict on it is still
    to be heard, else None."""
    if case.state != State.MERGED:
        return None
    reply = case.replies.order_by("-sent_at", "-pk").first()
    if reply is None or RatingLinkUse.objects.filter(reply=reply).exists():
        return None
    if case.return_visits.filter(reached=True, visited_at__gte=reply.sent_at).exists():
        return None
    return reply


@condition(gettext_lazy("并案信访人尚未收到答复，或已经回访"))
def awaits_merged_visit(case: Case) -> bool:
    return reply_awaiting_visit(case) is not None


def _lock_for_visit(case_id: int) -> tuple[Case, Case]:
    """The main case, then the merged case, locked in that order (as the reply locks)."""
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        raise ValidationError({"case": _("案件不存在。")})
    top = top_case_of(case)
    top = case_services.lock_case(top.pk) if top.pk != case.pk else None
    case = case_services.lock_case(case_id)
    return top, case


@case_services.act_transaction
def record_merged_visit(*, actor, case_id: int, method: str, reached: bool,
                        is_solved: bool | None = None, satisfaction: str = "",
                        comments: str = "") -> ReturnVisit:
    """回访（并案信访人）: the merged petitioner's own verdict on the answer relayed to them;
    the merged case stays MERGED. The verdict is the main case's too (its figures count
    it); an unsatisfied one alerts the supervisors, who may reopen the main case."""
    top, case = _lock_for_visit(case_id)
    return _record(top, case, actor=actor, method=method, reached=reached,
                   is_solved=is_solved, satisfaction=satisfaction, comments=comments)


def _record(top: Case | None, case: Case, *, actor, method: str, reached: bool,
            is_solved, satisfaction: str, comments: str) -> ReturnVisit:
    ensure_allowed("record_merged_visit", actor, case)
    if method not in VisitMethod.values:
        raise ValidationError({"method": _("请选择回访方式。")})
    if reached not in (True, False):
        raise ValidationError({"reached": _("请说明是否联系上信访人。")})
    comments = (comments or "").strip()
    if reached:
        satisfaction = case_services.choice("satisfaction", satisfaction, Satisfaction,
                                            _("请选择满意度。"))
        if is_solved not in (True, False):
            raise ValidationError({"is_solved": _("请选择问题是否已解决。")})
    else:
        is_solved, satisfaction = None, ""
    visit = ReturnVisit.objects.create(
        case=case, method=method, reached=reached, is_solved=is_solved,
        satisfaction=satisfaction, comments=comments,
        visited_by=case_services.staff_or_none(actor))
    verdict = {"reached": reached, "is_solved": is_solved, "satisfaction": satisfaction,
               "method": method}
    case_services.record_event(case, actor=actor, action=MERGED_VISIT, note=comments,
                               data=verdict)
    if reached and top is not None:
        case_services.record_event(top, actor=actor, action=MERGED_VERDICT,
                                   data={"case": case.number, **verdict})
        if satisfaction == Satisfaction.UNSATISFIED:
            alert_supervisors(case=top, kind="merged_unsatisfied", body=comments,
                              title=_("并案信访人不满意：%(number)s（主案 %(main)s）") % {
                                  "number": case.number, "main": top.number})
    return visit


def rate_by_link(*, case_id: int, reply_id: int, is_solved: bool, satisfaction: str,
                 comments: str) -> ReturnVisit:
    """The merged petitioner's rating through their own signed link (call inside the
    act's transaction): their verdict, once per link, for their latest reply only."""
    from cases.roles import VerifiedPetitioner

    top, case = _lock_for_visit(case_id)
    latest = case.replies.order_by("-sent_at", "-pk").first()
    if latest is None or latest.pk != reply_id:
        raise ValidationError({"token": _("这个评价链接已失效：案件已有新的答复，请使用新答复中的链接。")})
    if RatingLinkUse.objects.filter(reply=latest).exists():
        raise ValidationError({"token": _("这个评价链接已经使用过，感谢您的评价。")})
    visit = _record(top, case, actor=VerifiedPetitioner(case.pk), method=VisitMethod.PUBLIC,
                    reached=True, is_solved=is_solved, satisfaction=satisfaction,
                    comments=comments)
    try:
        with transaction.atomic():
            RatingLinkUse.objects.create(reply=latest, visit=visit)
    except IntegrityError:
        raise ValidationError({"token": _("这个评价链接已经使用过，感谢您的评价。")}) from None
    return visit


# ---------------------------------------------------------------- the figures
ANSWERING_ACTIONS = ("reply_to_petitioner", "answer_on_the_spot")


def petitioner_facts(case: Case, events, *, valid: bool, rounds) -> dict:
    """oversight.figures' extension: petitioners_answered on a valid case = 1 when its own
    petitioner was answered (a reply, or an answer on the spot) + each merged petitioner
    answered with its reply (once each, however many rounds); its visit verdicts count the
    merged petitioners' verdicts too. A merged case counts nothing here: its matter and its
    petitioner are counted on the main case."""
    if not valid:
        return {"petitioners_answered": 0}
    answered = any(event.action in ANSWERING_ACTIONS for event in events)
    merged = {(event.data or {}).get("case") for event in events
              if event.action == MERGED_ANSWERED}
    facts = {"petitioners_answered": int(answered) + len(merged)}
    verdicts = [event.data or {} for event in events if event.action == MERGED_VERDICT]
    if verdicts:
        facts["visited"] = case.visit_count + len(verdicts)
        facts["solved"] = case.solved_visits + sum(v.get("is_solved") is True for v in verdicts)
        facts["satisfied"] = case.satisfied_visits + sum(
            v.get("satisfaction") in (Satisfaction.SATISFIED, Satisfaction.BASICALLY)
            for v in verdicts)
    return facts
