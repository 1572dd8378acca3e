"""The dispatch and handling acts: classify and dispatch (交办, 直办, 呈办), instruct,
department accept, return and its ruling, the corrections of a case's tier, lead
department (改派) and marks (舆情风险, 保密), the handler's assignment, notes and contacts,
extensions, files, the written result and its review. Each runs in one transaction,
moves the case through `cases.services.move` and tells the next person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import services as case_services
from cases.acts import ensure_allowed
from cases.calendar import compute_due_at
from cases.escalation import schedule
from cases.exceptions import CaseTransitionError
from cases.models import (
    Case,
    Category,
    Department,
    Finding,
    HandlingMode,
    ReviewStage,
    State,
    department_of,
)
from cases.notifications import (
    alert_supervisors,
    current_reviewers,
    department_people,
    lead_workers,
    notify,
    office_staff,
    people_with_roles,
    tell,
)
from cases.parsing import parse_int
from cases.roles import Role, has_role

from .models import ExtensionRequest, ExtensionState, HandlingNote, HandlingResult, NoteKind


# ---------------------------------------------------------------- dispatch
def _decide_triage(case: Case, actor, category_id, *, reason: str) -> None:
    """The dispatcher confirms the category the system applied on arrival, or changes it
    with a reason (kept with the record)."""
    from .models import TriageRecord, TriageStatus

    record = TriageRecord.objects.filter(case=case, status=TriageStatus.SUGGESTED).first()
    if record is None:
        return
    chosen = parse_int(category_id)
    chosen = case.category_id if chosen is None else chosen
    if chosen == record.category_id:
        record.status = TriageStatus.CONFIRMED
    else:
        if not reason:
            raise ValidationError({"note": _(
                "问题分类是系统建议的“%(category)s”，更改时请在交办意见中说明理由。") % {
                    "category": record.category}})
        record.status, record.reason = TriageStatus.CHANGED, reason
    record.decided_by, record.decided_at = actor, timezone.now()
    record.save(update_fields=["status", "reason", "decided_by", "decided_at"])


def _tier_for_new_category(case: Case, actor, category_id, tier: str, reason: str) -> str:
    """A new category at dispatch brings its default tier (never below what the safety
    phrases set), unless the dispatcher chose another tier (which needs a reason) or gave
    a reason for keeping this one. Answers the tier still to apply ("" for none)."""
    from intake import triage

    if category_id in (None, "") or (reason or "").strip():
        return tier
    if tier and case.tier_id and tier != case.tier.code:
        return tier  # a tier of the dispatcher's own: the reason is asked for below
    try:
        new = Category.objects.select_related("default_tier").get(pk=int(category_id))
    except (Category.DoesNotExist, TypeError, ValueError):
        return tier  # _set_category names the field
    if new.pk == case.category_id or new.default_tier_id is None or not case.tier_id:
        return tier
    target = triage.floored(new.default_tier.code, triage.case_safety(case))
    if target != case.tier.code:
        change_tier(actor=actor, case_id=case.pk, tier_code=target,
                    reason=_("问题分类改为“%(category)s”，按其默认响应级别") % {"category": new.name})
        case.refresh_from_db(fields=["tier", "due_at", "next_action_at"])
    return ""


def _set_category(case: Case, category_id) -> None:
    """The subcategory chosen at dispatch; a case leaves the office classified."""
    if category_id in (None, ""):
        if case.category_id is None:
            raise ValidationError({"category": _("请选择问题分类。")})
        return
    category = case_services.get_or_invalid(Category, "category", category_id,
                                            _("问题分类不存在。"), is_active=True)
    if category.children.exists():
        raise ValidationError({"category": _("请选择到二级分类。")})
    case.category = category


@case_services.act_transaction
def dispatch(
    *,
    actor,
    case_id: int,
    mode: str,
    category: int | None = None,
    tier: str = "",
    tier_change_reason: str = "",
    lead_department: int | None = None,
    assisting_departments: Iterable[int] = (),
    note: str = "",
) -> Case:
    """Classify, set the tier (a change needs a reason), and send the case on its way:
    交办 to a lead department, 直办 by the office, or 呈办 to a supervisor first."""
    case = case_services.lock_case(case_id)
    _decide_triage(case, actor, category, reason=(tier_change_reason or note or "").strip())
    tier = _tier_for_new_category(case, actor, category, tier, tier_change_reason)
    if tier and (not case.tier_id or tier != case.tier.code):
        # The dispatch form names these fields `tier` and `tier_change_reason`.
        case_services.tier_by_code(tier)
        case_services.required_text("tier_change_reason", tier_change_reason,
                                    _("调整响应级别须说明理由。"))
        change_tier(actor=actor, case_id=case_id, tier_code=tier, reason=tier_change_reason)
    if mode == HandlingMode.ASSIGNED:
        if not lead_department:
            raise ValidationError({"lead_department": _("请选择主办部门。")})
        return dispatch_case(actor=actor, case_id=case_id, lead_department_id=lead_department,
                             assisting_department_ids=assisting_departments,
                             category_id=category, note=note)
    if mode == HandlingMode.DIRECT:
        return handle_directly(actor=actor, case_id=case_id, category_id=category, note=note)
    if mode == HandlingMode.ESCALATED:
        return escalate_case(actor=actor, case_id=case_id, category_id=category, note=note)
    raise ValidationError({"mode": _("请选择办理方式。")})


@case_services.act_transaction
def dispatch_case(
    *,
    actor,
    case_id: int,
    lead_department_id: int,
    assisting_department_ids: Iterable[int] = (),
    category_id: int | None = None,
    note: str = "",
) -> Case:
    """交办 to a lead department (with assisting ones); from `returned` it re-dispatches.
    Both departments hear of it at once (a T1 case has two hours)."""
    case = case_services.lock_case(case_id)
    _set_category(case, category_id)
    lead = case_services.get_or_invalid(Department, "lead_department", lead_department_id,
                                        _("主办部门不存在。"), is_active=True, is_office=False)
    try:
        assisting_ids = {int(pk) for pk in assisting_department_ids} - {lead.pk}
    except (TypeError, ValueError):
        raise ValidationError({"assisting_departments": _("协办部门不存在。")}) from None
    assisting = list(Department.objects.filter(pk__in=assisting_ids, is_active=True))
    if len(assisting) != len(assisting_ids):
        raise ValidationError({"assisting_departments": _("协办部门不存在。")})
    was_returned = case.state == State.RETURNED
    # A return upheld (the case goes to another department) gives the new department the
    # tier's full time from this dispatch, with a fresh escalation ladder: the time the
    # first department and the office spent is not the new department's.
    upheld = was_returned and case.lead_department_id != lead.pk
    returned_by = case.lead_department_id if was_returned else None
    case.lead_department = lead
    now = timezone.now()
    data = {"lead_department": lead.name, "lead_department_id": lead.pk,
            "assisting": [d.name for d in assisting], "redispatch": was_returned}
    fresh = None
    if upheld and case.tier_id:
        fresh = compute_due_at(case.tier, now).due_at
        if case.platform_due_at and now < case.platform_due_at < fresh:
            fresh = case.platform_due_at  # the 12345 platform's deadline still governs
        data.update(return_upheld=True, returned_by=returned_by,
                    due_at={"from": case.due_at.isoformat() if case.due_at else None,
                            "to": fresh.isoformat()})

    def restart_clock(case: Case) -> None:
        if fresh is not None:
            case.due_at = fresh
            case.escalation_step = ""
            schedule(case)

    case_services.move(
        case.dispatch, actor=actor, note=note or (_("重新交办") if was_returned else ""),
        data=data, then=restart_clock, at=now)
    case.assisting_departments.set(assisting)
    case._assisting_ids = frozenset(d.pk for d in assisting)
    due = timezone.localtime(case.due_at).strftime("%m-%d %H:%M") if case.due_at else "—"
    tell(department_people([lead.pk]), kind="dispatched", case=case, skip=actor,
         title=_("新交办（主办）：%(number)s，%(due)s 前答复") % {"number": case.number, "due": due},
         body="\n".join(filter(None, [case.summary, note])))
    if assisting:
        tell(department_people(d.pk for d in assisting), kind="dispatched", case=case,
             skip=actor,
             title=_("新交办（协办）：%(number)s") % {"number": case.number},
             body="\n".join(filter(None, [case.summary, note])))
    return case


@case_services.act_transaction
def handle_directly(*, actor, case_id: int, category_id: int | None = None,
                    note: str = "") -> Case:
    """直办: the office investigates the case itself."""
    case = case_services.lock_case(case_id)
    _set_category(case, category_id)
    office = Department.objects.filter(is_office=True).first()
    if office is None:
        raise ValidationError({"lead_department": _("系统尚未设置信访办部门，请联系管理员。")})
    case.lead_department = office
    case_services.move(case.handle_directly, actor=actor, note=note, at=timezone.now())
    return case


@case_services.act_transaction
def escalate_case(*, actor, case_id: int, category_id: int | None = None,
                  note: str = "") -> Case:
    """呈办: sent to a supervisor for instruction before it is dispatched."""
    case = case_services.lock_case(case_id)
    _set_category(case, category_id)
    case_services.move(case.escalate, actor=actor, note=note)
    alert_supervisors(case=case, kind="escalated",
                      title=_("呈办待批示：%(number)s") % {"number": case.number},
                      body=case.summary)
    return case


@case_services.act_transaction
def instruct_case(*, actor, case_id: int, instruction: str) -> Case:
    """批示: the supervisor's instruction on an escalated case; the dispatchers dispatch."""
    case = case_services.lock_case(case_id)
    instruction = case_services.required_text("instruction", instruction, _("请填写批示内容。"))
    case_services.move(case.instruct, actor=actor, note=instruction, instruction=instruction)
    tell(people_with_roles(Role.DISPATCHER), kind="escalated", case=case, skip=actor,
         title=_("已批示，待交办：%(number)s") % {"number": case.number}, body=instruction)
    return case


@case_services.act_transaction
def return_case(*, actor, case_id: int, reason: str) -> Case:
    """退单: the department is not responsible; back to the dispatcher within the window."""
    case = case_services.lock_case(case_id)
    reason = case_services.required_text("reason", reason, _("请说明退单理由。"))
    # Counted against the department that returns and the dispatcher who sent it there.
    dispatched = case.events.filter(action="dispatch").order_by("-at", "-pk").first()
    case_services.move(case.return_to_dispatcher, actor=actor, note=reason,
                       data={"department": case.lead_department_id,
                             "dispatcher": dispatched.actor_id if dispatched else None})
    tell(people_with_roles(Role.DISPATCHER), kind="returned", case=case, skip=actor,
         title=_("退单：%(number)s（%(department)s）") % {
             "number": case.number, "department": case.lead_department.name},
         body=reason)
    return case


@case_services.act_transaction
def refuse_return(*, actor, case_id: int, reason: str) -> Case:
    """驳回退单: the dispatcher holds the department responsible."""
    case = case_services.lock_case(case_id)
    reason = case_services.required_text("reason", reason, _("请说明驳回退单的理由。"))
    case_services.move(case.refuse_return, actor=actor, note=reason)
    tell(department_people([case.lead_department_id]), kind="returned", case=case, skip=actor,
         title=_("退单被驳回，请继续办理：%(number)s") % {"number": case.number}, body=reason)
    return case


# ---------------------------------------------------------------- corrections
def _due_at_under(case: Case, tier) -> datetime:
    """The deadline of the case's current round under `tier`, as the act that started the
    round would have set it: from acceptance, the 12345 platform's deadline first (as
    accepting does); from a reopening, the tier's full time again (as reopening does).
    The time approved extensions of the round granted is granted again on top: the
    supervisor allowed that much more time for the work, whatever the tier."""
    if case.reopened_at:
        started = case.reopened_at
        due_at = compute_due_at(tier, started).due_at
    else:
        started = case.accepted_at
        due_at = compute_due_at(tier, started).due_at
        if case.platform_due_at and case.platform_due_at < due_at:
            due_at = case.platform_due_at
    # A return upheld in this round restarted the clock at the re-dispatch.
    redispatched = (case.events.filter(action="dispatch", data__return_upheld=True,
                                       at__gte=started)
                    .order_by("-at", "-pk").values_list("at", flat=True).first())
    if redispatched is not None:
        started = redispatched
        due_at = compute_due_at(tier, started).due_at
        if case.platform_due_at and started < case.platform_due_at < due_at:
            due_at = case.platform_due_at
    for granted in case.extension_requests.filter(state=ExtensionState.APPROVED,
                                                  requested_at__gte=started):
        due_at += granted.requested_due_at - granted.original_due_at
    return due_at


@case_services.act_transaction
def change_tier(*, actor, case_id: int, tier_code: str, reason: str) -> Case:
    """调整响应级别 of an accepted open case, with a reason: the deadline of the current
    round is recomputed under the new tier (see `_due_at_under`), the escalation ladder is
    rescheduled from it, and whoever works the case for its department is told."""
    case = case_services.lock_case(case_id)
    ensure_allowed("change_tier", actor, case)
    reason = case_services.required_text("reason", reason, _("调整响应级别须说明理由。"))
    try:
        tier = case_services.tier_by_code(tier_code)
    except ValidationError as error:
        raise ValidationError({"tier_code": error.message_dict["tier"]}) from None
    old = case.tier.code if case.tier_id else ""
    if tier.code == old:
        raise ValidationError({"tier_code": _("案件已是 %(tier)s，无需调整。") % {
            "tier": tier}})
    old_due_at = case.due_at
    case.tier = tier
    case.due_at = _due_at_under(case, tier)
    # Steps already taken stay taken (each happens once per round); the next one is
    # found again from the new deadline, and the sweep takes it if it is already due.
    schedule(case)
    case.save(update_fields=["tier", "due_at", "next_action_at"])
    case_services.record_event(
        case, actor=actor, action="change_tier", note=reason,
        data={"from": old, "to": tier.code,
              "due_at": {"from": old_due_at.isoformat() if old_due_at else None,
                         "to": case.due_at.isoformat()}})
    if case.is_with_department:
        tell(lead_workers(case), kind="handling", case=case, skip=actor,
             title=_("响应级别调整为 %(tier)s：%(number)s，%(due)s 前答复") % {
                 "tier": tier.code, "number": case.number,
                 "due": timezone.localtime(case.due_at).strftime("%m-%d %H:%M")},
             body=reason)
    return case


@case_services.act_transaction
def change_lead_department(*, actor, case_id: int, lead_department: int,
                           reason: str) -> Case:
    """改派: a case with a department moves to another lead department, with a reason.

    The new department hears of it as of a dispatch, the old one that it has left; the
    handler is the new department's to name. A case not yet signed for gets the new
    department's full return window, which runs from its dispatch.
    """
    case = case_services.lock_case(case_id)
    ensure_allowed("change_lead_department", actor, case)
    reason = case_services.required_text("reason", reason, _("请说明改派理由。"))
    new = case_services.get_or_invalid(Department, "lead_department", lead_department,
                                       _("主办部门不存在。"), is_active=True, is_office=False)
    old = case.lead_department
    if new.pk == old.pk:
        raise ValidationError({"lead_department": _("案件已由%(department)s主办，请选择另一个部门。")
                               % {"department": old.name}})
    case.lead_department = new
    case.handler = None
    fields = ["lead_department", "handler"]
    if case.state == State.DISPATCHED:
        case.dispatched_at = timezone.now()
        fields.append("dispatched_at")
    case.save(update_fields=fields)
    # A department is never lead and assisting on the same case.
    case.assisting_departments.remove(new)
    case._assisting_ids = None
    case_services.record_event(
        case, actor=actor, action="change_lead_department", note=reason,
        data={"from": old.pk, "to": new.pk, "from_name": old.name, "to_name": new.name})
    due = timezone.localtime(case.due_at).strftime("%m-%d %H:%M") if case.due_at else "—"
    tell(department_people([new.pk]), kind="dispatched", case=case, skip=actor,
         title=_("改派交办（主办）：%(number)s，%(due)s 前答复") % {
             "number": case.number, "due": due},
         body="\n".join([case.summary, reason]))
    tell(department_people([old.pk]), kind="handling", case=case, skip=actor,
         title=_("案件已改派至%(department)s：%(number)s") % {
             "department": new.name, "number": case.number},
         body=reason)
    return case


# The marks are first recorded at registration, as the petitioner and the clerk give them
# (intake's `register_case`); changing them afterwards is a matter of handling, so their
# acts live here: 舆情风险 adds a supervisor to the review chain, whose stage this app
# keeps, and 保密 decides what the departments this app sends the case to may see.
def _changed_mark(case: Case, field: str, value, *, already: tuple[str, str]) -> bool:
    """A mark's new value, refused when it is not a yes/no or is already so."""
    if value not in (True, False):
        raise ValidationError({field: _("请选择是或否。")})
    if value == getattr(case, field):
        raise ValidationError({field: already[0] if value else already[1]})
    return value


@case_services.act_transaction
def change_sensitive(*, actor, case_id: int, is_sensitive: bool, reason: str) -> Case:
    """标记或取消舆情风险, with a reason.

    A sensitive result is approved by a supervisor too (`Case.next_review_stage`): marked
    after the office approved the result and before the reply, the result goes to a
    supervisor, who is told. Unmarked while a supervisor reviews it, the review already
    asked of them stands: removing the mark is no way around it.
    """
    case = case_services.lock_case(case_id)
    ensure_allowed("change_sensitive", actor, case)
    reason = case_services.required_text("reason", reason, _("请说明理由。"))
    is_sensitive = _changed_mark(case, "is_sensitive", is_sensitive, already=(
        _("案件已标记为舆情风险。"), _("案件没有舆情风险标记。")))
    case.is_sensitive = is_sensitive
    fields = ["is_sensitive"]
    data = {"from": not is_sensitive, "to": is_sensitive}
    to_supervisor = (is_sensitive and case.state == State.RESULT_SUBMITTED
                     and case.review_stage == ReviewStage.APPROVED)
    if to_supervisor:
        case.review_stage = ReviewStage.SUPERVISOR
        fields.append("review_stage")
        data["review_stage"] = {"from": ReviewStage.APPROVED, "to": ReviewStage.SUPERVISOR}
    case.save(update_fields=fields)
    case_services.record_event(case, actor=actor, action="change_sensitive", note=reason,
                               data=data)
    if to_supervisor:
        tell(current_reviewers(case), kind="result_submitted", case=case, skip=actor,
             title=_("办理结果待审核：%(number)s（已标记舆情风险）") % {"number": case.number},
             body=reason)
    return case


@case_services.act_transaction
def change_confidential(*, actor, case_id: int, is_confidential: bool, reason: str) -> Case:
    """标记或取消保密, with a reason. The identity policy (`shows_identity`) reads the mark
    on every page, document and answer, so departments stop seeing who the petitioner is
    at once.

    A petitioner who asked for confidentiality keeps it: the mark comes off only once
    their own record no longer asks for it.
    """
    case = case_services.lock_case(case_id)
    ensure_allowed("change_confidential", actor, case)
    reason = case_services.required_text("reason", reason, _("请说明理由。"))
    is_confidential = _changed_mark(case, "is_confidential", is_confidential, already=(
        _("案件已标记为保密。"), _("案件没有保密标记。")))
    if not is_confidential and case.petitioner.wants_confidentiality:
        raise ValidationError({"is_confidential": _(
            "信访人本人要求保密，不能取消；信访人改变意愿的，请先在信访人资料中取消“要求保密”。")})
    case.is_confidential = is_confidential
    case.save(update_fields=["is_confidential"])
    case_services.record_event(case, actor=actor, action="change_confidential", note=reason,
                               data={"from": not is_confidential, "to": is_confidential})
    return case


@case_services.act_transaction
def share_attachment(*, actor, case_id: int, attachment: int, redacted=None):
    """提供附件给部门: the office clears a file of the case for the departments, or uploads a
    redacted copy that they get instead (the original stays the office's)."""
    from .forms import unshared_attachments

    case = case_services.lock_case(case_id)
    ensure_allowed("share_attachment", actor, case)
    original = unshared_attachments(case).filter(pk=attachment).first()
    if original is None:
        raise ValidationError({"attachment": _("该附件不存在或已提供给部门。")})
    if redacted:
        try:
            shared = case_services.add_attachment(actor=actor, case=case, upload=redacted,
                                                  kind=original.kind)
        except ValidationError as error:
            raise ValidationError({"redacted": error.messages}) from error
        shared.redacts = original
    else:
        shared = original
    shared.cleared_for_departments = True
    shared.save(update_fields=["cleared_for_departments", "redacts"])
    case_services.record_event(case, actor=actor, action="share_attachment",
                               note=shared.original_name + (_("（脱敏件）") if redacted else ""),
                               data={"attachment": original.pk, "shared": shared.pk})
    return shared


# ---------------------------------------------------------------- handling
@case_services.act_transaction
def department_accept_case(*, actor, case_id: int) -> Case:
    """签收: the lead department takes the case; a handler who signs becomes its handler."""
    case = case_services.lock_case(case_id)
    handler = actor if has_role(actor, Role.HANDLER) else None
    case_services.move(case.department_accept, actor=actor, at=timezone.now(), handler=handler)
    return case


@case_services.act_transaction
def assign_handler(*, actor, case_id: int, handler: int) -> Case:
    """分派: the department head names the handler of a case of the department."""
    case = case_services.lock_case(case_id)
    ensure_allowed("assign_handler", actor, case)
    person = get_user_model().objects.filter(
        pk=handler, is_active=True, departments=case.lead_department_id).first()
    if person is None:
        raise ValidationError({"handler": _("承办人须是主办部门的在岗人员。")})
    case.handler = person
    case.save(update_fields=["handler"])
    case_services.record_event(case, actor=actor, action="assign_handler",
                               note=person.get_full_name() or person.username,
                               data={"handler": person.pk})
    tell([person.pk], kind="dispatched", case=case, skip=actor,
         title=_("分派给您承办：%(number)s") % {"number": case.number}, body=case.summary)
    return case


@case_services.act_transaction
def add_note(
    *,
    actor,
    case_id: int,
    kind: str,
    text: str,
    contact_method: str = "",
    reached: bool | None = None,
    happened_at: datetime | None = None,
) -> HandlingNote:
    """An investigation note or a contact with the petitioner (lead department), or an
    assisting department's opinion to the lead. The first contact that reached the
    petitioner marks the case as responded to."""
    case = case_services.lock_case(case_id)
    ensure_allowed("add_note", actor, case)
    text = case_services.required_text("text", text, _("请填写内容。"))
    if kind not in NoteKind.values:
        raise ValidationError({"kind": _("请选择记录类别。")})
    department_id = department_of(actor, case)
    if kind == NoteKind.ASSIST and department_id == case.lead_department_id:
        raise ValidationError({"kind": _("协办意见由协办部门填写。")})
    if kind != NoteKind.ASSIST and department_id != case.lead_department_id:
        raise ValidationError({"kind": _("协办部门只能填写协办意见。")})
    happened_at = happened_at or timezone.now()
    if happened_at > timezone.now():
        raise ValidationError({"happened_at": _("时间不能晚于现在。")})
    if kind == NoteKind.CONTACT:
        if not contact_method:
            raise ValidationError({"contact_method": _("请选择联系方式。")})
        if reached is None:
            raise ValidationError({"reached": _("请说明是否联系上信访人。")})
    note = HandlingNote.objects.create(
        case=case, kind=kind, author=actor, department_id=department_id, text=text,
        contact_method=contact_method if kind == NoteKind.CONTACT else "",
        reached=reached if kind == NoteKind.CONTACT else None, happened_at=happened_at)
    if kind == NoteKind.CONTACT and reached:
        case_services.record_first_contact(case=case, at=happened_at)
    data = {"kind": kind, "note": note.pk}
    if kind == NoteKind.CONTACT:
        # The round's first contact that reached the petitioner counts for 响应率.
        data.update(reached=bool(reached), happened_at=happened_at.isoformat())
    case_services.record_event(case, actor=actor,
                               action="contact" if kind == NoteKind.CONTACT else "note",
                               note=text, data=data)
    if kind == NoteKind.ASSIST:
        tell(lead_workers(case), kind="handling", case=case, skip=actor,
             title=_("协办意见：%(number)s") % {"number": case.number}, body=text)
    return note


@case_services.act_transaction
def attach_files(*, actor, case_id: int, files) -> list:
    """Handling material (photos, notices, reports) from the lead or an assisting
    department; judged by content like every upload."""
    from django.conf import settings

    case = case_services.lock_case(case_id)
    ensure_allowed("attach_files", actor, case)
    if not files:
        raise ValidationError({"files": _("请选择文件。")})
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError({"files": _("一次最多上传 %(n)s 个文件。") % {
            "n": settings.ATTACHMENT_MAX_FILES}})
    attached = case_services.add_attachments(actor=actor, case=case, uploads=files,
                                             kind="handling", field="files")
    case_services.record_event(case, actor=actor, action="note",
                               note="、".join(a.original_name for a in attached),
                               data={"attachments": [a.pk for a in attached]})
    return attached


# ---------------------------------------------------------------- extensions
def _plain_text(field: str, value: str) -> str:
    """Free text as the database takes it: a NUL character is refused on its field."""
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError({field: _("内容含有不可见的控制字符，请重新填写。")})
    return value


def _requested_time(value, *, due_at: datetime) -> datetime:
    """The time an extension asks for: after the current deadline, and at most
    EXTENSION_MAX_DAYS after it."""
    from datetime import timedelta

    from django.conf import settings

    field = "requested_due_at"
    if not isinstance(value, datetime):
        raise ValidationError({field: _("请填写申请延至的时间。")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value <= due_at:
        raise ValidationError({field: _("申请延至的时间须晚于原期限（%(due)s）。") % {
            "due": timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")}})
    if value - due_at > timedelta(days=settings.EXTENSION_MAX_DAYS):
        raise ValidationError({field: _("申请延至的时间不能晚于原期限后 %(days)s 天。") % {
            "days": settings.EXTENSION_MAX_DAYS}})
    return value


@case_services.act_transaction
def request_extension(*, actor, case_id: int, reason: str,
                      requested_due_at: datetime) -> ExtensionRequest:
    """延期申请: only before the deadline, one pending at a time. Within the tier's limit
    of approved extensions per round the office (dispatchers) or a supervisor decides;
    a request beyond it is marked so, and only a supervisor decides it. Those who may
    decide are told."""
    from .selectors import extension_allowance

    case = case_services.lock_case(case_id)
    ensure_allowed("request_extension", actor, case)
    reason = case_services.required_text("reason", _plain_text("reason", reason),
                                         _("请说明延期理由。"))
    requested_due_at = _requested_time(requested_due_at, due_at=case.due_at)
    allowance = extension_allowance(case)
    request = ExtensionRequest.objects.create(
        case=case, requested_by=actor, reason=reason, requested_due_at=requested_due_at,
        original_due_at=case.due_at, requested_at=timezone.now(),
        beyond_limit=allowance.reached)
    case_services.record_event(case, actor=actor, action="request_extension", note=reason,
                               data={"to": requested_due_at.isoformat(),
                                     "approved_in_round": allowance.approved,
                                     "limit": allowance.limit,
                                     "beyond_limit": allowance.reached})
    facts = {"number": case.number, "n": allowance.approved + 1, "limit": allowance.limit}
    if allowance.reached:
        alert_supervisors(case=case, kind="extension_requested", body=reason, title=_(
            "延期申请（超出可延期次数，须经督查人员批准）：%(number)s，本轮第 %(n)s 次") % facts)
    else:
        tell(people_with_roles(Role.DISPATCHER, Role.SUPERVISOR), kind="extension_requested",
             case=case, skip=actor, body=reason,
             title=_("延期申请：%(number)s（本轮第 %(n)s 次，可延期 %(limit)s 次）") % facts)
    return request


def _lock_case_and_pending(request_id: int) -> tuple[Case, ExtensionRequest]:
    """The request's case, then the request, locked in that order (the case first, as
    every act does)."""
    case_id = (ExtensionRequest.objects.filter(pk=request_id)
               .values_list("case_id", flat=True).first())
    if case_id is None:
        raise ValidationError({"request": _("延期申请不存在。")})
    case = case_services.lock_case(case_id)
    return case, _lock_pending(request_id)


def _lock_pending(request_id: int) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise ValidationError({"request": _("延期申请不存在。")})
    if request.state != ExtensionState.PENDING:
        raise CaseTransitionError(_("这份延期申请已经审批过了。"))
    return request


@case_services.act_transaction
def decide_extension(*, actor, case_id: int, decision: str, note: str = "",
                     told_reason: str = "") -> ExtensionRequest:
    """The office or a supervisor decides the case's pending extension request."""
    # The case first, then what hangs off it (one lock order for every act).
    case = case_services.lock_case(case_id)
    ensure_allowed("decide_extension", actor, case)
    pending = case.extension_requests.filter(state=ExtensionState.PENDING).first()
    if decision == "approve":
        return approve_extension(actor=actor, request_id=pending.pk, note=note,
                                 told_reason=told_reason)
    if decision == "refuse":
        return refuse_extension(actor=actor, request_id=pending.pk, note=note)
    raise ValidationError({"decision": _("请选择是否同意延期。")})


@case_services.act_transaction
def approve_extension(*, actor, request_id: int, note: str = "",
                      told_reason: str = "") -> ExtensionRequest:
    """The deadline moves to the requested time. The petitioner is told by their channel
    (an e-mail, an SMS record, or the office's task for a letter or a call) and a 12345
    case's platform by its message, all in this transaction; the tracking page shows the
    new deadline and the reason told (`told_reason`, else the request's reason). The
    decision note is the office's own and is told to nobody outside."""
    from . import notices
    from .selectors import needs_supervisor

    case, request = _lock_case_and_pending(request_id)
    ensure_allowed("decide_extension", actor, case)
    note = _plain_text("note", note)
    told_reason = _plain_text("told_reason", told_reason) or request.reason
    beyond_limit = needs_supervisor(case, request)
    _extend_deadline(actor=actor, case=case, new_due_at=request.requested_due_at,
                     reason=told_reason, data={"request": request.pk,
                                               "beyond_limit": beyond_limit})
    request.state = ExtensionState.APPROVED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.decision_note, request.told_reason = note, told_reason
    request.beyond_limit = beyond_limit
    told = notices.tell_of_extension(case=case, request=request)
    request.told_channel = told.channel
    request.petitioner_notice, request.platform_notice = (told.petitioner_message,
                                                          told.platform_message)
    request.save()
    notify([request.requested_by], kind="extension_approved", case=case,
           title=_("延期已批准：%(number)s，新期限 %(due)s") % {
               "number": case.number,
               "due": timezone.localtime(case.due_at).strftime("%m-%d %H:%M")},
           body=request.decision_note)
    return request


@case_services.act_transaction
def refuse_extension(*, actor, request_id: int, note: str) -> ExtensionRequest:
    """不同意延期, with a reason: the deadline stands; the department that asked is told."""
    case, request = _lock_case_and_pending(request_id)
    ensure_allowed("decide_extension", actor, case)
    note = case_services.required_text("note", _plain_text("note", note),
                                       _("不同意延期须说明理由。"))
    request.state = ExtensionState.REFUSED
    request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
    request.save()
    case_services.record_event(case, actor=actor, action="refuse_extension", note=note)
    notify([request.requested_by], kind="extension_refused", case=case,
           title=_("延期未批准：%(number)s") % {"number": case.number}, body=note)
    return request


def _extend_deadline(*, actor, case: Case, new_due_at, reason: str,
                     data: dict | None = None) -> Case:
    """延期: move the deadline of a locked open case (the history keeps the old one)."""
    if case.due_at and new_due_at <= case.due_at:
        raise ValidationError({"new_due_at": _("延期后的期限须晚于原期限。")})
    old = case.due_at
    case.due_at = new_due_at
    case.extension_count += 1
    schedule(case)
    case.save(update_fields=["due_at", "extension_count", "next_action_at"])
    case_services.record_event(case, actor=actor, action="extend", note=reason,
                               data={"from": old.isoformat() if old else None,
                                     "to": new_due_at.isoformat(), **(data or {})})
    return case


# ---------------------------------------------------------------- the result and its review
@case_services.act_transaction
def submit_result(*, actor, case_id: int, findings: str, opinion: str, result: str,
                  is_solved: bool, finding: str = "") -> HandlingResult:
    """提交办理结果: the written result goes into the review chain (department head,
    office, and a supervisor for a sensitive case); the first reviewer is told.

    A complaint about a named unit, 科室 or person needs the finding (核查结论: 属实,
    部分属实, 不属实), kept on the case; other matters may give one. A later result (a
    reopened round, one sent back) replaces it."""
    case = case_services.lock_case(case_id)
    errors = {field: _("请填写%(what)s。") % {"what": what}
              for field, value, what in (("findings", findings, _("调查核实情况")),
                                         ("opinion", opinion, _("处理意见")),
                                         ("result", result, _("办理结果")))
              if not (value or "").strip()}
    finding = finding or ""
    if finding and finding not in Finding.values:
        errors["finding"] = _("请选择核查结论。")
    elif not finding and has_complained_party(case):
        errors["finding"] = _("本案投诉了具体单位、科室或人员，请填写核查结论（属实、部分属实或不属实）。")
    if errors:
        raise ValidationError(errors)
    if is_solved not in (True, False):
        raise ValidationError({"is_solved": _("请选择问题是否已解决。")})
    now = timezone.now()
    if finding:
        case.finding = finding
    case_services.move(case.submit_result, actor=actor, note=result.strip(),
                       data={"is_solved": is_solved, **({"finding": finding} if finding else {})},
                       at=now)
    handling_result = HandlingResult.objects.create(
        case=case, submitted_by=actor, findings=findings.strip(), opinion=opinion.strip(),
        result=result.strip(), is_solved=is_solved, submitted_at=now)
    tell(current_reviewers(case), kind="result_submitted", case=case, skip=actor,
         title=_("办理结果待审核：%(number)s") % {"number": case.number}, body=result.strip())
    return handling_result


def has_complained_party(case: Case) -> bool:
    return bool(case.complained_department_id or case.complained_section
                or case.complained_person)


@case_services.act_transaction
def change_complained_party(*, actor, case_id: int, complained_department,
                            complained_section: str, complained_person: str,
                            reason: str) -> Case:
    """更正被投诉单位、科室、人员, with a reason; the event keeps the old and the new."""
    from intake.services import complained_party

    case = case_services.lock_case(case_id)
    ensure_allowed("change_complained_party", actor, case)
    reason = case_services.required_text("reason", reason, _("请说明理由。"))
    if "\x00" in reason:
        raise ValidationError({"reason": _("内容含有不可见的控制字符，请重新填写。")})
    new = complained_party(department=complained_department, section=complained_section,
                           person=complained_person)
    fields = {"complained_department": "complained_department_id",
              "complained_section": "complained_section",
              "complained_person": "complained_person"}
    old = {name: getattr(case, attribute) for name, attribute in fields.items()}
    wanted = {name: (value.pk if name == "complained_department" and value else value)
              for name, value in new.items()}
    if old == wanted:
        raise ValidationError({"complained_department": _("被投诉单位、科室、人员没有变化。")})
    for name, value in new.items():
        setattr(case, name, value)
    case.save(update_fields=list(new))
    case_services.record_event(case, actor=actor, action="change_complained_party",
                               note=reason, data={"from": old, "to": wanted})
    return case


APPROVED_AT = {ReviewStage.HEAD: gettext_lazy("部门负责人审核通过"),
               ReviewStage.OFFICE: gettext_lazy("信访办审核通过"),
               ReviewStage.SUPERVISOR: gettext_lazy("督办领导审核通过")}


@case_services.act_transaction
def approve_result(*, actor, case_id: int, note: str = "") -> Case:
    """审核通过 at the current stage: head, then office, then a supervisor if sensitive.
    The next reviewer is told, or, at the last stage, the office's reply desk."""
    case = case_services.lock_case(case_id)
    # The history says which review passed: 部门负责人审核通过, 信访办审核通过, ...
    note = note or str(APPROVED_AT.get(case.review_stage, ""))
    case_services.move(case.approve_result, actor=actor, note=note,
                       data={"stage": case.review_stage, "next_stage": case.next_review_stage()})
    if case.review_stage == ReviewStage.APPROVED:
        tell(office_staff(), kind="approved", case=case, skip=actor,
             title=_("办理结果已审核通过，待答复：%(number)s") % {"number": case.number},
             body=case.summary)
    else:
        tell(current_reviewers(case), kind="result_submitted", case=case, skip=actor,
             title=_("办理结果待审核：%(number)s（%(stage)s）") % {
                 "number": case.number, "stage": case.get_review_stage_display()},
             body=case.summary)
    return case


@case_services.act_transaction
def send_back_result(*, actor, case_id: int, note: str) -> Case:
    """审核退回: back to handling with the reviewer's note; the handler is told."""
    case = case_services.lock_case(case_id)
    note = case_services.required_text("note", note, _("请写明退回意见。"))
    stage = case.review_stage
    case_services.move(case.send_back, actor=actor, note=note, data={"stage": stage})
    tell(lead_workers(case), kind="sent_back", case=case, skip=actor,
         title=_("办理结果被退回：%(number)s") % {"number": case.number}, body=note)
    return case
