"""What someone may see. Every list, page, download and API call goes through here."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
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
    a department's as lead plus the cases it only assists (the assisted tallies, dispatch
    migration 0004), and the person's own registrations today, in one statement. A person
    of several departments has the cases they only assist counted from scratch: a case
    assisted by two of them is one case, but a key in each department's tally."""
    whole_office = roles & {Role.SUPERVISOR, Role.ADMINISTRATOR} or roles <= {Role.DISPATCHER}
    departments = None if whole_office else sorted(department_ids_of(user))
    if not whole_office and not departments:
        return {key: 0 for key in FIGURES}  # a department role with no department sees none
    one_department = departments is not None and len(departments) == 1
    tally = tally_counts(departments, now=now,
                         measures=(1, 3, 11, 13) if one_department else (1, 3),
                         registrar=None if whole_office else user)

    def count(states, approved=None):
        return (tally.count(states=states, approved=approved)
                + tally.count(states=states, approved=approved, assisted=True))

    figures = {key: count((state,)) for key, state in (
        ("received", State.RECEIVED), ("accepted", State.ACCEPTED),
        ("returned", State.RETURNED), ("dispatched", State.DISPATCHED),
        ("in_handling", State.IN_HANDLING), ("under_review", State.RESULT_SUBMITTED),
        ("to_visit", State.REPLIED))}
    figures.update({
        "registered_today": tally.registered_today,
        "to_reply": count((State.RESULT_SUBMITTED,), approved=True),
        "open": count(OPEN_STATES),
        "overdue": tally.deadline_passed + tally.assisted_deadline_passed,
    })
    if whole_office:
        figures["registered_today"] = visible_cases(user).filter(
            conditions["registered_today"]).count()
    elif not one_department:
        # Only the cases these departments assist, from the assisting rows (an index).
        candidates = reduce(operator.or_, (condition for key, condition in conditions.items()
                                           if key != "registered_today"))
        extra = (Case.objects.filter(_assisted_by(departments), candidates)
                 .exclude(lead_department__in=departments)
                 .aggregate(**{key: Count("pk", filter=condition)
                               for key, condition in conditions.items()
                               if key != "registered_today"}))
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
    # The cases each department assists and does not lead (measures 11 and 13: a case
    # assisted by two of the departments counts in each): (state, review approved) → n.
    assisted_by_key: dict = field(default_factory=dict)
    assisted_deadline_passed: int = 0
    registered_today: int = 0  # the registrar's cases of the departments since today

    def count(self, *, states, tier: str | None = None, approved: bool | None = None,
              assisted: bool = False) -> int:
        if assisted:
            assert tier is None, "the assisted tally has no tiers"
            return sum(n for (state, flag), n in self.assisted_by_key.items()
                       if state in states and (approved is None or flag == approved))
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


# The tallies' statement, in parts: tally_counts joins those of the measures asked for
# (a smaller statement plans faster). Measures by key are read whole; measures by hour
# only up to the latest hour a figure reads (the hours to come do not count yet).
_TALLY_FOLDED = {
    "keyed": """
  SELECT measure, state, tier, flag, hour, n FROM cases_tally
   WHERE dept = ANY(%(d)s) AND measure = ANY(%(keyed)s)""",
    "hourly": """
  SELECT measure, state, tier, flag, hour, n FROM cases_tally
   WHERE dept = ANY(%(d)s) AND measure = ANY(%(hourly)s)
     AND state = ANY(ARRAY['', 'inbox', 'other']) AND tier = 0 AND NOT flag
     AND hour < %(soon_h)s""",
    "today": """
  SELECT measure, state, tier, flag, hour, n FROM cases_tally
   WHERE dept = ANY(%(d)s) AND measure = 4 AND state = '' AND tier = 0 AND NOT flag
     AND hour >= %(today_h)s""",
}
_TALLY_SUMS = """
WITH t AS (
  SELECT measure, state, tier, flag, hour, n FROM cases_tally_delta
   WHERE dept = ANY(%(d)s) AND measure = ANY(%(m)s){folded}
)
SELECT measure, state, (SELECT code FROM cases_tierpolicy WHERE id = tier), flag, sum(n),
       coalesce(sum(n) FILTER (WHERE hour < %(now_h)s), 0),
       coalesce(sum(n) FILTER (WHERE hour < %(soon_h)s), 0),
       coalesce(sum(n) FILTER (WHERE hour >= %(today_h)s), 0)
  FROM t GROUP BY measure, state, tier, flag
UNION ALL
SELECT 999, '', '', false, count(*), 0, 0, 0 FROM (
  SELECT 1 FROM cases_tally_delta WHERE dept = ANY(%(d)s) LIMIT %(fold)s) x"""
# The hour a moment cuts, and the person's own cases, counted from the cases.
_TALLY_FROM_CASES = {
    "mine": """
SELECT 105, '', '', false, count(*), 0, 0, 0 FROM cases_case
 WHERE handler_id = %(me)s AND state IN %(inbox)s AND {where}""",
    2: """
SELECT 102, CASE WHEN state IN %(inbox)s THEN 'inbox' ELSE 'other' END, '', false, 0,
       count(*) FILTER (WHERE due_at >= %(now_h)s AND due_at < %(now)s),
       count(*) FILTER (WHERE due_at >= %(soon_h)s AND due_at < %(soon)s), 0
  FROM cases_case
 WHERE state IN %(open)s AND {where}
   AND ((due_at >= %(now_h)s AND due_at < %(now)s) OR (due_at >= %(soon_h)s AND due_at < %(soon)s))
 GROUP BY 2""",
    3: """
SELECT 103, '', '', false, 0, count(*), 0, 0 FROM cases_case
 WHERE state IN %(open)s AND {where}
   AND ((final_due_at IS NULL AND due_at >= %(now_h)s AND due_at < %(now)s)
        OR (final_replied_at IS NULL AND final_due_at >= %(now_h)s AND final_due_at < %(now)s))""",
    4: """
SELECT 104, '', '', false, 0, 0, 0, count(*) FROM cases_case
 WHERE {where} AND received_at >= %(today_h)s AND received_at < %(today)s""",
    13: """
SELECT 113, '', '', false, 0, count(*), 0, 0
  FROM cases_case c JOIN cases_case_assisting_departments a ON a.case_id = c.id
 WHERE c.state IN %(open)s AND a.department_id = ANY(%(d)s)
   AND c.lead_department_id IS DISTINCT FROM a.department_id
   AND ((c.final_due_at IS NULL AND c.due_at >= %(now_h)s AND c.due_at < %(now)s)
        OR (c.final_replied_at IS NULL AND c.final_due_at >= %(now_h)s
            AND c.final_due_at < %(now)s))""",
    "registered": """
SELECT 106, '', '', false, count(*), 0, 0, 0 FROM cases_case c
 WHERE c.registered_by_id = %(registrar)s AND c.received_at >= %(today)s
   AND (c.lead_department_id = ANY(%(d)s) OR EXISTS (
        SELECT 1 FROM cases_case_assisting_departments a
         WHERE a.case_id = c.id AND a.department_id = ANY(%(d)s)))""",
}
_KEYED, _HOURLY = (1, 11), (2, 3, 13)


def _tally_sql(measures, *, mine: bool, registered: bool, where: str) -> str:
    folded = [_TALLY_FOLDED[part] for part, wanted in (
        ("keyed", set(measures) & set(_KEYED)), ("hourly", set(measures) & set(_HOURLY)),
        ("today", 4 in measures)) if wanted]
    sums = _TALLY_SUMS.format(folded="".join("\n  UNION ALL" + part for part in folded))
    parts = [sums] + [_TALLY_FROM_CASES[part].format(where=where) for part in (
            *(["mine"] if mine else []), *(m for m in (2, 3, 4, 13) if m in measures),
            *(["registered"] if registered else []))]
    return "\nUNION ALL".join(parts)


TALLY_INBOX = ("dispatched", "in_handling", "result_submitted")  # measure 2's 'inbox'


def tally_counts(departments=None, *, now: datetime, soon: datetime | None = None,
                 measures=(1, 2, 3, 4), handler=None, registrar=None) -> Tally:
    """The tallies of these departments' cases as lead department (None: the office):
    1 by state, tier and review; 2 due before now and soon ('inbox' for the states with a
    department, 'other'); 3 past the deadline in force; 4 received today; and of the
    cases each of them assists and does not lead: 11 by state and review, 13 past the
    deadline in force. `handler`: that person's inbox cases with the departments;
    `registrar`: the cases of the departments that person registered since today."""
    from django.db import connection

    departments = [OFFICE] if departments is None else sorted(departments)
    today = _start_of_day(now)
    soon = soon or now
    params = {"d": departments, "now": now, "now_h": _hour(now), "soon": soon,
              "soon_h": _hour(soon), "today": today, "today_h": _hour(today),
              "open": tuple(OPEN_STATES),
              "inbox": TALLY_INBOX, "m": list(measures),
              "keyed": [m for m in measures if m in _KEYED],
              "hourly": [m for m in measures if m in _HOURLY],
              "me": getattr(handler, "pk", None), "fold": TALLY_FOLD_AT,
              "registrar": getattr(registrar, "pk", None)}
    where = "true" if departments == [OFFICE] else "lead_department_id = ANY(%(d)s)"
    sql = _tally_sql(measures, mine=params["me"] is not None,
                     registered=params["registrar"] is not None, where=where)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    tally = Tally({}, {}, {}, 0, 0)
    for measure, state, tier, flag, total, before_now, before_soon, since_today in rows:
        if measure == 999 and total >= TALLY_FOLD_AT:
            fold_tallies()
        elif measure == 105:
            tally.mine = int(total)
        elif measure == 106:
            tally.registered_today = int(total)
        elif measure == 11:
            key = (state, flag)
            tally.assisted_by_key[key] = tally.assisted_by_key.get(key, 0) + int(total)
        elif measure in (13, 113):
            tally.assisted_deadline_passed += int(before_now)
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
