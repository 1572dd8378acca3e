"""The office's figures: volume and the rates, kept in summary tables.

Definitions (every figure counts a case on the local day it was registered; invalid
cases, those archived with an invalid-case reason or merged into another, are left out of
everything but the 无效件 count):

- received (受理量): valid cases registered in the period;
- deadline_counted (应按期件): valid cases with a deadline that were answered, or are past
  the deadline unanswered (the sweep's overdue step);
- on_time (按期答复): of those, answered by the deadline; 按期答复率 = on_time / counted;
- responded (按期联系): of those, the petitioner contacted by the handler by the deadline;
  响应率 = responded / counted;
- visited (回访评价): every return-visit verdict on valid cases, over all rounds (the
  unsatisfied verdict that reopened a case counts too); 解决率 = verdicts "solved" /
  verdicts; 满意率 = verdicts satisfied or basically satisfied / verdicts;
- returns, extensions, reopenings: the counts on valid cases.

A reopened case is counted by its latest round for the deadline (its reply is that of the
round); its verdicts, returns, extensions and reopenings add up over all rounds.

Each case's contribution is kept in `CaseFacts`; when an act changes a case, an outbox row
is written in the act's transaction, and `refresh_figures` (a Celery task) moves the
summary by the difference. `figures_from_scratch` counts the same from the cases table,
with the same definitions written as queries: the tests hold one against the other.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db import connection, transaction
from django.db.models import Case as Conditional
from django.db.models import Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseChange, EscalationStep, State

from .models import CaseFacts, DailyFigures, MonthlyFigures

DIMENSIONS = ("day", "department_id_value", "category_id_value", "channel", "tier_id_value")
MONTH_DIMENSIONS = ("month", *DIMENSIONS[1:])
COUNTERS = ("received", "invalid", "deadline_counted", "on_time", "responded", "visited",
            "solved", "satisfied", "returns", "extensions", "reopenings")
PAST_DEADLINE_STEPS = (EscalationStep.OVERDUE, EscalationStep.LEVEL2)

# ---------------------------------------------------------------- the definitions as queries
VALID = Q(invalid_reason="") & ~Q(state=State.MERGED)
COUNTED = VALID & Q(due_at__isnull=False) & (
    Q(replied_at__isnull=False) | Q(escalation_step__in=PAST_DEADLINE_STEPS))
VISITED = VALID & Q(visit_count__gt=0)

# measure: (the cases it counts, as a filter on Case)
MEASURES: dict[str, Q] = {
    "received": VALID,
    "invalid": ~VALID,
    "deadline_counted": COUNTED,
    "on_time": COUNTED & Q(replied_at__lte=F("due_at")),
    "late": COUNTED & ~Q(replied_at__lte=F("due_at")),
    "responded": COUNTED & Q(responded_at__lte=F("due_at")),
    "visited": VISITED,
    "solved": VALID & Q(solved_visits__gt=0),
    "satisfied": VALID & Q(satisfied_visits__gt=0),
    "unsatisfied": VALID & Q(visit_count__gt=F("satisfied_visits")),
    "returns": VALID & Q(return_count__gt=0),
    "extensions": VALID & Q(extension_count__gt=0),
    "reopenings": VALID & Q(reopen_count__gt=0),
}
# The counters that add up a case field rather than counting cases.
SUMMED = {"returns": "return_count", "extensions": "extension_count",
          "reopenings": "reopen_count", "visited": "visit_count", "solved": "solved_visits",
          "satisfied": "satisfied_visits"}

# rate: (numerator, denominator, label, definition written on the page)
RATES = {
    "on_time_rate": ("on_time", "deadline_counted", _("按期答复率"),
                     _("期限内答复的案件 ÷ 已答复或已超过期限的案件")),
    "response_rate": ("responded", "deadline_counted", _("响应率"),
                      _("期限内联系上信访人的案件 ÷ 已答复或已超过期限的案件")),
    "resolution_rate": ("solved", "visited", _("解决率"),
                        _("回访评价问题已解决的次数 ÷ 回访评价次数（含导致重办的不满意评价）")),
    "satisfaction_rate": ("satisfied", "visited", _("满意率"),
                          _("回访评价满意或基本满意的次数 ÷ 回访评价次数（含导致重办的不满意评价）")),
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
def case_facts(case: Case) -> dict:
    """The dimensions and counters of one case (the definitions above, in Python)."""
    valid = not case.invalid_reason and case.state != State.MERGED
    counted = valid and case.due_at is not None and (
        case.replied_at is not None or case.escalation_step in PAST_DEADLINE_STEPS)
    return {
        "day": timezone.localtime(case.received_at).date(),
        "department_id_value": case.lead_department_id or 0,
        "category_id_value": case.category_id or 0,
        "channel": case.channel,
        "tier_id_value": case.tier_id or 0,
        "received": int(valid),
        "invalid": int(not valid),
        "deadline_counted": int(counted),
        "on_time": int(counted and case.replied_at is not None
                       and case.replied_at <= case.due_at),
        "responded": int(counted and case.responded_at is not None
                         and case.responded_at <= case.due_at),
        "visited": case.visit_count if valid else 0,
        "solved": case.solved_visits if valid else 0,
        "satisfied": case.satisfied_visits if valid else 0,
        "returns": case.return_count if valid else 0,
        "extensions": case.extension_count if valid else 0,
        "reopenings": case.reopen_count if valid else 0,
    }


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
            old = {facts.case_id: facts for facts in CaseFacts.objects.filter(case_id__in=case_ids)}
            deltas: dict[tuple, Counter] = defaultdict(Counter)
            new_facts = []
            for case in cases:
                facts = case_facts(case)
                before = old.get(case.pk)
                if before is not None:
                    key = tuple(getattr(before, name) for name in DIMENSIONS)
                    deltas[key].subtract({name: getattr(before, name) for name in COUNTERS})
                deltas[tuple(facts[name] for name in DIMENSIONS)].update(
                    {name: facts[name] for name in COUNTERS})
                new_facts.append(CaseFacts(case_id=case.pk, **facts))
            _add_to_summary(deltas)
            CaseFacts.objects.bulk_create(
                new_facts, update_conflicts=True, unique_fields=["case"],
                update_fields=[*DIMENSIONS, *COUNTERS])
            CaseChange.objects.filter(pk__in=done).delete()
            counted += len(cases)


def _add_to_summary(deltas: dict[tuple, Counter]) -> None:
    """Add the differences to the daily and the monthly rows (created when missing)."""
    monthly: dict[tuple, Counter] = defaultdict(Counter)
    for key, delta in deltas.items():
        monthly[(key[0].replace(day=1), *key[1:])].update(delta)
    _upsert(DailyFigures._meta.db_table, DIMENSIONS, deltas)
    _upsert(MonthlyFigures._meta.db_table, MONTH_DIMENSIONS, monthly)


def _upsert(table: str, dimensions: tuple, deltas: dict[tuple, Counter]) -> None:
    rows = [(*key, *(delta[name] for name in COUNTERS))
            for key, delta in sorted(deltas.items(), key=lambda item: _sort_key(item[0]))
            if any(delta[name] for name in COUNTERS)]
    if not rows:
        return
    columns = [*dimensions, *COUNTERS]
    row_of_parameters = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([row_of_parameters] * len(chunk))
                + f" ON CONFLICT ({', '.join(dimensions)}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row])


def _sort_key(key: tuple) -> tuple:
    return (key[0].isoformat(), *key[1:])


# ---------------------------------------------------------------- from scratch
def _counter_expressions() -> dict:
    expressions = {}
    for name in COUNTERS:
        if name in SUMMED:
            expressions[name] = Coalesce(Sum(SUMMED[name], filter=VALID), Value(0),
                                         output_field=IntegerField())
        else:
            expressions[name] = Count("pk", filter=MEASURES[name])
    return expressions


def figures_from_scratch() -> dict[tuple, dict]:
    """The summary, counted from the cases table with the query definitions."""
    rows = (Case.objects.annotate(
        day=TruncDate("received_at"),
        department_id_value=Coalesce("lead_department_id", Value(0)),
        category_id_value=Coalesce("category_id", Value(0)),
        tier_id_value=Coalesce("tier_id", Value(0)),
    ).values(*DIMENSIONS).annotate(**_counter_expressions()).order_by())
    return {tuple(row[name] for name in DIMENSIONS): {name: row[name] for name in COUNTERS}
            for row in rows}


def monthly_from_scratch() -> dict[tuple, dict]:
    """The monthly summary, counted from the cases table."""
    rows = (Case.objects.annotate(
        month=TruncMonth("received_at"),
        department_id_value=Coalesce("lead_department_id", Value(0)),
        category_id_value=Coalesce("category_id", Value(0)),
        tier_id_value=Coalesce("tier_id", Value(0)),
    ).values(*MONTH_DIMENSIONS).annotate(**_counter_expressions()).order_by())
    return {(row["month"].date() if hasattr(row["month"], "date") else row["month"],
             *(row[name] for name in MONTH_DIMENSIONS[1:])):
            {name: row[name] for name in COUNTERS} for row in rows}


def stored_figures(model=DailyFigures) -> dict[tuple, dict]:
    """The summary as stored (rows that add up to nothing left out)."""
    dimensions = MONTH_DIMENSIONS if model is MonthlyFigures else DIMENSIONS
    return {tuple(row[name] for name in dimensions): {name: row[name] for name in COUNTERS}
            for row in model.objects.values(*dimensions, *COUNTERS)
            if any(row[name] for name in COUNTERS)}


@transaction.atomic
def rebuild_figures() -> int:
    """Count everything again from the cases (installation, or after a data repair)."""
    CaseChange.objects.all().delete()
    CaseFacts.objects.all().delete()
    DailyFigures.objects.all().delete()
    MonthlyFigures.objects.all().delete()
    facts = Case.objects.annotate(
        f_day=TruncDate("received_at"),
        f_department=Coalesce("lead_department_id", Value(0)),
        f_category=Coalesce("category_id", Value(0)),
        f_channel=F("channel"),
        f_tier=Coalesce("tier_id", Value(0)),
        **{f"f_{name}": _case_expression(name) for name in COUNTERS},
    ).values("pk", "f_day", "f_department", "f_category", "f_channel", "f_tier",
             *(f"f_{name}" for name in COUNTERS)).order_by()
    sql, params = facts.query.sql_with_params()
    columns = ["case_id", *DIMENSIONS, *COUNTERS]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CaseFacts._meta.db_table} ({', '.join(columns)}) {sql}",
                       params)
        sums = ", ".join(f"SUM({name})" for name in COUNTERS)
        cursor.execute(
            f"INSERT INTO {DailyFigures._meta.db_table} ({', '.join([*DIMENSIONS, *COUNTERS])}) "
            f"SELECT {', '.join(DIMENSIONS)}, {sums} FROM {CaseFacts._meta.db_table} "
            f"GROUP BY {', '.join(DIMENSIONS)}")
        # Annotations only, in the order of the columns (values() keeps model fields first).
        dimensions = {"f_month": TruncMonth("day"),
                      **{f"f_{name}": F(name) for name in DIMENSIONS[1:]}}
        months = DailyFigures.objects.annotate(**dimensions).values(*dimensions).annotate(
            **{f"f_{name}": Sum(name) for name in COUNTERS}).order_by()
        sql, params = months.query.sql_with_params()
        cursor.execute(f"INSERT INTO {MonthlyFigures._meta.db_table} "
                       f"({', '.join([*MONTH_DIMENSIONS, *COUNTERS])}) {sql}", params)
    return CaseFacts.objects.count()


def _case_expression(name: str) -> Conditional:
    """One case's counter as SQL: its field where summed, else 1 when the measure holds."""
    then = F(SUMMED[name]) if name in SUMMED else Value(1)
    condition = VALID if name in SUMMED else MEASURES[name]
    return Conditional(When(condition, then=then), default=Value(0),
                       output_field=IntegerField())

