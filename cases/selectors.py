"""What someone may see. Every list, page, download and API call goes through here."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.db.models import Count, F, Q, QuerySet
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
        assisted = Case.assisting_departments.through.objects.filter(
            department_id__in=departments
        ).values("case_id")
        conditions |= Q(lead_department__in=departments) | Q(pk__in=assisted)
    return cases.filter(conditions)


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
    conditions = figure_conditions(user, now or timezone.now())
    candidates = reduce(operator.or_, conditions.values())
    return visible_cases(user).filter(candidates).aggregate(
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()})


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
