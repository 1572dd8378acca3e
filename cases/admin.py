from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Attachment,
    CalendarDay,
    Case,
    CaseEvent,
    CaseNumberSequence,
    Category,
    Channel,
    ChannelPolicy,
    Department,
    Notification,
    Petitioner,
    State,
    TierPolicy,
)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_office", "phone", "is_active"]
    list_filter = ["is_active", "is_office"]
    search_fields = ["name", "code"]
    filter_horizontal = ["heads", "members"]


@admin.register(TierPolicy)
class TierPolicyAdmin(SimpleHistoryAdmin):
    list_display = [
        "code", "name", "duration", "unit", "warning_percent", "return_window_minutes",
        "level2_after_working_days",
    ]

    def has_add_permission(self, request):  # the four tiers are fixed; their terms are data
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChannelPolicy)
class ChannelPolicyAdmin(SimpleHistoryAdmin):
    """The acceptance time limit per channel. A change applies to cases registered after
    it: each case keeps the limit it was given on arrival."""

    list_display = ["channel", "acceptance_duration", "acceptance_unit", "warning_percent"]

    def get_readonly_fields(self, request, obj=None):
        return ["channel"] if obj is not None else []

    def has_add_permission(self, request):
        # One row per channel, seeded by a migration; only a missing channel may be added.
        return (super().has_add_permission(request)
                and ChannelPolicy.objects.count() < len(Channel.choices))

    def has_delete_permission(self, request, obj=None):
        return False


class SubcategoryInline(admin.TabularInline):
    model = Category
    fk_name = "parent"
    fields = ["name", "default_tier", "default_department", "sort_order", "is_active"]
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "default_tier", "default_department", "sort_order", "is_active"]
    list_filter = ["is_active", "default_tier", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "parent__name"]
    list_select_related = ["parent", "default_tier", "default_department"]
    autocomplete_fields = ["default_department"]
    inlines = [SubcategoryInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is None or obj.parent_id is None else []


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name"]
    list_filter = ["kind", "date"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(Petitioner)
class PetitionerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "gender", "phone", "id_number", "wants_confidentiality", "created_at"]
    list_filter = ["gender", "wants_confidentiality"]
    search_fields = ["name", "phone", "phone_alt", "id_number"]
    show_full_result_count = False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["original_name", "kind", "content_type", "size", "uploaded_by", "uploaded_at", "file"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["at", "action", "from_state", "to_state", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["at", "pk"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    """Cases are registered and moved only through the office's pages and services.

    Here an administrator reads the file and its history and may correct the wording of
    an open case; the state, dates and counters change only through the services.
    """

    list_display = [
        "number", "summary", "state", "channel", "tier", "lead_department", "received_at",
        "due_at",
    ]
    list_filter = ["state", "channel", "tier", "handling_mode", "is_sensitive",
                   "is_collective", "is_repeat", ("lead_department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "summary", "petitioner__name", "petitioner__phone",
                     "external_reference"]
    list_select_related = ["tier", "lead_department"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    inlines = [AttachmentInline, CaseEventInline]
    editable_fields = ["summary", "content", "demands", "place", "is_sensitive"]
    autocomplete_fields = ["petitioner"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        all_fields = [f.name for f in self.model._meta.fields] + ["assisting_departments"]
        if obj is not None and obj.state == State.ARCHIVED:
            return all_fields
        return [name for name in all_fields if name not in self.editable_fields]


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ["case", "at", "action", "from_state", "to_state", "actor"]
    list_filter = ["action", "to_state"]
    search_fields = ["case__number", "note"]
    list_select_related = ["case", "actor"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "case", "kind", "content_type", "size", "uploaded_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["original_name", "case__number"]
    list_select_related = ["case"]
    readonly_fields = ["case", "kind", "file", "original_name", "content_type", "size",
                       "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "case", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username", "case__number"]
    list_select_related = ["recipient", "case"]
    readonly_fields = ["recipient", "case", "kind", "title", "body", "created_at", "read_at",
                       "emailed_at"]

    def has_add_permission(self, request):
        return False


@admin.register(CaseNumberSequence)
class CaseNumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["prefix", "year", "last_value"]
    readonly_fields = ["prefix", "year", "last_value"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_header = _("信访事项办理系统 · 管理后台")
admin.site.site_title = _("信访事项办理系统")
