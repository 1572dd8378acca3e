"""Oversight's act in the table of acts: the department answers a supervision order."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.acts import (
    Act,
    Panel,
    register,
    register_consequence,
    register_dossier_part,
    register_panel,
)
from cases.models import OPEN_STATES, Case, condition, lead_department_staff

from . import services
from .models import SupervisionOrder


@condition(_("没有待反馈的督办单"))
def has_open_order(case: Case) -> bool:
    return SupervisionOrder.objects.filter(case=case, closed_at__isnull=True,
                                           answered_at__isnull=True).exists()


class SupervisionAnswerForm(forms.Form):
    answer = forms.CharField(label=_("督办反馈"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=_("已做的工作，以及答复信访人的时间。"))


# The transitions that take a case out of the open states: its orders are answered.
ANSWERING_TRANSITIONS = ("reply_to_petitioner", "answer_on_the_spot", "refuse", "merge",
                         "withdraw")

ACTS = [
    Act("answer_supervision", _("督办反馈"), "oversight", services.answer_supervision,
        SupervisionAnswerForm, states=OPEN_STATES, conditions=(has_open_order,),
        permission=lead_department_staff, style="primary", order=70),
]


def register_all() -> None:
    from .documents import dossier_part

    register(*ACTS)
    register_panel(Panel("oversight/_case_panel.html", order=70))
    register_dossier_part(dossier_part)
    # A case answered (or ended at intake) has its supervision orders closed by that act.
    register_consequence(ANSWERING_TRANSITIONS, services.close_orders_of)
