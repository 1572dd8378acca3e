"""What happens when someone acts on a case: one function per act.

Every act runs in one transaction and always in the same order: lock the case row, check
the input, check that the move is legal here (state and conditions), check that this
actor may make it (role and department), make the transition, save, write the event.
Other apps' services call these inside their own transaction to add their records.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from .calendar import compute_due_at
from .escalation import next_step, schedule
from .exceptions import CaseConflictError, CaseTransitionError
from .models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Department,
    InvalidReason,
    Petitioner,
    ReplyChannel,
    Satisfaction,
    State,
    Tier,
    TierPolicy,
)
from .numbering import next_case_number
from .roles import OFFICE_ROLES, Role, has_role

DEFAULT_TIER = Tier.T3


# ---------------------------------------------------------------- the mechanics
def transition_label(bound_method) -> str:
    """The office's word for a transition, e.g. 受理 for `accept`."""
    for transition in bound_method._django_fsm.transitions.values():
        label = transition.custom.get("label")
        if label:
            return str(label)
    return bound_method.__name__


def ensure_transition(bound_method, actor) -> None:
    """Raise unless the case may make this move now and this actor may make it.

    CaseTransitionError names the state or the unmet condition; PermissionDenied the act.
    """
    case: Case = bound_method.__self__
    action = transition_label(bound_method)
    transition = bound_method._django_fsm.get_transition(case.state)
    if transition is None:
        raise CaseTransitionError(
            _("案件 %(number)s 当前状态为「%(state)s」，不能%(action)s。")
            % {"number": case.number, "state": case.get_state_display(), "action": action}
        )
    for predicate in transition.conditions:
        if not predicate(case):
            raise CaseTransitionError(
                _("案件 %(number)s 不能%(action)s：%(reason)s。")
                % {"number": case.number, "action": action, "reason": predicate.message}
            )
    if not transition.has_perm(case, actor):
        raise PermissionDenied(
            _("您无权对案件 %(number)s 执行「%(action)s」。")
            % {"number": case.number, "action": action}
        )


def _move(case: Case, name: str, *, actor, note: str = "", data: dict | None = None,
          then=None, **arguments) -> CaseEvent:
    """Make transition `name` on a locked case, save it and write its event.

    `then(case)` runs after the transition and before the one save (for fields derived
    from what the transition stamped, e.g. the escalation schedule).
    """
    bound_method = getattr(case, name)
    ensure_transition(bound_method, actor)
    from_state = case.state
    bound_method(**arguments)
    if then is not None:
        then(case)
    try:
        case.save()
    except ConcurrentTransition as error:
        raise CaseConflictError(
            _("案件 %(number)s 已被他人处理，请刷新后重试。") % {"number": case.number}
        ) from error
    return CaseEvent.record(
        case, actor=staff_or_none(actor), action=name, from_state=from_state, note=note,
        data=data,
    )


def staff_or_none(actor):
    """The user to store as an event's actor: the public (None, a petitioner) is none."""
    return actor if getattr(actor, "is_authenticated", False) else None


def lock_case(case_id: int) -> Case:
    """The case, its row locked until the transaction ends.

    No select_related here: when PostgreSQL re-reads a row it waited for, it refreshes the
    locked row but not the rows joined to it, so a joined tier could be stale. Related rows
    are read after the lock instead.
    """
    return Case.objects.select_for_update().get(pk=case_id)


def _required(field: str, value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _choice(field: str, value: str, choices, message: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: message})
    return value


def _get(model, field: str, pk, message: str, **filters):
    try:
        return model.objects.get(pk=pk, **filters)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValidationError({field: message}) from None


# ---------------------------------------------------------------- intake
@transaction.atomic
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
) -> Case:
    """Record a matter as it reached the office; it waits in `received` for an outcome.

    Staff register by any channel; the public (actor None) only through the web form.
    """
    if actor is None:
        if channel != Channel.WEB:
            raise PermissionDenied(_("公众只能通过网上信访提交。"))
    elif not has_role(actor, *OFFICE_ROLES):
        raise PermissionDenied(_("只有信访办工作人员可以登记案件。"))
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
    )
    case.full_clean(exclude=["number", "state"])
    case.number = next_case_number(year=timezone.localtime(now).year)
    case.save()
    CaseEvent.record(
        case, actor=actor, action="register", from_state="",
        note=case.get_channel_display(),
        data={"earlier_case": earlier_case.number} if earlier_case else None,
    )
    return case


@transaction.atomic
def accept_case(*, actor, case_id: int, tier_code: str = "", note: str = "") -> Case:
    """受理: the clock starts; the tier is the one given, the category's, or T3."""
    case = lock_case(case_id)
    if tier_code:
        case.tier = _tier_by_code(tier_code)
    elif case.tier_id is None:
        default = case.category.default_tier if case.category_id else None
        case.tier = default or _tier_by_code(DEFAULT_TIER)
    now = timezone.now()
    deadline = compute_due_at(case.tier, now)
    due_at = deadline.due_at
    data = {"tier": case.tier.code, "due_at": due_at.isoformat()}
    if case.platform_due_at and case.platform_due_at < due_at:
        due_at = case.platform_due_at  # the 12345 platform's promise comes first
        data["due_at"] = due_at.isoformat()
        data["platform_due_at"] = True
    if deadline.fallback_years:
        data["calendar_fallback_years"] = sorted(deadline.fallback_years)
        note = " ".join(filter(None, [note, _(
            "%(years)s 年节假日未录入，期限按普通周末计算。"
        ) % {"years": "、".join(map(str, sorted(deadline.fallback_years)))}]))
    _move(case, "accept", actor=actor, note=note, data=data, at=now, due_at=due_at,
          then=schedule)
    return case


def _tier_by_code(code: str) -> TierPolicy:
    try:
        return TierPolicy.objects.get(code=code)
    except TierPolicy.DoesNotExist:
        raise ValidationError({"tier": _("响应级别 %(code)s 不存在。") % {"code": code}}) from None


@transaction.atomic
def answer_on_the_spot(*, actor, case_id: int, answer: str) -> Case:
    """即办: a consultation answered at once."""
    case = lock_case(case_id)
    answer = _required("answer", answer, _("请填写答复内容。"))
    _move(case, "answer_on_the_spot", actor=actor, note=answer, at=timezone.now(), answer=answer)
    return case


@transaction.atomic
def refuse_case(*, actor, case_id: int, reason: str, guidance: str) -> Case:
    """不予受理: outside the office's scope; the petitioner is told where to go instead."""
    case = lock_case(case_id)
    reason = _required("reason", reason, _("请填写不予受理的理由。"))
    guidance = _required("guidance", guidance, _("请告知信访人应当向哪里反映。"))
    _move(case, "refuse", actor=actor, note=reason, data={"guidance": guidance},
          at=timezone.now(), reason=reason, guidance=guidance)
    return case


@transaction.atomic
def merge_case(*, actor, case_id: int, into_number: str, note: str = "") -> Case:
    """合并: the same matter is already being handled under an earlier number."""
    case = lock_case(case_id)
    target = Case.objects.filter(number=(into_number or "").strip()).first()
    if target is None or target.pk == case.pk:
        raise ValidationError({"into_number": _("请填写要并入的另一件案件的编号。")})
    if target.state == State.MERGED:
        raise ValidationError({"into_number": _("案件 %(number)s 本身已被合并，请并入它的主案。")
                                              % {"number": target.number}})
    case.merged_into = target
    _move(case, "merge", actor=actor, note=note, data={"into": target.number},
          at=timezone.now())
    CaseEvent.record(target, actor=actor, action="merged_in", from_state=target.state,
                     note=note, data={"case": case.number})
    return case


@transaction.atomic
def withdraw_case(*, actor, case_id: int, reason: str) -> Case:
    """撤回: the petitioner withdraws the matter."""
    case = lock_case(case_id)
    reason = _required("reason", reason, _("请填写撤回原因。"))
    _move(case, "withdraw", actor=actor, note=reason, at=timezone.now())
    return case


# ---------------------------------------------------------------- dispatch
def _set_category(case: Case, category_id) -> None:
    if category_id in (None, ""):
        return
    category = _get(Category, "category", category_id, _("问题分类不存在。"), is_active=True)
    if category.children.exists():
        raise ValidationError({"category": _("请选择到二级分类。")})
    case.category = category


@transaction.atomic
def dispatch_case(
    *,
    actor,
    case_id: int,
    lead_department_id: int,
    assisting_department_ids: Iterable[int] = (),
    category_id: int | None = None,
    note: str = "",
) -> Case:
    """交办 to a lead department (with assisting ones); from `returned` it re-dispatches."""
    case = lock_case(case_id)
    _set_category(case, category_id)
    lead = _get(Department, "lead_department", lead_department_id, _("主办部门不存在。"),
                is_active=True, is_office=False)
    assisting_ids = {int(pk) for pk in assisting_department_ids} - {lead.pk}
    assisting = list(Department.objects.filter(pk__in=assisting_ids, is_active=True))
    if len(assisting) != len(assisting_ids):
        raise ValidationError({"assisting_departments": _("协办部门不存在。")})
    case.lead_department = lead
    was_returned = case.state == State.RETURNED
    _move(case, "dispatch", actor=actor, note=note or (_("重新交办") if was_returned else ""),
          data={"lead_department": lead.name, "assisting": [d.name for d in assisting],
                "redispatch": was_returned},
          at=timezone.now())
    case.assisting_departments.set(assisting)
    return case


@transaction.atomic
def handle_directly(*, actor, case_id: int, category_id: int | None = None,
                    note: str = "") -> Case:
    """直办: the office investigates the case itself."""
    case = lock_case(case_id)
    _set_category(case, category_id)
    office = Department.objects.filter(is_office=True).first()
    if office is None:
        raise ValidationError({"lead_department": _("系统尚未设置信访办部门，请联系管理员。")})
    case.lead_department = office
    _move(case, "handle_directly", actor=actor, note=note, at=timezone.now())
    return case


@transaction.atomic
def escalate_case(*, actor, case_id: int, category_id: int | None = None,
                  note: str = "") -> Case:
    """呈办: sent to a supervisor for instruction before it is dispatched."""
    case = lock_case(case_id)
    _set_category(case, category_id)
    _move(case, "escalate", actor=actor, note=note)
    return case


@transaction.atomic
def instruct_case(*, actor, case_id: int, instruction: str) -> Case:
    """批示: the supervisor's instruction on an escalated case."""
    case = lock_case(case_id)
    instruction = _required("instruction", instruction, _("请填写批示内容。"))
    _move(case, "instruct", actor=actor, note=instruction, instruction=instruction)
    return case


@transaction.atomic
def return_case(*, actor, case_id: int, reason: str) -> Case:
    """退单: the department is not responsible; back to the dispatcher within the window."""
    case = lock_case(case_id)
    reason = _required("reason", reason, _("请说明退单理由。"))
    # Counted against the department that returns and the dispatcher who sent it there.
    dispatched = case.events.filter(action="dispatch").order_by("-at", "-pk").first()
    _move(case, "return_to_dispatcher", actor=actor, note=reason,
          data={"department": case.lead_department_id,
                "dispatcher": dispatched.actor_id if dispatched else None})
    return case


@transaction.atomic
def refuse_return(*, actor, case_id: int, reason: str) -> Case:
    """驳回退单: the dispatcher holds the department responsible."""
    case = lock_case(case_id)
    reason = _required("reason", reason, _("请说明驳回退单的理由。"))
    _move(case, "refuse_return", actor=actor, note=reason)
    return case


# ---------------------------------------------------------------- handling and review
@transaction.atomic
def department_accept_case(*, actor, case_id: int) -> Case:
    """签收: the lead department takes the case; a handler who signs becomes its handler."""
    case = lock_case(case_id)
    handler = actor if has_role(actor, Role.HANDLER) else None
    _move(case, "department_accept", actor=actor, at=timezone.now(), handler=handler)
    return case


@transaction.atomic
def submit_result(*, actor, case_id: int, result: str, is_solved: bool) -> Case:
    """提交办理结果: the written result goes into the review chain."""
    case = lock_case(case_id)
    result = _required("result", result, _("请填写办理结果。"))
    if is_solved not in (True, False):
        raise ValidationError({"is_solved": _("请选择问题是否已解决。")})
    _move(case, "submit_result", actor=actor, note=result, data={"is_solved": is_solved},
          at=timezone.now(), result=result, is_solved=is_solved)
    return case


@transaction.atomic
def approve_result(*, actor, case_id: int, note: str = "") -> Case:
    """审核通过 at the current stage: head, then office, then a supervisor if sensitive."""
    case = lock_case(case_id)
    _move(case, "approve_result", actor=actor, note=note,
          data={"stage": case.review_stage, "next_stage": case.next_review_stage()})
    return case


@transaction.atomic
def send_back_result(*, actor, case_id: int, note: str) -> Case:
    """审核退回: back to handling with the reviewer's note."""
    case = lock_case(case_id)
    note = _required("note", note, _("请写明退回意见。"))
    stage = case.review_stage
    _move(case, "send_back", actor=actor, note=note, data={"stage": stage})
    return case


# ---------------------------------------------------------------- closing the loop
@transaction.atomic
def reply_to_petitioner(*, actor, case_id: int, reply: str, channel: str) -> Case:
    """答复: the approved result is told to the petitioner."""
    case = lock_case(case_id)
    reply = _required("reply", reply, _("请填写答复内容。"))
    channel = _choice("channel", channel, ReplyChannel, _("请选择答复方式。"))
    _move(case, "reply_to_petitioner", actor=actor, note=reply, data={"channel": channel},
          at=timezone.now(), reply=reply, channel=channel)
    return case


@transaction.atomic
def record_return_visit(*, actor, case_id: int, is_solved: bool, satisfaction: str,
                        comments: str = "") -> Case:
    """回访: the petitioner's verdict; unsatisfied reopens the case to its department."""
    case = lock_case(case_id)
    satisfaction = _choice("satisfaction", satisfaction, Satisfaction, _("请选择满意度。"))
    if is_solved not in (True, False):
        raise ValidationError({"is_solved": _("请选择问题是否已解决。")})
    now = timezone.now()
    _move(case, "record_return_visit", actor=actor, note=comments,
          data={"is_solved": is_solved, "satisfaction": satisfaction},
          at=now, is_solved=is_solved, satisfaction=satisfaction)
    if satisfaction == Satisfaction.UNSATISFIED:
        _reopen(case, actor=actor, note=comments or _("信访人对办理结果不满意"),
                data={"by_return_visit": True})
    return case


def _reopen(case: Case, *, actor, note: str, data: dict | None = None) -> None:
    """重办 is a new round: the tier's full time again from now (the calendar applies),
    and a fresh escalation ladder, whose steps and supervision orders are the round's own."""
    data = dict(data or {})

    def restart_clock(case: Case) -> None:
        # Runs once the transition is known to be legal.
        now = timezone.now()
        case.reopened_at = now
        case.due_at = compute_due_at(case.tier, now).due_at
        case.escalation_step = ""
        schedule(case)
        data["due_at"] = case.due_at.isoformat()

    _move(case, "reopen", actor=actor, note=note, data=data, then=restart_clock)


@transaction.atomic
def record_unreached_visit(*, actor, case_id: int, note: str = "") -> Case:
    """A return-visit attempt that did not reach the petitioner; after VISIT_MAX_ATTEMPTS
    of them the replied case may be archived unvisited."""
    case = lock_case(case_id)
    if not has_role(actor, *OFFICE_ROLES):
        raise PermissionDenied(_("只有信访办工作人员可以回访。"))
    if case.state != State.REPLIED:
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能回访。")
                                  % {"number": case.number, "state": case.get_state_display()})
    case.unreached_visits += 1
    case.save(update_fields=["unreached_visits"])
    record_event(case, actor=actor, action="visit_unreached", note=note,
                 data={"attempt": case.unreached_visits})
    return case


@transaction.atomic
def reopen_case(*, actor, case_id: int, reason: str) -> Case:
    """重办: back to the lead department after its return visit.

    An unsatisfied visit does this by itself; the office or a supervisor may also decide
    it, with a reason, when the result does not hold up.
    """
    case = lock_case(case_id)
    reason = _required("reason", reason, _("请说明重办原因。"))
    _reopen(case, actor=actor, note=reason)
    return case


@transaction.atomic
def archive_case(*, actor, case_id: int, invalid_reason: str = "", note: str = "") -> Case:
    """归档: the file is closed and read-only; an invalid case is left out of the rates."""
    case = lock_case(case_id)
    if invalid_reason:
        _choice("invalid_reason", invalid_reason, InvalidReason, _("无效件原因不在列表中。"))
    _move(case, "archive", actor=actor, note=note, data={"invalid_reason": invalid_reason},
          at=timezone.now(), invalid_reason=invalid_reason)
    return case


# ---------------------------------------------------------------- the escalation ladder
def advance_escalations(*, cases: list[Case], now) -> list[tuple[Case, str]]:
    """Take every ladder step due by `now` for these locked cases (the sweep's batch).

    Each taken step moves `escalation_step` on and leaves an event without actor (the
    office's clock took it); every case leaves with the ladder's next time, so a stale
    `next_action_at` is corrected. One insert for the events and one update for the cases,
    whatever the size of the batch; answers the (case, step) pairs taken, in ladder order.
    """
    taken, events, changed = [], [], []
    for case in cases:
        stored = (case.escalation_step, case.next_action_at)
        while (upcoming := next_step(case)) is not None and upcoming[1] <= now:
            step, at = upcoming
            case.escalation_step = step
            taken.append((case, step))
            events.append(CaseEvent(
                case=case, actor=None, at=now, action=f"escalation_{step}",
                from_state=case.state, to_state=case.state,
                data={"due_at": case.due_at.isoformat() if case.due_at else None,
                      "at": at.isoformat()}))
        schedule(case)
        if (case.escalation_step, case.next_action_at) != stored:
            changed.append(case)
    CaseEvent.objects.bulk_create(events)
    if changed:
        Case.objects.bulk_update(changed, ["escalation_step", "next_action_at"])
    return taken


# ---------------------------------------------------------------- acts that change no state
def record_event(case: Case, *, actor, action: str, note: str = "", data: dict | None = None):
    """The event of an act that keeps the case in its state (call with the row locked)."""
    return CaseEvent.record(case, actor=staff_or_none(actor), action=action,
                            from_state=case.state, note=note, data=data)


@transaction.atomic
def change_tier(*, actor, case_id: int, tier_code: str, reason: str) -> Case:
    """改级: the dispatcher changes the suggested tier, with a reason; the deadline is
    recomputed from the acceptance under the new tier."""
    case = lock_case(case_id)
    if not has_role(actor, Role.DISPATCHER):
        raise PermissionDenied(_("只有派单员可以调整响应级别。"))
    reason = _required("tier_change_reason", reason, _("调整响应级别须说明理由。"))
    if case.state not in (State.ACCEPTED, State.RETURNED) or case.accepted_at is None:
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能调整响应级别。")
                                  % {"number": case.number, "state": case.get_state_display()})
    old = case.tier.code if case.tier_id else ""
    case.tier = _tier_by_code(tier_code)
    if case.tier.code == old:
        return case
    due_at = compute_due_at(case.tier, case.accepted_at).due_at
    if case.platform_due_at and case.platform_due_at < due_at:
        due_at = case.platform_due_at
    case.due_at = due_at
    schedule(case)
    case.save(update_fields=["tier", "due_at", "next_action_at"])
    record_event(case, actor=actor, action="change_tier", note=reason,
            data={"from": old, "to": case.tier.code, "due_at": due_at.isoformat()})
    return case


@transaction.atomic
def assign_handler(*, actor, case_id: int, handler_id: int) -> Case:
    """分派: the department head names the handler of a case of the department."""
    from django.contrib.auth import get_user_model

    from .roles import headed_department_ids_of

    case = lock_case(case_id)
    if case.lead_department_id not in headed_department_ids_of(actor):
        raise PermissionDenied(_("只有主办部门负责人可以分派承办人。"))
    if case.state not in (State.DISPATCHED, State.IN_HANDLING):
        raise CaseTransitionError(_("案件 %(number)s 当前状态为「%(state)s」，不能分派承办人。")
                                  % {"number": case.number, "state": case.get_state_display()})
    handler = get_user_model().objects.filter(
        pk=handler_id, is_active=True, departments=case.lead_department_id).first()
    if handler is None:
        raise ValidationError({"handler": _("承办人须是主办部门的在岗人员。")})
    case.handler = handler
    case.save(update_fields=["handler"])
    record_event(case, actor=actor, action="assign_handler",
            note=handler.get_full_name() or handler.username, data={"handler": handler.pk})
    return case


def extend_deadline(*, actor, case: Case, new_due_at, reason: str) -> Case:
    """延期: move the deadline of a locked open case (the history keeps the old one).

    Called by the extension decision inside its transaction; the caller checks that the
    request came before the deadline.
    """
    if not has_role(actor, Role.SUPERVISOR):
        raise PermissionDenied(_("只有督办人员可以批准延期。"))
    if not case.is_open:
        raise CaseTransitionError(_("案件 %(number)s 已不在办理中，不能延期。")
                                  % {"number": case.number})
    if case.due_at and new_due_at <= case.due_at:
        raise ValidationError({"new_due_at": _("延期后的期限须晚于原期限。")})
    old = case.due_at
    case.due_at = new_due_at
    case.extension_count += 1
    schedule(case)
    case.save(update_fields=["due_at", "extension_count", "next_action_at"])
    record_event(case, actor=actor, action="extend", note=reason,
            data={"from": old.isoformat() if old else None, "to": new_due_at.isoformat()})
    return case


def record_first_contact(*, case: Case, at) -> bool:
    """The first contact with the petitioner marks the case as responded to (locked row)."""
    if case.responded_at is not None:
        return False
    case.responded_at = at
    case.save(update_fields=["responded_at"])
    return True


# ---------------------------------------------------------------- attachments
@transaction.atomic
def add_attachment(*, actor, case: Case, upload, kind: str = "intake") -> "Attachment":
    """Keep an uploaded file with the case; its type is read from its content."""
    from .attachments import check_upload
    from .models import Attachment

    content_type = check_upload(upload)
    return Attachment.objects.create(
        case=case, kind=kind, file=upload, original_name=upload.name[:200],
        content_type=content_type, size=upload.size, uploaded_by=staff_or_none(actor),
    )


# ---------------------------------------------------------------- notifications
def mark_notifications_read(*, user) -> int:
    from .models import Notification

    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def mark_notification_read(*, user, notification_id: int) -> bool:
    from .models import Notification

    return bool(Notification.objects.filter(recipient=user, pk=notification_id,
                                            read_at__isnull=True).update(read_at=timezone.now()))


# ---------------------------------------------------------------- e-mail of notifications
def email_notifications(*, notification_ids: list[int]) -> int:
    """Send the e-mail copy of each notification not yet e-mailed; answers how many.

    Each row is claimed under its lock and stamped in the same transaction as the send,
    so two workers never mail the same notification.
    """
    from django.conf import settings
    from django.core.mail import send_mail

    from .models import Notification

    sent = 0
    for notification_id in notification_ids:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(pk=notification_id, emailed_at__isnull=True)
                .select_related("recipient")
                .first()
            )
            if notification is None or not notification.recipient.email:
                continue
            send_mail(notification.title, notification.body or notification.title,
                      settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
            notification.emailed_at = timezone.now()
            notification.save(update_fields=["emailed_at"])
            sent += 1
    return sent
