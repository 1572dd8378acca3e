"""What someone may see. Every list, page, download and API call goes through here."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATES, Case, Notification, State
from .roles import Role, department_ids_of, has_role, roles_of


def visible_cases(user) -> QuerySet[Case]:
    """The cases this person may see, decided once for every door."""
    roles = roles_of(user)
    cases = Case.objects.all()
    if roles & {Role.SUPERVISOR, Role.ADMINISTRATOR}:
        return cases
    conditions = Q(pk__in=[])
    if Role.DISPATCHER in roles:
        conditions |= ~Q(state=State.ARCHIVED)
    if Role.CLERK in roles:
        conditions |= Q(registered_by=user) | Q(state=State.RECEIVED)
    if roles & {Role.HANDLER, Role.DEPARTMENT_HEAD}:
        departments = department_ids_of(user)
        assisted = Case.assisting_departments.through.objects.filter(
            department_id__in=departments
        ).values("case_id")
        conditions |= Q(lead_department__in=departments) | Q(pk__in=assisted)
    return cases.filter(conditions)


def shows_identity(user, case: Case) -> bool:
    """Who may see the petitioner's name and phone.

    The office's staff always; the lead department too (it must contact the petitioner),
    unless the petitioner asked for confidentiality; an assisting department never (it
    works for the lead and needs the matter, not the person).
    """
    if has_role(user, Role.CLERK, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR):
        return True
    if case.is_confidential:
        return False
    return case.lead_department_id in department_ids_of(user)


def landing_figures(user) -> dict[str, int]:
    """The counts on a person's desk, in one query over the cases that can count.

    Closed and archived cases never count here, so they are filtered out before the
    aggregate: the cost follows the open cases, not the years of history.
    """
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    open_cases = Q(state__in=OPEN_STATES)
    candidates = open_cases | Q(state=State.REPLIED) | Q(received_at__gte=today)
    return visible_cases(user).filter(candidates).aggregate(
        registered_today=Count("pk", filter=Q(received_at__gte=today, registered_by=user)),
        received=Count("pk", filter=Q(state=State.RECEIVED)),
        accepted=Count("pk", filter=Q(state=State.ACCEPTED)),
        returned=Count("pk", filter=Q(state=State.RETURNED)),
        dispatched=Count("pk", filter=Q(state=State.DISPATCHED)),
        in_handling=Count("pk", filter=Q(state=State.IN_HANDLING)),
        under_review=Count("pk", filter=Q(state=State.RESULT_SUBMITTED)),
        to_reply=Count("pk", filter=Q(state=State.RESULT_SUBMITTED, review_stage="approved")),
        to_visit=Count("pk", filter=Q(state=State.REPLIED)),
        open=Count("pk", filter=open_cases),
        overdue=Count("pk", filter=open_cases & Q(due_at__lt=now)),
    )


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
