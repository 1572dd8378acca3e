from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import (CaseMessage, ExtensionRequest, HandlingNote, HandlingResult, ResponsibilityEntry,
                     TriageRecord)


@admin.register(ResponsibilityEntry)
class ResponsibilityEntryAdmin(admin.ModelAdmin):
    """权责清单: matter → responsible department, versioned by effective dates."""

    list_display = ["priority", "matter", "keywords", "category", "department", "version",
                    "effective_from", "effective_to", "is_active"]
    list_display_links = ["matter"]
    list_editable = ["priority", "is_active"]
    list_filter = ["is_active", "version", ("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["matter", "keywords", "category__name", "department__name"]
    list_select_related = ["category", "category__parent", "department"]
    autocomplete_fields = ["department"]
    date_hierarchy = "effective_from"


@admin.register(TriageRecord)
class TriageRecordAdmin(ReadOnlyAdmin):
    list_display = ["case", "category", "tier", "department", "confidence", "status",
                    "decided_by", "decided_at"]
    list_filter = ["status", "tier"]
    search_fields = ["case__number"]
    list_select_related = ["case", "category", "department", "decided_by"]


@admin.register(HandlingNote)
class HandlingNoteAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "department", "author", "happened_at", "reached"]
    list_filter = ["kind", "contact_method"]
    search_fields = ["case__number", "text"]
    list_select_related = ["case", "department", "author"]
    date_hierarchy = "happened_at"


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ["case", "state", "requested_by", "requested_at", "original_due_at",
                    "requested_due_at", "decided_by", "decided_at"]
    list_filter = ["state"]
    search_fields = ["case__number", "reason"]
    list_select_related = ["case", "requested_by", "decided_by"]


@admin.register(HandlingResult)
class HandlingResultAdmin(ReadOnlyAdmin):
    list_display = ["case", "submitted_by", "submitted_at", "is_solved"]
    list_filter = ["is_solved"]
    search_fields = ["case__number", "result", "findings"]
    list_select_related = ["case", "submitted_by"]


@admin.register(CaseMessage)
class CaseMessageAdmin(admin.ModelAdmin):
    """内部沟通, read only: what was said stays as it was said."""

    list_display = ("case", "author", "department", "created_at")
    list_filter = ("department",)
    search_fields = ("case__number",)
    raw_id_fields = ("case", "author")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
