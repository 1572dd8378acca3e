"""What oversight pages read: the supervision orders a person may see, counted by status."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.roles import Role, department_ids_of, has_role

from .models import SupervisionOrder

# status key: which orders it shows
STATUSES = ("open", "late", "answered", "closed", "all")


def orders_visible_to(user) -> QuerySet[SupervisionOrder]:
    """Supervisors, dispatchers and administrators see every order; department staff the
    orders on cases their department leads."""
    orders = SupervisionOrder.objects.select_related(
        "case", "case__lead_department", "case__tier", "answered_by")
    if has_role(user, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR):
        return orders
    if has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD):
        return orders.filter(case__lead_department__in=department_ids_of(user))
    return orders.none()


def status_filter(status: str, now=None) -> Q:
    now = now or timezone.now()
    return {
        "open": Q(closed_at__isnull=True),
        "late": Q(closed_at__isnull=True, answered_at__isnull=True, answer_due_at__lt=now),
        "answered": Q(closed_at__isnull=True, answered_at__isnull=False),
        "closed": Q(closed_at__isnull=False),
        "all": Q(),
    }[status]


def status_counts(orders: QuerySet[SupervisionOrder], now=None) -> dict[str, int]:
    """Each status's count in one query."""
    from django.db.models import Count

    now = now or timezone.now()
    return orders.order_by().aggregate(**{
        status: Count("pk", filter=status_filter(status, now)) for status in STATUSES})


def unanswered_count(user) -> int:
    """Open orders waiting for this person's department (the navigation badge)."""
    if not has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD):
        return 0
    return SupervisionOrder.objects.filter(
        closed_at__isnull=True, answered_at__isnull=True,
        case__lead_department__in=department_ids_of(user)).count()
