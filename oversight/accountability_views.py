"""被投诉统计 (the party complained about) and 待审申诉 (appeals awaiting a supervisor)."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.exceptions import CaseError
from cases.forms import error_message
from cases.replica import reads_from_replica
from cases.roles import Role, has_role, role_required

from . import appeals, complaints
from .exports import table_response
from .forms import AppealDecisionForm, ComplaintsPeriodForm
from .models import Appeal, AppealState

COMPLAINT_ROLES = (Role.CLERK, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR,
                   Role.DEPARTMENT_HEAD)


def _period(request) -> tuple[complaints.Period, ComplaintsPeriodForm]:
    form = ComplaintsPeriodForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    today = timezone.localdate()
    end = data.get("end") or today
    start = data.get("start") or end - timedelta(days=complaints.REPEAT_WINDOW_DAYS - 1)
    if not form.is_bound or form.is_valid():
        form = ComplaintsPeriodForm(initial={"start": start, "end": end})
    return complaints.Period(start=start, end=end,
                             departments=complaints.departments_limit(request.user)), form


@role_required(*COMPLAINT_ROLES)
@reads_from_replica
def complaints_page(request):
    period, form = _period(request)
    report = complaints.complaints_report(period)
    export = request.GET.get("export")
    table = request.GET.get("table", "unit")
    if export in ("xlsx", "csv"):
        return _export(export, table, period, report)
    return render(request, "oversight/complaints.html", {
        "form": form, "period": period, "report": report,
        "finding_rates": complaints.FINDING_RATES.items(),
        "query": f"start={period.start:%Y-%m-%d}&end={period.end:%Y-%m-%d}",
        "department_locked": period.departments is not None,
    })


def _export(kind: str, table: str, period, report):
    span = f"{period.start:%Y-%m-%d}至{period.end:%Y-%m-%d}"
    findings = [_("件数"), _("属实"), _("部分属实"), _("不属实"), _("属实率%"), _("部分属实率%"),
                _("不属实率%")]

    def counts(row):
        return [row["total"], row["found_true"], row["found_partly"], row["found_false"],
                row["true_rate"], row["partly_rate"], row["false_rate"]]

    if table == "person":
        headers = [_("被投诉单位"), _("科室"), _("人员"), *findings]
        rows = [[row["department_name"], row["complained_section"], row["complained_person"],
                 *counts(row)] for row in report["by_person"]]
        title = _("被投诉人员")
    elif table == "repeated":
        window = report["window"]
        span = f"{window.start:%Y-%m-%d}至{window.end:%Y-%m-%d}"
        headers = [_("被投诉单位"), _("人员"), _("次数"), _("案件")]
        rows = [[row["department_name"], row["complained_person"], row["total"],
                 "、".join(row["numbers"])] for row in report["repeated"]]
        title = _("十二个月内被投诉两次及以上的人员")
    else:
        headers = [_("被投诉单位"), _("科室"), *findings]
        rows = [[row["department_name"], row["complained_section"], *counts(row)]
                for row in report["by_unit"]]
        title = _("被投诉单位和科室")
    return table_response(kind, f"被投诉统计-{table}-{span}", str(title), headers, rows,
                          note=_("登记日期 %(span)s；无效件不计。") % {"span": span})


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
