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
# for about a millisecond. The provisional number is replaced wherever the act wrote it;
# on PostgreSQL the number is taken and put in place by one statement.
import functools  # noqa: E402
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
    # One version in the history per registering act: the case as it stands at the act's
    # end, written with its number (assign_pending); this object's saves meanwhile write
    # none.
    case.skip_history_when_saving = True
    return token


def forget_pending() -> None:
    """The act rolled back: its provisional numbers went with it."""
    for case, _token, _year in _pending():
        case.__dict__.pop("skip_history_when_saving", None)
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
    assigned = {}
    pending, _state.pending = list(_pending()), []
    postgres = transaction.get_connection().vendor == "postgresql"
    for case, token, year in pending:
        if case.pk is None:
            continue
        case.__dict__.pop("skip_history_when_saving", None)
        if postgres:
            number, numbered = _number_in_one_statement(case, token, year)
        else:
            number = next_case_number(year=year)
            numbered = _rename(case.pk, token, number)
        if not numbered:
            # A registration undone inside the act (a savepoint rolled back) keeps no
            # number.
            _give_back(year)
            continue
        case.number = number
        assigned[case.pk] = number
    return assigned


def _rename(case_id: int, token: str, number: str) -> bool:
    """Put the number wherever the act wrote the stand-in (statement by statement: the
    SQLite demo); answers whether the case itself was there to be numbered."""
    from .models import CASE_HISTORY, Case, Delivery, Notification

    if not Case.objects.filter(pk=case_id, number=token).update(number=number):
        return False
    Case.history.filter(id=case_id, number=token).update(number=number)
    CASE_HISTORY.create_historical_record(Case.objects.get(pk=case_id), "+")
    for model, fields in ((Notification, ("title", "body")), (Delivery, ("subject", "body"))):
        mentions = Q()
        for field in fields:
            mentions |= Q(**{f"{field}__contains": token})
        model.objects.filter(mentions, case_id=case_id).update(
            **{field: Replace(field, Value(token), Value(number)) for field in fields})
    return True


def _number_in_one_statement(case, token: str, year: int) -> tuple[str, bool]:
    """PostgreSQL: take the year's next number, put it wherever the act wrote the
    stand-in and write the case's version in its history, in one statement (the year's
    row is locked by its first part, and the transaction commits right after). Answers
    the number and whether the case was there to be numbered (if not, the number is to
    be given back)."""
    from django.utils import timezone

    from .models import CASE_HISTORY

    prefix = settings.CASE_NUMBER_PREFIX
    user = CASE_HISTORY.get_history_user(case)
    parameters = {"prefix": prefix, "year": year, "case": case.pk, "token": token,
                  "at": timezone.now(), "user": getattr(user, "pk", None),
                  "reason": getattr(case, "_change_reason", None)}
    with transaction.get_connection().cursor() as cursor:
        for attempt in (1, 2):
            cursor.execute(_numbering_sql(), parameters)
            number, numbered = cursor.fetchone()
            if number is not None or attempt == 2:
                break
            # The year's first case: two clerks may race to make its row; one insert
            # wins, the other does nothing, and both then queue on the row's lock.
            CaseNumberSequence.objects.bulk_create(
                [CaseNumberSequence(prefix=prefix, year=year, last_value=0)],
                ignore_conflicts=True)
    return number, bool(numbered)


@functools.cache
def _numbering_sql() -> str:
    from .models import Case, Delivery, Notification

    def table(model) -> str:
        return f'"{model._meta.db_table}"'

    def replaced(model, fields) -> str:
        """The stand-in replaced in these text columns of the case's rows that hold it."""
        sets = ", ".join(f'"{f}" = replace("{f}", %(token)s, named.number)' for f in fields)
        mentions = " OR ".join(f'strpos("{f}", %(token)s) > 0' for f in fields)
        return (f"UPDATE {table(model)} SET {sets} FROM named "
                f"WHERE {table(model)}.case_id = %(case)s AND ({mentions})")

    # The case's version: its row as the act leaves it, with its number.
    history = Case.history.model
    stamps = {"history_date": "%(at)s", "history_change_reason": "%(reason)s",
              "history_type": "'+'", "history_user_id": "%(user)s"}
    version = {}
    for field in history._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        if field.attname in stamps:
            version[field.column] = stamps[field.attname]
        elif field.attname == "number":
            version[field.column] = "named.number"
        else:
            version[field.column] = f'{table(Case)}."{Case._meta.get_field(field.name).column}"'
    # The number as format_case_number writes it: at least six digits.
    return f"""
        WITH taken AS (
            UPDATE {table(CaseNumberSequence)} SET last_value = last_value + 1
            WHERE prefix = %(prefix)s AND year = %(year)s RETURNING last_value),
        named AS (
            SELECT %(prefix)s || '-' || %(year)s::text || '-' ||
                   lpad(last_value::text, greatest(6, length(last_value::text)), '0')
                   AS number FROM taken),
        numbered AS (
            UPDATE {table(Case)} SET number = named.number FROM named
            WHERE {table(Case)}.id = %(case)s AND {table(Case)}.number = %(token)s
            RETURNING {table(Case)}.id),
        history AS (
            UPDATE {table(history)} SET number = named.number FROM named
            WHERE {table(history)}.id = %(case)s AND {table(history)}.number = %(token)s),
        version AS (
            INSERT INTO {table(history)} ({", ".join(f'"{c}"' for c in version)})
            SELECT {", ".join(version.values())} FROM {table(Case)}, named
            WHERE {table(Case)}.id = %(case)s AND {table(Case)}.number = %(token)s),
        notifications AS ({replaced(Notification, ("title", "body"))}),
        deliveries AS ({replaced(Delivery, ("subject", "body"))})
        SELECT (SELECT number FROM named), EXISTS (SELECT 1 FROM numbered)"""


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
