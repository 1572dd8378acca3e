from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import (Appeal, DailyDigest, DailyFigures, Escalation, MonthlyReport,
                     SupervisionOrder)


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["case", "step", "due_at", "happened_at"]
    list_filter = ["step"]
    search_fields = ["case__number"]
    list_select_related = ["case"]
    date_hierarchy = "happened_at"


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ["case", "level", "opened_at", "answer_due_at", "answered_at", "answered_by",
                    "closed_at"]
    list_filter = ["level", ("closed_at", admin.EmptyFieldListFilter),
                   ("answered_at", admin.EmptyFieldListFilter)]
    search_fields = ["case__number", "answer"]
    list_select_related = ["case", "answered_by"]
    date_hierarchy = "opened_at"


@admin.register(DailyDigest)
class DailyDigestAdmin(ReadOnlyAdmin):
    list_display = ["day", "department", "due_today", "overdue", "sent_at"]
    list_filter = ["department"]
    date_hierarchy = "day"


@admin.register(MonthlyReport)
class MonthlyReportAdmin(ReadOnlyAdmin):
    list_display = ["month", "generated_at", "pdf"]
    date_hierarchy = "month"


@admin.register(DailyFigures)
class DailyFiguresAdmin(ReadOnlyAdmin):
    """The summary is kept by the figures task; `manage.py refresh_figures --rebuild`
    counts it again from the cases."""

    list_display = ["day", "department_id_value", "category_id_value", "channel",
                    "tier_id_value", "received", "deadline_counted", "on_time", "visited",
                    "satisfied"]
    list_filter = ["channel"]
    date_hierarchy = "day"


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    """Read-only: an appeal is filed and decided through its acts (申诉, 审定申诉), which
    write the case's events and move the figures."""

    list_display = ("case", "department", "measure", "ground", "state", "created_at",
                    "decided_by", "decided_at")
    list_filter = ("state", "measure", "ground", "department")
    search_fields = ("case__number",)
    list_select_related = ("case", "department", "decided_by")
