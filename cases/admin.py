from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .acts import available_acts, ensure_allowed, get_act
from .exceptions import CaseError
from .forms import attach_errors, error_message
from .models import (
    SavedView,
    Attachment,
    PersonalDataAccess,
    Case,
    CaseEvent,
    CaseNumberSequence,
    Delivery,
    Category,
    Channel,
    ChannelPolicy,
    Department,
    Notification,
    Petitioner,
    State,
    TierPolicy,
)


# Shared with every app whose rows are records of acts.
class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of acts: written by the services, read here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_office", "phone", "is_active"]
    list_filter = ["is_active", "is_office"]
    search_fields = ["name", "code"]
    filter_horizontal = ["heads", "members"]
    picker_help = {
        "heads": _("负责人分派本部门的案件，审核部门的办理结果。"),
        "members": _("承办人员看到并办理本部门的案件。"),
    }

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in self.picker_help:
            # The two-list picker is worked by clicks, not Control-click: say how.
            field.help_text = format_lazy("{} {}", self.picker_help[db_field.name], _(
                "在左侧“可用”列表中选中人员（可在上方输入姓名筛选），点击向右的箭头加入；"
                "在右侧选中再点向左的箭头移出。"))
        return field


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


@admin.register(Petitioner)
class PetitionerAdmin(SimpleHistoryAdmin):
    """The people themselves: for administrators only (the office works through the
    cases, departments never reach these pages). The ID number is stored encrypted and
    found by its keyed hash when searched in full."""

    list_display = ["name", "gender", "masked_phone", "wants_confidentiality", "created_at"]
    list_filter = ["gender", "wants_confidentiality"]
    search_fields = ["name", "phone", "phone_alt"]
    show_full_result_count = False

    def _administrator(self, request) -> bool:
        from .roles import Role, has_role

        return request.user.is_superuser or has_role(request.user, Role.ADMINISTRATOR)

    def has_module_permission(self, request):
        return self._administrator(request)

    def has_view_permission(self, request, obj=None):
        return self._administrator(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._administrator(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return self._administrator(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self._administrator(request) and super().has_delete_permission(request, obj)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, obj):
        from .identity import mask_phone

        return mask_phone(obj.phone)

    def get_search_results(self, request, queryset, search_term):
        from .crypto import lookup_hash
        from .validators import ID_NUMBER_RE

        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().upper()
        if ID_NUMBER_RE.match(term):
            found = found | queryset.filter(id_number_hash=lookup_hash(term))
        return found, duplicates


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
    an open case; the state, dates and counters change only through the services. The
    tier, the lead department and the 舆情风险 and 保密 marks matter to the deadline, to
    who works the case and who sees the petitioner: they are read-only fields here too,
    and change through their acts (those of the table marked `in_admin`), each with a
    reason and an event with the old and the new value. The change page offers the acts
    this person may make now; each has a page here with the act's form.
    """

    change_form_template = "admin/cases/case/change_form.html"
    act_template = "admin/cases/case/act.html"
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
    editable_fields = ["summary", "content", "demands", "place"]
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

    # Reverting to an earlier version would write the state, the deadline and the facts
    # above back without an act or an event: the history is for reading.
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    # ------------------------------------------------------------ the acts
    def get_urls(self):
        act_view = self.admin_site.admin_view(self.act_view)
        return [path("<path:object_id>/acts/<str:name>/", act_view, name="cases_case_act"),
                *super().get_urls()]

    def case_acts(self, request, case: Case) -> list[dict]:
        """The admin's buttons: the acts offered here that this person may make now."""
        return [{"label": act.label_text,
                 "url": reverse("admin:cases_case_act", args=[case.pk, act.name])}
                for act in available_acts(request.user, case) if act.in_admin]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, unquote(object_id))
        context = {"case_acts": self.case_acts(request, case) if case is not None else []}
        return super().change_view(request, object_id, form_url,
                                   {**context, **(extra_context or {})})

    def act_view(self, request, object_id: str, name: str):
        """One act on one case: its form, then its service. A refusal or bad input is
        told as the admin tells things (messages), never as an error page."""
        case = self.get_object(request, unquote(object_id))
        act = get_act(name)
        if case is None or act is None or not act.in_admin:
            raise Http404
        if not self.has_view_or_change_permission(request, case):
            raise PermissionDenied
        change_url = reverse("admin:cases_case_change", args=[case.pk])
        try:
            ensure_allowed(name, request.user, case)
        except (CaseError, PermissionDenied) as error:
            self.message_user(request, error_message(error), messages.ERROR)
            return redirect(change_url)
        status = 200
        if request.method == "POST":
            form = act.make_form(request.POST, request.FILES, case=case, user=request.user)
            if form.is_valid():
                try:
                    act.perform(actor=request.user, case=case, data=form.cleaned_data)
                except ValidationError as error:
                    attach_errors(form, error)
                except (CaseError, PermissionDenied) as error:
                    form.add_error(None, error_message(error))
                else:
                    self.message_user(request, _("%(act)s：%(number)s，已记入办理记录。") % {
                        "act": act.label_text, "number": case.number}, messages.SUCCESS)
                    return redirect(change_url)
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                for error in errors:
                    self.message_user(request, f"{label}：{error}" if label else error,
                                      messages.ERROR)
            status = 400
        else:
            form = act.make_form(case=case, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(act)s：%(number)s") % {"act": act.label_text, "number": case.number},
            "opts": self.model._meta, "original": case, "case": case, "act": act,
            "form": form, "change_url": change_url,
            "has_view_permission": self.has_view_permission(request, case),
        }
        return TemplateResponse(request, self.act_template, context, status=status)


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
    list_display = ["title", "recipient", "kind", "case", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username", "case__number"]
    list_select_related = ["recipient", "case"]
    readonly_fields = ["recipient", "case", "kind", "title", "body", "created_at", "read_at"]

    def has_add_permission(self, request):
        return False


class CallbackAttemptInline(admin.TabularInline):
    """A platform row's attempts (the delivery log): when, the answer, the error, how long."""

    from intake.models import CallbackAttempt as model

    fields = ["at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-at", "-pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryChannelFilter(admin.SimpleListFilter):
    """By channel, in words (the column holds codes)."""

    title = _("渠道")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        from .models import DeliveryChannel

        return DeliveryChannel.choices

    def queryset(self, request, queryset):
        return queryset.filter(channel=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The outbox: what left, what waits, what failed; failed messages can be sent again.
    A platform callback's page lists every attempt to post it."""

    inlines = [CallbackAttemptInline]

    list_display = ["created_at", "channel_label", "to", "subject", "state", "attempts",
                    "next_attempt_at", "sent_at", "case"]
    list_filter = ["state", DeliveryChannelFilter]
    search_fields = ["to", "subject", "case__number", "message_id"]
    fields = ["channel_label", "to", "subject", "body", "case", "notification", "message_id",
              "state", "attempts", "next_attempt_at", "leased_until", "last_error",
              "created_at", "sent_at"]
    readonly_fields = fields
    list_select_related = ["case"]
    actions = ["send_again", "mark_sms_sent"]

    @admin.display(description=_("渠道"), ordering="channel")
    def channel_label(self, row):
        """An SMS record nobody has sent yet reads 待发送短信."""
        from .models import DeliveryChannel, DeliveryState

        if row.channel == DeliveryChannel.SMS and row.state == DeliveryState.PENDING:
            return _("待发送短信")
        return (DeliveryChannel(row.channel).label if row.channel in DeliveryChannel.values
                else row.channel)

    def has_change_permission(self, request, obj=None):
        # Read-only fields, but the list's action needs the change right.
        return obj is None and request.user.has_perm("cases.change_delivery")

    @admin.action(description=_("再次发送"))
    def send_again(self, request, queryset):
        from .services import resend_deliveries

        count = resend_deliveries(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d 条消息已重新排队发送。") % {"n": count})

    @admin.action(description=_("短信已由工作人员发出，标记为已发送"))
    def mark_sms_sent(self, request, queryset):
        from .services import mark_sms_sent

        count = mark_sms_sent(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d 条短信已标记为已发送。") % {"n": count})


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """个人信息查阅记录: who read whose personal data, by which door (never the values).
    Append-only; exported as CSV from the list."""

    list_display = ["at", "username", "kind", "case_number", "detail", "level", "address"]
    list_filter = ["kind", "level"]
    search_fields = ["username", "case_number"]
    date_hierarchy = "at"
    actions = ["export_csv"]

    def has_view_permission(self, request, obj=None):
        from .roles import Role, has_role

        return has_role(request.user, Role.SUPERVISOR, Role.ADMINISTRATOR) or \
            request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("导出为 CSV"))
    def export_csv(self, request, queryset):
        import csv

        from django.http import HttpResponse

        from .spreadsheet import safe_cell

        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = "attachment; filename=access-log.csv"
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(["at", "user", "kind", "case", "detail", "level", "address"])
        for row in queryset.order_by("at"):
            # A file name is the uploader's words: never a formula.
            writer.writerow([safe_cell(value) for value in (
                row.at.isoformat(), row.username, row.kind, row.case_number, row.detail,
                row.level, row.address)])
        return response


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

# The other parts of the administrator's view: holidays, and users with their roles and
# departments (registered when imported).
from . import admin_calendar, admin_people  # noqa: E402, F401


def _name_in_chinese(app_label: str, app_name, models: dict) -> None:
    """Name a library's section and tables for the office. Only the names shown change:
    migrations read the options a model declares, never these."""
    from django.apps import apps

    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        return
    app_config.verbose_name = app_name
    for model_name, (singular, plural) in models.items():
        opts = app_config.get_model(model_name)._meta
        opts.verbose_name, opts.verbose_name_plural = singular, plural


_name_in_chinese("axes", _("登录保护"), {
    "AccessAttempt": (_("登录失败计数（锁定）"), _("登录失败计数（锁定）")),
    "AccessFailureLog": (_("登录失败记录"), _("登录失败记录")),
    "AccessLog": (_("登录记录"), _("登录记录")),
    "AccessAttemptExpiration": (_("锁定到期时间"), _("锁定到期时间")),
})


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    """People's saved views of the list pages (each person keeps their own on the page)."""

    list_display = ("name", "owner", "page", "query", "created_at")
    list_filter = ("page",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
