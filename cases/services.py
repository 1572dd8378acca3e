"""The mechanics every act shares: lock, check, move, event, the escalation ladder,
attachments, notifications and their e-mail.

The acts themselves live with their stage (`intake`, `dispatch`, `feedback`), declared
in the table of acts (`cases.acts`). Every act runs in one transaction and always in the
same order: lock the case row, check the input, check that the move is legal here (state
and conditions), check that this actor may make it (role and department), make the
transition, save, write the event, tell the next person.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from .escalation import next_step, schedule
from .exceptions import CaseConflictError, CaseTransitionError
from .models import (
    INTAKE_STEPS,
    Attachment,
    Case,
    CaseChange,
    CaseEvent,
    ChannelPolicy,
    State,
    TierPolicy,
)


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
    from django.core.exceptions import PermissionDenied

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


def move(bound_method, *, actor, note: str = "", data: dict | None = None, then=None,
         **arguments) -> CaseEvent:
    """Make a transition of a locked case (`case.accept`), save it and write its event.

    `then(case)` runs after the transition and before the one save (for fields derived
    from what the transition stamped, e.g. the escalation schedule).
    """
    case: Case = bound_method.__self__
    ensure_transition(bound_method, actor)
    from_state = case.state
    bound_method(**arguments)
    if then is not None:
        then(case)
    save_moved(case)
    event = CaseEvent.record(
        case, actor=staff_or_none(actor), action=bound_method.__name__, from_state=from_state,
        note=note, data=data,
    )
    from .acts import consequences_of

    for consequence in consequences_of(bound_method.__name__):
        consequence(case)
    return event


def save_moved(case: Case) -> None:
    try:
        case.save()
    except ConcurrentTransition as error:
        raise CaseConflictError(
            _("案件 %(number)s 已被他人处理，请刷新后重试。") % {"number": case.number}
        ) from error


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


def required_text(field: str, value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def choice(field: str, value: str, choices, message: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: message})
    return value


def get_or_invalid(model, field: str, pk, message: str, **filters):
    try:
        return model.objects.get(pk=pk, **filters)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValidationError({field: message}) from None


def tier_by_code(code: str) -> TierPolicy:
    try:
        return TierPolicy.objects.get(code=code)
    except TierPolicy.DoesNotExist:
        raise ValidationError({"tier": _("响应级别 %(code)s 不存在。") % {"code": code}}) from None


def record_event(case: Case, *, actor, action: str, note: str = "", data: dict | None = None):
    """The event of an act that keeps the case in its state (call with the row locked)."""
    return CaseEvent.record(case, actor=staff_or_none(actor), action=action,
                            from_state=case.state, note=note, data=data)


# ---------------------------------------------------------------- the escalation ladder
def advance_escalations(*, cases: list[Case], now) -> list[tuple[Case, str]]:
    """Take every ladder step due by `now` for these locked cases (the sweep's batch).

    Each taken step moves `escalation_step` on and leaves an event without actor (the
    office's clock took it); every case leaves with the ladder's next time, so a stale
    `next_action_at` is corrected. One insert for the events and one update for the cases,
    whatever the size of the batch; answers the (case, step) pairs taken, in ladder order.
    """
    taken, events, changed = [], [], []
    # The intake steps read the channel's terms: one query for the batch's received cases.
    ChannelPolicy.attach(case for case in cases if case.state == State.RECEIVED)
    for case in cases:
        stored = (case.escalation_step, case.next_action_at)
        while (upcoming := next_step(case)) is not None and upcoming[1] <= now:
            step, at = upcoming
            case.escalation_step = step
            taken.append((case, step))
            # The intake steps run against the acceptance time limit, the others against
            # the answer's deadline.
            key, deadline = (("accept_by", case.accept_by) if step in INTAKE_STEPS
                             else ("due_at", case.due_at))
            events.append(CaseEvent(
                case=case, actor=None, at=now, action=f"escalation_{step}",
                from_state=case.state, to_state=case.state,
                data={key: deadline.isoformat() if deadline else None,
                      "at": at.isoformat()}))
        schedule(case)
        if (case.escalation_step, case.next_action_at) != stored:
            changed.append(case)
    CaseEvent.objects.bulk_create(events)
    CaseChange.objects.bulk_create(CaseChange(case_id_value=pk)
                                   for pk in dict.fromkeys(event.case_id for event in events))
    if changed:
        Case.objects.bulk_update(changed, ["escalation_step", "next_action_at"])
    return taken


# ---------------------------------------------------------------- facts stamped by acts
def record_first_contact(*, case: Case, at) -> bool:
    """The first contact with the petitioner marks the case as responded to (locked row)."""
    if case.responded_at is not None:
        return False
    case.responded_at = at
    case.save(update_fields=["responded_at"])
    return True


# ---------------------------------------------------------------- attachments
@transaction.atomic
def add_attachment(*, actor, case: Case, upload, kind: str = "intake") -> Attachment:
    """Keep an uploaded file with the case; its type is read from its content."""
    from .attachments import check_upload

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
