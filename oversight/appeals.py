"""Appeals (申诉): a department asks that one case be left out of one of its figures.

The lead department's head or handler files it for one case and one measure (按期答复 or
按期联系), with a ground, a reason and evidence; a supervisor upholds or refuses it with a
reason. Each act is an event of the case, in the act's transaction.

What an upheld appeal changes (definitions, `appeal_facts`): the rounds of that case
held by the appealing department that the measure found wanting leave the rounds counted
(应按期件), and so both 按期答复率 and 响应率 of those rounds: for 按期答复, its rounds
answered late (or past the deadline unanswered); for 按期联系, its rounds in which the
petitioner was not reached in time. The case then counts one 申诉成立 (appeals_upheld),
shown beside the rates, so that no adjustment is silent. A refused appeal changes
nothing. The departments' ledger (time held, late time) is not adjusted.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import ledger
from cases import services as case_services
from cases.acts import ensure_allowed
from cases.models import Case, HandlingMode, State, lead_department_staff
from cases.notifications import alert_supervisors, notify
from cases.roles import Role, has_role

from .models import Appeal, AppealGround, AppealMeasure, AppealState

NUL_MESSAGE = "内容含有不可见的控制字符，请重新填写。"


# ---------------------------------------------------------------- who, when
def appellant(case: Case, user) -> bool:
    """The lead department's head or handler (never the office's own 直办 cases)."""
    return (case.handling_mode != HandlingMode.DIRECT and case.lead_department_id is not None
            and lead_department_staff(case, user))


def appeal_decider(case: Case, user) -> bool:
    return has_role(user, Role.SUPERVISOR)


def wanting_rounds(case: Case, measure: str, events=None, *, department_id=None) -> list:
    """The counted rounds of the case (held by `department_id` when given) that the
    measure finds wanting: answered late, or the petitioner not reached in time."""
    if events is None:
        events = list(case.events.order_by("at", "pk"))
    found = []
    for round_ in ledger.rounds(case, events):
        if not round_.counted:
            continue
        if department_id is not None and _held_by(case, round_) != department_id:
            continue
        if measure == AppealMeasure.ON_TIME and not round_.on_time:
            found.append(round_)
        elif measure == AppealMeasure.RESPONSE and not round_.responded_in_time:
            found.append(round_)
    return found


def _held_by(case: Case, round_) -> int | None:
    """The department charged with a round: the one that answered it, else (still
    unanswered) the lead department."""
    return round_.department_id or case.lead_department_id


def appealable_measures(case: Case) -> list[str]:
    """The measures this case may still be appealed on: wanting, and not appealed yet."""
    taken = set(case.appeals.values_list("measure", flat=True))
    events = list(case.events.order_by("at", "pk"))
    return [measure for measure in AppealMeasure.values
            if measure not in taken and wanting_rounds(case, measure, events)]


def pending_appeals(case: Case) -> QuerySet:
    return case.appeals.filter(state=AppealState.PENDING)


# ---------------------------------------------------------------- the acts
@case_services.act_transaction
def file_appeal(*, actor, case_id: int, measure: str, ground: str, reason: str,
                evidence=()) -> Appeal:
    """申诉: once per case and measure; supervisors are told."""
    case = case_services.lock_case(case_id)
    ensure_allowed("file_appeal", actor, case)
    measure = case_services.choice("measure", measure, AppealMeasure, _("请选择申诉的指标。"))
    ground = case_services.choice("ground", ground, AppealGround, _("请选择申诉理由类别。"))
    reason = case_services.required_text("reason", reason, _("请说明申诉理由。"))
    if "\x00" in reason:
        raise ValidationError({"reason": _(NUL_MESSAGE)})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("申诉理由最多 2000 字。")})
    known = case.appeals.filter(measure=measure).first()
    if known is not None:
        raise ValidationError({"measure": _("本案已就「%(measure)s」申诉过（%(state)s），同一案件同一指标只能申诉一次。")
                               % {"measure": known.get_measure_display(),
                                  "state": known.get_state_display()}})
    if not wanting_rounds(case, measure, department_id=case.lead_department_id):
        raise ValidationError({"measure": _("本案没有计入本部门「%(measure)s」的不达标轮次，无需申诉。")
                               % {"measure": AppealMeasure(measure).label}})
    appeal = Appeal.objects.create(case=case, department_id=case.lead_department_id,
                                   measure=measure, ground=ground, reason=reason,
                                   filed_by=actor, created_at=timezone.now())
    if evidence:
        appeal.evidence.set(case_services.add_attachments(
            actor=actor, case=case, uploads=list(evidence), kind="handling", field="evidence"))
    case_services.record_event(case, actor=actor, action="file_appeal", note=reason, data={
        "appeal": appeal.pk, "measure": measure, "ground": ground,
        "department": appeal.department_id,
        "evidence": [attachment.pk for attachment in appeal.evidence.all()]})
    alert_supervisors(case=case, kind="appeal_filed", body=reason, title=_(
        "申诉待审：%(number)s（%(measure)s）") % {"number": case.number,
                                              "measure": appeal.get_measure_display()})
    return appeal


@case_services.act_transaction
def decide_appeal(*, actor, case_id: int, appeal_id: int, decision: str, note: str) -> Appeal:
    """A supervisor upholds or refuses a pending appeal, with a reason; the department
    that filed it is told. The figures follow by the event (appeal_facts)."""
    case = case_services.lock_case(case_id)
    ensure_allowed("decide_appeal", actor, case)
    appeal = (Appeal.objects.select_for_update().filter(pk=appeal_id, case=case).first()
              if str(appeal_id).isdigit() else None)
    if appeal is None:
        raise ValidationError({"appeal_id": _("没有这件申诉。")})
    if appeal.state != AppealState.PENDING:
        raise ValidationError({"appeal_id": _("这件申诉已审定（%(state)s）。") % {
            "state": appeal.get_state_display()}})
    if decision not in (AppealState.UPHELD, AppealState.REFUSED):
        raise ValidationError({"decision": _("请选择申诉是否成立。")})
    note = case_services.required_text("note", note, _("请填写审定意见。"))
    if "\x00" in note:
        raise ValidationError({"note": _(NUL_MESSAGE)})
    appeal.state, appeal.decided_by, appeal.decided_at = decision, actor, timezone.now()
    appeal.decision_note = note
    appeal.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    case_services.record_event(case, actor=actor, action="decide_appeal", note=note, data={
        "appeal": appeal.pk, "measure": appeal.measure, "decision": decision,
        "department": appeal.department_id})
    notify([appeal.filed_by], kind="appeal_decided", case=case, title=_(
        "申诉已审定：%(number)s（%(measure)s）%(state)s") % {
            "number": case.number, "measure": appeal.get_measure_display(),
            "state": appeal.get_state_display()}, body=note)
    return appeal


def decide_appeal_by_id(*, actor, appeal_id: int, decision: str, note: str) -> Appeal:
    """The same act from the supervisors' list, which names the appeal only."""
    case_id = Appeal.objects.filter(pk=appeal_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise ValidationError({"appeal_id": _("没有这件申诉。")})
    if not has_role(actor, Role.SUPERVISOR):
        raise PermissionDenied(_("只有督查人员可以审定申诉。"))
    return decide_appeal(actor=actor, case_id=case_id, appeal_id=appeal_id,
                         decision=decision, note=note)


# ---------------------------------------------------------------- the figures
def appeal_facts(case: Case, events, *, valid: bool, rounds) -> dict:
    """FACT_EXTENSIONS: the rounds an upheld appeal takes out (module docstring), and the
    number of upheld appeals. Read from the case's events (no query): the decision event
    names the measure and the department."""
    upheld = [event.data for event in events if event.action == "decide_appeal"
              and (event.data or {}).get("decision") == AppealState.UPHELD]
    if not valid or not upheld:
        return {"appeals_upheld": 0}
    removed: set[int] = set()
    for decision in upheld:
        measure, department_id = decision.get("measure"), decision.get("department")
        for round_ in rounds:
            if not round_.counted or _held_by(case, round_) != department_id:
                continue
            if (measure == AppealMeasure.ON_TIME and not round_.on_time) or (
                    measure == AppealMeasure.RESPONSE and not round_.responded_in_time):
                removed.add(round_.number)
    # The same definitions as figures.case_facts, over the rounds left.
    counted = [r for r in rounds if r.counted and r.number not in removed]
    return {
        "deadline_counted": len(counted),
        "on_time": sum(r.on_time for r in counted),
        "responded": sum(r.responded_in_time for r in counted),
        "appeals_upheld": len(upheld),
    }
