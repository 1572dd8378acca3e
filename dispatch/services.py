"""The dispatcher's and the departments' acts: classify and dispatch, notes and contacts,
extensions, the written result. Each runs in one transaction and calls the case's own
services for every move of the case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.exceptions import CaseTransitionError
from cases.models import Case, HandlingMode, State
from cases.notifications import alert_supervisors, notify
from cases.roles import Role, department_ids_of, has_role

from .models import ExtensionRequest, ExtensionState, HandlingNote, HandlingResult, NoteKind

WORKING_STATES = (State.DISPATCHED, State.IN_HANDLING)


@transaction.atomic
def dispatch(
    *,
    actor,
    case_id: int,
    mode: str,
    category_id: int | None = None,
    tier_code: str = "",
    tier_change_reason: str = "",
    lead_department_id: int | None = None,
    assisting_department_ids: Iterable[int] = (),
    note: str = "",
) -> Case:
    """Classify, set the tier (a change needs a reason), and send the case on its way:
    交办 to a lead department, 直办 by the office, or 呈办 to a supervisor first."""
    case = case_services.lock_case(case_id)
    if tier_code and (not case.tier_id or tier_code != case.tier.code):
        case_services.change_tier(actor=actor, case_id=case_id, tier_code=tier_code,
                                  reason=tier_change_reason)
    if mode == HandlingMode.ASSIGNED:
        if not lead_department_id:
            raise ValidationError({"lead_department": _("请选择主办部门。")})
        return case_services.dispatch_case(
            actor=actor, case_id=case_id, lead_department_id=lead_department_id,
            assisting_department_ids=assisting_department_ids, category_id=category_id,
            note=note)
    if mode == HandlingMode.DIRECT:
        return case_services.handle_directly(actor=actor, case_id=case_id,
                                             category_id=category_id, note=note)
    if mode == HandlingMode.ESCALATED:
        case = case_services.escalate_case(actor=actor, case_id=case_id,
                                           category_id=category_id, note=note)
        alert_supervisors(case=case, kind="escalated",
                          title=_("呈办待批示：%(number)s") % {"number": case.number},
                          body=case.summary)
        return case
    raise ValidationError({"mode": _("请选择办理方式。")})


def _department_of(actor, case: Case, *, lead_only: bool) -> int:
    """The actor's department on this case (lead first), or PermissionDenied."""
    mine = department_ids_of(actor)
    if not has_role(actor, Role.HANDLER, Role.DEPARTMENT_HEAD):
        raise PermissionDenied(_("只有承办部门的人员可以记录办理情况。"))
    if case.lead_department_id in mine:
        return case.lead_department_id
    if not lead_only:
        assisting = set(case.assisting_departments.values_list("pk", flat=True)) & mine
        if assisting:
            return min(assisting)
    raise PermissionDenied(_("案件 %(number)s 不是您部门承办的。") % {"number": case.number})


@transaction.atomic
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
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写内容。")})
    if kind not in NoteKind.values:
        raise ValidationError({"kind": _("请选择记录类别。")})
    department_id = _department_of(actor, case, lead_only=kind != NoteKind.ASSIST)
    if kind == NoteKind.ASSIST and department_id == case.lead_department_id:
        raise ValidationError({"kind": _("协办意见由协办部门填写。")})
    if case.state not in WORKING_STATES:
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能记录办理情况。")
                                  % {"number": case.number, "state": case.get_state_display()})
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
    case_services.record_event(case, actor=actor, action="contact" if kind == NoteKind.CONTACT
                          else "note", note=text, data={"kind": kind, "note": note.pk})
    return note


@transaction.atomic
def request_extension(*, actor, case_id: int, reason: str,
                      requested_due_at: datetime) -> ExtensionRequest:
    """延期申请: only before the deadline, one pending at a time; supervisors are told."""
    case = case_services.lock_case(case_id)
    _department_of(actor, case, lead_only=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请说明延期理由。")})
    if case.state not in WORKING_STATES:
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能申请延期。")
                                  % {"number": case.number, "state": case.get_state_display()})
    now = timezone.now()
    if case.due_at is None or now >= case.due_at:
        raise CaseTransitionError(_("案件 %(number)s 已超过办理期限，延期须在期限届满前申请。")
                                  % {"number": case.number})
    if requested_due_at is None or requested_due_at <= case.due_at:
        raise ValidationError({"requested_due_at": _("申请延至的时间须晚于原期限。")})
    if case.extension_requests.filter(state=ExtensionState.PENDING).exists():
        raise ValidationError({"reason": _("已有一份延期申请在审批中。")})
    request = ExtensionRequest.objects.create(
        case=case, requested_by=actor, reason=reason, requested_due_at=requested_due_at,
        original_due_at=case.due_at, requested_at=now)
    case_services.record_event(case, actor=actor, action="request_extension", note=reason,
                          data={"to": requested_due_at.isoformat()})
    alert_supervisors(case=case, kind="extension_requested",
                      title=_("延期申请：%(number)s") % {"number": case.number}, body=reason)
    return request


def _lock_pending(request_id: int) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise ValidationError({"request": _("延期申请不存在。")})
    if request.state != ExtensionState.PENDING:
        raise CaseTransitionError(_("这份延期申请已经审批过了。"))
    return request


@transaction.atomic
def approve_extension(*, actor, request_id: int, note: str = "") -> ExtensionRequest:
    """The deadline moves to the requested time; the petitioner's page shows the reason."""
    request = _lock_pending(request_id)
    case = case_services.lock_case(request.case_id)
    case_services.extend_deadline(actor=actor, case=case, new_due_at=request.requested_due_at,
                                  reason=request.reason)
    request.state = ExtensionState.APPROVED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.decision_note = (note or "").strip()
    request.save()
    notify([request.requested_by], kind="extension_approved", case=case,
           title=_("延期已批准：%(number)s") % {"number": case.number}, body=request.decision_note)
    return request


@transaction.atomic
def refuse_extension(*, actor, request_id: int, note: str) -> ExtensionRequest:
    request = _lock_pending(request_id)
    if not has_role(actor, Role.SUPERVISOR):
        raise PermissionDenied(_("只有督办人员可以审批延期。"))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("不同意延期须说明理由。")})
    case = case_services.lock_case(request.case_id)
    request.state = ExtensionState.REFUSED
    request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
    request.save()
    case_services.record_event(case, actor=actor, action="refuse_extension", note=note)
    notify([request.requested_by], kind="extension_refused", case=case,
           title=_("延期未批准：%(number)s") % {"number": case.number}, body=note)
    return request


@transaction.atomic
def submit_result(*, actor, case_id: int, findings: str, opinion: str, result: str,
                  is_solved: bool) -> HandlingResult:
    """The written result goes into the review chain (department head, office, and a
    supervisor for a sensitive case)."""
    errors = {field: _("请填写%(what)s。") % {"what": what}
              for field, value, what in (("findings", findings, _("调查核实情况")),
                                         ("opinion", opinion, _("处理意见")),
                                         ("result", result, _("办理结果")))
              if not (value or "").strip()}
    if errors:
        raise ValidationError(errors)
    case = case_services.submit_result(actor=actor, case_id=case_id, result=result.strip(),
                                       is_solved=is_solved)
    return HandlingResult.objects.create(
        case=case, submitted_by=actor, findings=findings.strip(), opinion=opinion.strip(),
        result=result.strip(), is_solved=is_solved, submitted_at=case.result_submitted_at)


@transaction.atomic
def attach_files(*, actor, case_id: int, uploads) -> list:
    """Handling material (photos, notices, reports) from the lead or an assisting
    department; judged by content like every upload."""
    from django.conf import settings

    case = case_services.lock_case(case_id)
    _department_of(actor, case, lead_only=False)
    if case.state not in WORKING_STATES:
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能上传办理材料。")
                                  % {"number": case.number, "state": case.get_state_display()})
    if not uploads:
        raise ValidationError({"files": _("请选择文件。")})
    if len(uploads) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError({"files": _("一次最多上传 %(n)s 个文件。") % {
            "n": settings.ATTACHMENT_MAX_FILES}})
    try:
        attached = [case_services.add_attachment(actor=actor, case=case, upload=upload,
                                                 kind="handling") for upload in uploads]
    except ValidationError as error:
        raise ValidationError({"files": error.message_dict.get("attachments", error.messages)}) \
            from error
    case_services.record_event(case, actor=actor, action="note",
                               note="、".join(a.original_name for a in attached),
                               data={"attachments": [a.pk for a in attached]})
    return attached
