"""What someone may see. Every list, page, download and API call goes through here."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import OPEN_STATES, Case, Notification, ReviewStage, State
from .paging import cursor_of, position_of
from .roles import Role, department_ids_of, roles_of


# Who sees what for a role a later app gives its meaning (a platform: the cases it sent),
# registered by that app when it loads: role → (user → Q).
_visibility_rules: dict[str, Callable[[object], Q]] = {}


def register_visibility(role: str, rule: Callable[[object], Q]) -> None:
    _visibility_rules[role] = rule


def visible_cases(user) -> QuerySet[Case]:
    """The cases this person may see, decided once for every door."""
    roles = roles_of(user)
    cases = Case.objects.all()
    if roles & {Role.SUPERVISOR, Role.ADMINISTRATOR}:
        return cases
    conditions = Q(pk__in=[])
    for role, rule in _visibility_rules.items():
        if role in roles:
            conditions |= rule(user)
    if Role.DISPATCHER in roles:
        conditions |= ~Q(state=State.ARCHIVED)
    if Role.CLERK in roles:
        conditions |= (Q(registered_by=user) | Q(taken_in_by=user)
                       | Q(state=State.RECEIVED))
    if roles & {Role.HANDLER, Role.DEPARTMENT_HEAD}:
        departments = department_ids_of(user)
        conditions |= Q(lead_department__in=departments) | _assisted_by(departments)
    return cases.filter(conditions)


def _assisted_by(departments) -> Q:
    """The cases these departments assist. On PostgreSQL as `id = ANY(ARRAY(…))`, which
    an index serves and the planner can OR with the lead department's index (a
    `id IN (subquery)` beside `lead_department_id IN (…)` makes it read every case)."""
    through = Case.assisting_departments.through
    if connection.vendor != "postgresql":
        return Q(pk__in=through.objects.filter(department_id__in=departments)
                 .values("case_id"))
    table = connection.ops.quote_name(Case._meta.db_table)
    return Q(RawSQL(
        f"{table}.\"id\" = ANY(ARRAY(SELECT \"case_id\" FROM "
        f"{connection.ops.quote_name(through._meta.db_table)} "
        f"WHERE \"department_id\" = ANY(%s)))", [list(departments)],
        output_field=BooleanField()))


def shows_identity(user, case: Case) -> bool:
    """Whether this person sees any of the petitioner's identity (cases.identity decides
    field by field)."""
    from .identity import audience

    return audience(user, case) != "none"


def _start_of_day(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# What each count on a desk counts, written once: the desk's aggregate and the list behind
# the count filter by the same condition, so a count and its list cannot disagree. A
# condition may depend on the person (their own registrations) and the moment (today,
# overdue); each is applied inside visible_cases.
FIGURES: dict[str, Callable[[object, datetime], Q]] = {
    "registered_today": lambda user, now: Q(registered_by=user,
                                            received_at__gte=_start_of_day(now)),
    "received": lambda user, now: Q(state=State.RECEIVED),
    "accepted": lambda user, now: Q(state=State.ACCEPTED),
    "returned": lambda user, now: Q(state=State.RETURNED),
    "dispatched": lambda user, now: Q(state=State.DISPATCHED),
    "in_handling": lambda user, now: Q(state=State.IN_HANDLING),
    "under_review": lambda user, now: Q(state=State.RESULT_SUBMITTED),
    "to_reply": lambda user, now: Q(state=State.RESULT_SUBMITTED,
                                    review_stage=ReviewStage.APPROVED),
    "to_visit": lambda user, now: Q(state=State.REPLIED),
    "open": lambda user, now: Q(state__in=OPEN_STATES),
    # Against the deadline in force: a two-stage case answered with its next steps owes
    # its final result.
    "overdue": lambda user, now: Q(state__in=OPEN_STATES) & (
        Q(final_due_at__isnull=True, due_at__lt=now)
        | Q(final_due_at__lt=now, final_replied_at__isnull=True)),
}


def figure_conditions(user, now: datetime) -> dict[str, Q]:
    return {key: condition(user, now) for key, condition in FIGURES.items()}


def landing_figures(user, *, now: datetime | None = None) -> dict[str, int]:
    """The counts on a person's desk, in one query over the cases that can count.

    Only the cases that meet some figure are read (open, replied, registered today):
    the cost follows the office's current work, not the years of history.
    """
    now = now or timezone.now()
    conditions = figure_conditions(user, now)
    roles = roles_of(user)
    if tallies_kept() and roles and (
            roles & {Role.SUPERVISOR, Role.ADMINISTRATOR}
            or roles <= {Role.DISPATCHER}
            or roles <= {Role.HANDLER, Role.DEPARTMENT_HEAD}):
        return _tallied_figures(user, roles, conditions, now)
    candidates = reduce(operator.or_, conditions.values())
    return visible_cases(user).filter(candidates).aggregate(
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()})


def _tallied_figures(user, roles, conditions, now) -> dict[str, int]:
    """The desk's counts from the tallies: the office's for a supervisor, administrator or
    dispatcher (whose cases are every one not archived, as every figure but the first);
    a department's as lead, plus the few cases it only assists, counted from scratch."""
    whole_office = roles & {Role.SUPERVISOR, Role.ADMINISTRATOR} or roles <= {Role.DISPATCHER}
    departments = None if whole_office else department_ids_of(user)
    tally = (tally_counts(departments, now=now, measures=(1, 3))
             if whole_office or departments else Tally({}, {}, {}, 0, 0))
    states = {key: tally.count(states=(state,)) for key, state in (
        ("received", State.RECEIVED), ("accepted", State.ACCEPTED),
        ("returned", State.RETURNED), ("dispatched", State.DISPATCHED),
        ("in_handling", State.IN_HANDLING), ("under_review", State.RESULT_SUBMITTED),
        ("to_visit", State.REPLIED))}
    mine_today = conditions["registered_today"]
    figures = {
        "registered_today": 0,
        **states,
        "to_reply": tally.count(states=(State.RESULT_SUBMITTED,), approved=True),
        "open": tally.count(states=OPEN_STATES),
        "overdue": tally.deadline_passed,
    }
    if whole_office or not departments:
        figures["registered_today"] = visible_cases(user).filter(mine_today).count()
        return figures
    # One query more: the person's registrations today, and the cases the departments
    # only assist (never counted by the lead's tally).
    assisted = Case.assisting_departments.through.objects.filter(
        department_id__in=departments).values("case_id")
    only_assisted = Q(pk__in=assisted) & ~Q(lead_department__in=departments)
    candidates = reduce(operator.or_, conditions.values())
    extra = visible_cases(user).filter(mine_today | (only_assisted & candidates)).aggregate(
        registered_today=Count("pk", filter=mine_today),
        **{key: Count("pk", filter=condition & only_assisted)
           for key, condition in conditions.items() if key != "registered_today"})
    for key, value in extra.items():
        figures[key] += value
    return figures


FIGURE_PAGE_SIZE = 50


@dataclass
class FigurePage:
    rows: list[Case]
    next_cursor: str | None


def _figure_cursor(case: Case) -> str:
    return cursor_of(case.due_at, case.pk)


def parse_figure_cursor(cursor: str) -> tuple[datetime | None, int] | None:
    """The position a page starts after: (due time or None, id); None if it is not one."""
    return position_of(cursor)


def figure_cases(user, figure: str, *, search: str = "", after: str = "",
                 now: datetime | None = None) -> FigurePage:
    """The cases behind one count of a desk, earliest due first (those without a due time
    last), a page at a time by key (due time, id), so that every page costs the same.

    `figure` is a key of FIGURES and `after` a cursor this function gave (the caller
    checks both); `search` narrows to a case number or words of the summary.
    """
    condition = FIGURES[figure](user, now or timezone.now())
    cases = visible_cases(user).filter(condition)
    search = search.strip()
    if search:
        cases = cases.filter(Q(number=search.upper()) | Q(summary__icontains=search))
    position = parse_figure_cursor(after) if after else None
    if position:
        due, pk = position
        if due is None:
            cases = cases.filter(due_at__isnull=True, pk__gt=pk)
        else:
            cases = cases.filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=pk)
                                 | Q(due_at__isnull=True))
    rows = list(cases.select_related("category", "category__parent", "tier", "lead_department")
                .order_by(F("due_at").asc(nulls_last=True), "pk")[:FIGURE_PAGE_SIZE + 1])
    more = len(rows) > FIGURE_PAGE_SIZE
    rows = rows[:FIGURE_PAGE_SIZE]
    return FigurePage(rows, _figure_cursor(rows[-1]) if more and rows else None)


def recent_cases(user, limit: int = 10) -> QuerySet[Case]:
    return (
        visible_cases(user)
        .select_related("category", "category__parent", "lead_department", "tier")
        .order_by("-received_at")[:limit]
    )


def notifications_of(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("case")


def unread_notification_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# ---------------------------------------------------------------- live tallies
# The open cases counted by PostgreSQL as they change (cases migration 0024: statement
# triggers append deltas to cases_tally_delta; fold_tallies moves them into cases_tally).
# A time figure adds up the whole hours before its moment and counts, from the cases, the
# hour the moment cuts: one statement, one snapshot, exact after any act.
OFFICE = -1  # the tally's key for the whole office
TALLY_FOLD_AT = 5000  # deltas of a department or the office before a reader folds them


def tallies_kept() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@dataclass
class Tally:
    """The counts of a set of departments (or of the office) at one moment."""

    by_key: dict  # (state, tier code or "", review approved) → open and replied cases
    due_before_now: dict  # 'inbox' / 'other' → open cases due before now
    due_before_soon: dict  # the same, due before now + the due-soon hours
    deadline_passed: int  # open cases past the deadline in force
    received_today: int  # cases received since the start of today, any state
    mine: int = 0  # the handler's cases with the departments, if one was named

    def count(self, *, states, tier: str | None = None, approved: bool | None = None) -> int:
        return sum(n for (state, code, flag), n in self.by_key.items()
                   if state in states and (tier is None or code == tier)
                   and (approved is None or flag == approved))

    def overdue(self, groups=("inbox", "other")) -> int:
        return sum(self.due_before_now.get(group, 0) for group in groups)

    def due_soon(self, groups=("inbox", "other")) -> int:
        return sum(self.due_before_soon.get(group, 0) - self.due_before_now.get(group, 0)
                   for group in groups)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


_TALLY_SQL = """
WITH t AS (
  SELECT measure, state, tier, flag, hour, n FROM cases_tally
   WHERE dept = ANY(%(d)s) AND measure = ANY(%(m)s) AND measure <> 4
  UNION ALL
  SELECT measure, state, tier, flag, hour, n FROM cases_tally
   WHERE dept = ANY(%(d)s) AND measure = 4 AND state = '' AND tier = 0 AND NOT flag
     AND hour >= %(today_h)s AND 4 = ANY(%(m)s)
  UNION ALL
  SELECT measure, state, tier, flag, hour, n FROM cases_tally_delta
   WHERE dept = ANY(%(d)s) AND measure = ANY(%(m)s)
)
SELECT measure, state, (SELECT code FROM cases_tierpolicy WHERE id = tier), flag, sum(n),
       coalesce(sum(n) FILTER (WHERE hour < %(now_h)s), 0),
       coalesce(sum(n) FILTER (WHERE hour < %(soon_h)s), 0),
       coalesce(sum(n) FILTER (WHERE hour >= %(today_h)s), 0)
  FROM t GROUP BY measure, state, tier, flag
UNION ALL
SELECT 105, '', '', false, count(*), 0, 0, 0 FROM cases_case
 WHERE %(me)s IS NOT NULL AND handler_id = %(me)s AND state IN %(inbox)s AND {where}
UNION ALL
SELECT 999, '', '', false, count(*), 0, 0, 0 FROM (
  SELECT 1 FROM cases_tally_delta WHERE dept = ANY(%(d)s) LIMIT %(fold)s) x
UNION ALL
SELECT 102, CASE WHEN state IN %(inbox)s THEN 'inbox' ELSE 'other' END, '', false, 0,
       count(*) FILTER (WHERE due_at >= %(now_h)s AND due_at < %(now)s),
       count(*) FILTER (WHERE due_at >= %(soon_h)s AND due_at < %(soon)s), 0
  FROM cases_case
 WHERE state IN %(open)s AND {where}
   AND ((due_at >= %(now_h)s AND due_at < %(now)s) OR (due_at >= %(soon_h)s AND due_at < %(soon)s))
   AND 2 = ANY(%(m)s)
 GROUP BY 2
UNION ALL
SELECT 103, '', '', false, 0, count(*), 0, 0 FROM cases_case
 WHERE state IN %(open)s AND {where}
   AND ((final_due_at IS NULL AND due_at >= %(now_h)s AND due_at < %(now)s)
        OR (final_replied_at IS NULL AND final_due_at >= %(now_h)s AND final_due_at < %(now)s))
   AND 3 = ANY(%(m)s)
UNION ALL
SELECT 104, '', '', false, 0, 0, 0, count(*) FROM cases_case
 WHERE {where} AND received_at >= %(today_h)s AND received_at < %(today)s AND 4 = ANY(%(m)s)
"""


TALLY_INBOX = ("dispatched", "in_handling", "result_submitted")  # measure 2's 'inbox'


def tally_counts(departments=None, *, now: datetime, soon: datetime | None = None,
                 measures=(1, 2, 3, 4), handler=None) -> Tally:
    """The tallies of these departments' cases as lead department (None: the office):
    1 by state, tier and review; 2 due before now and soon ('inbox' for the states with a
    department, 'other'); 3 past the deadline in force; 4 received today."""
    from django.db import connection

    departments = [OFFICE] if departments is None else sorted(departments)
    today = _start_of_day(now)
    soon = soon or now
    params = {"d": departments, "now": now, "now_h": _hour(now), "soon": soon,
              "soon_h": _hour(soon), "today": today, "today_h": _hour(today),
              "open": tuple(OPEN_STATES),
              "inbox": TALLY_INBOX, "m": list(measures),
              "me": getattr(handler, "pk", None), "fold": TALLY_FOLD_AT}
    where = "true" if departments == [OFFICE] else "lead_department_id = ANY(%(d)s)"
    with connection.cursor() as cursor:
        cursor.execute(_TALLY_SQL.format(where=where), params)
        rows = cursor.fetchall()
    tally = Tally({}, {}, {}, 0, 0)
    for measure, state, tier, flag, total, before_now, before_soon, since_today in rows:
        if measure == 999 and total >= TALLY_FOLD_AT:
            fold_tallies()
        elif measure == 105:
            tally.mine = int(total)
        elif measure == 1:
            key = (state, tier or "", flag)
            tally.by_key[key] = tally.by_key.get(key, 0) + int(total)
        elif measure in (2, 102):
            tally.due_before_now[state] = tally.due_before_now.get(state, 0) + int(before_now)
            tally.due_before_soon[state] = (tally.due_before_soon.get(state, 0)
                                            + int(before_soon))
        elif measure in (3, 103):
            tally.deadline_passed += int(before_now)
        elif measure == 4:
            tally.received_today += int(since_today)
        elif measure == 104:
            tally.received_today -= int(since_today)
    return tally


def fold_tallies() -> int:
    """Move the deltas into the folded tally, in one statement; returns how many."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            WITH moved AS (DELETE FROM cases_tally_delta
                           RETURNING dept, measure, state, tier, flag, hour, n),
                 summed AS (SELECT dept, measure, state, tier, flag, hour, sum(n) AS n
                              FROM moved GROUP BY dept, measure, state, tier, flag, hour),
                 folded AS (INSERT INTO cases_tally AS t
                            SELECT * FROM summed WHERE n <> 0
                            ON CONFLICT (dept, measure, state, tier, flag, hour)
                            DO UPDATE SET n = t.n + excluded.n RETURNING 1)
            SELECT (SELECT count(*) FROM summed)""")
        return cursor.fetchone()[0]
