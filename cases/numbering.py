"""Case numbers: <prefix>-<year>-<6 digits>, in order and without gaps per year."""

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Replace

from .models import CaseNumberSequence


def format_case_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def next_case_number(*, year: int) -> str:
    """Take the next number of the year.

    Call inside the transaction that inserts the case: the sequence row stays locked until
    that transaction ends, so concurrent registrations queue here, and a registration that
    rolls back gives its number back instead of leaving a gap.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_case_number() must run inside the registering transaction")
    prefix = settings.CASE_NUMBER_PREFIX
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        # One statement: the row is locked, counted on and read back at once.
        table = CaseNumberSequence._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET last_value = last_value + 1 '
                           "WHERE prefix = %s AND year = %s RETURNING last_value",
                           [prefix, year])
            row = cursor.fetchone()
        if row is not None:
            return format_case_number(prefix, year, row[0])
    sequences = CaseNumberSequence.objects.select_for_update()
    sequence = sequences.filter(prefix=prefix, year=year).first()
    if sequence is None:
        # First case of the year: two clerks may race to create the row; one insert wins,
        # the other does nothing, and both then queue on the row's lock.
        CaseNumberSequence.objects.bulk_create(
            [CaseNumberSequence(prefix=prefix, year=year, last_value=0)], ignore_conflicts=True
        )
        sequence = sequences.get(prefix=prefix, year=year)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return format_case_number(prefix, year, sequence.last_value)


# ---------------------------------------------------------------- the number taken last
# A registration holds the year's sequence row from the moment it takes a number until
# it commits: every other registration waits that long. So the case is written under a
# provisional number, the rest of the act (triage, the event, the acceptance, its
# notifications and e-mails) is done, and the gapless number is taken as the act's last
# statement (cases.services.act_transaction runs `assign_pending` there): the row is held
# for about a millisecond. The provisional number is replaced wherever the act wrote it.
import threading  # noqa: E402
import uuid  # noqa: E402

PROVISIONAL_MARK = "~"
_state = threading.local()


def _pending() -> list:
    if not hasattr(_state, "pending"):
        _state.pending = []
    return _state.pending


def provisional_number(case, *, year: int) -> str:
    """A unique stand-in until the act ends; the case is numbered then (same year)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("provisional_number() must run inside the registering transaction")
    token = PROVISIONAL_MARK + uuid.uuid4().hex[:20]
    _pending().append((case, token, year))
    return token


def forget_pending() -> None:
    """The act rolled back: its provisional numbers went with it."""
    _pending().clear()


def _give_back(year: int) -> None:
    """The number just taken was not used: the year's row (still locked by this
    transaction) counts it back, so the next case takes it and no gap is left."""
    CaseNumberSequence.objects.filter(prefix=settings.CASE_NUMBER_PREFIX, year=year).update(
        last_value=F("last_value") - 1)


def assign_pending() -> dict[int, str]:
    """Number the act's new cases (in the order they were registered) and put the number
    wherever the act wrote the stand-in: the case, its history, its notifications and
    outbox rows. Answers {case pk: number}."""
    from .models import Case, Delivery, Notification

    assigned = {}
    pending, _state.pending = list(_pending()), []
    for case, token, year in pending:
        if case.pk is None:
            continue
        number = next_case_number(year=year)
        if not Case.objects.filter(pk=case.pk, number=token).update(number=number):
            # A registration undone inside the act (a savepoint rolled back) keeps no
            # number.
            _give_back(year)
            continue
        Case.history.filter(id=case.pk, number=token).update(number=number)
        for model, fields in ((Notification, ("title", "body")),
                              (Delivery, ("subject", "body"))):
            mentions = Q()
            for field in fields:
                mentions |= Q(**{f"{field}__contains": token})
            model.objects.filter(mentions, case_id=case.pk).update(
                **{field: Replace(field, Value(token), Value(number)) for field in fields})
        case.number = number
        assigned[case.pk] = number
    return assigned


def renamed(result, assigned: dict[int, str]):
    """The act's answer with its cases' numbers as assigned (an instance read again
    within the act still holds the stand-in)."""
    from .models import Case

    if not assigned:
        return result
    for value in (result if isinstance(result, (list, tuple)) else [result]):
        for candidate in (value, getattr(value, "case", None)):
            if isinstance(candidate, Case) and candidate.pk in assigned:
                candidate.number = assigned[candidate.pk]
    return result
