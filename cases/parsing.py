"""Reading numbers, months and dates from what a person typed or a URL carried.

`str.isdigit()` says yes to `²` and `٣`, which `int()` then refuses or reads as 3; a
thousand-digit "page" overflows a bigint; a date near 9999-12-31 overflows as soon as a
deadline adds a day to it. Every number, month and date that comes in from outside is
read here, so that bad text becomes "not given" or a ValidationError naming the field,
never a 500.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# PostgreSQL's bigint, the widest key a row can have.
MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# What PostgreSQL text cannot store (NUL) and what UTF-8 cannot encode (lone surrogates).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def parse_int(value, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """The integer that `value` spells in ASCII digits, within [minimum, maximum];
    None for anything else (empty, signs, spaces, `²`, `٣`, `1e20`, `inf`, too large)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value) if value is not None else ""
        if not _ASCII_DIGITS.fullmatch(text):
            return None
        number = int(text)
    return number if minimum <= number <= maximum else None


def require_int(value, field: str, *, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """parse_int, or a ValidationError naming the field."""
    number = parse_int(value, minimum=minimum, maximum=maximum)
    if number is None:
        raise ValidationError({field: _("请填写 %(minimum)s 到 %(maximum)s 之间的整数。")
                               % {"minimum": minimum, "maximum": maximum}}, code="invalid")
    return number


def parse_month(value) -> date | None:
    """The first day of the month `value` spells as YYYY-MM (ASCII digits, a real month
    within the years dates may have); None for anything else."""
    match = _MONTH.fullmatch(str(value or "").strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and settings.DATE_MIN_YEAR <= year <= settings.DATE_MAX_YEAR):
        return None
    return date(year, month, 1)


def validate_date_in_range(value: date | datetime | None) -> None:
    """Dates and times the office can compute with: a year between DATE_MIN_YEAR and
    DATE_MAX_YEAR (a deadline a few days after 9999-12-31 does not exist)."""
    if value is None:
        return
    if not settings.DATE_MIN_YEAR <= value.year <= settings.DATE_MAX_YEAR:
        raise ValidationError(
            _("日期须在 %(first)s 年到 %(last)s 年之间。"),
            code="date_range",
            params={"first": settings.DATE_MIN_YEAR, "last": settings.DATE_MAX_YEAR})


def unstorable_in(text: str) -> bool:
    """Whether the text holds a character PostgreSQL text cannot store."""
    return bool(UNSTORABLE.search(text))
