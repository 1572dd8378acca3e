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
`figures_from_scratch` counts everything again from the cases and their events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import ledger
from cases.models import Case, CaseChange, CaseEvent, EscalationStep, State

from .models import (CaseFacts, DailyFigures, DepartmentLedger, MonthlyFigures,
                     SegmentFacts)

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
        "day": timezone.localtime(case.received_at).date(),
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
        key = (timezone.localtime(segment.started_at).date(), segment.charged_holder,
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
    fixed order."""
    counted = 0
    left: set[int] = set()  # queue rows of cases an act held: for the next run
    while True:
        with transaction.atomic():
            claimed = list(CaseChange.objects.select_for_update(skip_locked=True)
                           .exclude(pk__in=left).order_by("pk")[:batch_size])
            if not claimed:
                return counted
            case_ids = sorted({row.case_id_value for row in claimed})
            # A case an act holds now is not waited for: its queue rows stay for the next
            # run (the act adds its own row anyway).
            cases = list(Case.objects.select_for_update(skip_locked=True, of=("self",))
                         .filter(pk__in=case_ids).order_by("pk"))
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


def _add_to_summary(deltas: dict[tuple, Counter]) -> None:
    """Add the differences to the daily and the monthly rows (created when missing)."""
    monthly: dict[tuple, Counter] = defaultdict(Counter)
    for key, delta in deltas.items():
        monthly[(key[0].replace(day=1), *key[1:])].update(delta)
    _upsert(DailyFigures._meta.db_table, DIMENSIONS, deltas)
    _upsert(MonthlyFigures._meta.db_table, MONTH_DIMENSIONS, monthly)


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
        cases = list(Case.objects.filter(pk__gt=last).order_by("pk")[:batch_size])
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


def rebuild_figures(*, batch_size: int = 2000) -> int:
    """Count everything again from the cases and their events (installation, after a
    change of definitions or a data repair), in batches of cases, each in its own
    transaction; the summaries are written at the end in one. Answers the cases counted."""
    with transaction.atomic():
        CaseChange.objects.all().delete()
        CaseFacts.objects.all().delete()
        SegmentFacts.objects.all().delete()
    daily: dict[tuple, Counter] = defaultdict(Counter)
    ledger_rows: dict[tuple, Counter] = defaultdict(Counter)
    counted, facts_batch, ledger_batch = 0, [], []
    for case, facts, rows in _all_facts(batch_size):
        counted += 1
        daily[tuple(facts[name] for name in DIMENSIONS)].update(
            {name: facts[name] for name in COUNTERS})
        facts_batch.append(CaseFacts(case_id=case.pk, **facts))
        for key, counts in rows.items():
            ledger_rows[key].update(counts)
            ledger_batch.append(SegmentFacts(case_id=case.pk, **dict(zip(LEDGER_DIMENSIONS, key)),
                                             **{name: counts[name] for name in LEDGER_COUNTERS}))
        if len(facts_batch) >= batch_size:
            CaseFacts.objects.bulk_create(facts_batch)
            SegmentFacts.objects.bulk_create(ledger_batch)
            facts_batch, ledger_batch = [], []
    with transaction.atomic():
        CaseFacts.objects.bulk_create(facts_batch)
        SegmentFacts.objects.bulk_create(ledger_batch)
        DailyFigures.objects.all().delete()
        MonthlyFigures.objects.all().delete()
        DepartmentLedger.objects.all().delete()
        _add_to_summary(daily)
        _upsert(DepartmentLedger._meta.db_table, LEDGER_DIMENSIONS, ledger_rows,
                counters=LEDGER_COUNTERS)
    return counted
