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
from cases.models import OPEN_STATES, Case, State, condition, lead_department_staff

from . import appeals, services
from .forms import AppealDecisionForm, AppealForm
from .models import AppealState, SupervisionOrder


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

@condition(_("没有可申诉的指标（本部门按期答复、按期联系均已达标或已申诉过）"))
def has_appealable_measure(case: Case) -> bool:
    return bool(appeals.appealable_measures(case))


@condition(_("没有待审的申诉"))
def has_pending_appeal(case: Case) -> bool:
    return case.appeals.filter(state=AppealState.PENDING).exists()


# Accepted once: a round with a deadline may be counted, so appealed.
APPEALABLE_STATES = tuple(state for state in State.values
                          if state not in (State.RECEIVED, State.MERGED))

ACTS = [
    Act("answer_supervision", _("督办反馈"), "oversight", services.answer_supervision,
        SupervisionAnswerForm, states=OPEN_STATES, conditions=(has_open_order,),
        permission=lead_department_staff, style="primary", order=70),
    # The cheap permission is asked before the condition that reads the events.
    Act("file_appeal", _("申诉"), "oversight", appeals.file_appeal, AppealForm,
        states=APPEALABLE_STATES, conditions=(has_appealable_measure,),
        permission=appeals.appellant, order=71,
        help=_("本部门对这件案件的按期答复或按期联系考核有异议（如联系不上信访人、派错部门、不属本部门职责）："
               "说明理由并附证明材料，由督查人员审定。申诉成立的，该轮次不计入该项指标，并在统计中列明。")),
    Act("decide_appeal", _("审定申诉"), "oversight", appeals.decide_appeal,
        AppealDecisionForm, states=tuple(State.values), conditions=(has_pending_appeal,),
        permission=appeals.appeal_decider, style="primary", order=72),
]


def register_all() -> None:
    from .documents import dossier_part

    register(*ACTS)
    register_panel(Panel("oversight/_case_panel.html", order=70))
    register_panel(Panel("oversight/_complaint_panel.html", order=71))
    register_dossier_part(dossier_part)
    # A case answered (or ended at intake) has its supervision orders closed by that act.
    register_consequence(ANSWERING_TRANSITIONS, services.close_orders_of)
