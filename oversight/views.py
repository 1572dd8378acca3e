"""Supervision orders (the list, one order, its answer and PDF), the dashboard and its
drill-down, monthly reports, hot topics and the access log. Their exports: export_views."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template import Context
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.documents import pdf_response
from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.models import Department
from cases.parsing import parse_int, parse_month
from cases.replica import reads_from_replica
from cases.roles import Role, has_role, role_required

from . import dashboard, selectors, services
from .documents import supervision_order_pdf
from .export_tables import STAFF, TABLE_COLUMNS
from .export_views import export_response
from .exports import FORMATS
from .figures import DEFINITIONS_CHANGES, DEFINITIONS_VERSION, RATES
from .forms import AccessLogForm, AnswerForm, ScopeForm
from .models import MonthlyReport
from .scope import dashboard_scope
from .templatetags.figures import breakdown_rows, ledger_rows

STATUS_LABELS = selectors.STATUS_LABELS


@role_required(*STAFF)
def orders(request):
    """The orders by status (open, late, answered, closed, all), level and department."""
    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "orders", export)
    visible = selectors.orders_visible_to(request.user)
    now = timezone.now()
    picked = selectors.orders_chosen(request.user, request.GET, now)
    chosen, status, level, department = (picked.orders, picked.status, picked.level,
                                         picked.department)
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


@role_required(*STAFF)
def order(request, order_id):
    order = _order(request, order_id)
    form = None
    if services.waits_for_answer_from(request.user, order):
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
    return pdf_response(filename, pdf)


# ---------------------------------------------------------------- the dashboard
def _scope(request) -> tuple[dashboard.Scope, ScopeForm]:
    return dashboard_scope(request.user, request.GET)


@role_required(*dashboard.DASHBOARD_ROLES)
@reads_from_replica
def dashboard_page(request):
    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "statistics", export)
    scope, form = _scope(request)
    by = request.GET.get("by", "department")
    if by not in dashboard.BREAKDOWNS:
        by = "department"
    kept = dashboard.cached(scope, by)
    figures, ledger = kept.figures, kept.ledger
    rows = figures[by]
    months = figures["month"]
    ranking = sorted((row for row in figures["department"]
                      if row["key"] and row["deadline_counted"]),
                     key=lambda row: (-(row["on_time_rate"] or 0), -row["received"]))
    query = urlencode(scope.as_query())
    return render(request, "oversight/dashboard.html", {
        "form": form, "scope": scope, "query": query, "by": by,
        "may_audit": has_role(request.user, Role.SUPERVISOR, Role.ADMINISTRATOR),
        "breakdowns": [(key, label) for key, (label, _column) in dashboard.BREAKDOWNS.items()],
        "totals": figures["totals"], "live": dashboard.live(scope), "rows": rows,
        "table_rows": _table_rows(kept, scope, by),
        "columns": TABLE_COLUMNS, "rates": [(key, label, definition) for key, (_n, _d, label,
                                            definition) in RATES.items()],
        "presets": _presets(), "department_locked": scope.allowed_departments is not None,
        "department_name": form.department_name(scope.department),
        # The departments' ledger is a table by department: on that breakdown only.
        "ledger": ledger,
        "definitions_version": DEFINITIONS_VERSION,
        "definitions_change": DEFINITIONS_CHANGES[DEFINITIONS_VERSION],
        "chart_data": {
            "months": [row["label"] for row in months],
            "volume": [row["received"] for row in months],
            "on_time_rate": [row["on_time_rate"] for row in months],
            "satisfaction_rate": [row["satisfaction_rate"] for row in months],
            "resolution_rate": [row["resolution_rate"] for row in months],
            "departments": [str(row["label"]) for row in ranking],
            "department_on_time": [row["on_time_rate"] for row in ranking],
            "department_volume": [row["received"] for row in ranking],
        },
    })


def _table_rows(kept, scope, by: str) -> dict:
    """The breakdown's and the ledger's rows as HTML, kept with the figures they show: a
    city's 400 departments are some 15 000 cells, made once per period and summary
    generation rather than on every page."""
    def made() -> dict:
        for row in kept.figures[by]:
            row["query"] = urlencode(_row_scope(scope, by, row["key"]))
        context = Context()
        drilldown_url = reverse("oversight:drilldown")
        return {"breakdown": breakdown_rows(context, kept.figures[by], TABLE_COLUMNS, by,
                                            drilldown_url),
                "ledger": ledger_rows(context, kept.ledger) if kept.ledger else ""}

    return kept.keep("rows", made)


def _row_scope(scope, by: str, key) -> dict:
    """The scope of one row of a breakdown, for its drill-down links."""
    query = scope.as_query()
    if by == "month":
        month_end = (key.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        query["start"] = max(key, scope.start).isoformat()
        query["end"] = min(month_end, scope.end).isoformat()
    elif by == "channel":
        query["channel"] = key
    elif key:  # department, category, tier (0: none, not a filter)
        query[by] = key
    return query


def _presets() -> list[tuple[str, str]]:
    today = timezone.localdate()
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return [
        (_("本月"), urlencode({"start": first, "end": today})),
        (_("上月"), urlencode({"start": last_month_end.replace(day=1), "end": last_month_end})),
        (_("今年"), urlencode({"start": date(today.year, 1, 1), "end": today})),
        (_("近12个月"), urlencode({"start": (first - timedelta(days=335)).replace(day=1),
                                 "end": today})),
        (_("去年"), urlencode({"start": date(today.year - 1, 1, 1),
                              "end": date(today.year - 1, 12, 31)})),
    ]


@role_required(*dashboard.DASHBOARD_ROLES)
@reads_from_replica
def drilldown_page(request):
    """The cases behind one number of the dashboard, pages of 50, exportable."""
    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "cases", export)
    scope, _form = _scope(request)
    measure = request.GET.get("measure", "received")
    if measure not in dashboard.MEASURE_LABELS:
        measure = "received"
    tier = request.GET.get("open_tier")
    tier = tier if parse_int(tier) is not None else None
    cases = dashboard.drilldown(scope, measure, tier=parse_int(tier))
    cases = cases.select_related("lead_department", "category", "tier").order_by(
        "-received_at", "-pk")
    # A page beyond any count is an empty page, not an offset PostgreSQL cannot take.
    page_number = parse_int(request.GET.get("page"), minimum=1, maximum=10**6) or 1
    rows = list(cases[(page_number - 1) * 50: page_number * 50 + 1])
    query = urlencode({**scope.as_query(), "measure": measure,
                       **({"open_tier": tier} if tier else {})})
    return render(request, "oversight/drilldown.html", {
        "cases": rows[:50], "has_next": len(rows) > 50, "page_number": page_number,
        "measure": measure, "measure_label": dashboard.MEASURE_LABELS[measure],
        "is_live": measure in dashboard.LIVE_MEASURES,
        "scope": scope, "query": query, "now": timezone.now(),
    })


# ---------------------------------------------------------------- monthly reports
@role_required(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
def reports(request):
    """The monthly reports: made by the scheduled task; a supervisor may make one now."""
    from .reports import make_monthly_report, previous_month

    error = ""
    if request.method == "POST":
        if not has_role(request.user, Role.SUPERVISOR, Role.ADMINISTRATOR):
            raise PermissionDenied
        month = parse_month(request.POST.get("month", ""))
        if month is None:
            error = _("月份：请按“年-月”填写一个实有的月份，例如 2026-10。")
        if month is not None:
            try:
                report = make_monthly_report(month, replace=True)
            except ValidationError as refused:
                error = _("月份：") + "；".join(refused.messages)
            else:
                messages.success(request, _("%(month)s 月度报告已生成") % {
                    "month": report.month.strftime("%Y-%m")})
                return redirect("oversight:reports")
    return render(request, "oversight/reports.html", {
        "reports": MonthlyReport.objects.all()[:60], "error": error,
        "suggested": previous_month().strftime("%Y-%m"),
        "may_make": has_role(request.user, Role.SUPERVISOR, Role.ADMINISTRATOR),
    }, status=400 if error else 200)


@role_required(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
@reads_from_replica
def report_pdf(request, month):
    first_day = parse_month(month)
    if first_day is None:
        raise Http404
    report = get_object_or_404(MonthlyReport, month=first_day)
    return FileResponse(report.pdf.open("rb"), content_type="application/pdf",
                        filename=f"信访工作月度报告-{month}.pdf")


# ---------------------------------------------------------------- hot topics
@role_required(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
@reads_from_replica
def hot_topics_page(request):
    from .hot import hot_topics, repeat_window

    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "hot", export)
    today = timezone.localdate()
    topics = hot_topics(today)
    (this_start, this_end), _last = topics["this_week"], topics["last_week"]
    week = urlencode({"start": this_start, "end": this_end})
    repeat_start, repeat_end = repeat_window(today)
    since = urlencode({"start": repeat_start, "end": repeat_end})
    return render(request, "oversight/hot.html", {
        "topics": topics, "week": week, "since": since,
        "repeat_days": settings.HOT_REPEAT_DAYS, "repeat_min": settings.HOT_REPEAT_MIN_CASES,
    })


# ---------------------------------------------------------------- who read personal data
ACCESS_PAGE = 100


@role_required(Role.SUPERVISOR, Role.ADMINISTRATOR)
@reads_from_replica
def access_log(request):
    """个人信息查阅记录: who read whose personal data, by which door (never the values);
    filtered, paged newest first, exported."""
    from cases.paging import cursor_of, position_of

    form = AccessLogForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "oversight/access_log.html",
                      {"form": form, "rows": [], "next": None}, status=400)
    export = request.GET.get("export")
    if export in FORMATS:
        return export_response(request, "access_log", export)
    rows = selectors.access_rows(form.cleaned_data if form.is_bound else {})
    position = position_of(request.GET.get("after", ""))
    if position and position[0] is not None:
        at, pk = position
        rows = rows.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    page = list(rows.order_by("-at", "-pk")[:ACCESS_PAGE + 1])
    more = len(page) > ACCESS_PAGE
    page = page[:ACCESS_PAGE]
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "oversight/access_log.html", {
        "form": form, "rows": page, "query": query.urlencode(),
        "next": cursor_of(page[-1].at, page[-1].pk) if more else None})
