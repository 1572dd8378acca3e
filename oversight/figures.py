"""The office's figures: volume and the rates, kept in summary tables.

Definitions (DEFINITIONS_VERSION; every figure counts a case on the local day it was
registered; invalid cases, those archived with an invalid-case reason or merged into
another, are left out of everything but the 无效件 count):

- received (受理量): valid cases registered in the period;
- rounds (办理轮次): the rounds of handling of valid cases (acceptance opens the first, each
  reopening another);
- deadline_counted (应按期件): rounds with a deadline that were answered, or are past the
  deadline unanswered (the sweep's overdue step). A reopened case counts every round: a
  late first answer stays late whatever the second round does;
- on_time (按期答复): of those, rounds answered by their own deadline; 按期答复率 =
  on_time / counted;
- responded (按期联系): of those, rounds in which the handler reached the petitioner by the
  deadline; 响应率 = responded / counted;
- visited (回访评价): every return-visit verdict on valid cases, over all rounds (the
  unsatisfied verdict that reopened a case counts too); 解决率 = verdicts "solved" /
  verdicts; 满意率 = verdicts satisfied or basically satisfied / verdicts;
- returns, extensions, reopenings: the counts on valid cases.

A case's rounds are read from its events (cases.ledger), so these definitions are written
once, in Python (`case_facts`). Each case's contribution is kept in `CaseFacts`; when an
act changes a case, an outbox row is written in the act's transaction, and
`refresh_figures` (a Celery task) moves the summary by the difference. The same refresh
keeps the departments' ledger (`SegmentFacts` → `DepartmentLedger`): the time each holder
held cases, its late time, returns upheld and refused, dispatches and misroutings.
`figures_from_scratch` counts everything again from the cases and their events (model
instances: the reference the tests hold everything to); `rebuild_figures` does it at a
city's scale (plain values, ranges of cases in several processes, the summary made from
the facts in SQL) and stores it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import io
import multiprocessing
import multiprocessing.util
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F, Max, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import ledger
from cases.models import Case, CaseChange, CaseEvent, EscalationStep, State

from .models import (CaseFacts, DailyFigures, DepartmentLedger, MonthlyFigures,
                     SegmentFacts, SummaryGeneration)

# The version of the written definitions: the dashboard names it and each monthly report
# keeps the one it was made with. Raise it whenever a definition changes.
DEFINITIONS_VERSION = "2026.2"
DEFINITIONS_CHANGES = {
    "2026.1": _("按案件计：重办案件只按最后一轮计按期答复。"),
    "2026.2": _("按轮次计：重办案件每一轮各按其期限计按期答复与按期联系；退单成立的案件，新承办部门"
                "自交办起重新计时；部门台账按责任时段计持有时长、超期时长和退单。"),
}

DIMENSIONS = ("day", "department_id_value", "category_id_value", "channel", "tier_id_value")
MONTH_DIMENSIONS = ("month", *DIMENSIONS[1:])
COUNTERS = ("received", "invalid", "deadline_counted", "on_time", "responded", "visited",
            "solved", "satisfied", "returns", "extensions", "reopenings", "rounds",
            "accepted", "archived", "visits_due", "visits_on_time", "final_counted",
            "final_on_time", "found_true", "found_partly", "found_false",
            "petitioners_answered", "appeals_upheld")
LEDGER_DIMENSIONS = ("day", "holder", "department_id_value")
LEDGER_COUNTERS = ("segments", "held_seconds", "late_segments", "late_seconds", "dispatched",
                   "misrouted", "returns_upheld", "returns_refused", "extensions")
PAST_DEADLINE_STEPS = (EscalationStep.OVERDUE, EscalationStep.LEVEL2)

# ---------------------------------------------------------------- the drill-downs
VALID = Q(invalid_reason="") & ~Q(state=State.MERGED)

# measure: the cases behind a number, as a filter on Case: on the case's own fields where
# they decide it, else through its counted facts (the rounds are read from the events).
MEASURES: dict[str, Q] = {
    name: Q(**{f"facts__{name}__gt": 0}) for name in COUNTERS}
MEASURES.update({
    "received": VALID,
    "invalid": ~VALID,
    "late": Q(facts__deadline_counted__gt=F("facts__on_time")),
    "visited": VALID & Q(visit_count__gt=0),
    "solved": VALID & Q(solved_visits__gt=0),
    "satisfied": VALID & Q(satisfied_visits__gt=0),
    "unsatisfied": VALID & Q(visit_count__gt=F("satisfied_visits")),
    "returns": VALID & Q(return_count__gt=0),
    "extensions": VALID & Q(extension_count__gt=0),
    "reopenings": VALID & Q(reopen_count__gt=0),
})

# rate: (numerator, denominator, label, definition written on the page)
RATES = {
    "on_time_rate": ("on_time", "deadline_counted", _("按期答复率"),
                     _("期限内答复的轮次 ÷ 已答复或已超过期限的轮次（重办案件每轮各计一次）")),
    "response_rate": ("responded", "deadline_counted", _("响应率"),
                      _("期限内联系上信访人的轮次 ÷ 已答复或已超过期限的轮次")),
    "resolution_rate": ("solved", "visited", _("解决率"),
                        _("回访评价问题已解决的次数 ÷ 回访评价次数（含导致重办的不满意评价）")),
    "satisfaction_rate": ("satisfied", "visited", _("满意率"),
                          _("回访评价满意或基本满意的次数 ÷ 回访评价次数（含导致重办的不满意评价）")),
    "visit_rate": ("visited", "visits_due", _("回访率"),
                   _("回访联系上信访人并作出评价的次数 ÷ 应回访的答复（已回访、多次未联系上，或已过回访期限；"
                     "复杂疑难件按最终结果答复计）")),
    "visit_on_time_rate": ("visits_on_time", "visits_due", _("按期回访率"),
                           _("在回访期限（答复后按响应级别的工作日）内完成回访评价的次数 ÷ 应回访的答复")),
    "final_on_time_rate": ("final_on_time", "final_counted", _("最终结果按期答复率"),
                           _("复杂疑难件在最终结果期限内答复最终结果的轮次 ÷ 已答复最终结果或已超过最终结果期限的轮次")),
}


def rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else round(100 * numerator / denominator, 1)


def with_rates(row: dict) -> dict:
    row = dict(row)
    row["overdue_answered"] = row.get("deadline_counted", 0) - row.get("on_time", 0)
    for key, (numerator, denominator, _label, _definition) in RATES.items():
        row[key] = rate(row.get(numerator, 0), row.get(denominator, 0))
    return row


# ---------------------------------------------------------------- one case's contribution
def local_day(moment) -> date:
    """The office's day of a moment (TIME_ZONE; nothing activates another). Named, not
    looked up per call: a rebuild asks it for every case and segment."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def case_facts(case: Case, events=None, *, now=None) -> dict:
    """The dimensions and counters of one case (the definitions above). `events`: the
    case's events in order of time (read when not given)."""
    if events is None:
        events = list(case.events.order_by("at", "pk"))
    valid = not case.invalid_reason and case.state != State.MERGED
    rounds = ledger.rounds(case, events, now=now) if valid else []
    counted = [r for r in rounds if r.counted]
    facts = {name: 0 for name in COUNTERS}
    facts.update({
        "day": local_day(case.received_at),
        "department_id_value": case.lead_department_id or 0,
        "category_id_value": case.category_id or 0,
        "channel": case.channel,
        "tier_id_value": case.tier_id or 0,
        "received": int(valid),
        "invalid": int(not valid),
        "rounds": len(rounds),
        "deadline_counted": len(counted),
        "on_time": sum(r.on_time for r in counted),
        "responded": sum(r.responded_in_time for r in counted),
        "visited": case.visit_count if valid else 0,
        "solved": case.solved_visits if valid else 0,
        "satisfied": case.satisfied_visits if valid else 0,
        "returns": case.return_count if valid else 0,
        "extensions": case.extension_count if valid else 0,
        "reopenings": case.reopen_count if valid else 0,
    })
    for extra in FACT_EXTENSIONS:
        facts.update(extra(case, events, valid=valid, rounds=rounds))
    return facts


# Further counters, each a function (case, events, *, valid, rounds) -> {counter: value}.
FACT_EXTENSIONS: list = []


def ledger_facts(case: Case, events, *, now=None) -> dict[tuple, Counter]:
    """What the case's segments charge each holder, by the day each segment began: the
    dispatches, misroutings and returns of every segment, the time of closed ones only
    (an open segment's time is still running)."""
    found: dict[tuple, Counter] = defaultdict(Counter)
    if case.invalid_reason or case.state == State.MERGED:
        return found
    now = now or timezone.now()
    for segment in ledger.segments(case, events):
        key = (local_day(segment.started_at), segment.charged_holder,
               segment.charged_department_id or 0)
        row = found[key]
        row["dispatched"] += int(segment.is_dispatch)
        row["misrouted"] += int(segment.outcome == "misrouted")
        if segment.ended_at is None:
            continue
        row["segments"] += 1
        row["held_seconds"] += int(segment.held_seconds(now))
        late = int(segment.late_seconds(now))
        row["late_seconds"] += late
        row["late_segments"] += int(late > 0)
        row["extensions"] += segment.extensions
        if segment.holder == ledger.RETURN:
            # The return is the returning department's, upheld or refused; the time the
            # office took to decide is the office's when upheld, the department's when not.
            returned = found[(key[0], ledger.DEPARTMENT, segment.department_id or 0)]
            returned["returns_upheld" if segment.outcome == "upheld" else "returns_refused"] += 1
    return found


def mark_changed(case_ids) -> None:
    """Queue cases to be counted again (every act does it with its event; for tools)."""
    CaseChange.objects.bulk_create(CaseChange(case_id_value=pk) for pk in case_ids)


# ---------------------------------------------------------------- incremental upkeep
def refresh_figures(*, batch_size: int = 500) -> int:
    """Count again every queued case and move the summary by the difference; answers how
    many cases were counted. Safe with several workers: outbox rows are claimed with SKIP
    LOCKED, each case is counted under its row lock, and summary rows are written in a
    fixed order. While a rebuild is under way (or one broke off) it does nothing: the
    queue waits for the rebuild's end, which counts it."""
    counted = 0
    left: set[int] = set()  # queue rows of cases an act held: for the next run
    while True:
        with transaction.atomic():
            if _rebuild_under_way():
                return counted
            claimed = list(CaseChange.objects.select_for_update(skip_locked=True)
                           .exclude(pk__in=left).exclude(case_id_value=REBUILD_MARK)
                           .order_by("pk")[:batch_size])
            if not claimed:
                return counted
            case_ids = sorted({row.case_id_value for row in claimed})
            # A case an act holds now is not waited for: its queue rows stay for the next
            # run (the act adds its own row anyway).
            cases = list(Case.objects.select_for_update(skip_locked=True, of=("self",))
                         .select_related("schedule").filter(pk__in=case_ids).order_by("pk"))
            counted_ids = {case.pk for case in cases}
            gone = set(case_ids) - counted_ids - set(
                Case.objects.filter(pk__in=set(case_ids) - counted_ids).values_list("pk", flat=True))
            done = [row.pk for row in claimed
                    if row.case_id_value in counted_ids or row.case_id_value in gone]
            left.update({row.pk for row in claimed} - set(done))
            _count_cases(cases, case_ids)
            CaseChange.objects.filter(pk__in=done).delete()
            counted += len(cases)


def _events_of(case_ids) -> dict[int, list]:
    events: dict[int, list] = defaultdict(list)
    for event in CaseEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "at", "pk"):
        events[event.case_id].append(event)
    return events


def _count_cases(cases: list[Case], case_ids, *, now=None) -> None:
    """Count these (locked) cases again and move the summaries by the difference."""
    now = now or timezone.now()
    events = _events_of(case_ids)
    old = {facts.case_id: facts for facts in CaseFacts.objects.filter(case_id__in=case_ids)}
    old_ledger: dict[int, list] = defaultdict(list)
    for row in SegmentFacts.objects.filter(case_id__in=case_ids):
        old_ledger[row.case_id].append(row)
    deltas: dict[tuple, Counter] = defaultdict(Counter)
    ledger_deltas: dict[tuple, Counter] = defaultdict(Counter)
    new_facts, new_ledger = [], []
    for case in cases:
        facts = case_facts(case, events.get(case.pk, []), now=now)
        before = old.get(case.pk)
        if before is not None:
            key = tuple(getattr(before, name) for name in DIMENSIONS)
            deltas[key].subtract({name: getattr(before, name) for name in COUNTERS})
        deltas[tuple(facts[name] for name in DIMENSIONS)].update(
            {name: facts[name] for name in COUNTERS})
        new_facts.append(CaseFacts(case_id=case.pk, **facts))
        for row in old_ledger.get(case.pk, []):
            ledger_deltas[tuple(getattr(row, name) for name in LEDGER_DIMENSIONS)].subtract(
                {name: getattr(row, name) for name in LEDGER_COUNTERS})
        for key, counts in ledger_facts(case, events.get(case.pk, []), now=now).items():
            ledger_deltas[key].update(counts)
            new_ledger.append(SegmentFacts(case_id=case.pk, **dict(zip(LEDGER_DIMENSIONS, key)),
                                           **{name: counts[name] for name in LEDGER_COUNTERS}))
    _add_to_summary(deltas)
    CaseFacts.objects.bulk_create(
        new_facts, update_conflicts=True, unique_fields=["case"],
        update_fields=[*DIMENSIONS, *COUNTERS])
    _upsert(DepartmentLedger._meta.db_table, LEDGER_DIMENSIONS, ledger_deltas,
            counters=LEDGER_COUNTERS)
    SegmentFacts.objects.filter(case_id__in=[case.pk for case in cases]).delete()
    SegmentFacts.objects.bulk_create(new_ledger)


def moved() -> None:
    """The summary tables changed in this transaction (SummaryGeneration)."""
    value = uuid.uuid4().hex
    if not SummaryGeneration.objects.filter(pk=1).update(value=value):
        SummaryGeneration.objects.bulk_create([SummaryGeneration(pk=1, value=value)],
                                              ignore_conflicts=True)


def _add_to_summary(deltas: dict[tuple, Counter]) -> None:
    """Add the differences to the daily and the monthly rows (created when missing).

    One refresh batch at a time from here to its commit (a short stretch): the rollups'
    triggers (oversight migration 0010) upsert shared rows per 500-row statement, in an
    order no longer global across statements, so two batches could otherwise deadlock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SUMMARY_LOCK])
    monthly: dict[tuple, Counter] = defaultdict(Counter)
    for key, delta in deltas.items():
        monthly[(key[0].replace(day=1), *key[1:])].update(delta)
    _upsert(DailyFigures._meta.db_table, DIMENSIONS, deltas)
    _upsert(MonthlyFigures._meta.db_table, MONTH_DIMENSIONS, monthly)
    moved()  # under the summary lock: the batches take turns on its row too


def _upsert(table: str, dimensions: tuple, deltas: dict[tuple, Counter],
            counters: tuple = COUNTERS) -> None:
    rows = [(*key, *(delta[name] for name in counters))
            for key, delta in sorted(deltas.items(), key=lambda item: _sort_key(item[0]))
            if any(delta[name] for name in counters)]
    if not rows:
        return
    columns = [*dimensions, *counters]
    row_of_parameters = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counters)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([row_of_parameters] * len(chunk))
                + f" ON CONFLICT ({', '.join(dimensions)}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row])


def _sort_key(key: tuple) -> tuple:
    return tuple(part.isoformat() if isinstance(part, date) else part for part in key)


# ---------------------------------------------------------------- from scratch
def _all_facts(batch_size: int = 2000, *, now=None):
    """Every case's facts and ledger facts, counted again from the cases and their
    events, in batches of cases."""
    now = now or timezone.now()
    last = 0
    while True:
        cases = list(Case.objects.filter(pk__gt=last).select_related("schedule")
                     .order_by("pk")[:batch_size])
        if not cases:
            return
        last = cases[-1].pk
        events = _events_of([case.pk for case in cases])
        for case in cases:
            case_events = events.get(case.pk, [])
            yield case, case_facts(case, case_events, now=now), ledger_facts(
                case, case_events, now=now)


def figures_from_scratch(*, now=None) -> dict[tuple, dict]:
    """The daily summary, counted again from the cases and their events."""
    found: dict[tuple, Counter] = defaultdict(Counter)
    for _case, facts, _ledger in _all_facts(now=now):
        found[tuple(facts[name] for name in DIMENSIONS)].update(
            {name: facts[name] for name in COUNTERS})
    return _nonzero(found, COUNTERS)


def monthly_from_scratch(*, now=None) -> dict[tuple, dict]:
    """The monthly summary, counted again from the cases and their events."""
    found: dict[tuple, Counter] = defaultdict(Counter)
    for _case, facts, _ledger in _all_facts(now=now):
        found[(facts["day"].replace(day=1), *(facts[name] for name in DIMENSIONS[1:]))].update(
            {name: facts[name] for name in COUNTERS})
    return _nonzero(found, COUNTERS)


def ledger_from_scratch(*, now=None) -> dict[tuple, dict]:
    found: dict[tuple, Counter] = defaultdict(Counter)
    for _case, _facts, rows in _all_facts(now=now):
        for key, counts in rows.items():
            found[key].update(counts)
    return _nonzero(found, LEDGER_COUNTERS)


def _nonzero(found: dict[tuple, Counter], counters: tuple) -> dict[tuple, dict]:
    return {key: {name: counts[name] for name in counters} for key, counts in found.items()
            if any(counts[name] for name in counters)}


def stored_figures(model=DailyFigures) -> dict[tuple, dict]:
    """The summary as stored (rows that add up to nothing left out)."""
    if model is DepartmentLedger:
        dimensions, counters = LEDGER_DIMENSIONS, LEDGER_COUNTERS
    else:
        dimensions = MONTH_DIMENSIONS if model is MonthlyFigures else DIMENSIONS
        counters = COUNTERS
    return {tuple(row[name] for name in dimensions): {name: row[name] for name in counters}
            for row in model.objects.values(*dimensions, *counters)
            if any(row[name] for name in counters)}


# ---------------------------------------------------------------- the rebuild, at scale
# The rebuild counts every case again with the same definitions (`case_facts`,
# `ledger_facts`), reading only what they read, as plain values: a model instance per
# case and per event cost more than the counting itself. A definition or an extension
# (FACT_EXTENSIONS) that reads another field of a case or an event adds it here; one
# missing fails loudly (AttributeError on the plain row), never counts silently wrong.
FACT_CASE_FIELDS = [
    "id", "state", "invalid_reason", "received_at", "channel", "lead_department_id",
    "category_id", "tier_id", "visit_count", "solved_visits", "satisfied_visits",
    "return_count", "extension_count", "reopen_count",
    # cases.ledger (rounds and segments, events older than the ledger)
    "handling_mode", "accepted_at", "due_at", "responded_at", "escalation_step",
    # oversight.complaints
    "finding",
]
FACT_EVENT_FIELDS = ["at", "action", "to_state", "data", "holder", "holder_department",
                     "deadline", "round", "actor_id"]
FACTS_FIELDS = ("case", *DIMENSIONS, *COUNTERS)
SEGMENT_FIELDS = ("case", *LEDGER_DIMENSIONS, *LEDGER_COUNTERS)

# A CaseChange row for no case (ids start at 1): a rebuild has emptied the cases' facts and
# not yet written the summary again. While it is there, refresh_figures leaves everything
# alone and the acts' queue waits; a rebuild that died leaves it, so the figures stay as
# they were (and say nothing new) until a rebuild completes.
REBUILD_MARK = 0
# PostgreSQL advisory locks: one rebuild at a time (held by the process that leads it, so
# it ends with that process); the start of a rebuild (exclusive) waits for the refresh
# batches under way (shared).
REBUILD_LOCK = 170_017_001
FIGURES_LOCK = 170_017_002
SUMMARY_LOCK = 170_017_003  # refresh batches write the summary one at a time
# The last day of a month's figures is found by the month's first day.
MONTH_OF_DAY = {"postgresql": "CAST(DATE_TRUNC('month', day::timestamp) AS date)",
                "sqlite": "date(day, 'start of month')"}


class RebuildError(Exception):
    """A rebuild refused or broken off; the message is for the operator."""


@dataclass(frozen=True)
class Rebuilt:
    counted: int  # cases counted from scratch
    recounted: int  # cases changed while it ran (or queued before), counted again after


def rebuild_figures(*, workers: int = 1, batch_size: int = 2000, range_size: int = 20_000,
                    progress=None) -> Rebuilt:
    """Count everything again from the cases and their events (installation, a change of
    definitions, a data repair).

    The cases are split into ranges of ids, counted by `workers` processes (forked from
    this one; 1: here), each batch of `batch_size` cases in its own transaction, its facts
    written with COPY. The summary tables are then made from the facts by one INSERT …
    SELECT … GROUP BY each, in one transaction: the dashboard shows the old figures until
    it commits. Acts go on meanwhile: their queue rows are kept and counted again at the
    end, so a case changed mid-rebuild ends counted with its latest state. `progress(done,
    total)` is called as ranges are counted."""
    _check(workers=workers, batch_size=batch_size, range_size=range_size)
    now = timezone.now()
    with _counting_processes(workers) as pool, _one_rebuild_at_a_time():
        try:
            _begin_rebuild()
            total = Case.objects.count()
            if progress:
                progress(0, total)
            counted = 0
            for done in _count_ranges(pool, _id_ranges(range_size, workers), now=now,
                                      batch_size=batch_size):
                counted += done
                if progress:
                    progress(counted, total)
            _rebuild_summaries()
        except RebuildError:
            raise
        except Exception as error:
            raise RebuildError(_(
                "统计重建未完成（%(error)s）。重建完成之前统计数据保持原样、不随办理更新；"
                "请排除原因后再次运行 refresh_figures --rebuild。") % {"error": error}) from error
    return Rebuilt(counted=counted, recounted=refresh_figures())


def _check(*, workers, batch_size, range_size) -> None:
    for name, value in (("--workers", workers), ("batch_size", batch_size),
                        ("range_size", range_size)):
        if not isinstance(value, int) or value < 1:
            raise RebuildError(_("%(name)s 须为正整数，收到的是 %(value)r。") % {
                "name": name, "value": value})
    if workers > 1 and connection.vendor != "postgresql":
        raise RebuildError(_("多进程重建需要 PostgreSQL；SQLite 上请用单进程（--workers 1）。"))
    if workers > 1 and connection.in_atomic_block:
        raise RebuildError(_("多进程重建不能在事务中运行：其他进程看不到未提交的数据。"))


@contextmanager
def _counting_processes(workers: int):
    """`workers` processes forked from this one (None for 1), each with its own database
    connection: this one's are closed first, so none is shared across a fork."""
    if workers == 1:
        yield None
        return
    connections.close_all()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_counting_process)
    try:
        pool.submit(int).result()  # fork them all now, before this process connects again
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_counting_process() -> None:
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=10)


@contextmanager
def _one_rebuild_at_a_time():
    if connection.vendor != "postgresql":
        # SQLite (the demo, one machine): a lock on a file, released when the process ends.
        with open(settings.VAR_DIR / "figures-rebuild.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RebuildError(_refusal()) from None
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REBUILD_LOCK])
        if not cursor.fetchone()[0]:
            raise RebuildError(_refusal())
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [REBUILD_LOCK])
        except DatabaseError:
            pass  # the session is gone, and its lock with it


def _refusal() -> str:
    started = CaseChange.objects.filter(case_id_value=REBUILD_MARK).values_list(
        "created_at", flat=True).first()
    since = timezone.localtime(started).strftime("%Y-%m-%d %H:%M:%S") if started else "?"
    return _("另一次统计重建正在进行（%(since)s 开始），未重复启动；请等它完成。") % {"since": since}


def _lock_figures(*, shared: bool) -> None:
    """In a transaction: refresh batches (shared) and the start of a rebuild (exclusive)
    never overlap."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)" if shared
                           else "SELECT pg_advisory_xact_lock(%s)", [FIGURES_LOCK])


def _rebuild_under_way() -> bool:
    """Call in the refresh batch's transaction."""
    _lock_figures(shared=True)
    return CaseChange.objects.filter(case_id_value=REBUILD_MARK).exists()


def _begin_rebuild() -> None:
    """Mark the rebuild and empty the cases' facts (the summary stays until the end)."""
    # TRUNCATE is instant at any size, but refuses rows written earlier in a caller's
    # transaction (their deferred foreign-key checks are pending): DELETE there.
    truncate = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        _lock_figures(shared=False)
        CaseChange.objects.filter(case_id_value=REBUILD_MARK).delete()  # one that died
        CaseChange.objects.create(case_id_value=REBUILD_MARK)
        if truncate:
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {CaseFacts._meta.db_table}, "
                               f"{SegmentFacts._meta.db_table}")
        else:
            CaseFacts.objects.all().delete()
            SegmentFacts.objects.all().delete()


def _id_ranges(range_size: int, workers: int) -> list[tuple[int, int]]:
    """Ranges of ids of at most `range_size`, and at least a few per process."""
    bounds = Case.objects.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return []
    first, last = bounds["first"], bounds["last"]
    size = max(1, min(range_size, -(-(last - first + 1) // (4 * workers))))
    return [(low, min(low + size - 1, last)) for low in range(first, last + 1, size)]


def _count_ranges(pool, ranges, *, now, batch_size):
    """The number of cases of each range counted, as ranges finish."""
    if pool is None:
        for first, last in ranges:
            yield count_range(first, last, now=now, batch_size=batch_size)
        return
    futures = [pool.submit(count_range, first, last, now=now, batch_size=batch_size)
               for first, last in ranges]
    for future in as_completed(futures):
        yield future.result()


def count_range(first: int, last: int, *, now, batch_size: int = 2000) -> int:
    """Count the cases first ≤ id ≤ last and write their facts, a batch per transaction:
    two reads and two COPYs a batch, whatever the number of cases and events."""
    counted, after = 0, first - 1
    while True:
        with transaction.atomic():
            cases, events = _read_batch(after, last, batch_size)
            if not cases:
                return counted
            facts_rows, segment_rows = _facts_rows(cases, events, now=now)
            _write_rows(CaseFacts, FACTS_FIELDS, facts_rows)
            _write_rows(SegmentFacts, SEGMENT_FIELDS, segment_rows)
        counted += len(cases)
        after = cases[-1].id


@functools.cache
def _plain_row(name: str, fields: tuple[str, ...]) -> type:
    """A slotted record of these fields, mutable (cases.ledger gives an event older than
    the ledger its deadline); `pk` reads `id` as on a model."""
    namespace = {"pk": property(lambda row: row.id)} if "id" in fields else {}
    return dataclasses.make_dataclass(name, fields, slots=True, eq=False, namespace=namespace)


def _read_batch(after: int, last: int, batch_size: int) -> tuple[list, dict[int, list]]:
    """Up to `batch_size` cases after `after` up to `last`, as plain rows, and their
    events in order of time."""
    case_row = _plain_row("CaseRow", tuple(FACT_CASE_FIELDS))
    event_row = _plain_row("EventRow", tuple(FACT_EVENT_FIELDS))
    cases = [case_row(*values) for values in Case.objects.filter(
        pk__gt=after, pk__lte=last).order_by("pk").annotate(
            escalation_step=Coalesce("schedule__escalation_step", Value(""))).values_list(
            *FACT_CASE_FIELDS)[:batch_size]]
    events: dict[int, list] = defaultdict(list)
    if cases:
        for case_id, *values in CaseEvent.objects.filter(
                case_id__gte=cases[0].id, case_id__lte=cases[-1].id).order_by(
                    "case_id", "at", "pk").values_list("case_id", *FACT_EVENT_FIELDS):
            events[case_id].append(event_row(*values))
    return cases, events


def _facts_rows(cases, events, *, now) -> tuple[list[tuple], list[tuple]]:
    """The CaseFacts and SegmentFacts rows of these cases (FACTS_FIELDS, SEGMENT_FIELDS)."""
    facts_rows, segment_rows = [], []
    for case in cases:
        own = events.get(case.id, [])
        facts = case_facts(case, own, now=now)  # before ledger_facts: see _plain_row
        facts_rows.append((case.id, *[facts[name] for name in DIMENSIONS],
                           *[facts[name] for name in COUNTERS]))
        for key, counts in ledger_facts(case, own, now=now).items():
            segment_rows.append((case.id, *key, *[counts[name] for name in LEDGER_COUNTERS]))
    return facts_rows, segment_rows


def _write_rows(model, fields: tuple, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(model, fields, rows)
    else:
        _create_rows(model, fields, rows)


def _copy_rows(model, fields: tuple, rows: list[tuple]) -> None:
    """COPY … FROM STDIN (psycopg2): numbers, dates and short codes, as text."""
    columns = ", ".join(model._meta.get_field(name).column for name in fields)
    text = "".join("\t".join([str(value) if type(value) is int else _copy_text(value)
                              for value in row]) + "\n" for row in rows)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {model._meta.db_table} ({columns}) FROM STDIN",
                           io.StringIO(text))


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _create_rows(model, fields: tuple, rows: list[tuple]) -> None:
    """The ORM's bulk insert, for SQLite (the demo)."""
    names = [model._meta.get_field(name).attname for name in fields]
    model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows],
                              batch_size=500)


def _rebuild_summaries() -> None:
    """Daily, monthly and ledger rows from the facts, in one transaction (which also ends
    the rebuild's mark)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Grouping a city's facts may take longer than a request may.
                cursor.execute("SET LOCAL statement_timeout = 0")
            for model in (DailyFigures, MonthlyFigures, DepartmentLedger):
                model.objects.all().delete()  # readers see the old rows until the commit
            for statement in summary_statements(connection.vendor):
                cursor.execute(statement)
        CaseChange.objects.filter(case_id_value=REBUILD_MARK).delete()
        moved()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(model._meta.db_table for model in (
                CaseFacts, SegmentFacts, DailyFigures, MonthlyFigures, DepartmentLedger)))


def summary_statements(vendor: str) -> list[str]:
    """One INSERT … SELECT … GROUP BY per summary table: the days from the cases' facts,
    the months from the days, the ledger from the segments' facts."""
    daily = DailyFigures._meta.db_table
    days = (f"(SELECT {MONTH_OF_DAY[vendor]} AS month, {', '.join(DIMENSIONS[1:])}, "
            f"{', '.join(COUNTERS)} FROM {daily}) AS days")
    return [
        _grouped_insert(daily, DIMENSIONS, COUNTERS, CaseFacts._meta.db_table),
        _grouped_insert(MonthlyFigures._meta.db_table, MONTH_DIMENSIONS, COUNTERS, days),
        _grouped_insert(DepartmentLedger._meta.db_table, LEDGER_DIMENSIONS, LEDGER_COUNTERS,
                        SegmentFacts._meta.db_table),
    ]


def _grouped_insert(table: str, dimensions: tuple, counters: tuple, source: str) -> str:
    """Rows that add up to nothing are left out, as the incremental upkeep leaves them."""
    group = ", ".join(dimensions)
    return (f"INSERT INTO {table} ({group}, {', '.join(counters)}) "
            f"SELECT {group}, {', '.join(f'SUM({name})' for name in counters)} "
            f"FROM {source} GROUP BY {group} "
            f"HAVING {' OR '.join(f'SUM({name}) <> 0' for name in counters)}")
