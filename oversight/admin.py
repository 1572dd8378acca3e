from django.contrib import admin

from dispatch.admin import ReadOnlyAdmin

from .models import DailyDigest, Escalation, SupervisionOrder


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
