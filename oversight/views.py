"""Supervision orders: the supervisors' list, one order's page, its answer and its PDF."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
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
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from cases.identity import may_know_persons_cases
from cases.documents import pdf_response
from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.models import AccessKind, Department, PersonalDataAccess
from cases.parsing import parse_int, parse_month, validate_date_in_range
from cases.replica import reads_from_replica
from cases.roles import Role, has_role, role_required

from . import dashboard, selectors, services
from .documents import supervision_order_pdf
from .exports import table_response
from .figures import DEFINITIONS_CHANGES, DEFINITIONS_VERSION, RATES
from .forms import AnswerForm, ScopeForm
from .models import DailyFigures, MonthlyReport
from .templatetags.figures import breakdown_rows, ledger_rows

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
    if parse_int(department) is not None:
        chosen = chosen.filter(case__lead_department_id=parse_int(department))
    else:
        department = ""
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        headers = [_("案件"), _("摘要"), _("主办部门"), _("级别"), _("督办时间"), _("反馈期限"),
                   _("反馈时间"), _("部门反馈"), _("办结时间")]
        body = [[order.case.number, order.case.summary, order.case.lead_department or "",
                 order.get_level_display(), _local(order.opened_at),
                 _local(order.answer_due_at), _local(order.answered_at), order.answer,
                 _local(order.closed_at)] for order in chosen.order_by("opened_at")[:EXPORT_LIMIT]]
        return table_response(export, f"督办单-{status}", str(STATUS_LABELS[status]), headers,
                              body)
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
    """The scope from the query string; bad input falls back to this year, and the form
    carries the message naming the field."""
    allowed = dashboard.allowed_departments_of(request.user)
    form = ScopeForm(request.GET or None, allowed_departments=allowed)
    today = timezone.localdate()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    start = data.get("start") or date(today.year, 1, 1)
    end = data.get("end") or today
    department = data.get("department")
    if allowed is not None and department is None and len(allowed) == 1:
        department_id = next(iter(allowed))
    else:
        department_id = department
    scope = dashboard.Scope(
        start=start, end=end, department=department_id,
        category=data.get("category"),
        channel=data.get("channel") or None,
        tier=data["tier"].pk if data.get("tier") else None,
        category_leaf=_number(request.GET.get("category_leaf")),
        place=request.GET.get("place", "")[:200],
        # One person's cases are listed for the office only, never for a department.
        petitioner=(_number(request.GET.get("petitioner"))
                    if may_know_persons_cases(request.user) else None),
        word=request.GET.get("word", "")[:50],
        allowed_departments=allowed)
    if not form.is_bound or (form.is_valid() and not (data.get("start") and data.get("end"))):
        # Show the period in force in the form's date fields.
        form = ScopeForm(initial={**scope.as_query(), "start": start, "end": end},
                         allowed_departments=allowed)
    return scope, form


def _number(text) -> int | None:
    return parse_int(text)


def _column_title(key: str):
    """A counter's name is its field's; a rate's is its label with %."""
    if key in RATES:
        return format_lazy("{}%", RATES[key][2])
    return DailyFigures._meta.get_field(key).verbose_name


# The breakdown tables' columns, each rate after the counter it divides.
TABLE_COLUMNS = [(key, _column_title(key)) for key in (
    "received", "invalid", "deadline_counted", "on_time", "on_time_rate", "responded",
    "response_rate", "visited", "solved", "resolution_rate", "satisfied", "satisfaction_rate",
    "visits_due", "visit_rate", "visit_on_time_rate", "final_counted", "final_on_time_rate",
    "returns", "extensions", "reopenings", "accepted", "acceptance_rate", "archived",
    "archive_rate", "appeals_upheld", "petitioners_answered")]


@role_required(*dashboard.DASHBOARD_ROLES)
@reads_from_replica
def dashboard_page(request):
    scope, form = _scope(request)
    by = request.GET.get("by", "department")
    if by not in dashboard.BREAKDOWNS:
        by = "department"
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        return _export_breakdown(scope, by, export)
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


def _export_breakdown(scope, by, kind):
    figures = dashboard.figures_of(scope, by)
    rows, total = figures[by], figures["totals"]
    label = dashboard.BREAKDOWNS[by][0]
    headers = [label, *(title for _key, title in TABLE_COLUMNS)]
    body = [[row["label"], *(row[key] for key, _title in TABLE_COLUMNS)] for row in rows]
    body.append([_("合计"), *(total[key] for key, _title in TABLE_COLUMNS)])
    title = f"{_('信访工作统计')} {scope.start:%Y-%m-%d} — {scope.end:%Y-%m-%d} {label}"
    note = "；".join(f"{label}：{definition}" for _key, (_n, _d, label, definition)
                    in RATES.items())
    return table_response(kind, f"统计-{by}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}", title,
                          headers, body, note)


@role_required(*dashboard.DASHBOARD_ROLES)
@reads_from_replica
def drilldown_page(request):
    """The cases behind one number of the dashboard, pages of 50, exportable."""
    scope, _form = _scope(request)
    measure = request.GET.get("measure", "received")
    if measure not in dashboard.MEASURE_LABELS:
        measure = "received"
    tier = request.GET.get("open_tier")
    tier = tier if parse_int(tier) is not None else None
    cases = dashboard.drilldown(scope, measure, tier=parse_int(tier))
    cases = cases.select_related("lead_department", "category", "tier").order_by(
        "-received_at", "-pk")
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        headers = [_("编号"), _("登记时间"), _("渠道"), _("摘要"), _("分类"), _("主办部门"),
                   _("级别"), _("状态"), _("答复期限"), _("答复时间"), _("满意度")]
        body = [[case.number, _local(case.received_at), case.get_channel_display(),
                 case.summary, case.category or "", case.lead_department or "",
                 case.tier.code if case.tier else "", case.get_state_display(),
                 _local(case.due_at), _local(case.replied_at),
                 case.get_satisfaction_display()] for case in cases[:EXPORT_LIMIT]]
        return table_response(export, f"案件-{measure}", str(dashboard.MEASURE_LABELS[measure]),
                              headers, body)
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


EXPORT_LIMIT = 50_000


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


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
HOT_TABLES = {
    "categories": (_("上升的问题分类"), _("分类")),
    "places": (_("上升的问题发生地"), _("发生地")),
    "phrases": (_("上升的高频词"), _("词语")),
}


@role_required(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
@reads_from_replica
def hot_topics_page(request):
    from .hot import hot_topics

    topics = hot_topics()
    (this_start, this_end), _last = topics["this_week"], topics["last_week"]
    export, table = request.GET.get("export"), request.GET.get("table", "categories")
    if export in ("xlsx", "csv"):
        if table == "repeaters":
            headers = [_("信访人"), _("电话"), _("件数"), _("最近一次")]
            body = [[row["name"], row["phone"], row["cases"], _local(row["last"])]
                    for row in topics["repeaters"]]
            title = _("重复信访人")
        else:
            table = table if table in HOT_TABLES else "categories"
            title, column = HOT_TABLES[table]
            headers = [column, _("本周"), _("上周"), _("增加"), _("增幅%")]
            body = [[row.get("label", row["key"]), row["this_week"], row["last_week"],
                     row["change"], row["growth"]] for row in topics[table]]
        if table == "repeaters":  # people's names leave the system: recorded
            from cases.audit import record_access

            record_access(request, None, AccessKind.EXPORT, detail="hot topics: repeaters")
        return table_response(export, f"热点-{table}-{this_end:%Y%m%d}", str(title), headers,
                              body, f"{this_start:%Y-%m-%d} — {this_end:%Y-%m-%d}")
    week = urlencode({"start": this_start, "end": this_end})
    since = urlencode({"start": timezone.localdate() - timedelta(days=settings.HOT_REPEAT_DAYS),
                       "end": timezone.localdate()})
    return render(request, "oversight/hot.html", {
        "topics": topics, "week": week, "since": since,
        "repeat_days": settings.HOT_REPEAT_DAYS, "repeat_min": settings.HOT_REPEAT_MIN_CASES,
    })


# ---------------------------------------------------------------- who read personal data
ACCESS_PAGE = 100


class AccessLogForm(forms.Form):
    user = forms.CharField(label=gettext_lazy("查阅人（用户名）"), required=False, max_length=150)
    case = forms.CharField(label=gettext_lazy("案件编号"), required=False, max_length=32)
    kind = forms.ChoiceField(label=gettext_lazy("方式"), required=False,
                             choices=[("", gettext_lazy("全部"))] + list(AccessKind.choices))
    start = forms.DateField(label=gettext_lazy("起始日期"), required=False,
                            validators=[validate_date_in_range],
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("截止日期"), required=False,
                          validators=[validate_date_in_range],
                          widget=forms.DateInput(attrs={"type": "date"}))


@role_required(Role.SUPERVISOR, Role.ADMINISTRATOR)
@reads_from_replica
def access_log(request):
    """个人信息查阅记录: who read whose personal data, by which door (never the values);
    filtered, paged newest first, exported."""
    from cases.paging import cursor_of, position_of

    form = AccessLogForm(request.GET or None)
    rows = PersonalDataAccess.objects.all()
    if form.is_bound and not form.is_valid():
        return render(request, "oversight/access_log.html",
                      {"form": form, "rows": [], "next": None}, status=400)
    data = form.cleaned_data if form.is_bound else {}
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
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        headers = [_("时间"), _("查阅人"), _("方式"), _("案件编号"), _("内容"), _("显示程度"), _("地址")]
        body = [[_local(row.at), row.username, row.get_kind_display(), row.case_number,
                 row.detail, row.level, row.address or ""] for row in rows[:50000]]
        return table_response(export, "个人信息查阅记录", str(_("个人信息查阅记录")), headers, body)
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
