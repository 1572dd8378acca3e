"""The closing acts: the reply, the return visit and its verdict, reopening, the archive."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.acts import ensure_allowed
from cases.calendar import compute_due_at, deadline_after
from cases.escalation import schedule
from cases.models import (Case, Delivery, InvalidReason, ReplyChannel, Satisfaction,
                          TimeUnit)
from cases.notifications import alert_supervisors, lead_workers, tell
from cases.roles import VerifiedPetitioner

from . import filing, merged
from .models import (ArchiveFile, RatingLinkUse, Reply, RetentionPeriod, ReturnVisit,
                     VisitMethod)


# ---------------------------------------------------------------- the reply
@case_services.act_transaction
def send_reply(*, actor, case_id: int, channel: str, content: str,
               next_steps: str = "") -> Reply:
    """答复: tell the petitioner the approved result; by e-mail too when they gave an
    address (sent after commit, once). The Reply row is the one record of what was said.

    The return visit is then due within the tier's working days. A two-stage tier's
    (T4's) first reply in a round is the next steps (下一步工作, required): the case goes
    back to its department for the final result, due the tier's calendar days after the
    round began (acceptance or reopening), and the final result's reply is the one that
    is visited."""
    case = case_services.lock_case(case_id)
    content = case_services.required_text("content", content, _("请填写答复内容。"))
    next_steps = (next_steps or "").strip()
    channel = case_services.choice("channel", channel, ReplyChannel, _("请选择答复方式。"))
    now = timezone.now()
    stage, deadlines = _reply_stage(case, now)
    if stage == "next_steps" and not next_steps:
        raise ValidationError({"next_steps": _(
            "复杂疑难件先答复下一步工作：请填写下一步工作安排和最终结果的答复时间。")})
    case_services.move(
        case.reply_to_petitioner, actor=actor, note=content,
        data={"channel": channel, "stage": stage,
              **({"next_steps": next_steps} if next_steps else {}),
              **{name: value.isoformat() for name, value in deadlines.items()}},
        then=schedule, at=now, channel=channel, **deadlines)
    if stage == "next_steps":
        tell(lead_workers(case), kind="next_steps_replied", case=case, skip=actor,
             title=_("已答复下一步工作：%(number)s，%(due)s 前提交最终结果") % {
                 "number": case.number,
                 "due": timezone.localtime(case.final_due_at).strftime("%m-%d %H:%M")},
             body=next_steps)
    reply = Reply.objects.create(
        case=case, channel=channel, content=content, next_steps=next_steps,
        handling_unit=case.lead_department.name if case.lead_department else settings.OFFICE_NAME,
        sent_by=actor, sent_at=now)
    if case.petitioner.email:
        body = "\n\n".join([reply.full_text, _(
            "请通过下面的链接评价办理结果（链接只能使用一次，%(days)s 天内有效，请勿转发）：\n%(url)s") % {
                "days": settings.RATING_LINK_MAX_AGE_DAYS,
                "url": settings.PUBLIC_SITE_URL + rating_url(reply)}])
        case_services.queue_deliveries([Delivery(
            to=case.petitioner.email, case=case, body=body,
            subject=_("%(office)s 答复意见（%(number)s）") % {"office": settings.OFFICE_NAME,
                                                          "number": case.number})])
    # Every petitioner answered: each case merged into this one gets the answer too.
    merged.relay_reply(case, reply, actor=actor)
    return reply


def _reply_stage(case: Case, now) -> tuple[str, dict]:
    """Which answer this reply is ("next_steps", "final" or "reply") and the deadline it
    sets: the final result's after the next steps, else the return visit's."""
    tier = case.tier
    if case.is_two_stage and case.replied_at is None:
        started = case.reopened_at or case.accepted_at or now
        return "next_steps", {"final_due_at": started + timedelta(days=tier.final_result_days)}
    stage = "final" if case.awaits_final_result else "reply"
    visit_due_at = None
    if tier is not None:
        visit_due_at = deadline_after(now, tier.return_visit_working_days,
                                      TimeUnit.WORKING_DAYS).due_at
    return stage, {"visit_due_at": visit_due_at} if visit_due_at else {}


# ---------------------------------------------------------------- the return visit
@case_services.act_transaction
def record_visit(*, actor, case_id: int, method: str, reached: bool,
                 is_solved: bool | None = None, satisfaction: str = "",
                 comments: str = "") -> ReturnVisit:
    """回访: one attempt. Reached: the verdict (unsatisfied reopens the case, and a second
    unsatisfied verdict on the same case alerts the supervisors). Not reached: counted;
    after VISIT_MAX_ATTEMPTS of them the replied case may be archived unvisited."""
    case = case_services.lock_case(case_id)
    if method not in VisitMethod.values:
        raise ValidationError({"method": _("请选择回访方式。")})
    if reached not in (True, False):
        raise ValidationError({"reached": _("请说明是否联系上信访人。")})
    comments = (comments or "").strip()
    if reached:
        _record_verdict(case, actor=actor, is_solved=is_solved, satisfaction=satisfaction,
                        comments=comments)
    else:
        ensure_allowed("record_unreached_visit", actor, case)
        case.unreached_visits += 1
        # The last attempt allowed ends the visit's ladder (the case may be archived).
        schedule(case)
        case.save(update_fields=["unreached_visits", "next_action_at"])
        ends_visit = case.unreached_visits >= settings.VISIT_MAX_ATTEMPTS
        case_services.record_event(case, actor=actor, action="visit_unreached", note=comments,
                                   data={"attempt": case.unreached_visits,
                                         "ends_visit": ends_visit})
    visit = ReturnVisit.objects.create(
        case=case, method=method, reached=reached,
        is_solved=is_solved if reached else None, satisfaction=satisfaction if reached else "",
        comments=comments, visited_by=case_services.staff_or_none(actor))
    if reached and satisfaction == Satisfaction.UNSATISFIED:
        unsatisfied = case.return_visits.filter(satisfaction=Satisfaction.UNSATISFIED).count()
        if unsatisfied >= 2:
            alert_supervisors(
                case=case, kind="unsatisfied_again",
                title=_("再次不满意：%(number)s（第%(n)s次）") % {"number": case.number,
                                                              "n": unsatisfied},
                body=comments)
    return visit


@case_services.act_transaction
def record_unreached_visit(*, actor, case_id: int, method: str, comments: str = "") -> ReturnVisit:
    """A return-visit attempt that did not reach the petitioner."""
    return record_visit(actor=actor, case_id=case_id, method=method, reached=False,
                        comments=comments)


def _record_verdict(case: Case, *, actor, is_solved, satisfaction: str, comments: str) -> None:
    """The petitioner's verdict on a locked case; unsatisfied reopens it to its department."""
    satisfaction = case_services.choice("satisfaction", satisfaction, Satisfaction,
                                        _("请选择满意度。"))
    if is_solved not in (True, False):
        raise ValidationError({"is_solved": _("请选择问题是否已解决。")})
    case_services.move(case.record_return_visit, actor=actor, note=comments,
                       data={"is_solved": is_solved, "satisfaction": satisfaction},
                       then=schedule, at=timezone.now(), is_solved=is_solved,
                       satisfaction=satisfaction)
    if satisfaction == Satisfaction.UNSATISFIED:
        _reopen(case, actor=actor, note=comments or _("信访人对办理结果不满意"),
                data={"by_return_visit": True})


# ---------------------------------------------------------------- the petitioner's rating
RATING_SALT = "feedback.rating_link"


def rating_token(reply: Reply) -> str:
    """The signed token of a reply's rating link: it names the case and the reply, so it
    rates that reply only, and it is honoured once (RatingLinkUse)."""
    return signing.dumps({"case": reply.case_id, "reply": reply.pk}, salt=RATING_SALT)


def rating_url(reply: Reply) -> str:
    """The link's path (the token in the query string, which the access logs leave out)."""
    return f"{reverse('feedback:public_rate')}?{urlencode({'t': rating_token(reply)})}"


def read_rating_token(token: str) -> dict:
    """The token's case and reply, or a ValidationError on `token` when it was altered or
    is older than RATING_LINK_MAX_AGE_DAYS."""
    try:
        payload = signing.loads(token or "", salt=RATING_SALT,
                                max_age=settings.RATING_LINK_MAX_AGE_DAYS * 86400)
    except signing.SignatureExpired:
        raise ValidationError({"token": _("这个评价链接已过期。")}) from None
    except signing.BadSignature:
        raise ValidationError({"token": _("这个评价链接无效。")}) from None
    if not (isinstance(payload, dict) and isinstance(payload.get("case"), int)
            and isinstance(payload.get("reply"), int)):
        raise ValidationError({"token": _("这个评价链接无效。")})
    return payload


@case_services.act_transaction
def rate_by_link(*, token: str, is_solved: bool, satisfaction: str,
                 comments: str = "") -> ReturnVisit:
    """The petitioner's own rating through the signed link sent with the reply: it is the
    return visit (网上评价), made once per link, and only for the case's latest reply; the
    visit is tied to the link that made it."""
    payload = read_rating_token(token)
    if merged.is_merged(payload["case"]):
        # A merged petitioner's own link (their case stays merged: feedback.merged).
        return merged.rate_by_link(case_id=payload["case"], reply_id=payload["reply"],
                                   is_solved=is_solved, satisfaction=satisfaction,
                                   comments=comments)
    case = case_services.lock_case(payload["case"])
    latest = case.replies.order_by("-sent_at", "-pk").first()
    if latest is None or latest.pk != payload["reply"]:
        raise ValidationError({"token": _("这个评价链接已失效：案件已有新的答复，请使用新答复中的链接。")})
    if RatingLinkUse.objects.filter(reply=latest).exists():
        raise ValidationError({"token": _("这个评价链接已经使用过，感谢您的评价。")})
    visit = record_visit(actor=VerifiedPetitioner(case.pk), case_id=case.pk,
                         method=VisitMethod.PUBLIC, reached=True, is_solved=is_solved,
                         satisfaction=satisfaction, comments=comments)
    try:
        with transaction.atomic():
            RatingLinkUse.objects.create(reply=latest, visit=visit)
    except IntegrityError:  # the case lock makes this a belt to the braces
        raise ValidationError({"token": _("这个评价链接已经使用过，感谢您的评价。")}) from None
    return visit


# ---------------------------------------------------------------- reopening
def _reopen(case: Case, *, actor, note: str, data: dict | None = None) -> None:
    """重办 is a new round: the tier's full time again from now (the calendar applies),
    and a fresh escalation ladder, whose steps and supervision orders are the round's own.
    The lead department is told."""
    data = dict(data or {})

    def restart_clock(case: Case) -> None:
        # Runs once the transition is known to be legal.
        now = timezone.now()
        case.reopened_at = now
        case.due_at = compute_due_at(case.tier, now).due_at
        case.escalation_step = ""
        schedule(case)
        data["due_at"] = case.due_at.isoformat()

    case_services.move(case.reopen, actor=actor, note=note, data=data, then=restart_clock)
    tell(lead_workers(case), kind="reopened", case=case, skip=actor,
         title=_("重办：%(number)s，%(due)s 前再次答复") % {
             "number": case.number,
             "due": timezone.localtime(case.due_at).strftime("%m-%d %H:%M")},
         body=note)


@case_services.act_transaction
def reopen_case(*, actor, case_id: int, reason: str) -> Case:
    """重办: back to the lead department after its return visit.

    An unsatisfied visit does this by itself; the office or a supervisor may also decide
    it, with a reason, when the result does not hold up.
    """
    case = case_services.lock_case(case_id)
    reason = case_services.required_text("reason", reason, _("请说明重办原因。"))
    _reopen(case, actor=actor, note=reason)
    return case


# ---------------------------------------------------------------- the archive
@case_services.act_transaction
def archive_case(*, actor, case_id: int, invalid_reason: str = "", note: str = "",
                 retention: str = "") -> Case:
    """归档: the file is closed and read-only; an invalid case is left out of the rates.

    The file is given its retention period (the archivist's `retention`, else the rule's:
    feedback.filing) and, as the act's last step, its archive number (档号)."""
    case = case_services.lock_case(case_id)
    if invalid_reason:
        case_services.choice("invalid_reason", invalid_reason, InvalidReason,
                             _("无效件原因不在列表中。"))
    if retention:
        case_services.choice("retention", retention, RetentionPeriod,
                             _("保管期限不在列表中。"))
        basis = _("归档人确定")
    else:
        retention, basis = filing.retention_by_rule(case, invalid_reason=invalid_reason)
    now = timezone.now()
    case_services.move(case.archive, actor=actor, note=note,
                       data={"invalid_reason": invalid_reason, "retention": retention},
                       at=now, invalid_reason=invalid_reason)
    fonds_code, year = filing.fonds(), timezone.localdate(now).year
    serial = filing.next_serial(fonds_code=fonds_code, year=year, retention=retention)
    ArchiveFile.objects.create(
        case=case, fonds=fonds_code, year=year, retention=retention, serial=serial,
        number=filing.format_archive_number(fonds_code, year, retention, serial),
        retention_basis=basis, filed_at=now)
    return case
