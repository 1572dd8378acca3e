import html

from django import forms
from django.forms.utils import flatatt
from django.utils.choices import BaseChoiceIterator
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from cases.forms import MultipleFileField
from cases.models import AccessKind
from cases.parsing import validate_date_in_range

from .models import AppealGround, AppealMeasure, AppealState


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("反馈内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("已开展的工作、存在的困难、答复信访人的时间。"),
        error_messages={"required": _("请填写反馈内容：已做的工作和答复信访人的时间。")})


class ListedChoices(BaseChoiceIterator):
    """Choices already in (value, label) form, taken as they are: Django normalizes a plain
    list item by item each time a field's choices are set (400 departments, twice a
    form)."""

    def __init__(self, items: list):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class PlainSelect(forms.Select):
    """A select written here rather than through the widget's templates: the same
    markup, without a template render and a context per option (a city's 400
    departments took tens of milliseconds of every dashboard page). No option groups."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = self.format_value(value)
        options, selected = [], False
        for choice, label in self.choices:
            choice = "" if choice is None else str(choice)
            mark = not selected and choice in chosen
            selected = selected or mark
            # The standard library's escape: what Django's does, without its lazy-string
            # wrapper per call (two calls an option).
            options.append(f'<option value="{html.escape(choice)}"'
                           f'{" selected" if mark else ""}>{html.escape(str(label))}</option>')
        return format_html('<select name="{}"{}>{}</select>', name,
                           flatatt(self.build_attrs(self.attrs, attrs)),
                           mark_safe("".join(options)))


class ScopeForm(forms.Form):
    """The dashboard's period and slice. Empty means the whole office this year."""

    start = forms.DateField(label=_("起始日期"), required=False,
                            validators=[validate_date_in_range],
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("截止日期"), required=False,
                          validators=[validate_date_in_range],
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    # Departments and categories from the per-process copy, as (id, name): a city's 400
    # departments as model instances cost some 10 ms of every dashboard page.
    department = forms.TypedChoiceField(label=_("部门"), required=False, coerce=int,
                                        empty_value=None, widget=PlainSelect)
    category = forms.TypedChoiceField(label=_("问题分类"), required=False, coerce=int,
                                      empty_value=None, widget=PlainSelect)
    channel = forms.ChoiceField(label=_("渠道"), required=False, widget=PlainSelect)
    tier = forms.ModelChoiceField(label=_("响应级别"), required=False, queryset=None,
                                  empty_label=_("全部级别"), widget=PlainSelect)

    def __init__(self, *args, allowed_departments=None, **kwargs):
        from cases import reference
        from cases.models import Channel, TierPolicy

        super().__init__(*args, **kwargs)
        departments = sorted(
            (item for item in reference.departments().values() if item.is_active
             and (allowed_departments is None or item.pk in allowed_departments)),
            key=lambda item: item.code)
        self.fields["department"].choices = ListedChoices([
            ("", _("全部部门")), *((item.pk, item.name) for item in departments)])
        categories = sorted((item for item in reference.categories().values()
                             if item.parent_id is None),
                            key=lambda item: (item.sort_order, item.name))
        self.fields["category"].choices = ListedChoices([
            ("", _("全部分类")), *((item.pk, item.name) for item in categories)])
        self.fields["channel"].choices = [("", _("全部渠道")), *Channel.choices]
        self.fields["tier"].queryset = TierPolicy.objects.order_by("code")

    def department_name(self, department_id) -> str:
        return dict(self.fields["department"].choices.items).get(department_id, "")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("截止日期不能早于起始日期。"))
        if start and end and (end - start).days > 366 * 5:
            self.add_error("start", _("统计期间最长五年。"))
        return data


# ---------------------------------------------------------------- appeals and complaints
class AppealForm(forms.Form):
    """申诉 on one case: the measure, the ground, the reason and the evidence."""

    takes_case = True
    measure = forms.ChoiceField(label=_("申诉的指标"), choices=AppealMeasure.choices,
                                widget=forms.RadioSelect)
    ground = forms.ChoiceField(label=_("申诉理由类别"), choices=AppealGround.choices)
    reason = forms.CharField(label=_("申诉理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=_("说明为何这件案件不应计入本部门该项指标（如多次联系不上信访人、派错部门、"
                                         "不属本部门职责），每件案件每项指标只能申诉一次。"))
    evidence = MultipleFileField(label=_("证明材料"), required=False,
                                 help_text=_("通话记录截图、工作记录等，PDF、JPEG 或 PNG。"))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            from .appeals import appealable_measures

            open_ = appealable_measures(case)
            self.fields["measure"].choices = [
                (value, label) for value, label in AppealMeasure.choices if value in open_
            ] or AppealMeasure.choices


class AppealDecisionForm(forms.Form):
    """审定申诉: upheld or refused, always with a reason."""

    takes_case = True
    appeal_id = forms.TypedChoiceField(label=_("申诉"), coerce=int, choices=())
    decision = forms.ChoiceField(label=_("审定结果"), widget=forms.RadioSelect, choices=[
        (AppealState.UPHELD, _("申诉成立：该轮次不计入该项指标")),
        (AppealState.REFUSED, _("申诉不成立：照常计入"))])
    note = forms.CharField(label=_("审定意见"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            self.fields["appeal_id"].choices = [
                (appeal.pk, f"{appeal.get_measure_display()}：{appeal.get_ground_display()}"
                            f"，{appeal.reason[:60]}")
                for appeal in case.appeals.filter(state=AppealState.PENDING)]
        else:
            self.fields["appeal_id"] = forms.IntegerField(widget=forms.HiddenInput)


class ComplaintsPeriodForm(forms.Form):
    start = forms.DateField(label=_("登记日期自"), required=False,
                            validators=[validate_date_in_range],
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("至"), required=False,
                          validators=[validate_date_in_range],
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        return data


class AccessLogForm(forms.Form):
    """The access log's filters (the page and its export)."""

    user = forms.CharField(label=_("查阅人（用户名）"), required=False, max_length=150)
    case = forms.CharField(label=_("案件编号"), required=False, max_length=32)
    kind = forms.ChoiceField(label=_("方式"), required=False,
                             choices=[("", _("全部"))] + list(AccessKind.choices))
    start = forms.DateField(label=_("起始日期"), required=False,
                            validators=[validate_date_in_range],
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("截止日期"), required=False,
                          validators=[validate_date_in_range],
                          widget=forms.DateInput(attrs={"type": "date"}))
