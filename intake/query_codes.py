"""查询码: how a query code is made, written down (as a keyed hash) and checked.

The code travels on paper, by e-mail and over the phone, so its letters are the ones
nobody misreads (no 0/O, 1/I/L). Only an HMAC of the case and the code is stored; the
key is SECRET_KEY, so rotating it retires every code (the office issues new ones).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac

from .models import QueryCode

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def normalize(code: str) -> str:
    """What a person types: any case, with spaces or dashes between the letters."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _digest(case_id: int, code: str) -> str:
    return salted_hmac("intake.query_code", f"{case_id}:{normalize(code)}").hexdigest()


def issue(case, *, first: bool = False) -> str:
    """A new code for the case, replacing any earlier one; the code itself is returned
    once and never stored. `first`: the case was made in this transaction, so it has no
    code yet and the row is only inserted (no lookup, no savepoints)."""
    code = get_random_string(settings.QUERY_CODE_LENGTH, ALPHABET)
    values = {"code_hash": _digest(case.pk, code), "issued_at": timezone.now()}
    if first:
        QueryCode.objects.create(case=case, **values)
    else:
        QueryCode.objects.update_or_create(case=case, defaults=values)
    return code


def matches(record: QueryCode | None, case_id: int, code: str) -> bool:
    """Does the code open this case? Compared in constant time."""
    if record is None or not normalize(code):
        return False
    return constant_time_compare(record.code_hash, _digest(case_id, code))


def display(code: str) -> str:
    """ABCD-EFGH: easier to read out and copy than eight letters in a row."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if code else ""
