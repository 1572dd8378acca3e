"""What the dispatcher's desk and the departments may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from cases.models import ENDED_AT_INTAKE, Case, Department, State

from .models import RoutingRule


@dataclass
class Suggestion:
    department: Department
    reason: str


def routing_suggestions(case: Case, *, limit: int = 3) -> list[Suggestion]:
    """Where the case should go: the matching routing rules first, then the departments
    that most often led cases of this category, then the category's default."""
    suggestions: dict[int, Suggestion] = {}
    rules = RoutingRule.objects.filter(is_active=True, department__is_active=True).select_related(
        "department", "category")
    for rule in rules:
        if rule.matches(case) and rule.department_id not in suggestions:
            suggestions[rule.department_id] = Suggestion(rule.department, f"规则：{rule}")
    if case.category_id:
        history = (
            Case.objects.filter(category_id=case.category_id, lead_department__isnull=False,
                                lead_department__is_office=False, lead_department__is_active=True)
            .exclude(state__in=[State.RETURNED, *ENDED_AT_INTAKE])
            .values("lead_department").annotate(n=Count("pk")).order_by("-n")[:limit]
        )
        departments = Department.objects.in_bulk([row["lead_department"] for row in history])
        for row in history:
            department = departments[row["lead_department"]]
            suggestions.setdefault(department.pk, Suggestion(
                department, f"此类案件最常由该部门承办（{row['n']}件）"))
        default = case.category.default_department
        if default and default.is_active and not default.is_office:
            suggestions.setdefault(default.pk, Suggestion(default, "分类默认承办部门"))
    return list(suggestions.values())[:limit + 1]
