from django import forms
from django.utils.translation import gettext_lazy as _


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("反馈内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("已开展的工作、存在的困难、答复信访人的时间。"),
        error_messages={"required": _("请填写反馈内容：已做的工作和答复信访人的时间。")})
