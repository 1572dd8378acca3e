"""The case detail's sections from the later stages (the handling result, the return
visits), registered with cases.api where every app is known: cases imports no app.

Both follow the current round: after a reopen (重办) the earlier result and verdict are
history, listed in the events, not the case's answer now.
"""

from rest_framework import serializers

from cases.api import local, register_detail_section
from cases.roles import OFFICE_ROLES, Role, has_role
from dispatch.models import HandlingResult
from feedback.models import ReturnVisit


def _since_reopen(case, moment) -> bool:
    return case.reopened_at is None or (moment is not None and moment >= case.reopened_at)


def _staff_name(user, person) -> str | None:
    """A staff member's name is for the office's staff and departments, not a platform."""
    if person is None or has_role(user, Role.PLATFORM):
        return None
    return person.get_full_name() or person.username


def result_section(user, case) -> dict | None:
    result = (HandlingResult.objects.filter(case=case).select_related("submitted_by")
              .order_by("-submitted_at", "-pk").first())
    if result is None or not _since_reopen(case, result.submitted_at):
        return None
    return {"result": result.result, "is_solved": result.is_solved,
            "submitted_at": local(result.submitted_at),
            "department": case.lead_department.name if case.lead_department_id else None,
            "handler": _staff_name(user, result.submitted_by)}


def visit_section(user, case) -> dict | None:
    visit = (ReturnVisit.objects.filter(case=case).select_related("visited_by")
             .order_by("-visited_at", "-pk").first())
    if visit is None or not _since_reopen(case, visit.visited_at):
        return None
    return {"reached": visit.reached, "method": visit.method, "is_solved": visit.is_solved,
            "satisfaction": visit.satisfaction or None, "at": local(visit.visited_at),
            "comments": visit.comments if has_role(user, *OFFICE_ROLES, Role.SUPERVISOR)
            else None,
            "visited_by": _staff_name(user, visit.visited_by)}


class ResultShown(serializers.Serializer):
    result = serializers.CharField()
    is_solved = serializers.BooleanField()
    submitted_at = serializers.DateTimeField()
    department = serializers.CharField(allow_null=True)
    handler = serializers.CharField(allow_null=True, help_text="the handler (staff callers)")


class VisitShown(serializers.Serializer):
    reached = serializers.BooleanField()
    method = serializers.CharField()
    is_solved = serializers.BooleanField(allow_null=True)
    satisfaction = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    comments = serializers.CharField(allow_null=True)
    visited_by = serializers.CharField(allow_null=True)


def register_all() -> None:
    register_detail_section("result", result_section, ResultShown(
        allow_null=True, help_text="办理结果 of the current round"))
    register_detail_section("visit", visit_section, VisitShown(
        allow_null=True, help_text="the latest return visit of the current round"))
