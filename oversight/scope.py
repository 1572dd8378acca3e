"""What a query string asks of the oversight pages, for a person: the dashboard's scope
and the complaints' period. The pages and the exports made later by a task read them
here alike, so that a file holds what the page showed."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from cases.identity import may_know_persons_cases
from cases.parsing import parse_int

from . import complaints, dashboard
from .forms import ComplaintsPeriodForm, ScopeForm


def dashboard_scope(user, params, *, today: date | None = None
                    ) -> tuple[dashboard.Scope, ScopeForm]:
    """The scope from the query string; bad input falls back to this year, and the form
    carries the message naming the field."""
    allowed = dashboard.allowed_departments_of(user)
    form = ScopeForm(params or None, allowed_departments=allowed)
    today = today or timezone.localdate()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    start = data.get("start") or date(today.year, 1, 1)
    end = data.get("end") or today
    department = data.get("department")
    if allowed is not None and department is None and len(allowed) == 1:
        department_id = next(iter(allowed))
    else:
        department_id = department
    scope = dashboard.Scope(
        start=start, end=end, department=department_id,
        category=data.get("category"),
        channel=data.get("channel") or None,
        tier=data["tier"].pk if data.get("tier") else None,
        category_leaf=parse_int(params.get("category_leaf")),
        place=params.get("place", "")[:200],
        # One person's cases are listed for the office only, never for a department.
        petitioner=(parse_int(params.get("petitioner"))
                    if may_know_persons_cases(user) else None),
        word=params.get("word", "")[:50],
        allowed_departments=allowed)
    if not form.is_bound or (form.is_valid() and not (data.get("start") and data.get("end"))):
        # Show the period in force in the form's date fields.
        form = ScopeForm(initial={**scope.as_query(), "start": start, "end": end},
                         allowed_departments=allowed)
    return scope, form


def complaints_period(user, params, *, today: date | None = None
                      ) -> tuple[complaints.Period, ComplaintsPeriodForm]:
    form = ComplaintsPeriodForm(params or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    today = today or timezone.localdate()
    end = data.get("end") or today
    start = data.get("start") or end - timedelta(days=complaints.REPEAT_WINDOW_DAYS - 1)
    if not form.is_bound or form.is_valid():
        form = ComplaintsPeriodForm(initial={"start": start, "end": end})
    return complaints.Period(start=start, end=end,
                             departments=complaints.departments_limit(user)), form
