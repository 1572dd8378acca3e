"""The search by words' character-pair indexes, one per quarter (PostgreSQL only).

A term's pairs are looked up in a GIN index over `intake_bigrams(summary, place)` (intake
migration 0008). One index over every case makes each lookup read the term's posting
lists for the whole history: at 20 M cases a place such as 阳光花园 read ~150 ms of lists
to keep the few hundred of the last quarter. Here each calendar quarter of the office's
time zone has its own partial index (`case_words_bigram_2026q4`, `WHERE received_at >=
'2026-10-01 00:00+08' AND received_at < '2027-01-01 00:00+08'`), and the search asks a
stretch of time one quarter at a time (`quarter_parts`), with the quarter's bounds as
constants: the planner then proves the predicate and reads only that quarter's lists.

Repeat detection's trigram index (pg_trgm over `summary || ' ' || place`) is split the
same way (`case_words_trgm_2026q4`): its window (REPEAT_WINDOW_DAYS) is two quarters of
a city's years, asked a quarter at a time.

The indexes cover the quarters their readers reach (SEARCH_TEXT_DAYS back for the words,
REPEAT_WINDOW_DAYS for repeats) and the next one, made ahead of time while it is empty (instant) by the daily beat task
`intake.tasks.keep_search_indexes`; older quarters' indexes are dropped. Built
CONCURRENTLY: a live office keeps registering while one builds. Whatever indexes exist,
a search answers the same rows (an uncovered quarter is read without its index).
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

PREFIX = "case_words_bigram_"
TRIGRAM_PREFIX = "case_words_trgm_"
# Each kind: its names' prefix, what it indexes, and how many days back it is read.
KINDS = {
    PREFIX: ("gin (intake_bigrams(summary, place))", lambda: settings.SEARCH_TEXT_DAYS),
    TRIGRAM_PREFIX: ("gin ((summary || ' ' || place) gin_trgm_ops)",
                     lambda: settings.REPEAT_WINDOW_DAYS),
}
NAME_RE = re.compile(rf"^({PREFIX}|{TRIGRAM_PREFIX})(\d{{4}})q([1-4])$")
DEFINITION = (
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON cases_case USING {using} '
    "WHERE received_at >= '{start}' AND received_at < '{end}'")


def quarter_start(moment: datetime) -> datetime:
    """The first instant of `moment`'s quarter in the office's time zone."""
    local = timezone.localtime(moment)
    return local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0,
                         second=0, microsecond=0)


def next_quarter(start: datetime) -> datetime:
    """The start of the quarter after the one starting at `start`."""
    year, month = (start.year + 1, 1) if start.month == 10 else (start.year, start.month + 3)
    return timezone.make_aware(datetime(year, month, 1), start.tzinfo)


def quarter_parts(low: datetime, high: datetime) -> list[tuple[datetime, datetime]]:
    """[low, high) cut at the quarters' edges, newest part first."""
    parts = []
    start = quarter_start(low)
    while start < high:
        end = next_quarter(start)
        parts.append((max(start, low), min(end, high)))
        start = end
    return parts[::-1]


def search_upper_bound(now: datetime) -> datetime:
    """Where a search by words stops looking forward: the end of the quarter after now's
    (a case stamped a little in the future by a skewed clock is still found)."""
    return next_quarter(next_quarter(quarter_start(now)))


def index_name(start: datetime, prefix: str = PREFIX) -> str:
    return f"{prefix}{start.year}q{(start.month - 1) // 3 + 1}"


def wanted(now: datetime) -> dict[str, tuple[datetime, datetime, str]]:
    """The quarters' indexes to keep, by name: of each kind, from the quarter its days
    back reach to the one after now's (start, end, what it indexes)."""
    last = next_quarter(quarter_start(now))
    quarters = {}
    for prefix, (using, days) in KINDS.items():
        start = quarter_start(now - timedelta(days=days()))
        while start <= last:
            end = next_quarter(start)
            quarters[index_name(start, prefix)] = (start, end, using)
            start = end
    return quarters


def present() -> dict[str, bool]:
    """The quarters' indexes there are, by name: valid or not (a build that was cut
    short leaves an invalid index behind, which no query uses)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname, i.indisvalid FROM pg_index i
                          JOIN pg_class c ON c.oid = i.indexrelid
                          WHERE i.indrelid = 'cases_case'::regclass
                          AND c.relname LIKE %s""", ["case\\_words\\_%"])
        return {name: valid for name, valid in cursor.fetchall() if NAME_RE.match(name)}


# Held while keeping the indexes: two workers at once would race on the same name.
LOCK_KEY = 1_700_170_005


def keep(now: datetime | None = None) -> dict[str, list[str]]:
    """Make the missing quarters' indexes and drop those no search reaches any more.
    Outside a transaction (CONCURRENTLY); nothing on SQLite. Answers what it did."""
    done = {"made": [], "dropped": []}
    if connection.vendor != "postgresql":
        return done
    quarters = wanted(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return done  # another worker is at it
        try:
            have = present()
            for name in sorted(have):
                if name not in quarters or not have[name]:
                    cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
                    done["dropped"].append(name)
            for name, (start, end, using) in sorted(
                    quarters.items(), key=lambda item: (item[1][0], item[0]), reverse=True):
                if have.get(name):
                    continue
                cursor.execute(DEFINITION.format(name=name, using=using,
                                                 start=start.isoformat(), end=end.isoformat()))
                done["made"].append(name)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    if done["made"] or done["dropped"]:
        logger.info("search indexes: made %s, dropped %s", done["made"], done["dropped"])
    return done
