"""The intake acts: register a matter, accept it, answer it on the spot, refuse it with
guidance, merge it into an earlier case, withdraw it; the counter's registration with its
outcome, and the public's submission."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.exceptions import RecordConflict
from cases.identity import mask_phone
from cases import services as case_services
from cases import chain
from cases import reference as case_reference
from cases.attachments import check_public_uploads
from cases.calendar import compute_accept_by, compute_due_at
from cases.escalation import schedule
from cases.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Delivery,
    Department,
    Petitioner,
    Representative,
    State,
    Tier,
    TierPolicy,
)
from cases.notifications import alert_supervisors
from cases.numbering import provisional_number
from cases.roles import OFFICE_ROLES, Role, has_role
from cases.validators import normalize_phone

from . import query_codes, selectors, triage
from .models import IntakeSubmission

DEFAULT_TIER = Tier.T3


# ---------------------------------------------------------------- the intake acts
@case_services.act_transaction
def register_case(
    *,
    actor,
    channel: str,
    petitioner: Petitioner,
    summary: str,
    content: str,
    demands: str = "",
    place: str = "",
    category: Category | None = None,
    tier: TierPolicy | None = None,
    is_confidential: bool = False,
    is_sensitive: bool = False,
    is_collective: bool = False,
    head_count: int | None = None,
    is_abnormal: bool = False,
    earlier_case: Case | None = None,
    external_reference: str = "",
    platform_due_at: datetime | None = None,
    complained_department: Department | None = None,
    complained_section: str = "",
    complained_person: str = "",
) -> Case:
    """Record a matter as it reached the office; it waits in `received` for an outcome.

    Staff register by any channel; the public (actor None) only through the web form and
    the office's mailbox (intake.mail: the message's sender is the petitioner). The
    case's clock starts now: the channel's acceptance time limit, and for a 12345 transfer
    the platform's deadline for the answer. The case gets its query code (查询码), kept as
    a hash; the code itself is on the returned object (`case.query_code`), to be shown
    once to whoever registered it, and is e-mailed to the petitioner who gave an address.
    """
    if actor is None:
        if channel not in (Channel.WEB, Channel.EMAIL):
            raise PermissionDenied(_("公众只能通过网上信访或电子邮件提交。"))
    elif not has_role(actor, *OFFICE_ROLES, Role.PLATFORM):
        raise PermissionDenied(_("只有信访办工作人员或对接平台可以登记案件。"))
    if is_collective and (head_count is None or head_count < 2):
        raise ValidationError({"head_count": _("集体访须填写来访人数（至少2人）。")})
    if petitioner.pk is None:
        raise ValidationError({"petitioner": _("请先保存信访人信息。")})
    now = timezone.now()
    case = Case(
        channel=channel,
        petitioner=petitioner,
        summary=(summary or "").strip(),
        content=(content or "").strip(),
        demands=(demands or "").strip(),
        place=(place or "").strip(),
        category=category,
        tier=tier,
        registered_by=actor,
        is_confidential=is_confidential or petitioner.wants_confidentiality,
        is_sensitive=is_sensitive,
        is_collective=is_collective,
        head_count=head_count if is_collective else None,
        is_abnormal=is_abnormal,
        is_repeat=earlier_case is not None,
        earlier_case=earlier_case,
        external_reference=(external_reference or "").strip(),
        platform_due_at=platform_due_at,
        received_at=now,
        **complained_party(department=complained_department, section=complained_section,
                           person=complained_person),
    )
    if category is not None:
        # The held copy, with its parent and default tier: the triage, the acceptance
        # and the answer read them without a query each.
        case.category = case_reference.categories().get(category.pk, category)
    # The references are the service's own objects, already read: their existence is not
    # asked of the database again (three SELECTs per registration). The table's one
    # constraint (a collective visit's head count) is checked above, not by a SELECT.
    case.full_clean(exclude=["number", "state", "petitioner", "category", "tier",
                             "registered_by", "earlier_case", "complained_department"],
                    validate_constraints=False)
    data = {"earlier_case": earlier_case.number} if earlier_case else {}
    # Arrived without a category (API, portal, e-mail): the suggestion is applied, marked
    # as such, so that the clock starts on the right tier; the dispatcher confirms it.
    suggestion = triage.suggest_for_case(case)
    applied = None
    if case.category_id is None and suggestion.category is not None and (
            suggestion.category.confidence >= settings.TRIAGE_APPLY_MIN_CONFIDENCE):
        applied = suggestion.category
        case.category = applied.value
        if case.tier_id is None and suggestion.tier is not None:
            case.tier = case_services.tier_by_code(suggestion.tier.value)
        data["triage"] = {"category": applied.value.name, "confidence": round(
            applied.confidence, 3), "source": applied.source, "reason": applied.reason}
    # Safety first: an emergency phrase makes it T1 from the first minute, an outage T2.
    safety = suggestion.safety
    if safety is not None:
        base = (case.tier.code if case.tier_id else
                case.category.default_tier.code if case.category_id and case.category.default_tier_id
                else DEFAULT_TIER)
        case.tier = case_services.tier_by_code(triage.floored(base, safety))
        data["safety"] = safety.as_data()
    data.update(_start_intake_clock(case))
    # Found once, here, from whichever door: the queue reads the event, the API answers it.
    repeats = selectors.repeat_candidates(case)
    if repeats:
        data["repeats"] = repeats
    # The gapless number is taken as the act's last statement (cases.numbering).
    case.number = provisional_number(case, year=timezone.localtime(now).year)
    case.save()
    chain.starts(case.pk)  # a new case: its first event's previous hash is known
    CaseEvent.record(
        case, actor=actor, action="register", from_state="",
        note=case.get_channel_display(), data=data,
    )
    case.query_code = _give_query_code(case, first=True)
    case.triage_suggestion = suggestion
    case.repeat_candidates = repeats
    if applied is not None:
        from dispatch.models import TriageRecord

        TriageRecord.objects.create(
            case=case, category=applied.value, tier=case.tier.code if case.tier_id else "",
            department=suggestion.department.value if suggestion.department else None,
            confidence=applied.confidence,
            reasons=[f"{option.source_label}：{option.reason}" for option in
                     (applied, suggestion.tier, suggestion.department) if option])
    if safety is not None and safety.is_emergency:
        _alert_emergency(case, safety)
    return case


def complained_party(*, department: Department | None, section: str, person: str) -> dict:
    """The party complained about (被投诉单位、科室、人员) as the case stores it: trimmed,
    within the field's length, no NUL character; errors name the field."""
    found = {"complained_department": department}
    for field, value, limit in (("complained_section", section, 100),
                                ("complained_person", person, 50)):
        value = " ".join((value or "").split())
        if "\x00" in value:
            raise ValidationError({field: _("内容含有不可见的控制字符，请重新填写。")})
        if len(value) > limit:
            raise ValidationError({field: _("最多 %(n)s 个字。") % {"n": limit}})
        found[field] = value
    if department is not None and not department.is_active:
        raise ValidationError({"complained_department": _("该部门已停用。")})
    return found


def _alert_emergency(case: Case, safety) -> None:
    """A danger to life: the dispatchers and supervisors hear of it at once (in the app
    and by e-mail), whoever registered it and through whichever door."""
    from cases.notifications import Message, notify_many, people_with_roles

    people = people_with_roles(Role.DISPATCHER, Role.SUPERVISOR)
    notify_many([Message(people, "emergency", _("紧急险情：%(number)s %(summary)s") % {
        "number": case.number, "summary": case.summary},
        _("涉及：%(phrases)s。请立即受理、交办（T1，2小时内答复）。") % {
            "phrases": "、".join(safety.phrases)}, case)])


def _give_query_code(case: Case, *, replacing: bool = False, first: bool = False) -> str:
    """A new query code for the case (replacing any earlier one; `first`: the case was
    made in this transaction and has none yet), e-mailed through the outbox to a
    petitioner who gave an address; answers the code."""
    code = query_codes.issue(case, first=first)
    email = case.petitioner.email
    if email:
        lines = [
            _("您反映的“%(summary)s”已登记，案件编号：%(number)s。") % {
                "summary": case.summary, "number": case.number},
            _("查询码：%(code)s") % {"code": query_codes.display(code)},
        ]
        if replacing:
            lines.append(_("此查询码取代此前告知您的查询码，原查询码已失效。"))
        lines.append(_("凭案件编号和查询码，可在 %(url)s 查询办理进度、阅读答复。查询码只告知这一次，请妥善保存，不要告诉他人。") % {
            "url": settings.PUBLIC_SITE_URL + reverse("intake:public_track")})
        case_services.queue_deliveries([Delivery(
            to=email, case=case, body="\n".join(lines),
            subject=_("%(office)s 已登记您的信访事项（%(number)s）") % {
                "office": settings.OFFICE_NAME, "number": case.number})])
    return code


@case_services.act_transaction
def reissue_query_code(*, actor, number: str) -> Case:
    """补发查询码: the petitioner lost the code; office staff give a new one (the old one
    stops working). The new code is on the returned case (`case.query_code`)."""
    if not has_role(actor, *OFFICE_ROLES):
        raise PermissionDenied(_("只有信访办工作人员可以补发查询码。"))
    case = Case.objects.filter(number=(number or "").strip().upper()).first()
    if case is None:
        raise ValidationError({"number": _("没有编号为 %(number)s 的案件。") % {
            "number": (number or "").strip().upper()}})
    case = case_services.lock_case(case.pk)
    case_services.record_event(case, actor=actor, action="query_code_reissued")
    case.query_code = _give_query_code(case, replacing=True)
    return case


def _start_intake_clock(case: Case) -> dict:
    """Stamp the acceptance time limit, the platform's deadline and the ladder's first
    step on an unsaved case (one small query for the channel's terms, plus the calendar
    for a limit in working days); answers what the register event records."""
    data = {}
    if case.channel == Channel.HOTLINE_12345 and case.platform_due_at:
        # The platform's deadline governs the answer from the moment the case arrives;
        # acceptance may only bring it forward (accept_case).
        case.due_at = case.platform_due_at
        data["due_at"] = case.due_at.isoformat()
    policy = case_reference.channel_policy(case.channel)
    case.channel_policy = policy
    if policy is not None:
        deadline = compute_accept_by(policy, case.received_at)
        # A transfer is decided on by the platform's deadline at the latest; the ladder
        # also takes its steps in order, so no later step may fall before the intake ones.
        case.accept_by = min(filter(None, [deadline.due_at, case.due_at]))
        data["accept_by"] = case.accept_by.isoformat()
        if deadline.fallback_years:
            data["calendar_fallback_years"] = sorted(deadline.fallback_years)
    schedule(case)
    return data


def _registered_or_locked(case_id: int, registered: Case | None) -> Case:
    """The case an act works on, locked: the one this same transaction has just
    registered (the counter's outcome; no other transaction sees the row before the
    commit, so it is neither locked nor read again), else the row locked now."""
    if registered is not None and registered.pk == case_id:
        return registered
    return case_services.lock_case(case_id)


@case_services.act_transaction
def accept_case(*, actor, case_id: int, tier_code: str = "", note: str = "",
                registered: Case | None = None) -> Case:
    """受理: the clock starts; the tier is the one given, the category's, or T3."""
    case = _registered_or_locked(case_id, registered)
    if tier_code:
        case.tier = case_services.tier_by_code(tier_code)
    elif case.tier_id is None:
        default = case.category.default_tier if case.category_id else None
        case.tier = default or case_services.tier_by_code(DEFAULT_TIER)
    # No choice at acceptance goes below what the safety phrases set (a person lowers it
    # afterwards through 调整响应级别, with a reason).
    safety = triage.case_safety(case)
    raised = triage.floored(case.tier.code, safety)
    if raised != case.tier.code:
        case.tier = case_services.tier_by_code(raised)
    now = timezone.now()
    deadline = compute_due_at(case.tier, now)
    due_at = deadline.due_at
    data = {"tier": case.tier.code, "due_at": due_at.isoformat()}
    if safety is not None:
        data["safety"] = safety.as_data()
    if case.platform_due_at and case.platform_due_at < due_at:
        due_at = case.platform_due_at  # the 12345 platform's promise comes first
        data["due_at"] = due_at.isoformat()
        data["platform_due_at"] = True
    if deadline.fallback_years:
        data["calendar_fallback_years"] = sorted(deadline.fallback_years)
        note = " ".join(filter(None, [note, _(
            "%(years)s 年节假日未录入，期限按普通周末计算。"
        ) % {"years": "、".join(map(str, sorted(deadline.fallback_years)))}]))
    case_services.move(case.accept, actor=actor, note=note, data=data, at=now, due_at=due_at,
                       by=case_services.staff_or_none(actor), then=schedule)
    return case


@case_services.act_transaction
def answer_on_the_spot(*, actor, case_id: int, answer: str,
                       registered: Case | None = None) -> Case:
    """即办: a consultation answered at once."""
    case = _registered_or_locked(case_id, registered)
    answer = case_services.required_text("answer", answer, _("请填写答复内容。"))
    case_services.move(case.answer_on_the_spot, actor=actor, note=answer, at=timezone.now(),
                       answer=answer, by=case_services.staff_or_none(actor))
    return case


@case_services.act_transaction
def refuse_case(*, actor, case_id: int, reason: str, guidance: str,
                registered: Case | None = None) -> Case:
    """不予受理: outside the office's scope; the petitioner is told where to go instead."""
    case = _registered_or_locked(case_id, registered)
    reason = case_services.required_text("reason", reason, _("请填写不予受理的理由。"))
    guidance = case_services.required_text("guidance", guidance, _("请告知信访人应当向哪里反映。"))
    case_services.move(case.refuse, actor=actor, note=reason, data={"guidance": guidance},
                       at=timezone.now(), reason=reason, guidance=guidance,
                       by=case_services.staff_or_none(actor))
    return case


@case_services.act_transaction
def merge_case(*, actor, case_id: int, into_number: str, note: str = "",
               registered: Case | None = None) -> Case:
    """合并: the same matter is already being handled under an earlier number."""
    case = _registered_or_locked(case_id, registered)
    target = Case.objects.filter(number=(into_number or "").strip()).first()
    if target is None or target.pk == case.pk:
        raise ValidationError({"into_number": _("请填写要并入的另一件案件的编号。")})
    target = case_services.lock_case(target.pk)  # its event joins its chain (cases.chain)
    if target.state == State.MERGED:
        raise ValidationError({"into_number": _("案件 %(number)s 本身已被合并，请并入它的主案。")
                                              % {"number": target.number}})
    case.merged_into = target
    case_services.move(case.merge, actor=actor, note=note, data={"into": target.number},
                       at=timezone.now(), by=case_services.staff_or_none(actor))
    CaseEvent.record(target, actor=actor, action="merged_in", from_state=target.state,
                     note=note, data={"case": case.number})
    return case


@case_services.act_transaction
def withdraw_case(*, actor, case_id: int, reason: str) -> Case:
    """撤回: the petitioner withdraws the matter."""
    case = case_services.lock_case(case_id)
    reason = case_services.required_text("reason", reason, _("请填写撤回原因。"))
    case_services.move(case.withdraw, actor=actor, note=reason, at=timezone.now())
    return case


# ---------------------------------------------------------------- the counter
class Outcome:
    """How the clerk ends a registration (DESIGN: intake outcomes)."""

    LEAVE = "leave"  # stays received, for the dispatcher
    ACCEPT = "accept"
    ANSWER = "answer"
    REFUSE = "refuse"
    MERGE = "merge"
    ALL = (LEAVE, ACCEPT, ANSWER, REFUSE, MERGE)


def outcome_arguments(data: dict) -> dict:
    """The outcome and its details, from a form's or the API's cleaned data."""
    return {
        "outcome": data.get("outcome") or Outcome.LEAVE,
        "tier_code": data.get("tier") or "",
        "answer": data.get("answer") or "",
        "refusal_reason": data.get("refusal_reason") or "",
        "refusal_guidance": data.get("refusal_guidance") or "",
        "merge_into": data.get("merge_into") or "",
    }


PETITIONER_FIELDS = ("name", "gender", "age", "occupation", "id_number", "phone", "phone_alt",
                     "email", "address", "wants_confidentiality")


def save_petitioner(*, petitioner_id: int | None, details: dict,
                    public: bool = False) -> Petitioner:
    """The petitioner record to use. Validated field by field.

    - The record the clerk picked: brought up to date with what was filled in (the clerk
      saw it and decided).
    - Otherwise a record with the same ID number, only when the name and phone agree
      with it; it is then completed, never overwritten. When they disagree, the office
      (counter, API) is told which record holds the number and must decide
      (`RecordConflict`: a field error on the page, 409 in the API); the public, who
      must learn nothing of who else is registered, gets a record of its own.
    - Otherwise a new record.
    A wish for confidentiality, once expressed, is never taken back by a registration.
    """
    details = {key: details[key] for key in PETITIONER_FIELDS if key in details}
    for key in ("phone", "phone_alt"):
        if key in details:
            details[key] = normalize_phone(details[key])
    if details.get("id_number"):
        details["id_number"] = details["id_number"].strip().upper()
    person, overwrite = None, True
    if petitioner_id:
        person = Petitioner.objects.filter(pk=petitioner_id).first()
        if person is None:
            raise ValidationError({"petitioner": _("所选信访人不存在。")})
    elif details.get("id_number"):
        stored = petitioners_with_id_number(details["id_number"]).order_by("pk").first()
        if stored is not None:
            if _agrees(stored, details):
                person, overwrite = stored, False
            elif not public:
                raise RecordConflict({"id_number": [_(
                    "该身份证号码已登记为信访人“%(name)s”（联系电话 %(phone)s），与本次填写的"
                    "姓名或电话不同。是同一人的，请在“已登记信访人”中选择该记录（将按本次填写"
                    "更新）；不是的，请核对号码。") % {
                        "name": stored.name, "phone": mask_phone(stored.phone)}]})
    person = person or Petitioner()
    asked_before = bool(person.pk and person.wants_confidentiality)
    for key, value in details.items():
        if value in (None, "") and key != "wants_confidentiality":
            continue
        if not overwrite and getattr(person, key) not in (None, "", False):
            continue
        setattr(person, key, value)
    person.wants_confidentiality = asked_before or bool(details.get("wants_confidentiality"))
    person.full_clean()
    person.save()
    return person


def _agrees(stored: Petitioner, details: dict) -> bool:
    """The same person: the stored name and phone (where both are known) are the ones
    given now."""
    for key in ("name", "phone"):
        given, known = (details.get(key) or "").strip(), (getattr(stored, key) or "").strip()
        if given and known and given != known:
            return False
    return True


def petitioners_with_id_number(id_number: str):
    """Found by the keyed hash: the number itself is stored encrypted."""
    from cases.crypto import lookup_hash

    return Petitioner.objects.filter(id_number_hash=lookup_hash(id_number))


@case_services.act_transaction
def register_intake(
    *,
    actor,
    submission_token: uuid.UUID,
    petitioner_id: int | None = None,
    petitioner: dict,
    matter: dict,
    representatives: Sequence[dict] = (),
    attachments: Sequence = (),
    outcome: str = Outcome.LEAVE,
    tier_code: str = "",
    answer: str = "",
    refusal_reason: str = "",
    refusal_guidance: str = "",
    merge_into: str = "",
    fingerprint: str = "",
) -> Case:
    """Register a matter as it reached the office, and end it with the clerk's outcome.

    One transaction: the petitioner, the case, its representatives and files, the alerts,
    and the outcome all happen, or none does. The same submission token twice answers
    the case the first one made (marked `is_repeat`); with a `fingerprint` of the request
    (the API's request_id), the same token with another body is a RecordConflict.
    """
    if outcome not in Outcome.ALL:
        raise ValidationError({"outcome": _("请选择登记结论。")})
    existing = _claim_token(submission_token, fingerprint)
    if existing is not None:
        existing.is_repeat = True
        # The same form or API request again: its first answer (with the code) was lost
        # or is being replaced by this one, so this answer carries a new code.
        existing.query_code = _give_query_code(existing, replacing=True)
        return existing
    if len(representatives) > 5:
        raise ValidationError({"representatives": _("集体访代表最多5人。")})
    if len(attachments) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError({"attachments": _("一次最多上传 %(n)s 个文件。") % {
            "n": settings.ATTACHMENT_MAX_FILES}})
    person = save_petitioner(petitioner_id=petitioner_id, details=petitioner,
                             public=actor is None)
    # Its parts join its transaction (no savepoint each): a failed part fails it all.
    part = case_services.part_of_the_act
    case = part(register_case)(actor=actor, petitioner=person, **matter)
    code, suggestion = case.query_code, case.triage_suggestion
    for representative in representatives:
        Representative.objects.create(case=case, **representative)
    if attachments:  # a new case holds no files: no quota to read without uploads
        case_services.add_attachments(actor=actor, case=case, uploads=attachments)
    _alert_special_visits(case)
    IntakeSubmission.objects.filter(token=submission_token).update(case=case)

    try:
        if outcome == Outcome.ACCEPT:
            case = part(accept_case)(actor=actor, case_id=case.pk, tier_code=tier_code,
                               registered=case)
        elif outcome == Outcome.ANSWER:
            case = part(answer_on_the_spot)(actor=actor, case_id=case.pk, answer=answer,
                                      registered=case)
        elif outcome == Outcome.REFUSE:
            case = part(refuse_case)(actor=actor, case_id=case.pk, reason=refusal_reason,
                               guidance=refusal_guidance, registered=case)
        elif outcome == Outcome.MERGE:
            case = part(merge_case)(actor=actor, case_id=case.pk, into_number=merge_into,
                              registered=case)
    except ValidationError as error:
        # The acts name their own fields; the registration names them as its form does.
        raise ValidationError({OUTCOME_FIELDS.get(field, field): messages
                               for field, messages in error.message_dict.items()}) from error
    case.query_code, case.triage_suggestion = code, suggestion
    # What the answer offers next is asked of this object: it holds no file to share.
    case.registered_without_files = not attachments
    return case


OUTCOME_FIELDS = {"reason": "refusal_reason", "guidance": "refusal_guidance",
                  "into_number": "merge_into"}


def _claim_token(token, fingerprint: str = "") -> Case | None:
    """Claim the form's token; if it was claimed before, answer that registration's case.

    A second request with the same token waits on the unique index until the first one
    commits or rolls back, so two clicks never make two cases. A token sent again with
    another request body (another fingerprint) is refused: it is not the same request.
    """
    try:
        with transaction.atomic():
            IntakeSubmission.objects.create(token=token, fingerprint=fingerprint)
    except IntegrityError:
        claimed = IntakeSubmission.objects.select_related("case").get(token=token)
        if fingerprint and claimed.fingerprint != fingerprint:
            raise RecordConflict({"request_id": [
                _("此 request_id 已用于另一份不同内容的登记请求。")]}) from None
        return claimed.case
    return None


def _alert_special_visits(case: Case) -> None:
    """Collective and abnormal visits alert the supervisors at once (in the app and by e-mail)."""
    if case.is_collective:
        alert_supervisors(
            case=case, kind="collective_visit",
            title=_("集体访：%(number)s（%(count)s人）") % {"number": case.number,
                                                        "count": case.head_count},
            body=f"{case.summary}\n{case.content}",
        )
    if case.is_abnormal:
        alert_supervisors(
            case=case, kind="abnormal_visit",
            title=_("异常访：%(number)s") % {"number": case.number},
            body=f"{case.summary}\n{case.content}",
        )


def submit_online(*, submission_token: uuid.UUID, petitioner: dict, matter: dict,
                  attachments: Sequence = ()) -> Case:
    """The public's web form: the case waits in `received` for the office. Anonymous
    uploads have smaller limits than the office's."""
    check_public_uploads(attachments)
    return register_intake(
        actor=None, submission_token=submission_token, petitioner=petitioner,
        matter={**matter, "channel": Channel.WEB}, attachments=attachments,
    )


# ---------------------------------------------------------------- files kept across a failed submit
# How long a staged file waits for its form to be sent again (hours; data, not code).
STAGED_UPLOAD_HOURS = settings.STAGED_UPLOAD_HOURS


@case_services.act_transaction
def register_at_the_counter(*, actor, submission_token: uuid.UUID, attachments: Sequence = (),
                            dropped_staged: Sequence[int] = (), **registration) -> Case:
    """register_intake with the files this clerk staged for this form (less those they
    removed) and the ones just uploaded. The staged rows go in the same transaction; their
    files are removed once it commits."""
    from django.core.files import File

    from .models import StagedUpload

    rows = list(StagedUpload.objects.select_for_update().filter(
        token=submission_token, uploaded_by=actor).order_by("created_at", "pk"))
    kept = [row for row in rows if row.pk not in set(dropped_staged)]
    files = [File(row.file.open("rb"), name=row.original_name) for row in kept]
    try:
        case = case_services.part_of_the_act(register_intake)(
            actor=actor, submission_token=submission_token,
            attachments=[*files, *attachments], **registration)
    finally:
        for file in files:
            file.close()
    _discard_staged(rows)
    return case


@transaction.atomic
def keep_uploads_for_resubmission(*, actor, submission_token: uuid.UUID | None,
                                  uploads: Sequence = (), dropped: Sequence[int] = ()
                                  ) -> tuple[list, list[str]]:
    """A counter form came back with errors: keep the files just sent (each judged as an
    attachment is) for its next submission, drop those the clerk removed, and answer the
    files now kept and the reasons any upload was refused. Only this clerk's files for
    this form are ever read or changed."""
    from cases.attachments import check_upload

    from .models import StagedUpload

    discard_stale_staged_uploads(now=timezone.now())
    if submission_token is None:
        return [], []
    mine = StagedUpload.objects.filter(token=submission_token, uploaded_by=actor)
    if dropped:
        _discard_staged(list(mine.filter(pk__in=dropped)))
    held = mine.count()
    refused = []
    for upload in uploads:
        if held >= settings.ATTACHMENT_MAX_FILES:
            refused.append(_("一次最多上传 %(n)s 个文件。") % {"n": settings.ATTACHMENT_MAX_FILES})
            break
        try:
            content_type = check_upload(upload)
        except ValidationError as error:
            refused.extend(error.messages)
            continue
        upload.seek(0)
        StagedUpload.objects.create(token=submission_token, uploaded_by=actor, file=upload,
                                    original_name=upload.name[:200],
                                    content_type=content_type, size=upload.size)
        held += 1
    return list(mine.order_by("created_at", "pk")), refused


def discard_stale_staged_uploads(*, now: datetime) -> int:
    """Remove staged files whose form was never sent again."""
    from datetime import timedelta

    from .models import StagedUpload

    stale = list(StagedUpload.objects.filter(
        created_at__lt=now - timedelta(hours=STAGED_UPLOAD_HOURS)))
    _discard_staged(stale)
    return len(stale)


def _discard_staged(rows: list) -> None:
    """Delete the rows now and their files after the commit (a rollback keeps both)."""
    from .models import StagedUpload

    if not rows:
        return
    StagedUpload.objects.filter(pk__in=[row.pk for row in rows]).delete()
    names = [(row.file.storage, row.file.name) for row in rows]

    def remove_files():
        for storage, name in names:
            try:
                storage.delete(name)
            except OSError:  # already gone: nothing to remove
                pass

    transaction.on_commit(remove_files)
