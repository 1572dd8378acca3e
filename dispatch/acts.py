"""The dispatch and handling stage's acts in the table of acts (registered when the app
loads): the transitions they make, or, for acts that keep the state, the states,
conditions and people they are allowed for."""

from functools import partial

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.acts import Act, Document, register, register_document
from cases.forms import NoteForm, ReasonForm
from cases.models import (
    OPEN_STATES,
    Case,
    HandlingMode,
    State,
    condition,
    department_staff,
    dispatcher,
    lead_department_head,
    lead_department_staff,
    supervisor,
)

from . import forms, services
from .models import ExtensionState

WORKING_STATES = (State.DISPATCHED, State.IN_HANDLING)


@condition(_("已超过办理期限，延期须在期限届满前申请"))
def before_deadline(case: Case) -> bool:
    return case.due_at is not None and timezone.now() < case.due_at


@condition(_("已有一份延期申请在审批中"))
def no_pending_extension(case: Case) -> bool:
    return not case.extension_requests.filter(state=ExtensionState.PENDING).exists()


@condition(_("没有待审批的延期申请"))
def has_pending_extension(case: Case) -> bool:
    return case.extension_requests.filter(state=ExtensionState.PENDING).exists()


@condition(_("案件尚未受理"))
def is_accepted(case: Case) -> bool:
    return case.accepted_at is not None


@condition(_("直办案件由信访办自己办理，不分派部门承办人"))
def not_direct(case: Case) -> bool:
    return case.handling_mode != HandlingMode.DIRECT


ACTS = [
    Act("dispatch", _("交办"), "dispatch", partial(services.dispatch, mode=HandlingMode.ASSIGNED),
        forms.DispatchActForm, transition="dispatch", page="dispatch:dispatch",
        style="primary", order=20, in_queues=True),
    Act("handle_directly", _("直办"), "dispatch",
        partial(services.dispatch, mode=HandlingMode.DIRECT), forms.DispatchActForm,
        transition="handle_directly", page="dispatch:dispatch", order=21),
    Act("escalate", _("呈办"), "dispatch",
        partial(services.dispatch, mode=HandlingMode.ESCALATED), forms.DispatchActForm,
        transition="escalate", page="dispatch:dispatch", order=22),
    Act("change_tier", _("调整响应级别"), "dispatch", services.change_tier, forms.ChangeTierForm,
        states=(State.ACCEPTED, State.RETURNED), conditions=(is_accepted,),
        permission=dispatcher, order=23),
    Act("instruct", _("批示"), "dispatch", services.instruct_case, forms.InstructionForm,
        transition="instruct", style="primary", order=24, in_queues=True),
    Act("refuse_return", _("驳回退单"), "dispatch", services.refuse_return, ReasonForm,
        transition="refuse_return", order=25,
        help=_("原部门职责范围内的事项：驳回退单，仍由原部门办理。")),
    Act("department_accept", _("签收"), "dispatch", services.department_accept_case, None,
        transition="department_accept", style="primary", order=30, in_queues=True),
    Act("return", _("退单"), "dispatch", services.return_case, ReasonForm,
        transition="return_to_dispatcher", order=31,
        help=_("不属本部门职责：在退单时限内退回派单员，并说明理由。")),
    Act("assign_handler", _("分派承办人"), "dispatch", services.assign_handler, forms.AssignForm,
        states=WORKING_STATES, conditions=(not_direct,), permission=lead_department_head,
        order=32),
    Act("add_note", _("办理记录"), "dispatch", services.add_note, forms.NoteForm,
        states=WORKING_STATES, permission=department_staff, page="dispatch:handle", order=33),
    Act("attach_files", _("上传办理材料"), "dispatch", services.attach_files,
        forms.AttachmentForm, states=WORKING_STATES, permission=department_staff,
        page="dispatch:handle", order=34),
    Act("request_extension", _("申请延期"), "dispatch", services.request_extension,
        forms.ExtensionForm, states=WORKING_STATES,
        conditions=(before_deadline, no_pending_extension), permission=lead_department_staff,
        page="dispatch:handle", order=35),
    Act("submit_result", _("提交办理结果"), "dispatch", services.submit_result, forms.ResultForm,
        transition="submit_result", page="dispatch:handle", style="primary", order=36),
    Act("decide_extension", _("审批延期"), "dispatch", services.decide_extension,
        forms.DecisionForm, states=OPEN_STATES, conditions=(has_pending_extension,),
        permission=supervisor, order=37, in_queues=True),
    Act("approve_result", _("审核通过"), "dispatch", services.approve_result, NoteForm,
        transition="approve_result", page="dispatch:handle", style="primary", order=40,
        in_queues=True),
    Act("send_back", _("审核退回"), "dispatch", services.send_back_result, forms.SendBackForm,
        transition="send_back", page="dispatch:handle", order=41),
]

DOCUMENTS = [
    Document(_("办理情况"), lambda case: reverse("dispatch:handle", args=[case.number]),
             shown=lambda case: case.dispatched_at is not None
             or case.handling_mode == HandlingMode.DIRECT, order=19),
    Document(_("交办单"), lambda case: reverse("dispatch:slip", args=[case.number]),
             shown=lambda case: case.dispatched_at is not None
             or case.handling_mode == HandlingMode.DIRECT, order=20),
]


def register_all() -> None:
    register(*ACTS)
    for document in DOCUMENTS:
        register_document(document)
