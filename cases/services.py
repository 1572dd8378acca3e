"""The mechanics every act shares: lock, check, move, event, the escalation ladder,
attachments, notifications and the delivery outbox that mails them.

The acts themselves live with their stage (`intake`, `dispatch`, `feedback`), declared
in the table of acts (`cases.acts`). Every act runs in one transaction and always in the
same order: lock the case row, check the input, check that the move is legal here (state
and conditions), check that this actor may make it (role and department), make the
transition, save, write the event, tell the next person.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from . import bulk, chain, ledger, numbering
from .escalation import SweptCase, next_step, step_deadline
from .exceptions import CaseConflictError, CaseTransitionError
from .log_redaction import redact
from .models import (
    Attachment,
    Case,
    CaseChange,
    CaseEvent,
    CaseSchedule,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    State,
    TierPolicy,
)


# ---------------------------------------------------------------- one transaction per act
# PostgreSQL's codes worth one more try: a deadlock, a serialisation failure, a lock not
# obtained within lock_timeout. A statement cancelled by statement_timeout is not retried.
RETRIED_CODES = {"40P01", "40001", "55P03"}
logger = logging.getLogger(__name__)


def contention_code(error: BaseException) -> str | None:
    """The PostgreSQL code when the error only means "someone else holds it now"."""
    cause = error.__cause__ if isinstance(error, OperationalError) else None
    return getattr(cause, "pgcode", None)


def act_transaction(service):
    """The service runs in one transaction; when it is the outermost one and meets a
    deadlock or a lock it could not get in time, the whole act is tried once more (its
    rows were all rolled back). A second failure goes up: the person is answered 409
    "try again" (cases.middleware), never 500."""
    atomic_service = transaction.atomic(service)

    def outermost(*args, **kwargs):
        """The act, then — as its last statements — the numbers of the cases it
        registered (cases.numbering: the year's row is locked only from here to the
        commit)."""
        _acts.depth = 1
        try:
            with transaction.atomic():
                result = service(*args, **kwargs)
                assigned = numbering.assign_pending()
        except BaseException:
            numbering.forget_pending()
            raise
        finally:
            _acts.depth = 0
            chain.forget()  # the chains' heads this act knew (cases.chain.starts)
        return numbering.renamed(result, assigned)

    @functools.wraps(service)
    def run(*args, **kwargs):
        if getattr(_acts, "depth", 0):
            return atomic_service(*args, **kwargs)  # within an act: it numbers at its end
        if transaction.get_connection().in_atomic_block:
            return outermost(*args, **kwargs)
        try:
            return outermost(*args, **kwargs)
        except OperationalError as error:
            code = contention_code(error)
            if code not in RETRIED_CODES:
                raise
            logger.warning("%s met PostgreSQL %s; trying once more", service.__qualname__, code)
            for value in [*args, *kwargs.values()]:
                _rewind(value)
            return outermost(*args, **kwargs)

    return run


_acts = threading.local()  # depth: inside an act (its nested acts join it)


def part_of_the_act(act):
    """An act's own body, to run as a part of the act under way: it joins that act's
    transaction without a savepoint of its own (two statements fewer), so a failure in
    it fails the whole act. Only for an act that never goes on after a part failed."""
    return act.__wrapped__


def _rewind(value) -> None:
    """Uploaded files read by the first try are read again from their start."""
    values = value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if hasattr(item, "seek") and hasattr(item, "read"):
            item.seek(0)


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
    from . import reference

    found = reference.tier(code)
    if found is None:
        raise ValidationError({"tier": _("响应级别 %(code)s 不存在。") % {"code": code}})
    return found


def record_event(case: Case, *, actor, action: str, note: str = "", data: dict | None = None):
    """The event of an act that keeps the case in its state (call with the row locked)."""
    return CaseEvent.record(case, actor=staff_or_none(actor), action=action,
                            from_state=case.state, note=note, data=data)


# ---------------------------------------------------------------- the escalation ladder
# The columns of a swept event, written by one INSERT … SELECT unnest per batch.
SWEPT_EVENT_FIELDS = ("case", "actor", "at", "action", "from_state", "to_state", "note", "data",
                      "holder", "holder_department", "deadline", "round", "previous_hash",
                      "hash")


def advance_escalations(*, cases: list[SweptCase], now) -> list[tuple[SweptCase, str]]:
    """Take every ladder step due by `now` for these locked cases (the sweep's batch, as
    rows; each with its schedule row's fields, tier and channel's terms, read after the
    lock).

    Each taken step moves `escalation_step` on and leaves an event without actor (the
    office's clock took it); every case leaves with the ladder's next time, so a stale
    `next_action_at` is corrected. One insert for the events and one update for the
    schedules, whatever the size of the batch, and no model instance per event; answers
    the (case, step) pairs taken, in ladder order.
    """
    taken, events, changed = [], [], []
    for case in cases:
        stored = (case.escalation_step, case.next_action_at)
        while (upcoming := next_step(case)) is not None and upcoming[1] <= now:
            step, at = upcoming
            case.escalation_step = step
            taken.append((case, step))
            # The intake steps run against the acceptance time limit, the visit's and the
            # final result's against their own, the others against the answer's deadline.
            key, deadline = step_deadline(case, step)
            # The event's fields as CaseEvent has them (stamped and sealed like one).
            event = SimpleNamespace(
                case_id=case.pk, actor_id=None, at=now, action=f"escalation_{step}",
                from_state=case.state, to_state=case.state, note="",
                data={key: deadline.isoformat() if deadline else None,
                      "at": at.isoformat()})
            ledger.stamp(event, case)
            events.append(event)
        # What `schedule` sets: the step the loop stopped at is the ladder's next.
        case.next_action_at = upcoming[1] if upcoming else None
        if (case.escalation_step, case.next_action_at) != stored:
            changed.append(case)
    chain.seal_batch(events)
    bulk.insert_rows(CaseEvent, SWEPT_EVENT_FIELDS, [
        (event.case_id, None, event.at, event.action, event.from_state, event.to_state, "",
         event.data, event.holder, event.holder_department, event.deadline, event.round,
         event.previous_hash, event.hash) for event in events])
    bulk.insert_rows(CaseChange, ["case_id_value", "created_at"],
                     [(pk, now) for pk in dict.fromkeys(event.case_id for event in events)])
    # One UPDATE … FROM unnest(…) of the schedules (not of the cases) for the batch.
    bulk.update_rows(CaseSchedule, "case", ["escalation_step", "next_action_at"],
                     [(case.pk, case.escalation_step, case.next_action_at) for case in changed])
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
@act_transaction
def add_attachment(*, actor, case: Case, upload, kind: str = "intake",
                   field: str = "attachments") -> Attachment:
    """Keep an uploaded file with the case (see add_attachments)."""
    return add_attachments(actor=actor, case=case, uploads=[upload], kind=kind, field=field)[0]


def add_attachments(*, actor, case: Case, uploads: Sequence, kind: str = "intake",
                    field: str = "attachments") -> list[Attachment]:
    """Keep uploaded files with the case: every file is judged (type by content, a name
    that agrees, size) and the case's quota counted before any is written, so a refusal
    leaves nothing behind. Errors name `field`. Call with the case locked (or new in this
    transaction)."""
    from .attachments import check_case_quota, check_upload

    types = [check_upload(upload, field=field) for upload in uploads]
    check_case_quota(case, uploads, field=field)
    return [Attachment.objects.create(
        case=case, kind=kind, file=upload, original_name=upload.name[:200],
        content_type=content_type, size=upload.size, uploaded_by=staff_or_none(actor),
    ) for upload, content_type in zip(uploads, types)]


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


# ---------------------------------------------------------------- the delivery outbox


def queue_deliveries(rows: list[Delivery]) -> list[Delivery]:
    """Write outbox rows in the caller's (the act's) transaction; after the commit a task
    is asked to send them at once. Nothing leaves if the act rolls back."""
    rows = Delivery.objects.bulk_create(rows)
    if any(row.channel == DeliveryChannel.EMAIL for row in rows):
        transaction.on_commit(publish_deliveries)
    return rows


def publish_deliveries() -> None:
    """Ask a worker to send now. The row is the record and the publish an optimisation: a
    broker that is down delays the message until the beat's sweep, and never turns an act
    that committed into an error for the person who made it."""
    from .tasks import send_deliveries as task

    try:
        task.delay()
    except Exception:  # noqa: BLE001 - any broker failure; the sweep sends it later
        logger.warning("outbox publish failed; the delivery sweep will send it", exc_info=True)


def _claim_deliveries(*, now, limit: int) -> list[Delivery]:
    """Lease a batch of due e-mail rows (an SMS record or a platform message waits for
    its own sender)."""
    return lease_deliveries(channel=DeliveryChannel.EMAIL, now=now, limit=limit)


def lease_deliveries(*, channel: str, now, limit: int, condition: Q | None = None
                     ) -> list[Delivery]:
    """Lease a batch of due rows of one channel (and `condition`): locked (SKIP LOCKED,
    the outbox rows alone) only while the lease is written, so no lock is held while
    talking to the mail server or the platform."""
    from django.conf import settings

    with transaction.atomic():
        rows = (Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=DeliveryState.PENDING, next_attempt_at__lte=now,
                        channel=channel)
                .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now)))
        if condition is not None:
            rows = rows.filter(condition)
        rows = list(rows.order_by("next_attempt_at", "pk")[:limit])
        lease = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(leased_until=lease)
    for row in rows:
        row.leased_until = lease
    return rows


def _backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... (DELIVERY_RETRY_SECONDS doubled) at most an hour apart."""
    from django.conf import settings

    return timedelta(seconds=min(settings.DELIVERY_RETRY_SECONDS * 2 ** (attempts - 1), 3600))


def _server_down(error: Exception) -> bool:
    """The mail server, not this message, failed: refused, timed out, hung up. The rest of
    the batch would only wait for the same timeout, message after message."""
    import smtplib

    return isinstance(error, (OSError, smtplib.SMTPServerDisconnected,
                              smtplib.SMTPConnectError, smtplib.SMTPHeloError))


def send_deliveries(*, limit: int | None = None) -> int:
    """Send every due outbox row; answers how many left.

    Each batch is leased in a short transaction, then sent outside any transaction over
    one connection with the SMTP timeout (EMAIL_TIMEOUT), then stamped, only if the lease
    is still ours. A row is sent only while its lease has time left for the exchange, so
    no second sender can take it mid-send. A failed message is retried with backoff;
    after DELIVERY_MAX_ATTEMPTS the row is marked failed and the supervisors are told in
    the app. A server that is down fails the message in hand and gives the rest of the
    batch back untouched. A crash between the server's acceptance and the stamp sends the
    message again at the lease's end, with the same Message-ID.
    """
    from django.conf import settings
    from django.core.mail import EmailMessage, get_connection

    limit = limit or settings.DELIVERY_BATCH_SIZE
    # Time a message may take (connect and exchange), kept free at the lease's end.
    margin = timedelta(seconds=min(2 * (settings.EMAIL_TIMEOUT or 60),
                                   settings.DELIVERY_LEASE_SECONDS / 2))
    sent = 0
    while True:
        batch = _claim_deliveries(now=timezone.now(), limit=limit)
        if not batch:
            return sent
        connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
        failed: list[Delivery] = []
        unsent: list[Delivery] = []
        try:
            for index, row in enumerate(batch):
                if timezone.now() + margin > row.leased_until:
                    unsent = batch[index:]  # the lease runs out: give the rest back
                    break
                message = EmailMessage(row.subject, row.body, settings.DEFAULT_FROM_EMAIL,
                                       [row.to], headers={"Message-ID": row.message_id},
                                       connection=connection)
                try:
                    message.send()
                except Exception as error:  # noqa: BLE001 - SMTP, socket, timeout alike
                    _failed(row, error)
                    if row.state == DeliveryState.FAILED:
                        failed.append(row)
                    if _server_down(error):
                        unsent = batch[index + 1:]
                        break
                    continue
                sent += _stamp_sent(row)
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a dead connection is already closed
                pass
        if unsent:
            _release(unsent)
        if failed:
            _tell_of_failures(failed)
        if unsent or len(batch) < limit:
            return sent


def _stamp_sent(row: Delivery) -> int:
    """Mark a row sent (only under our own lease). The server has accepted the message:
    a database that is away for a moment (a restart) is waited for, up to the lease's
    end, rather than let the row be sent again."""
    from django.db import InterfaceError, connection

    while True:
        try:
            return Delivery.objects.filter(pk=row.pk, leased_until=row.leased_until).update(
                state=DeliveryState.SENT, sent_at=timezone.now(), leased_until=None,
                attempts=row.attempts + 1, last_error="")
        except (OperationalError, InterfaceError):
            if timezone.now() + timedelta(seconds=5) > row.leased_until:
                raise
            logger.warning("delivery %s sent but not yet stamped; the database is away",
                           row.pk)
            connection.close()
            time.sleep(1)


def _release(rows: list[Delivery]) -> None:
    """Give leased rows back without counting an attempt (they were not tried)."""
    Delivery.objects.filter(pk__in=[row.pk for row in rows],
                            leased_until=rows[0].leased_until).update(leased_until=None)


def _failed(row: Delivery, error: Exception) -> None:
    from django.conf import settings

    attempts = row.attempts + 1
    final = attempts >= settings.DELIVERY_MAX_ATTEMPTS
    row.state = DeliveryState.FAILED if final else DeliveryState.PENDING
    Delivery.objects.filter(pk=row.pk, leased_until=row.leased_until).update(
        state=row.state, attempts=attempts, leased_until=None,
        next_attempt_at=timezone.now() + _backoff(attempts),
        last_error=f"{type(error).__name__}: {error}"[:2000])
    # Named by its id, never by its address (no personal data in the logs).
    logger.warning("delivery %s failed (attempt %s): %s", row.pk, attempts, redact(str(error)))


def _tell_of_failures(rows: list[Delivery]) -> None:
    """Supervisors see, in the app only (an e-mail about failing e-mail would fail too),
    which messages could not be sent."""
    from .notifications import Message, notify_many, people_with_role
    from .roles import Role

    supervisors = list(people_with_role(Role.SUPERVISOR).values_list("pk", flat=True))
    with transaction.atomic():
        notify_many([Message(supervisors, "delivery_failed",
                             _("邮件发送失败：%(to)s") % {"to": row.to},
                             f"{row.subject}\n{row.last_error}", row.case)
                     for row in rows], email=False)


@act_transaction
def resend_deliveries(*, delivery_ids) -> int:
    """再次发送: failed (or waiting) rows go back to the head of the queue."""
    now = timezone.now()
    # Never a row a sender holds at this moment (it would go twice).
    count = Delivery.objects.filter(pk__in=list(delivery_ids)).exclude(
        state=DeliveryState.SENT).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now(),
        leased_until=None, last_error="")
    if count:
        transaction.on_commit(publish_deliveries)
        from intake.callbacks import publish as publish_callbacks

        transaction.on_commit(publish_callbacks)
    return count


@act_transaction
def mark_sms_sent(*, delivery_ids) -> int:
    """标记为已发送: the office's staff sent these SMS records themselves (there is no
    gateway); the rows are stamped as sent, once."""
    return Delivery.objects.filter(
        pk__in=list(delivery_ids), channel=DeliveryChannel.SMS,
        state=DeliveryState.PENDING).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), leased_until=None, last_error="")
