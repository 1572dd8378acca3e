from django.contrib import admin
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import ReadOnlyAdmin

from .models import (Appeal, DailyDigest, DailyFigures, Escalation, ExportJob, ExportState,
                     MonthlyReport, SupervisionOrder)


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


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """Made by the export task; an administrator may fetch a file (through the download
    view, which records it) or delete a job with its file."""

    list_display = ("title", "requested_by", "file_format", "state", "rows_done", "rows_total",
                    "created_at", "finished_at", "attempts")
    list_filter = ("state", "kind", "file_format")
    search_fields = ("title", "requested_by__username")
    list_select_related = ("requested_by",)
    date_hierarchy = "created_at"
    exclude = ("file",)
    readonly_fields = ("download",)

    @admin.display(description=_("文件"))
    def download(self, job):
        if job.state != ExportState.DONE or not job.file:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("oversight:export_download", args=[job.pk]), job.filename)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("oversight.delete_exportjob")

    def delete_model(self, request, obj):
        name = obj.file.name
        super().delete_model(request, obj)
        if name:
            default_storage.delete(name)

    def delete_queryset(self, request, queryset):
        names = [name for name in queryset.values_list("file", flat=True) if name]
        super().delete_queryset(request, queryset)
        for name in names:
            default_storage.delete(name)
