from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from . import learning, platforms, tasks
from .models import (InboundMessage, Platform, PlatformAPIKey, PlatformCase, SafetyPhrase,
                     TriageModel)


@admin.register(SafetyPhrase)
class SafetyPhraseAdmin(admin.ModelAdmin):
    """紧急与停供词语: what raises a case to T1 (and alerts the office) or to T2."""

    list_display = ["phrase", "kind", "is_active", "note"]
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["phrase", "note"]


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    """分诊模型: every trained model, its data and its held-out figures; retrain now, or
    put a kept model back in use. The models themselves are made only by training."""

    change_list_template = "admin/intake/triagemodel/change_list.html"
    list_display = ["trained_at", "source", "own_cases", "corpus_rows", "train_size",
                    "held_out_size", "tier", "t1", "category_1", "category_3", "department_1",
                    "department_3", "is_active", "kept_reason"]
    list_filter = ["is_active", "source"]
    actions = ["make_active"]
    readonly_fields = ["trained_at", "source", "own_cases", "corpus_rows", "train_size",
                       "held_out_size", "tier_accuracy", "t1_recall", "category_top1",
                       "category_top3", "department_top1", "department_top3",
                       "training_seconds", "is_active", "activated_at", "compared_with",
                       "comparison", "kept_reason"]
    fields = readonly_fields

    @admin.display(description=_("响应级别准确率"), ordering="tier_accuracy")
    def tier(self, obj):
        return _percent(obj.tier_accuracy)

    @admin.display(description=_("T1 召回率"), ordering="t1_recall")
    def t1(self, obj):
        return _percent(obj.t1_recall)

    @admin.display(description=_("分类首选"), ordering="category_top1")
    def category_1(self, obj):
        return _percent(obj.category_top1)

    @admin.display(description=_("分类前三"), ordering="category_top3")
    def category_3(self, obj):
        return _percent(obj.category_top3)

    @admin.display(description=_("部门首选"), ordering="department_top1")
    def department_1(self, obj):
        return _percent(obj.department_top1)

    @admin.display(description=_("部门前三"), ordering="department_top3")
    def department_3(self, obj):
        return _percent(obj.department_top3)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("fitted")

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        retrain = self.admin_site.admin_view(self.retrain_view)
        return [path("retrain/", retrain, name="intake_triagemodel_retrain"),
                *super().get_urls()]

    def retrain_view(self, request):
        """立即重新训练: the same task as the nightly one, queued after this request."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        transaction.on_commit(tasks.retrain_triage.delay)
        self.message_user(request, _("已开始重新训练；训练完成后，新模型出现在本页（不比当前模型差才启用）。"),
                          messages.SUCCESS)
        return redirect("admin:intake_triagemodel_changelist")

    @admin.action(description=_("设为当前使用的模型"), permissions=["change"])
    def make_active(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, _("请只选择一个模型。"), messages.ERROR)
            return
        try:
            record = learning.activate(model_id=chosen[0])
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        self.message_user(request, _("当前使用的模型：%(model)s（%(date)s 训练）") % {
            "model": record.label, "date": timezone.localtime(record.trained_at)
            .strftime("%Y-%m-%d %H:%M")}, messages.SUCCESS)


# ---------------------------------------------------------------- platforms
class PlatformAPIKeyInline(admin.TabularInline):
    """A platform's keys, read here; a new key is made on its own page (shown once)."""

    model = PlatformAPIKey
    extra = 0
    can_delete = False
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    """对接平台: the systems that send cases through the API, their channel, callback and
    keys. Saving a platform gives it its account (the platform role) if it has none."""

    list_display = ["name", "code", "channel", "sees_all_cases", "is_active", "account"]
    list_filter = ["channel", "is_active", "sees_all_cases"]
    search_fields = ["name", "code"]
    readonly_fields = ["account", "created_at"]
    inlines = [PlatformAPIKeyInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "callback_url":
            kwargs["assume_scheme"] = "https"  # a callback without a scheme is https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # Its callbacks are addressed by its code: fixed once the platform exists.
        return [*self.readonly_fields, "code"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        platforms.ensure_account(obj)


# The library's own key table is not used: every key belongs to a platform (below).
admin.site.unregister(APIKey)


@admin.register(PlatformAPIKey)
class PlatformAPIKeyAdmin(APIKeyModelAdmin):
    """平台密钥: only the hash is kept; the key is shown once, when made. Revoking is final."""

    list_display = ["prefix", "name", "platform", "created", "expiry_date", "expired",
                    "revoked"]
    fields = ["platform", "name", "prefix", "expiry_date", "revoked"]  # never the hash
    list_filter = ["platform", "revoked"]
    search_fields = ["name", "prefix", "platform__name"]

    @admin.display(description=_("已过期"), boolean=True)
    def expired(self, key):
        return key.has_expired

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        secret = self.model.objects.assign_key(obj)
        obj.save()
        # The key comes last, with nothing glued to it, to be copied as it is.
        self.message_user(request, _(
            "请立即妥善保存并交给对接平台，离开本页后无法再查看。%(name)s 的密钥是：%(key)s") % {
                "name": obj.name, "key": secret}, messages.WARNING)


@admin.register(PlatformCase)
class PlatformCaseAdmin(admin.ModelAdmin):
    """平台工单: which case answers which platform's ticket (made by the API only)."""

    list_display = ["ticket", "platform", "case", "created_at"]
    list_filter = ["platform"]
    search_fields = ["ticket", "case__number"]
    readonly_fields = ["case", "platform", "ticket", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """来信邮件: every message taken from the office's mailbox, once, and what became of it
    (a new case, a note on its case, rejected, failed with the error). Made by the poller
    only."""

    list_display = ["taken_at", "state", "sender", "subject", "case_link", "mailbox"]
    list_filter = ["state", "mailbox"]
    search_fields = ["sender", "subject", "message_id", "case__number"]
    date_hierarchy = "taken_at"
    list_select_related = ["case"]
    readonly_fields = ["message_id", "mailbox", "sender", "subject", "received_at",
                       "case_link", "state", "error", "taken_at"]
    fields = readonly_fields

    @admin.display(description=_("案件"), ordering="case__number")
    def case_link(self, obj):
        if obj.case_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("cases:detail", args=[obj.case.number]), obj.case.number)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
