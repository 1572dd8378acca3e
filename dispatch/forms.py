from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import Tier

from .selectors import INBOX_STATES, InboxFilters


class InboxFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False)
    tier = forms.ChoiceField(label=_("响应级别"), required=False,
                             choices=[("", _("全部"))] + list(Tier.choices))
    category = forms.IntegerField(required=False, widget=forms.HiddenInput)
    handler = forms.IntegerField(required=False, widget=forms.HiddenInput)
    overdue = forms.BooleanField(label=_("只看已超期"), required=False)
    due_soon = forms.BooleanField(label=_("只看即将到期"), required=False)
    mine = forms.BooleanField(label=_("只看我承办的"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from cases.models import State

        self.fields["state"].choices = [("", _("全部"))] + [
            (s, State(s).label) for s in INBOX_STATES]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return InboxFilters(**{key: data.get(key) or default
                               for key, default in InboxFilters().__dict__.items()})


class AssignForm(forms.Form):
    handler = forms.IntegerField()
