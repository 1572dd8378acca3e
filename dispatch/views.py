"""The department inbox: the department's open cases, earliest due first."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError

from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.acts import allowed_names
from cases.exceptions import CaseError
from cases.forms import error_message, safe_next_url
from cases.roles import Role, has_role, headed_department_ids_of, role_required
from cases.selectors import visible_cases

from . import selectors, services
from .desk import apply_each, chosen_or_error, form_errors, report
from .forms import AssignForm, BulkAssignForm, InboxFilterForm

DEPARTMENT_ROLES = (Role.HANDLER, Role.DEPARTMENT_HEAD)
# The acts an inbox row offers as buttons.
ROW_ACTS = ("department_accept", "assign_handler")


@role_required(*DEPARTMENT_ROLES)
def inbox(request):
    """The inbox; a POST is a head's 批量分派承办人 of the ticked rows."""
    departments = list(selectors.inbox_departments(request.user))
    if request.method == "POST" and not has_role(request.user, Role.DEPARTMENT_HEAD):
        raise PermissionDenied
    if not departments:
        return render(request, "dispatch/inbox.html", {"departments": []})
    chosen = request.POST.get("department") if request.method == "POST" \
        else request.GET.get("department")
    department = next((d for d in departments if str(d.pk) == chosen), departments[0])
    staff = list(department.members.filter(is_active=True).order_by("username"))
    headed = [d for d in departments if d.pk in headed_department_ids_of(request.user)]
    bulk_form, status = None, 200
    if request.method == "POST":
        bulk_form = BulkAssignForm(request.POST, departments=headed,
                                   staff=staff if str(department.pk) == chosen else [])
        cases = chosen_or_error(request.user, bulk_form)
        if cases is not None:
            handler = bulk_form.cleaned_data["handler"]
            outcome = apply_each(cases, lambda case: services.assign_handler(
                actor=request.user, case_id=case.pk, handler=handler))
            report(request, outcome, done=_("已分派 %(count)s 件：%(numbers)s"),
                   failed=_("%(number)s 未分派：%(reason)s"))
            return redirect(request.get_full_path())
        status = 400
    form = InboxFilterForm(request.GET, staff=staff)
    page = selectors.department_inbox(request.user, department, form.filters(),
                                      after=request.GET.get("after", ""),
                                      last=request.GET.get("last") == "1")
    query = {key: value for key, value in request.GET.items()
             if key not in ("after", "last") and value}
    query["department"] = department.pk
    is_head = department.pk in headed_department_ids_of(request.user)
    for case in page.rows:
        case.may = allowed_names(request.user, case, only=ROW_ACTS)
    # The tick column and the bulk form, when a row here may be assigned.
    bulk = "bulk-assign" if is_head and any(case.may.get("assign_handler")
                                            for case in page.rows) else ""
    if bulk_form is None:
        bulk_form = BulkAssignForm(departments=headed, staff=staff,
                                   initial={"department": department.pk})
    return render(request, "dispatch/inbox.html", {
        "departments": departments, "department": department, "form": form, "page": page,
        "query": urlencode(query), "is_head": is_head,
        "staff": staff if is_head else [],
        "bulk": bulk, "bulk_form": bulk_form,
        "bulk_errors": form_errors(bulk_form) if bulk_form.is_bound else [],
        "ticked": request.POST.getlist("cases"), "bulk_limit": settings.BULK_ACT_MAX_CASES,
    }, status=status)


def _act(request, number, act, success):
    case = get_object_or_404(visible_cases(request.user), number=number)
    try:
        act(case)
    except (CaseError, PermissionDenied, ValidationError) as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, success % {"number": case.number})
    return redirect(safe_next_url(request) or "dispatch:inbox")


@require_POST
@role_required(*DEPARTMENT_ROLES)
def take(request, number):
    """签收: the department takes the case on."""
    return _act(request, number,
                lambda case: services.department_accept_case(actor=request.user,
                                                                  case_id=case.pk),
                _("已签收 %(number)s"))


@require_POST
@role_required(Role.DEPARTMENT_HEAD)
def assign(request, number):
    """分派: the head names the handler."""
    case = get_object_or_404(visible_cases(request.user), number=number)
    form = AssignForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(request, _("承办人须是主办部门的在岗人员。"))
        return redirect(safe_next_url(request) or "dispatch:inbox")
    return _act(request, number,
                lambda case: services.assign_handler(
                    actor=request.user, case_id=case.pk, handler=form.cleaned_data["handler"]),
                _("已分派 %(number)s"))


@role_required(Role.DEPARTMENT_HEAD, Role.DISPATCHER, Role.SUPERVISOR)
def reviews(request):
    """审核: results waiting for this person's approval."""
    return render(request, "dispatch/reviews.html",
                  {"cases": selectors.review_queue(request.user)[:200]})
