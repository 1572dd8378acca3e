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
REPEAT_WINDOW_DAYS for repeats) and the next one, made ahead of time while it is still
empty by the daily beat task
`intake.tasks.keep_search_indexes`; older quarters' indexes are dropped. Built
CONCURRENTLY: a live office keeps registering while one builds. Whatever indexes exist,
a search answers the same rows (an uncovered quarter is read without its index).
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
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
    """The first instant of `moment`'s quarter in the office's time zone (TIME_ZONE,
    whatever zone a request activated: the indexes' bounds are the office's)."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0,
                         second=0, microsecond=0)


def next_quarter(start: datetime) -> datetime:
    """The start of the quarter after the one starting at `start`."""
    year, month = (start.year + 1, 1) if start.month == 10 else (start.year, start.month + 3)
    return timezone.make_aware(datetime(year, month, 1), start.tzinfo)


def quarter_parts(low: datetime, high: datetime | None, *,
                  now: datetime | None = None) -> list[tuple[datetime, datetime | None]]:
    """[low, high) cut at the quarters' edges, newest part first. High None: no end; the
    part past the end of the quarter after now's (a case stamped in the future: a
    mistyped year, a skewed clock) is one more part without an end, which no quarter's
    index serves but the received_at index answers at once (it is empty or nearly)."""
    parts: list[tuple[datetime, datetime | None]] = []
    if high is None:
        high = search_upper_bound(now or timezone.now())
        parts.append((max(high, low), None))
    start = quarter_start(low)
    older = []
    while start < high:
        end = next_quarter(start)
        older.append((max(start, low), min(end, high)))
        start = end
    return parts + older[::-1]


def search_upper_bound(now: datetime) -> datetime:
    """The end of the quarter after now's: the newest quarter that has its index."""
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


class Busy(Exception):
    """Another process is keeping the indexes."""


def keep(now: datetime | None = None, *, wait: bool = False) -> dict[str, list[str]]:
    """Make the missing quarters' indexes (the newest first), then drop the invalid ones
    (a build cut short: dropped and made again) and those no search reaches any more.
    Outside a transaction (CONCURRENTLY) and without the connection's statement and lock
    timeouts (each build reads the case table twice and waits for the transactions
    running when it starts); an index that fails is logged and left for the next run,
    the others go on. Another process at it: nothing (wait=True: raise Busy, for the
    migrations). Nothing on SQLite. Answers what it did."""
    done: dict[str, list[str]] = {"made": [], "dropped": [], "failed": []}
    if connection.vendor != "postgresql":
        return done
    quarters = wanted(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            if wait:
                raise Busy("the search indexes are being kept by another process")
            return done
        try:
            cursor.execute("SET statement_timeout = 0; SET lock_timeout = 0")
            have = present()
            broken = sorted(name for name, valid in have.items() if not valid)
            for name in broken:
                _run(cursor, f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"', name, done,
                     "dropped")
            for name, (start, end, using) in sorted(
                    quarters.items(), key=lambda item: (item[1][0], item[0]), reverse=True):
                if have.get(name):
                    continue
                _run(cursor, DEFINITION.format(name=name, using=using, start=start.isoformat(),
                                               end=end.isoformat()), name, done, "made")
            for name in sorted(set(have) - set(quarters) - set(broken)):
                _run(cursor, f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"', name, done,
                     "dropped")
        finally:
            cursor.execute("RESET statement_timeout; RESET lock_timeout")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    if any(done.values()):
        logger.info("search indexes: made %s, dropped %s, failed %s", done["made"],
                    done["dropped"], done["failed"])
    return done


def _run(cursor, statement: str, name: str, done: dict, what: str) -> None:
    try:
        cursor.execute(statement)
        done[what].append(name)
    except DatabaseError:
        logger.exception("search index %s: not %s, left for the next run", name, what)
        done["failed"].append(name)
