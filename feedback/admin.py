from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.admin import ReadOnlyAdmin

from .models import (Anonymisation, ArchiveFile, PersonAnonymisation, Phrase, Reply,
                     RetentionRule, ReturnVisit)
from .phrases import placeholder_help


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ["case", "channel", "handling_unit", "sent_by", "sent_at"]
    list_filter = ["channel"]
    search_fields = ["case__number", "content"]
    list_select_related = ["case", "sent_by"]
    date_hierarchy = "sent_at"


@admin.register(ReturnVisit)
class ReturnVisitAdmin(ReadOnlyAdmin):
    list_display = ["case", "method", "reached", "is_solved", "satisfaction", "visited_by",
                    "visited_at"]
    list_filter = ["method", "reached", "satisfaction"]
    search_fields = ["case__number", "comments"]
    list_select_related = ["case", "visited_by"]
    date_hierarchy = "visited_at"


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    """Periods that differ from RETENTION_YEARS; a subcategory without a rule follows its
    parent's, a category without one the default."""

    list_display = ["category", "years", "reason"]
    search_fields = ["category__name", "category__parent__name"]
    list_select_related = ["category", "category__parent"]
    autocomplete_fields = ["category"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "subtitle": _(
            "未单独设置的分类按上级分类的期限；都未设置的，归档后保存 %(years)s 年。") % {
                "years": settings.RETENTION_YEARS}}
        return super().changelist_view(request, extra_context)


@admin.register(Anonymisation)
class AnonymisationAdmin(ReadOnlyAdmin):
    list_display = ["case", "anonymised_at", "retention_years", "person_anonymised"]
    list_filter = ["person_anonymised", "retention_years"]
    search_fields = ["case__number"]
    list_select_related = ["case"]
    date_hierarchy = "anonymised_at"


@admin.register(PersonAnonymisation)
class PersonAnonymisationAdmin(ReadOnlyAdmin):
    list_display = ["petitioner_id", "anonymised_at"]
    date_hierarchy = "anonymised_at"


@admin.register(ArchiveFile)
class ArchiveFileAdmin(ReadOnlyAdmin):
    """卷宗: the archive number and retention period are given once, when the case is
    archived (feedback.filing), and never change."""

    list_display = ["number", "case", "retention", "kept_until", "retention_basis", "filed_at"]
    list_filter = ["retention", "year"]
    search_fields = ["number", "case__number", "case__summary"]
    list_select_related = ["case"]
    date_hierarchy = "filed_at"

    @admin.display(description=_("保管至"))
    def kept_until(self, obj):
        year = obj.kept_until_year
        return _("永久保存") if year is None else _("%(year)s年年底") % {"year": year}


@admin.register(Phrase)
class PhraseAdmin(admin.ModelAdmin):
    """常用答复口径 / 常用办理用语: offered on the reply form (答复) and the department's
    result form (办理结果, 调查核实, 处理意见) for cases of their category."""

    list_display = ["title", "use", "category", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["use", "is_active", ("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "text"]
    list_select_related = ["category", "category__parent"]
    autocomplete_fields = ["category"]
    fields = ["title", "use", "category", "text", "is_active", "sort_order"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["text"].help_text = _("可用的占位符（按本案填入）：%(placeholders)s。"
                                               "写了其他占位符的不能保存。") % {
            "placeholders": placeholder_help()}
        return form
