"""What each export of the oversight pages holds, for one person and one query string.

One function per kind answers the `Table`: the page's view calls it to answer a small
export at once, the export task calls it with the same person and the same query string
for a big one. So the rows, the visibility (a department's head sees their department),
the masking of a petitioner (`hot.repeat_petitioners`, the office's masked phone) and the
label of the period are the same whichever way the file is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.parsing import parse_int
from cases.roles import Role, has_role

# complaints: its rates (acceptance, archive) are TABLE_COLUMNS' too, registered at import.
from . import complaints, dashboard, selectors
from .exports import Table
from .figures import RATES
from .models import DailyFigures
from .scope import complaints_period, dashboard_scope

STAFF = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR, Role.HANDLER,
         Role.DEPARTMENT_HEAD)
COMPLAINT_ROLES = (Role.CLERK, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR,
                   Role.DEPARTMENT_HEAD)
HOT_ROLES = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMINISTRATOR)
ACCESS_LOG_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR)
# Rows read from the database per round trip while a file is written.
CHUNK = 2000


class UnknownExport(ValueError):
    pass


def _column_title(key: str):
    """A counter's name is its field's; a rate's is its label with %."""
    if key in RATES:
        return format_lazy("{}%", RATES[key][2])
    return DailyFigures._meta.get_field(key).verbose_name


# The breakdown tables' columns (page and file), each rate after the counter it divides.
TABLE_COLUMNS = [(key, _column_title(key)) for key in (
    "received", "invalid", "deadline_counted", "on_time", "on_time_rate", "responded",
    "response_rate", "visited", "solved", "resolution_rate", "satisfied", "satisfaction_rate",
    "visits_due", "visit_rate", "visit_on_time_rate", "final_counted", "final_on_time_rate",
    "returns", "extensions", "reopenings", "accepted", "acceptance_rate", "archived",
    "archive_rate", "appeals_upheld", "petitioners_answered")]


def _bounded_count(rows: QuerySet, limit: int) -> int:
    """How many rows, counted no further than `limit` (a city's table is not counted
    whole to learn that it is big)."""
    return rows.order_by()[:limit].count()


def _streamed(rows: QuerySet, limit: int, row: Callable) -> Iterator[list]:
    return (row(item) for item in rows[:limit].iterator(chunk_size=CHUNK))


def _limit_note(total: int, limit: int) -> str:
    if total < limit:
        return ""
    return _("（只导出前 %(n)s 行，请缩小范围。）") % {"n": f"{limit:,}"}


def _span(start, end) -> str:
    return f"{start:%Y-%m-%d} — {end:%Y-%m-%d}"


# ---------------------------------------------------------------- the dashboard
def statistics_table(user, params, now: datetime) -> Table:
    """统计: one breakdown of the period's figures, with the totals row."""
    scope, _form = dashboard_scope(user, params, today=timezone.localdate(now))
    by = params.get("by", "department")
    if by not in dashboard.BREAKDOWNS:
        by = "department"
    figures = dashboard.figures_of(scope, by)
    rows, total = figures[by], figures["totals"]
    label = dashboard.BREAKDOWNS[by][0]
    note = "；".join(f"{label}：{definition}" for _key, (_n, _d, label, definition)
                    in RATES.items())
    return Table(
        filename=f"统计-{by}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}",
        title=f"{_('信访工作统计')} {_span(scope.start, scope.end)} {label}",
        headers=[label, *(title for _key, title in TABLE_COLUMNS)],
        rows=[[row["label"], *(row[key] for key, _title in TABLE_COLUMNS)] for row in rows],
        total=len(rows), note=note,
        totals=[_("合计"), *(total[key] for key, _title in TABLE_COLUMNS)])


def cases_table(user, params, now: datetime) -> Table:
    """The cases behind one number of the dashboard (the drill-down)."""
    scope, _form = dashboard_scope(user, params, today=timezone.localdate(now))
    measure = params.get("measure", "received")
    if measure not in dashboard.MEASURE_LABELS:
        measure = "received"
    cases = dashboard.drilldown(scope, measure, tier=parse_int(params.get("open_tier")),
                                now=now)
    cases = cases.select_related("lead_department", "category", "category__parent",
                                 "tier").order_by("-received_at", "-pk")
    limit = settings.EXPORT_MAX_ROWS
    count = _bounded_count(cases, limit)
    if measure in dashboard.LIVE_MEASURES:
        period = _("实时：截至 %(now)s 的在办案件") % {
            "now": f"{timezone.localtime(now):%Y-%m-%d %H:%M}"}
    else:
        period = _("统计期间 %(start)s 至 %(end)s（按登记日期）") % {
            "start": f"{scope.start:%Y-%m-%d}", "end": f"{scope.end:%Y-%m-%d}"}

    def row(case):
        return [case.number, case.received_at, case.get_channel_display(), case.summary,
                case.category or "", case.lead_department or "",
                case.tier.code if case.tier else "", case.get_state_display(), case.due_at,
                case.replied_at, case.get_satisfaction_display()]

    return Table(
        filename=f"案件-{measure}", title=str(dashboard.MEASURE_LABELS[measure]),
        headers=[_("编号"), _("登记时间"), _("渠道"), _("摘要"), _("分类"), _("主办部门"),
                 _("级别"), _("状态"), _("答复期限"), _("答复时间"), _("满意度")],
        rows=_streamed(cases, limit, row), total=count,
        note=period + _limit_note(count, limit))


# ---------------------------------------------------------------- supervision orders
def orders_table(user, params, now: datetime) -> Table:
    chosen = selectors.orders_chosen(user, params, now)
    orders = chosen.orders.order_by("opened_at", "pk")
    limit = settings.EXPORT_MAX_ROWS
    count = _bounded_count(orders, limit)

    def row(order):
        return [order.case.number, order.case.summary, order.case.lead_department or "",
                order.get_level_display(), order.opened_at, order.answer_due_at,
                order.answered_at, order.answer, order.closed_at]

    return Table(
        filename=f"督办单-{chosen.status}", title=str(selectors.STATUS_LABELS[chosen.status]),
        headers=[_("案件"), _("摘要"), _("主办部门"), _("级别"), _("督办时间"), _("反馈期限"),
                 _("反馈时间"), _("部门反馈"), _("办结时间")],
        rows=_streamed(orders, limit, row), total=count,
        note=_("截至 %(now)s") % {"now": f"{timezone.localtime(now):%Y-%m-%d %H:%M}"}
        + _limit_note(count, limit))


# ---------------------------------------------------------------- hot topics
HOT_TABLES = {
    "categories": (gettext_lazy("上升的问题分类"), gettext_lazy("分类")),
    "places": (gettext_lazy("上升的问题发生地"), gettext_lazy("发生地")),
    "phrases": (gettext_lazy("上升的高频词"), gettext_lazy("词语")),
}


def hot_table(user, params, now: datetime) -> Table:
    from .hot import hot_topics, repeat_window

    today = timezone.localdate(now)
    topics = hot_topics(today)
    table = params.get("table", "categories")
    if table == "repeaters":
        # Counted over the repeat window (HOT_REPEAT_DAYS), not the page's two weeks: the
        # sheet says the period its rows were counted in.
        start, end = repeat_window(today)
        rows = [[row["name"], row["phone"], row["cases"], row["last"]]
                for row in topics["repeaters"]]
        return Table(
            filename=f"热点-repeaters-{start:%Y%m%d}-{end:%Y%m%d}", title=_("重复信访人"),
            headers=[_("信访人"), _("电话"), _("件数"), _("最近一次")], rows=rows,
            total=len(rows),
            note=_("%(span)s（%(days)s 天内 %(n)s 件以上）") % {
                "span": _span(start, end), "days": settings.HOT_REPEAT_DAYS,
                "n": settings.HOT_REPEAT_MIN_CASES},
            # People's names leave the system: recorded.
            audit="hot topics: repeaters")
    table = table if table in HOT_TABLES else "categories"
    title, column = HOT_TABLES[table]
    (start, end), (last_start, last_end) = topics["this_week"], topics["last_week"]
    rows = [[row.get("label", row["key"]), row["this_week"], row["last_week"], row["change"],
             row["growth"]] for row in topics[table]]
    return Table(
        filename=f"热点-{table}-{end:%Y%m%d}", title=str(title),
        headers=[column, _("本周"), _("上周"), _("增加"), _("增幅%")], rows=rows,
        total=len(rows),
        note=_("本周 %(this)s，上周 %(last)s") % {"this": _span(start, end),
                                               "last": _span(last_start, last_end)})


# ---------------------------------------------------------------- complaints
def complaints_table(user, params, now: datetime) -> Table:
    period, _form = complaints_period(user, params, today=timezone.localdate(now))
    report = complaints.complaints_report(period)
    table = params.get("table", "unit")
    span = f"{period.start:%Y-%m-%d}至{period.end:%Y-%m-%d}"
    findings = [_("件数"), _("属实"), _("部分属实"), _("不属实"), _("属实率%"), _("部分属实率%"),
                _("不属实率%")]

    def counts(row):
        return [row["total"], row["found_true"], row["found_partly"], row["found_false"],
                row["true_rate"], row["partly_rate"], row["false_rate"]]

    totals = None
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
        table = "unit"
        headers = [_("被投诉单位"), _("科室"), *findings]
        rows = [[row["department_name"], row["complained_section"], *counts(row)]
                for row in report["by_unit"]]
        # Every complained case is in one unit's row: the page's totals add them up.
        totals = [_("合计"), "", *counts(report["totals"])]
        title = _("被投诉单位和科室")
    return Table(filename=f"被投诉统计-{table}-{span}", title=str(title), headers=headers,
                 rows=rows, total=len(rows), totals=totals,
                 note=_("登记日期 %(span)s；无效件不计。") % {"span": span})


# ---------------------------------------------------------------- the access log
def access_log_table(user, params, now: datetime) -> Table:
    from .forms import AccessLogForm

    form = AccessLogForm(params or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = selectors.access_rows(data).order_by("at", "pk")
    limit = settings.EXPORT_MAX_ROWS
    count = _bounded_count(rows, limit)

    def row(entry):
        return [entry.at, entry.username, entry.get_kind_display(), entry.case_number,
                entry.detail, entry.level, entry.address or ""]

    return Table(
        filename="个人信息查阅记录", title=_("个人信息查阅记录"),
        headers=[_("时间"), _("查阅人"), _("方式"), _("案件编号"), _("内容"), _("显示程度"),
                 _("地址")],
        rows=_streamed(rows, limit, row), total=count,
        note=_("截至 %(now)s") % {"now": f"{timezone.localtime(now):%Y-%m-%d %H:%M}"}
        + _limit_note(count, limit),
        number_formats={0: "yyyy-mm-dd hh:mm:ss"})


# ---------------------------------------------------------------- the kinds
@dataclass(frozen=True)
class ExportKind:
    label: Promise
    roles: tuple
    make: Callable[..., Table]


KINDS = {
    "statistics": ExportKind(gettext_lazy("统计表"), dashboard.DASHBOARD_ROLES,
                             statistics_table),
    "cases": ExportKind(gettext_lazy("案件清单"), dashboard.DASHBOARD_ROLES, cases_table),
    "orders": ExportKind(gettext_lazy("督办单"), STAFF, orders_table),
    "hot": ExportKind(gettext_lazy("热点分析"), HOT_ROLES, hot_table),
    "complaints": ExportKind(gettext_lazy("被投诉统计"), COMPLAINT_ROLES, complaints_table),
    "access_log": ExportKind(gettext_lazy("个人信息查阅记录"), ACCESS_LOG_ROLES,
                             access_log_table),
}


def may_export(user, kind: str) -> bool:
    return kind in KINDS and has_role(user, *KINDS[kind].roles)


def table_for(kind: str, user, params, *, now: datetime | None = None) -> Table:
    """The export `kind` as `user` may see it, from the page's query string `params` (a
    QueryDict), its live figures as at `now` (when the person asked)."""
    if kind not in KINDS:
        raise UnknownExport(kind)
    if not may_export(user, kind):
        raise PermissionDenied
    return KINDS[kind].make(user, params, now or timezone.now())
