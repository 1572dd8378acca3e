from django import forms
from django.utils.translation import gettext_lazy as _

from cases.forms import YesNoField
from cases.models import InvalidReason, ReplyChannel, Satisfaction

from .models import RetentionPeriod, VisitMethod


class ReplyForm(forms.Form):
    channel = forms.ChoiceField(label=_("答复方式"), choices=ReplyChannel.choices,
                                widget=forms.RadioSelect)
    content = forms.CharField(label=_("答复意见"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 8}))
    next_steps = forms.CharField(label=_("下一步工作（复杂疑难件先答复进展时填写）"), required=False,
                                 max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class VisitForm(forms.Form):
    method = forms.ChoiceField(label=_("回访方式"), widget=forms.RadioSelect,
                               choices=[c for c in VisitMethod.choices if c[0] != "public"])
    reached = YesNoField(label=_("是否联系上"), widget=forms.RadioSelect,
                         yes=_("联系上"), no=_("未联系上"))
    is_solved = YesNoField(label=_("问题是否已解决"), required=False, blank=True,
                           yes=_("已解决"), no=_("未解决"))
    satisfaction = forms.ChoiceField(label=_("满意度"), required=False,
                                     choices=[("", "—")] + list(Satisfaction.choices))
    comments = forms.CharField(label=_("信访人意见"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("reached"):
            if data.get("is_solved") is None:
                self.add_error("is_solved", _("联系上信访人时请记录问题是否已解决。"))
            if not data.get("satisfaction"):
                self.add_error("satisfaction", _("联系上信访人时请记录满意度。"))
        return data


class UnreachedVisitForm(forms.Form):
    method = forms.ChoiceField(label=_("回访方式"), widget=forms.RadioSelect,
                               choices=[c for c in VisitMethod.choices if c[0] != "public"])
    comments = forms.CharField(label=_("说明"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}),
                               help_text=_("例如：电话无人接听、号码停机。"))


class ArchiveForm(forms.Form):
    invalid_reason = forms.ChoiceField(
        label=_("无效件原因（不计入满意率等指标）"), required=False,
        choices=[("", _("有效件"))] + list(InvalidReason.choices))
    note = forms.CharField(label=_("归档说明"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    retention = forms.ChoiceField(
        label=_("保管期限"), required=False,
        choices=[("", _("按规则确定"))] + list(RetentionPeriod.choices),
        help_text=_("不选的按规则确定：集体访、舆情风险、呈办和紧急（T1）件永久；无效件和登记环节办结的"
                    "短期（10年）；其余长期（30年）。档号按保管期限编定，归档后不再改变。"))


class ArchivePageForm(ArchiveForm):
    """The archive page's form: archiving cannot be undone, so the page asks to confirm."""

    confirm = forms.BooleanField(
        label=_("我已核对案卷材料：归档后案件只读，不能再修改"),
        error_messages={"required": _("请勾选确认后再归档。")})

    def cleaned_act_data(self) -> dict:
        """What the service takes (the confirmation is the page's, not the act's)."""
        return {k: v for k, v in self.cleaned_data.items() if k != "confirm"}


class ArchiveSearchForm(forms.Form):
    year = forms.TypedChoiceField(label=_("归档年份"), required=False, coerce=int, empty_value=None)
    category = forms.TypedChoiceField(label=_("问题类别"), required=False, coerce=int,
                                      empty_value=None)
    q = forms.CharField(label=_("编号或摘要"), required=False, max_length=100)

    def __init__(self, *args, years=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("全部"))] + [(y, str(y)) for y in years]
        self.fields["category"].choices = [("", _("全部"))] + [(c.pk, c.name) for c in categories]


class PublicRatingForm(forms.Form):
    """The petitioner's rating through the signed link sent with the reply."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=500)
    satisfaction = forms.ChoiceField(
        label=_("您对办理结果"), widget=forms.RadioSelect,
        choices=[("satisfied", _("满意")), ("basically", _("基本满意")),
                 ("unsatisfied", _("不满意"))],
    )
    is_solved = forms.TypedChoiceField(label=_("问题是否已解决"), widget=forms.RadioSelect,
                                       choices=[("yes", _("已解决")), ("no", _("未解决"))],
                                       coerce=lambda value: value == "yes")
    comments = forms.CharField(label=_("意见和建议"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}))
