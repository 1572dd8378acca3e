"""节假日与调休 in the admin: one year on the page at a time (this year first), and a
year entered in one step, from the `chinese-calendar` package or from the State
Council's notice pasted in, seen before it is written."""

import hashlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy as _

from . import calendar
from .forms import attach_errors
from .holiday_notice import WEEKDAYS, read_notice, title_year
from .models import CalendarDay, DayKind

FIRST_YEAR, LAST_YEAR = 1990, 2100  # the years a person may mean; others are typing errors


def _this_year() -> int:
    return timezone.localdate().year


class CalendarYearFilter(admin.SimpleListFilter):
    """年份: this year unless another (or 全部年份) is chosen."""

    title = _("年份")
    parameter_name = "year"
    ALL = "all"

    def value(self):
        return super().value() or str(_this_year())

    def lookups(self, request, model_admin):
        entered = {day.year for day in CalendarDay.objects.dates("date", "year")}
        years = sorted(entered | {_this_year(), _this_year() + 1}, reverse=True)
        return [(str(year), gettext("%(year)s 年") % {"year": year} if year in entered
                 else gettext("%(year)s 年（未录入）") % {"year": year}) for year in years]

    def choices(self, changelist):
        yield {"selected": self.value() == self.ALL, "display": gettext("全部年份"),
               "query_string": changelist.get_query_string({self.parameter_name: self.ALL})}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        year = shown_year(self.value())
        return queryset.filter(date__year=year) if year else queryset.none()


def shown_year(value: str | None) -> int | None:
    """The year a ?year= names, None for 全部年份 or a value that is no year."""
    try:
        year = int(value or _this_year())
    except ValueError:
        return None
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


class CalendarYearForm(forms.Form):
    """导入一年的节假日: the year, where its days come from, and whether it replaces."""

    PACKAGE, NOTICE = "package", "notice"

    year = forms.IntegerField(label=_("年份"), min_value=FIRST_YEAR, max_value=LAST_YEAR,
                              error_messages={"invalid": _("请填写四位数的年份，例如 2027。")})
    source = forms.ChoiceField(
        label=_("来源"), widget=forms.RadioSelect, initial=NOTICE,
        choices=[(NOTICE, _("粘贴国务院办公厅的放假安排通知")),
                 (PACKAGE, _("chinese-calendar 软件包（已收录的年份）"))])
    notice = forms.CharField(
        label=_("通知原文"), required=False, max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90}),
        help_text=_("从中国政府网复制《国务院办公厅关于某年部分节假日安排的通知》的正文，"
                    "整段粘贴即可；每一项形如“一、元旦：1月1日（周四）至3日（周六）放假调休，"
                    "共3天。1月4日（周日）上班。”"))
    replace = forms.BooleanField(
        label=_("替换已录入的这一年"), required=False,
        help_text=_("这一年已有记录时须勾选：原有的记录删除，换成本次的安排。"))

    def clean(self):
        data = super().clean()
        year = data.get("year")
        if year is None:
            return data
        if data.get("source") == self.PACKAGE:
            self.days, self.passed_over = calendar.package_year(year), []
            if not self.days:
                self.add_error("year", gettext(
                    "chinese-calendar 软件包（版本 %(version)s）没有收录 %(year)s 年：请选择"
                    "“粘贴国务院办公厅的放假安排通知”，粘贴通知原文。") % {
                        "version": calendar.package_version() or "?", "year": year})
            return data
        text = data.get("notice", "")
        if not text.strip():
            self.add_error("notice", gettext("请粘贴通知原文。"))
            return data
        named = title_year(text)
        if named is not None and named != year:
            self.add_error("notice", gettext(
                "粘贴的是 %(named)s 年的通知，年份填的是 %(year)s 年。") % {
                    "named": named, "year": year})
            return data
        try:
            notice = read_notice(text, year)
        except ValidationError as error:
            self.add_error("notice", error)
            return data
        self.days, self.passed_over = notice.days, notice.passed_over
        return data

    def digest(self) -> str:
        """What the preview showed, so that a confirmation writes exactly that."""
        data = self.cleaned_data
        seen = repr((data["year"], data["replace"],
                     [(day.date.isoformat(), day.kind, day.name) for day in self.days]))
        return hashlib.sha256(seen.encode()).hexdigest()


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    change_list_template = "admin/cases/calendarday/change_list.html"
    import_template = "admin/cases/calendarday/import.html"
    list_display = ["date", "weekday", "kind", "name"]
    list_filter = [CalendarYearFilter, "kind"]
    search_fields = ["name"]
    list_per_page = 200  # a year is some forty rows: one page

    @admin.display(description=_("星期"))
    def weekday(self, day):
        return gettext("周%(weekday)s") % {"weekday": WEEKDAYS[day.date.weekday()]}

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_year_view)
        return [path("import/", view, name="cases_calendarday_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        value = request.GET.get(CalendarYearFilter.parameter_name)
        year = None if value == CalendarYearFilter.ALL else shown_year(value)
        context = {"import_url": reverse("admin:cases_calendarday_import"),
                   "shown_year": year, "previous_year_url": "", "next_year_url": ""}
        if year is not None:
            for key, other in (("previous_year_url", year - 1), ("next_year_url", year + 1)):
                if FIRST_YEAR <= other <= LAST_YEAR:
                    context[key] = "?" + urlencode({CalendarYearFilter.parameter_name: other})
            context["subtitle"] = gettext("%(year)s 年") % {"year": year}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def import_year_view(self, request):
        """Fill in, preview, confirm: nothing is written before the confirmation, and a
        confirmation writes what was previewed (else it shows the new preview)."""
        if not (self.has_add_permission(request) and self.has_delete_permission(request)):
            raise PermissionDenied
        preview, status = None, 200
        if request.method == "POST":
            form = CalendarYearForm(request.POST)
            if form.is_valid():
                year, replace = form.cleaned_data["year"], form.cleaned_data["replace"]
                entered = calendar.entered_days(year)
                if entered and not replace:
                    form.add_error("replace", gettext(
                        "%(year)s 年已录入 %(count)d 天。要用本次的安排替换，请勾选此项。") % {
                            "year": year, "count": entered})
                elif "_confirm" in request.POST and request.POST.get("digest") == form.digest():
                    try:
                        result = calendar.enter_year(year=year, days=form.days, replace=replace)
                    except ValidationError as error:
                        attach_errors(form, error)
                    else:
                        self.message_user(request, gettext(
                            "%(year)s 年已录入：放假 %(holidays)d 天，调休上班 %(workdays)d 天。") % {
                                "year": year, "holidays": result.holidays,
                                "workdays": result.workdays}, messages.SUCCESS)
                        return redirect(reverse("admin:cases_calendarday_changelist") + "?"
                                        + urlencode({CalendarYearFilter.parameter_name: year}))
                else:
                    if "_confirm" in request.POST:
                        self.message_user(request, gettext(
                            "内容在预览后改动过：请核对下面的新预览，再确认导入。"), messages.WARNING)
                    preview = {"year": year, "days": _preview_rows(form.days, year),
                               "entered": entered,
                               "passed_over": form.passed_over, "digest": form.digest(),
                               "holidays": sum(d.kind == DayKind.HOLIDAY for d in form.days),
                               "workdays": sum(d.kind == DayKind.WORKDAY for d in form.days)}
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                for error in errors:
                    self.message_user(request, f"{label}：{error}" if label else error,
                                      messages.ERROR)
            status = 400 if form.errors else 200
        else:
            missing = calendar.missing_calendar_years()
            year = missing[0] if missing else _this_year() + 1
            form = CalendarYearForm(initial={
                "year": year,
                "source": CalendarYearForm.PACKAGE if calendar.package_year(year)
                else CalendarYearForm.NOTICE})
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("导入一年的节假日"), "subtitle": "",
            "opts": self.model._meta, "form": form, "preview": preview,
            "changelist_url": reverse("admin:cases_calendarday_changelist"),
        }
        return TemplateResponse(request, self.import_template, context, status=status)


def _preview_rows(days: list[calendar.PlannedDay], year: int) -> list[dict]:
    return [{"date": day.date, "weekday": gettext("周%(weekday)s") % {
                "weekday": WEEKDAYS[day.date.weekday()]},
             "kind": DayKind(day.kind).label, "is_holiday": day.kind == DayKind.HOLIDAY,
             "name": day.name, "other_year": day.date.year != year} for day in days]
