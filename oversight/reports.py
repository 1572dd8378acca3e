"""The monthly oversight report: the month's figures, tables and charts as a PDF, made by
a scheduled task on the first of the next month and kept for download."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.documents import render_pdf

from . import dashboard
from .figures import DEFINITIONS_CHANGES, DEFINITIONS_VERSION, RATES
from .models import MonthlyReport, SupervisionOrder


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def previous_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def bars(rows: list[dict], key: str, *, label: str = "label", width: int = 460,
         bar_height: int = 16, maximum: float | None = None) -> dict:
    """The geometry of a horizontal bar chart drawn as SVG in the PDF (no script there)."""
    values = [row[key] or 0 for row in rows]
    top = maximum or max(values + [1])
    label_width = 130
    items = [{"label": str(row[label]), "value": row[key],
              "y": index * (bar_height + 6),
              "width": round((width - label_width - 50) * (value / top), 1)}
             for index, (row, value) in enumerate(zip(rows, values))]
    return {"items": items, "width": width, "label_width": label_width,
            "height": max(len(items) * (bar_height + 6), bar_height), "bar_height": bar_height}


def report_context(month: date) -> dict:
    first, last = month_bounds(month)
    scope = dashboard.Scope(start=first, end=last)
    figures = dashboard.figures_of(scope, "category", "channel", "tier")
    departments = figures["department"]
    days = scope.figures().values("day").order_by("day")
    from django.db.models import Sum

    daily = {row["day"]: row["n"] for row in days.annotate(n=Sum("received"))}
    day_rows = [{"label": f"{day:%d}", "received": daily.get(day, 0)}
                for day in (first + timedelta(days=n) for n in range((last - first).days + 1))]
    return {
        "month": first, "first": first, "last": last, "office_name": settings.OFFICE_NAME,
        "totals": figures["totals"],
        "ledger": dashboard.ledger(scope),
        "definitions_version": DEFINITIONS_VERSION,
        "definitions_change": DEFINITIONS_CHANGES[DEFINITIONS_VERSION],
        "rates": [(key, label, definition) for key, (_n, _d, label, definition) in RATES.items()],
        "departments": departments,
        "categories": figures["category"],
        "channels": figures["channel"],
        "tiers": figures["tier"],
        "volume_chart": bars([row for row in departments if row["received"]], "received"),
        "on_time_chart": bars([row for row in departments if row["on_time_rate"] is not None],
                              "on_time_rate", maximum=100),
        "daily_chart": _columns(day_rows),
        "orders_opened": SupervisionOrder.objects.filter(
            opened_at__date__gte=first, opened_at__date__lte=last).count(),
        "generated_at": timezone.localtime(),
    }


def _columns(rows: list[dict], width: int = 640, height: int = 120) -> dict:
    top = max([row["received"] for row in rows] + [1])
    step = width / max(len(rows), 1)
    return {"width": width, "height": height, "items": [
        {"x": round(index * step + 1, 1), "w": round(step - 2, 1),
         "h": round((height - 14) * row["received"] / top, 1),
         "y": round(height - 14 - (height - 14) * row["received"] / top, 1),
         "label": row["label"], "value": row["received"]}
        for index, row in enumerate(rows)]}


def make_monthly_report(month: date | None = None, *, replace: bool = False) -> MonthlyReport:
    """Make (or, with replace, make again) the report of a month; the month before by
    default. Made once whatever the number of workers: the month is unique."""
    month = (month or previous_month()).replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise ValidationError({"month": _("不能为将来的月份。")})
    existing = MonthlyReport.objects.filter(month=month).first()
    if existing and not replace:
        return existing
    pdf = render_pdf("oversight/documents/monthly_report.html", report_context(month))
    name = f"monthly-{month:%Y-%m}.pdf"
    try:
        with transaction.atomic():
            report = existing or MonthlyReport(month=month)
            if existing and existing.pdf:
                existing.pdf.delete(save=False)
            report.generated_at = timezone.now()
            report.definitions_version = DEFINITIONS_VERSION
            report.pdf.save(name, ContentFile(pdf), save=False)
            report.save()
    except IntegrityError:  # another worker made it at the same moment
        return MonthlyReport.objects.get(month=month)
    return report
