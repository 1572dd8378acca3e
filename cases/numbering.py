"""Case numbers: <prefix>-<year>-<6 digits>, in order and without gaps per year."""

from django.conf import settings
from django.db import transaction

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
