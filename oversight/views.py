"""Supervision orders: the supervisors' list, one order's page, its answer and its PDF."""

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.models import Department
from cases.roles import Role, department_ids_of, has_role, role_required

from . import selectors, services
from .documents import supervision_order_pdf
from .forms import AnswerForm

STATUS_LABELS = {"open": gettext_lazy("未办结"), "late": gettext_lazy("反馈超时"),
                 "answered": gettext_lazy("已反馈待办结"), "closed": gettext_lazy("已办结"),
                 "all": gettext_lazy("全部")}
STAFF = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR, Role.HANDLER,
         Role.DEPARTMENT_HEAD)


@role_required(*STAFF)
def orders(request):
    """The orders by status (open, late, answered, closed, all), level and department."""
    visible = selectors.orders_visible_to(request.user)
    now = timezone.now()
    status = request.GET.get("status", "open")
    if status not in selectors.STATUSES:
        status = "open"
    chosen = visible.filter(selectors.status_filter(status, now))
    level = request.GET.get("level", "")
    if level in ("1", "2"):
        chosen = chosen.filter(level=int(level))
    department = request.GET.get("department", "")
    if department.isdigit():
        chosen = chosen.filter(case__lead_department_id=int(department))
    page = Paginator(chosen.order_by("answered_at", "opened_at", "pk") if status != "closed"
                     else chosen.order_by("-closed_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(request, "oversight/orders.html", {
        "page": page, "status": status, "level": level, "department": department,
        "tabs": [(key, STATUS_LABELS[key], count)
                 for key, count in selectors.status_counts(visible, now).items()],
        "now": now,
        "departments": Department.objects.filter(is_active=True)
        if has_role(request.user, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
        else [],
    })


def _order(request, order_id):
    return get_object_or_404(selectors.orders_visible_to(request.user), pk=order_id)


def _may_answer(user, order) -> bool:
    return (order.closed_at is None and order.answered_at is None
            and has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD)
            and order.case.lead_department_id in department_ids_of(user))


@role_required(*STAFF)
def order(request, order_id):
    order = _order(request, order_id)
    form = None
    if _may_answer(request.user, order):
        form = AnswerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.answer_order(actor=request.user, order_id=order.pk,
                                      answer=form.cleaned_data["answer"])
            except ValidationError as error:
                attach_errors(form, error)
            except (CaseError, PermissionDenied) as error:
                messages.error(request, error_message(error))
                return redirect("oversight:order", order.pk)
            else:
                messages.success(request, _("督办反馈已提交"))
                return redirect("oversight:order", order.pk)
    elif request.method == "POST":
        messages.error(request, _("这份督办单不需要您反馈。"))
        return redirect("oversight:order", order.pk)
    return render(request, "oversight/order.html", {
        "order": order, "case": order.case, "form": form, "now": timezone.now(),
        "others": order.case.supervision_orders.exclude(pk=order.pk),
    })


@role_required(*STAFF)
def order_pdf(request, order_id):
    filename, pdf = supervision_order_pdf(_order(request, order_id))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
