from django import forms
from django.utils.translation import gettext_lazy as _


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("反馈内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("已开展的工作、存在的困难、答复信访人的时间。"),
        error_messages={"required": _("请填写反馈内容：已做的工作和答复信访人的时间。")})


class ScopeForm(forms.Form):
    """The dashboard's period and slice. Empty means the whole office this year."""

    start = forms.DateField(label=_("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("截止日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    department = forms.ModelChoiceField(label=_("部门"), required=False, queryset=None,
                                        empty_label=_("全部部门"))
    category = forms.ModelChoiceField(label=_("问题分类"), required=False, queryset=None,
                                      empty_label=_("全部分类"))
    channel = forms.ChoiceField(label=_("渠道"), required=False)
    tier = forms.ModelChoiceField(label=_("响应级别"), required=False, queryset=None,
                                  empty_label=_("全部级别"))

    def __init__(self, *args, allowed_departments=None, **kwargs):
        from cases.models import Category, Channel, Department, TierPolicy

        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(is_active=True)
        if allowed_departments is not None:
            departments = departments.filter(pk__in=allowed_departments)
        self.fields["department"].queryset = departments
        self.fields["category"].queryset = Category.objects.filter(parent__isnull=True)
        self.fields["channel"].choices = [("", _("全部渠道")), *Channel.choices]
        self.fields["tier"].queryset = TierPolicy.objects.order_by("code")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("截止日期不能早于起始日期。"))
        if start and end and (end - start).days > 366 * 5:
            self.add_error("start", _("统计期间最长五年。"))
        return data
