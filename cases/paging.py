"""Keyset paging: a page starts after a (moment, id) position, written into the URL as two
integers (microseconds since the epoch, or "-" for no moment, and the row's id), so it
comes back exact and any other text is simply not a position."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
_CURSOR = re.compile(r"([0-9]{1,17}|-)_([0-9]{1,18})")
# PostgreSQL's bigint: an id beyond it is not a row.
_MAX_ID = 2**63 - 1


def cursor_of(moment: datetime | None, pk: int) -> str:
    if moment is None:
        return f"-_{pk}"
    return f"{(moment - _EPOCH) // timedelta(microseconds=1)}_{pk}"


def position_of(cursor: str) -> tuple[datetime | None, int] | None:
    """The (moment or None, id) a cursor names; None if the text is not a cursor."""
    match = _CURSOR.fullmatch(cursor or "")
    if not match:
        return None
    stamp, pk = match.groups()
    if int(pk) > _MAX_ID:
        return None
    if stamp == "-":
        return None, int(pk)
    try:
        return _EPOCH + timedelta(microseconds=int(stamp)), int(pk)
    except OverflowError:
        return None
