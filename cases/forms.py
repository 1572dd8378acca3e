"""Form plumbing every app shares: what views do with a refused act (put the message
where the person reads it), yes/no and file fields, the reason every act asks for."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .selectors import FIGURES, parse_figure_cursor


class YesNoField(forms.TypedChoiceField):
    """是/否 on a page ("yes"/"no"), true/false in the API: both parse to a bool."""

    def __init__(self, *, yes=_("是"), no=_("否"), blank: bool = False, **kwargs):
        choices = [("yes", yes), ("no", no)]
        if blank:
            choices = [("", "—")] + choices
        super().__init__(choices=choices, coerce=lambda v: v == "yes",
                         empty_value=None, **kwargs)

    def to_python(self, value):
        if value is True:
            return "yes"
        if value is False:
            return "no"
        return super().to_python(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    """An optional note with an act (审核通过, 受理)."""

    note = forms.CharField(label=_("意见"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


def safe_next_url(request) -> str:
    """The page to go back to after an act (?next= or a posted next), if it is this site's."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site, never a bare word: redirect() would take "²" for a URL name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def error_message(error: Exception) -> str:
    """The readable text of a domain error, a ValidationError or a PermissionDenied."""
    if getattr(error, "message", None) and not isinstance(error, ValidationError):
        return str(error.message)
    if isinstance(error, ValidationError):
        return "；".join(error.messages)
    return str(error)


def attach_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names (else on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class FigureListForm(forms.Form):
    """The query string of the case list behind a desk's count: which count, an optional
    search, and where the page starts (a cursor the list gave)."""

    figure = forms.ChoiceField(error_messages={
        "required": _("请选择要查看的一项。"),
        "invalid_choice": _("没有这一项统计，请从工作台的数字进入。")})
    q = forms.CharField(label=_("查找"), required=False, max_length=100)
    after = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["figure"].choices = [(key, key) for key in FIGURES]

    def clean_after(self) -> str:
        after = self.cleaned_data["after"]
        if after and parse_figure_cursor(after) is None:
            raise ValidationError(_("翻页位置无效，请从第一页看起。"), code="cursor")
        return after
