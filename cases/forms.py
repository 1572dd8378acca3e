"""Form plumbing every app shares: what views do with a refused act (put the message
where the person reads it), yes/no and file fields, the reason every act asks for."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


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
