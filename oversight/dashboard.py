"""What the dashboard reads: live figures from the cases (indexed), period figures from
the summary table, and the cases behind each number (the drill-down)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases import reference
from cases.models import OPEN_STATES, Case, Category, Channel, Department, TierPolicy
from cases.roles import Role, department_ids_of, has_role

from .figures import COUNTERS, DEFINITIONS_VERSION, MEASURES, rate, with_rates
from .models import (ROLLUP_DIMENSIONS, ROLLUP_GROUPINGS, DailyFigures, DailyRollup,
                     MonthlyFigures, MonthlyRollup, SummaryGeneration, SupervisionOrder)

BREAKDOWNS = {
    "department": (_("按部门"), "department_id_value"),
    "category": (_("按问题分类"), "category_id_value"),
    "channel": (_("按渠道"), "channel"),
    "tier": (_("按响应级别"), "tier_id_value"),
    "month": (_("按月份"), "period_month"),
}


FIGURE_COLUMNS = {"department": "department_id_value", "category": "category_id_value",
                  "tier": "tier_id_value"}
CASE_COLUMNS = {"department": "lead_department_id", "category": "category_id",
                "tier": "tier_id"}


@dataclass
class Scope:
    """The period and the slice of the office a dashboard shows."""

    start: date
    end: date  # inclusive
    department: int | None = None
    category: int | None = None  # a first-level category: its subcategories with it
    channel: str | None = None
    tier: int | None = None
    # Hot-topic drill-downs: a place, a petitioner, a word of the summary.
    category_leaf: int | None = None  # one subcategory only
    place: str = ""
    petitioner: int | None = None
    word: str = ""
    # A department head sees only these departments (None: everything).
    allowed_departments: frozenset[int] | None = None
    category_ids: list[int] = field(default_factory=list)

    def __post_init__(self):
        if self.category_leaf:
            self.category_ids = [self.category_leaf]
        elif self.category:
            self.category_ids = [self.category, *Category.objects.filter(
                parent_id=self.category).values_list("pk", flat=True)]

    def as_query(self) -> dict:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name in ("department", "category", "channel", "tier", "category_leaf", "place",
                     "petitioner", "word"):
            if getattr(self, name):
                query[name] = getattr(self, name)
        return query

    # -- the same scope on the summary tables and on the cases table
    def figure_parts(self, columns=()) -> list[tuple[QuerySet, int]]:
        """The period's summary rows, each set with the sign it is added up with (see
        `period_parts`), each row annotated with its `period_month`. Given the `columns`
        a caller groups by, from the smallest rollup that keeps them and the scope's
        slice, where the rollups are kept."""
        grouping = self.rollup_grouping(columns)
        if grouping is None:
            daily, monthly = DailyFigures.objects.all(), MonthlyFigures.objects.all()
        else:
            daily = DailyRollup.objects.filter(grouping=grouping)
            monthly = MonthlyRollup.objects.filter(grouping=grouping)
        parts = []
        for table, low, high, sign in period_parts(self.start, self.end):
            if table == "month":
                rows = monthly.filter(month__gte=low, month__lt=high).annotate(
                    period_month=F("month"))
            else:
                rows = daily.filter(day__gte=low, day__lt=high).annotate(
                    period_month=TruncMonth("day"))
            parts.append((self._slice(rows), sign))
        return parts

    def rollup_grouping(self, columns=()) -> int | None:
        """The rollup (oversight.models.FigureRollup) that serves a grouping by `columns`
        within this slice: the one of fewest rows that keeps every dimension needed; None
        where no rollup does or none is kept (SQLite)."""
        if connection.vendor != "postgresql":
            return None
        needed = 0
        for column in columns:
            needed |= ROLLUP_DIMENSIONS.get(column, 0)
        if self.department or self.allowed_departments is not None:
            needed |= ROLLUP_DIMENSIONS["department_id_value"]
        if self.category_ids:
            needed |= ROLLUP_DIMENSIONS["category_id_value"]
        if self.channel:
            needed |= ROLLUP_DIMENSIONS["channel"]
        if self.tier:
            needed |= ROLLUP_DIMENSIONS["tier_id_value"]
        fitting = [g for g in ROLLUP_GROUPINGS if g & needed == needed]
        return min(fitting, key=_rollup_size, default=None)

    def figures(self) -> QuerySet[DailyFigures]:
        """The period's daily rows (for charts by day)."""
        return self._slice(DailyFigures.objects.filter(day__gte=self.start, day__lte=self.end))

    def _slice(self, rows: QuerySet) -> QuerySet:
        return rows.filter(self._conditions(FIGURE_COLUMNS))

    def _conditions(self, columns: dict[str, str]) -> Q:
        """The slice as a filter, on the summary's columns or the cases' ones."""
        condition = Q()
        if self.department:
            condition &= Q(**{columns["department"]: self.department})
        elif self.allowed_departments is not None:
            condition &= Q(**{columns["department"] + "__in": self.allowed_departments})
        if self.category_ids:
            condition &= Q(**{columns["category"] + "__in": self.category_ids})
        if self.channel:
            condition &= Q(channel=self.channel)
        if self.tier:
            condition &= Q(**{columns["tier"]: self.tier})
        return condition

    def cases(self) -> QuerySet[Case]:
        return self.live_cases().filter(received_at__gte=_start_of(self.start),
                                        received_at__lt=_start_of(self.end + timedelta(days=1)))

    def live_cases(self) -> QuerySet[Case]:
        """The slice without the period (for live figures)."""
        cases = Case.objects.filter(self._conditions(CASE_COLUMNS))
        if self.place:
            cases = cases.filter(place=self.place)
        if self.petitioner:
            cases = cases.filter(petitioner_id=self.petitioner)
        if self.word:
            cases = cases.filter(summary__contains=self.word)
        return cases


# The rough number of values of each dimension, to pick the smallest rollup.
ROLLUP_SIZES = {1: 400, 2: 300, 4: 9, 8: 4}


def _rollup_size(grouping: int) -> int:
    size = 1
    for bit, values in ROLLUP_SIZES.items():
        if grouping & bit:
            size *= values
    return size


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_parts(start: date, end: date, today: date | None = None) -> list[tuple]:
    """The period start…end (inclusive) as ("month" | "day", low, high, sign): the rows
    of the monthly table with low <= month < high, or of the daily one with low <= day <
    high, added up (sign 1) or taken away (sign -1). Whole months from the monthly table;
    a month the period covers in part either by its days in the period, or, where fewer
    days hold rows, as the month less its days outside the period (a year to today is
    twelve months and a day taken away, not eleven months and thirty days). Exact
    either way, as each month's row is the sum of its days; read in one statement so
    that one snapshot answers (`_summed`)."""
    today = today or timezone.localdate()
    parts: list[tuple] = []
    month = start.replace(day=1)
    whole_from = whole_to = None
    while month <= end:
        following = _next_month(month)
        low, high = max(start, month), min(end + timedelta(days=1), following)
        if (low, high) == (month, following):
            whole_from = whole_from or month
            whole_to = following
            month = following
            continue
        # Days that may hold rows: none after today.
        inside = (min(high, today + timedelta(days=1)) - low).days
        outside = max((min(low, today + timedelta(days=1)) - month).days, 0) + max(
            (min(following, today + timedelta(days=1)) - high).days, 0)
        if outside < inside:
            parts.append(("month", month, following, 1))
            parts += [("day", a, b, -1) for a, b in ((month, low), (high, following)) if a < b]
        else:
            parts.append(("day", low, high, 1))
        month = following
    if whole_from:
        parts.insert(0, ("month", whole_from, whole_to, 1))
    return _merged_parts(parts)


def _merged_parts(parts: list[tuple]) -> list[tuple]:
    """Neighbouring ranges of the same table and sign as one."""
    merged: list[tuple] = []
    for part in sorted(parts, key=lambda part: (part[0], part[3], part[1])):
        last = merged[-1] if merged else None
        if last and last[0] == part[0] and last[3] == part[3] and last[2] == part[1]:
            merged[-1] = (last[0], last[1], part[2], last[3])
        else:
            merged.append(part)
    return merged


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def allowed_departments_of(user) -> frozenset[int] | None:
    """Supervisors, dispatchers and administrators see the whole office; a department
    head sees their departments."""
    if has_role(user, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR):
        return None
    return department_ids_of(user)


DASHBOARD_ROLES = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR,
                   Role.DEPARTMENT_HEAD)


def can_see_dashboard(user) -> bool:
    return has_role(user, *DASHBOARD_ROLES)


# ---------------------------------------------------------------- period figures
def totals(scope: Scope) -> dict:
    return figures_of(scope)["totals"]


# How long a period's figures stay in the cache at most (they are dropped sooner the moment
# the summary tables move: the key holds their generation).
FIGURES_CACHE_SECONDS = 600
# What a kept entry holds: change it with the code that makes one (rows, their columns).
FIGURES_CACHE_FORMAT = 1


@dataclass
class Cached:
    figures: dict
    ledger: list[dict] | None
    # Where they are kept and under which generations (None: not kept), for what is made
    # of them.
    key: str | None
    generation: tuple | None

    def keep(self, name: str, make):
        """What `make()` answers for these figures, kept beside them (made again when
        the figures are)."""
        if self.key is None:
            return make()
        key = f"{self.key}:{name}"
        hit = cache.get(key)
        if hit is not None and hit[0] == self.generation:
            return hit[1]
        value = make()
        cache.set(key, (self.generation, value), FIGURES_CACHE_SECONDS)
        return value


def cached(scope: Scope, by: str) -> Cached:
    """`figures_of(scope, by)` and, by department, the departments' `ledger`, from the
    cache while the summary tables have not moved since they were read: the summary
    moves once per refresh run (FIGURES_EVERY_SECONDS), and supervisors open the same
    periods all day. The key is the whole scope, the breakdown, the language and the
    definitions' version; the entry holds the tables' generation (SummaryGeneration,
    read first, from the database the figures come from: whatever is read after it is at
    least as new) and the reference tables' (department and category names), and is
    used only while both are current."""
    generation = (SummaryGeneration.objects.filter(pk=1).values_list("value", flat=True)
                  .first())
    if generation is None:
        return Cached(figures_of(scope, by), ledger(scope) if by == "department" else None,
                      key=None, generation=None)
    # One entry per scope, the generation inside it: a new one replaces the old.
    key = "dashboard:" + hashlib.sha256(repr((
        FIGURES_CACHE_FORMAT, DEFINITIONS_VERSION, get_language(), by, scope,
    )).encode()).hexdigest()
    stamp = (generation, reference.generation())
    hit = cache.get(key)
    if hit is not None and hit[0] == stamp:
        return Cached(*hit[1:], key=key, generation=stamp)
    value = (figures_of(scope, by), ledger(scope) if by == "department" else None)
    cache.set(key, (stamp, *value), FIGURES_CACHE_SECONDS)
    return Cached(*value, key=key, generation=stamp)


def breakdown(scope: Scope, by: str) -> list[dict]:
    """Rows of counters and rates, one per department / category / channel / tier /
    month, biggest volume first (months in order)."""
    return figures_of(scope, by)[by]


def figures_of(scope: Scope, *by: str) -> dict:
    """Everything the dashboard shows for a period: the totals and the months from one
    grouped query per summary table, the departments from another, and each breakdown
    asked for by category, channel or tier from one more (from the rollups where they
    keep the slice)."""
    # By month and by department in two queries, not one by both: a city's year by
    # month and department is thousands of rows to carry into Python.
    months = _grouped(scope, ["period_month"])
    result = {"totals": with_rates(_add_up(months, lambda row: None).get(None, _zero()))}
    sources = {"month": months, "department": _grouped(scope, ["department_id_value"])}
    for name in by:
        if name not in sources:
            sources[name] = _grouped(scope, [BREAKDOWNS[name][1]])
    parents = _category_parents() if "category" in by else {}
    for name, grouped in sources.items():
        column = BREAKDOWNS[name][1]
        if name == "category":
            merged = _add_up(grouped, lambda row: parents.get(row[column], row[column]))
        else:
            merged = _add_up(grouped, lambda row: row[column])
        labels = _labels(name, merged.keys())
        rows = [with_rates({**counts, "key": key, "label": labels.get(key, "—")})
                for key, counts in merged.items()]
        if name == "month":
            rows.sort(key=lambda row: row["key"])
        else:
            rows.sort(key=lambda row: (-row["received"], str(row["label"])))
        result[name] = rows
    return result


def _grouped(scope: Scope, columns: list[str]) -> list[dict]:
    rows = _summed(scope.figure_parts(columns), columns, COUNTERS)
    if "period_month" in columns:
        for row in rows:
            row["period_month"] = _as_date(row["period_month"])
    return rows


def _summed(parts: list[tuple[QuerySet, int]], columns: list[str], counters) -> list[dict]:
    """The counters of the parts' rows added up with their signs, by `columns`, in one
    statement (one snapshot: a month less some of its days never sees the month and the
    days at different moments), read from the cursor as they come: a city's year by
    department is 400 rows of 23 sums, and Django's converters per value cost more than
    the query."""
    if not parts:
        return []
    using = parts[0][0].db
    quote = connections[using].ops.quote_name
    selects, params = [], []
    for i, (rows, sign) in enumerate(parts):
        sql, part_params = rows.values(*columns, *counters).order_by().query.get_compiler(
            using=using).as_sql()
        selects.append(f"SELECT {int(sign)} AS sign, p{i}.* FROM ({sql}) p{i}")
        params += part_params
    keys = ", ".join(quote(name) for name in columns)
    # (PostgreSQL's sum of a bigint is a numeric: back to an integer.)
    sums = ", ".join(f"CAST(SUM(sign * {quote(name)}) AS BIGINT)" for name in counters)
    sql = (f"SELECT {keys + ', ' if keys else ''}{sums} FROM ("
           + " UNION ALL ".join(selects) + ") parts" + (f" GROUP BY {keys}" if keys else ""))
    names = [*columns, *counters]
    database = connections[using]
    with transaction.atomic(using=using), database.cursor() as cursor:
        if database.vendor == "postgresql":
            # A few thousand rows by index: two parallel workers take longer to start
            # (about 9 ms for a year by department) than the sum takes.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, params)
        return [dict(zip(names, row)) for row in cursor.fetchall()
                if any(row[len(columns):])]


def _as_date(value) -> date:
    """A month as the cursor gives it: a date, a timestamp (PostgreSQL's date_trunc) or
    text (SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _zero() -> dict:
    return {name: 0 for name in COUNTERS}


def _add_up(rows: list[dict], key_of) -> dict:
    """The rows' counters added up by key (a city's year is thousands of rows: no dict is
    made per row, only per key)."""
    merged: dict = {}
    for row in rows:
        key = key_of(row)
        target = merged.get(key)
        if target is None:
            target = merged[key] = _zero()
        for name in COUNTERS:
            value = row[name]
            if value:
                target[name] += value
    return merged


def _category_parents() -> dict[int, int]:
    return {pk: parent or pk for pk, parent in Category.objects.values_list("pk", "parent_id")}


def _labels(by: str, keys) -> dict:
    if by == "department":
        labels = dict(Department.objects.values_list("pk", "name"))
        labels[0] = _("尚未交办")
        return labels
    if by == "category":
        labels = dict(Category.objects.filter(parent__isnull=True).values_list("pk", "name"))
        labels[0] = _("未分类")
        return labels
    if by == "channel":
        return dict(Channel.choices)
    if by == "tier":
        labels = {pk: f"{code} {name}" for pk, code, name in
                  TierPolicy.objects.values_list("pk", "code", "name")}
        labels[0] = _("未定级")
        return labels
    return {key: key.strftime("%Y-%m") for key in keys}


# ---------------------------------------------------------------- live figures
def live(scope: Scope, now=None) -> dict:
    """Now, whatever the period: today's intake, open by tier, due soon, overdue, open
    supervision orders. Read from the cases through the open-state indexes."""
    now = now or timezone.now()
    today = _start_of(timezone.localdate(now))
    tiers = list(TierPolicy.objects.order_by("code"))
    if _tallied(scope):
        figures = _tallied_live(scope, tiers, now)
    else:
        figures = _counted_live(scope, tiers, now, today)
    orders = SupervisionOrder.objects.filter(closed_at__isnull=True)
    if scope.department:
        orders = orders.filter(case__lead_department_id=scope.department)
    elif scope.allowed_departments is not None:
        orders = orders.filter(case__lead_department_id__in=scope.allowed_departments)
    figures["open_orders"] = orders.count()
    return figures


def _tallied(scope: Scope) -> bool:
    """The tallies serve the office and its departments; a slice by category, channel,
    tier, place, petitioner or words is counted from the cases."""
    from cases.selectors import tallies_kept

    return tallies_kept() and not (scope.category_ids or scope.channel or scope.tier
                                   or scope.place or scope.petitioner or scope.word)


def _tallied_live(scope: Scope, tiers, now) -> dict:
    from cases.selectors import tally_counts

    if scope.department:
        departments = [scope.department]
    elif scope.allowed_departments is not None:
        departments = sorted(scope.allowed_departments)
    else:
        departments = None
    if departments == []:
        return {"open": 0, "overdue": 0, "due_soon": 0, "today": 0,
                "by_tier": [(tier.pk, tier.code, tier.name, 0) for tier in tiers]}
    tally = tally_counts(departments, now=now, measures=(1, 2, 4), soon=now + timedelta(
        hours=settings.INBOX_DUE_SOON_HOURS))
    return {
        "open": tally.count(states=OPEN_STATES),
        "overdue": tally.overdue(),
        "due_soon": tally.due_soon(),
        "today": tally.received_today,
        "by_tier": [(tier.pk, tier.code, tier.name,
                     tally.count(states=OPEN_STATES, tier=tier.code)) for tier in tiers],
    }


def _counted_live(scope: Scope, tiers, now, today) -> dict:
    cases = scope.live_cases()
    open_cases = cases.filter(state__in=OPEN_STATES)
    figures = open_cases.aggregate(  # one pass over the open cases
        open=Count("pk"),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        due_soon=Count("pk", filter=Q(
            due_at__gte=now, due_at__lt=now + timedelta(hours=settings.INBOX_DUE_SOON_HOURS))),
        **{f"tier_{tier.pk}": Count("pk", filter=Q(tier_id=tier.pk)) for tier in tiers},
    )
    figures["today"] = cases.filter(received_at__gte=today).count()
    figures["by_tier"] = [(tier.pk, tier.code, tier.name, figures.pop(f"tier_{tier.pk}"))
                          for tier in tiers]
    return figures


LIVE_MEASURES = {
    "today": _("今日登记"),
    "open": _("在办"),
    "due_soon": _("即将到期"),
    "overdue": _("已超期"),
}


def drilldown(scope: Scope, measure: str, *, tier: int | None = None,
              now=None) -> QuerySet[Case]:
    """The cases behind a number of the dashboard."""
    now = now or timezone.now()
    if measure in LIVE_MEASURES:
        cases = scope.live_cases()
        if measure == "today":
            return cases.filter(received_at__gte=_start_of(timezone.localdate(now)))
        cases = cases.filter(state__in=OPEN_STATES)
        if tier:
            cases = cases.filter(tier_id=tier)
        if measure == "overdue":
            return cases.filter(due_at__lt=now)
        if measure == "due_soon":
            return cases.filter(due_at__gte=now, due_at__lt=now + timedelta(
                hours=settings.INBOX_DUE_SOON_HOURS))
        return cases
    return scope.cases().filter(MEASURES[measure])


MEASURE_LABELS = {
    "received": _("受理量"), "invalid": _("无效件"), "deadline_counted": _("应按期件"),
    "on_time": _("按期答复"), "late": _("超期答复或超期未答复"), "responded": _("按期联系"),
    "visited": _("有回访评价"), "solved": _("评价已解决"), "satisfied": _("评价满意或基本满意"),
    "unsatisfied": _("有不满意评价"),
    "returns": _("有退单"), "extensions": _("有延期"), "reopenings": _("有重办"),
    **LIVE_MEASURES,
}


# ---------------------------------------------------------------- the departments' ledger
def ledger(scope: Scope) -> list[dict]:
    """Per department, over the segments that began in the period (cases.ledger): the time
    it held cases, the time past their deadlines while it held them, the returns upheld
    and refused, and dispatch accuracy (dispatches to it that were not misrouted). The
    office's own stages are a row of their own. Closed segments only: a segment still
    running is counted when it ends."""
    from cases import ledger as case_ledger

    from .figures import LEDGER_COUNTERS

    grouped = _summed(_ledger_parts(scope), ["holder", "department_id_value"],
                      LEDGER_COUNTERS)
    names = _labels("department", ())
    merged: dict = {}
    for row in grouped:
        is_department = row["holder"] in (case_ledger.DEPARTMENT, case_ledger.VISIT) and (
            row["department_id_value"])
        key = row["department_id_value"] if is_department else 0
        target = merged.setdefault(key, {name: 0 for name in LEDGER_COUNTERS})
        if row["holder"] == case_ledger.VISIT:
            continue  # the office visits; the department's time ended with the reply
        for name in LEDGER_COUNTERS:
            target[name] += row[name] or 0
    result = []
    for key, counts in merged.items():
        if not any(counts.values()):
            continue
        row = {**counts, "key": key,
               "label": names.get(key, "—") if key else _("信访办（交办前、退单审核、结果审核）"),
               "held_hours": round(counts["held_seconds"] / 3600, 1),
               "late_hours": round(counts["late_seconds"] / 3600, 1),
               "average_hours": round(counts["held_seconds"] / 3600 / counts["segments"], 1)
               if counts["segments"] else None,
               "accuracy": rate(counts["dispatched"] - counts["misrouted"], counts["dispatched"])}
        result.append(row)
    result.sort(key=lambda row: (row["key"] == 0, -row["late_seconds"], str(row["label"])))
    return result


def _ledger_parts(scope: Scope) -> list[tuple[QuerySet, int]]:
    """The period's ledger rows with their signs (`period_parts`): months from the monthly
    ledger where PostgreSQL keeps it (oversight migration 0012), days from the daily one;
    every day from the daily one elsewhere (SQLite)."""
    from .models import DepartmentLedger, MonthlyLedger

    def sliced(rows: QuerySet) -> QuerySet:
        if scope.department:
            return rows.filter(department_id_value=scope.department)
        if scope.allowed_departments is not None:
            return rows.filter(department_id_value__in=scope.allowed_departments)
        return rows

    daily = DepartmentLedger.objects.all()
    if connection.vendor != "postgresql":
        return [(sliced(daily.filter(day__gte=scope.start, day__lte=scope.end)), 1)]
    parts = []
    for table, low, high, sign in period_parts(scope.start, scope.end):
        if table == "month":
            rows = MonthlyLedger.objects.filter(month__gte=low, month__lt=high)
        else:
            rows = daily.filter(day__gte=low, day__lt=high)
        parts.append((sliced(rows), sign))
    return parts
