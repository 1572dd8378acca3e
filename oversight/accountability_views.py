"""被投诉统计 (the party complained about) and 待审申诉 (appeals awaiting a supervisor)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.exceptions import CaseError
from cases.forms import error_message
from cases.replica import reads_from_replica
from cases.roles import Role, has_role, role_required

from . import appeals, complaints
from .export_tables import COMPLAINT_ROLES
from .export_views import export_response
from .exports import FORMATS
from .forms import AppealDecisionForm
from .models import Appeal, AppealState
from .scope import complaints_period


@role_required(*COMPLAINT_ROLES)
@reads_from_replica
def complaints_page(request):
    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "complaints", export)
    period, form = complaints_period(request.user, request.GET)
    report = complaints.complaints_report(period)
    return render(request, "oversight/complaints.html", {
        "form": form, "period": period, "report": report,
        "finding_rates": complaints.FINDING_RATES.items(),
        "query": f"start={period.start:%Y-%m-%d}&end={period.end:%Y-%m-%d}",
        "department_locked": period.departments is not None,
    })


@role_required(Role.SUPERVISOR, Role.ADMINISTRATOR, Role.DISPATCHER)
def appeals_page(request):
    """待审申诉 (and the decided ones): supervisors decide from here."""
    state = request.GET.get("state", AppealState.PENDING)
    if state not in AppealState.values:
        state = AppealState.PENDING
    chosen = (Appeal.objects.filter(state=state)
              .select_related("case", "department", "filed_by", "decided_by")
              .prefetch_related("evidence"))
    chosen = chosen.order_by("created_at", "pk") if state == AppealState.PENDING else \
        chosen.order_by("-decided_at", "-pk")
    page = Paginator(chosen, 50).get_page(request.GET.get("page"))
    return render(request, "oversight/appeals.html", {
        "page": page, "state": state, "states": AppealState.choices,
        "may_decide": has_role(request.user, Role.SUPERVISOR),
        "form": AppealDecisionForm(),
    })


@require_POST
@role_required(Role.SUPERVISOR)
def decide_appeal(request, appeal_id: int):
    form = AppealDecisionForm(request.POST)
    if form.is_valid():
        try:
            appeal = appeals.decide_appeal_by_id(
                actor=request.user, appeal_id=appeal_id,
                decision=form.cleaned_data["decision"], note=form.cleaned_data["note"])
        except ValidationError as error:
            messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
        except (CaseError, PermissionDenied) as error:
            messages.error(request, error_message(error))
        else:
            messages.success(request, _("申诉已审定：%(number)s %(state)s") % {
                "number": appeal.case.number, "state": appeal.get_state_display()})
    else:
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    return redirect("oversight:appeals")
