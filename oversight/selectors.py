"""What oversight pages read: the supervision orders a person may see, counted by status;
the access log by its filters; the exports a person may fetch."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cases.parsing import parse_int
from cases.roles import Role, department_ids_of, has_role

from .models import ExportJob, SupervisionOrder

# status key: which orders it shows
STATUSES = ("open", "late", "answered", "closed", "all")
STATUS_LABELS = {"open": gettext_lazy("未办结"), "late": gettext_lazy("反馈超时"),
                 "answered": gettext_lazy("已反馈待办结"), "closed": gettext_lazy("已办结"),
                 "all": gettext_lazy("全部")}


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


@dataclass
class ChosenOrders:
    """The orders list's filters as the query string gave them (bad values dropped)."""

    orders: QuerySet[SupervisionOrder]
    status: str
    level: str
    department: str


def orders_chosen(user, params, now=None) -> ChosenOrders:
    """The orders this person may see, by status (open, late, answered, closed, all),
    level and lead department."""
    now = now or timezone.now()
    chosen = orders_visible_to(user)
    status = params.get("status", "open")
    if status not in STATUSES:
        status = "open"
    chosen = chosen.filter(status_filter(status, now))
    level = params.get("level", "")
    if level in ("1", "2"):
        chosen = chosen.filter(level=int(level))
    else:
        level = ""
    department = params.get("department", "")
    if parse_int(department) is not None:
        chosen = chosen.filter(case__lead_department_id=parse_int(department))
    else:
        department = ""
    return ChosenOrders(chosen, status, level, department)


def access_rows(data: dict) -> QuerySet:
    """个人信息查阅记录 by the access log form's cleaned data."""
    from cases.models import PersonalDataAccess

    rows = PersonalDataAccess.objects.all()
    if data.get("user"):
        rows = rows.filter(username=data["user"].strip())
    if data.get("case"):
        rows = rows.filter(case_number=data["case"].strip().upper())
    if data.get("kind"):
        rows = rows.filter(kind=data["kind"])
    if data.get("start"):
        rows = rows.filter(at__date__gte=data["start"])
    if data.get("end"):
        rows = rows.filter(at__date__lte=data["end"])
    return rows


# ---------------------------------------------------------------- export jobs
def export_jobs_visible_to(user) -> QuerySet[ExportJob]:
    """A person's own exports; an administrator's, everyone's (to help or to clean up).
    Nobody else's: an export holds what its maker was allowed to see."""
    jobs = ExportJob.objects.select_related("requested_by")
    if user.is_superuser or has_role(user, Role.ADMINISTRATOR):
        return jobs
    return jobs.filter(requested_by=user)
