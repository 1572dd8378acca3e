"""The dispatch and handling stage's acts in the table of acts (registered when the app
loads): the transitions they make, or, for acts that keep the state, the states,
conditions and people they are allowed for."""

from functools import partial

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.acts import Act, Document, Panel, register, register_document, register_panel
from cases.forms import NoteForm, ReasonForm
from cases.models import (
    OPEN_STATES,
    Case,
    HandlingMode,
    State,
    condition,
    department_staff,
    lead_department_head,
    lead_department_staff,
)
from cases.roles import OFFICE_ROLES, Role, has_role

from . import forms, selectors, services
from .models import ExtensionState

WORKING_STATES = (State.DISPATCHED, State.IN_HANDLING)
# Accepted and not yet answered: the deadline runs and its tier may be corrected.
ACCEPTED_OPEN_STATES = tuple(state for state in OPEN_STATES if state != State.RECEIVED)
# 舆情风险 can arise until the file is closed. 保密 may change even then: it decides who
# sees the petitioner, not what the file says, and departments still read their old cases.
MARKABLE_STATES = tuple(state for state in State.values if state != State.ARCHIVED)


# --- who corrects what. An administrator may make the corrections too, from the admin
# or the case page: the admin's fields for these facts are read-only, so the act is the
# only way, and its event names who made it and why.
def tier_and_risk_judge(case: Case, user) -> bool:
    return has_role(user, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR)


def redispatcher(case: Case, user) -> bool:
    return has_role(user, Role.DISPATCHER, Role.ADMINISTRATOR)


def confidentiality_marker(case: Case, user) -> bool:
    """The office's staff (the clerk hears the request first) or a supervisor."""
    return has_role(user, *OFFICE_ROLES, Role.SUPERVISOR, Role.ADMINISTRATOR)


@condition(_("没有需要确认的来信来访材料"))
def has_unshared_attachment(case: Case) -> bool:
    if getattr(case, "registered_without_files", False):
        return False  # registered by this very request with no file (register_intake)
    return forms.unshared_attachments(case).exists()


@condition(_("已超过办理期限，延期须在期限届满前申请"))
def before_deadline(case: Case) -> bool:
    return case.due_at is not None and timezone.now() < case.due_at


@condition(_("已有一份延期申请在审批中"))
def no_pending_extension(case: Case) -> bool:
    return not case.extension_requests.filter(state=ExtensionState.PENDING).exists()


@condition(_("没有待审批的延期申请"))
def has_pending_extension(case: Case) -> bool:
    return case.extension_requests.filter(state=ExtensionState.PENDING).exists()


def extension_decider(case: Case, user) -> bool:
    """Within the tier's limit of extensions per round the office's dispatchers decide
    (or a supervisor); beyond it, only a supervisor (督查人员)."""
    if has_role(user, Role.SUPERVISOR):
        return True
    return has_role(user, Role.DISPATCHER) and not selectors.needs_supervisor(case)


def _why_not_extension_decider(case: Case, user) -> str:
    if not has_role(user, Role.DISPATCHER):
        return ""
    allowance = selectors.extension_allowance(case)
    facts = {"number": case.number, "approved": allowance.approved, "limit": allowance.limit,
             "tier": case.tier.code if case.tier_id else "—"}
    if allowance.reached:
        return str(_("案件 %(number)s 本轮已获批延期 %(approved)s 次，响应级别 %(tier)s 可延期 "
                     "%(limit)s 次：这份延期申请超出可延期次数，须经督查人员批准。") % facts)
    return str(_("案件 %(number)s 的这份延期申请提出时已超出可延期次数，须经督查人员批准。") % facts)


extension_decider.refusal = _why_not_extension_decider


@condition(_("案件尚未受理"))
def is_accepted(case: Case) -> bool:
    return case.accepted_at is not None


@condition(_("直办案件由信访办自己办理，不分派部门承办人"))
def not_direct(case: Case) -> bool:
    return case.handling_mode != HandlingMode.DIRECT


@condition(_("直办案件由信访办自己办理，没有可改派的主办部门"))
def with_a_department(case: Case) -> bool:
    return case.handling_mode != HandlingMode.DIRECT


ACTS = [
    Act("dispatch", _("交办"), "dispatch", partial(services.dispatch, mode=HandlingMode.ASSIGNED),
        forms.DispatchActForm, transition="dispatch", page="dispatch:dispatch",
        button=_("分类交办"),
        style="primary", order=20),
    Act("handle_directly", _("直办"), "dispatch",
        partial(services.dispatch, mode=HandlingMode.DIRECT), forms.DispatchActForm,
        transition="handle_directly", page="dispatch:dispatch", button=_("分类交办"), order=21),
    Act("escalate", _("呈办"), "dispatch",
        partial(services.dispatch, mode=HandlingMode.ESCALATED), forms.DispatchActForm,
        transition="escalate", page="dispatch:dispatch", button=_("分类交办"), order=22),
    Act("instruct", _("批示"), "dispatch", services.instruct_case, forms.InstructionForm,
        transition="instruct", style="primary", order=24),
    Act("refuse_return", _("驳回退单"), "dispatch", services.refuse_return, ReasonForm,
        transition="refuse_return", order=25,
        help=_("原部门职责范围内的事项：驳回退单，仍由原部门办理。")),
    Act("department_accept", _("签收"), "dispatch", services.department_accept_case, None,
        transition="department_accept", style="primary", order=30),
    Act("return", _("退单"), "dispatch", services.return_case, ReasonForm,
        transition="return_to_dispatcher", order=31,
        help=_("不属本部门职责：在退单时限内退回派单员，并说明理由。")),
    Act("assign_handler", _("分派承办人"), "dispatch", services.assign_handler, forms.AssignForm,
        states=WORKING_STATES, conditions=(not_direct,), permission=lead_department_head,
        order=32),
    Act("add_note", _("办理记录"), "dispatch", services.add_note, forms.NoteForm,
        states=WORKING_STATES, permission=department_staff, page="dispatch:handle",
        button=_("办理"), order=33),
    Act("attach_files", _("上传办理材料"), "dispatch", services.attach_files,
        forms.AttachmentForm, states=WORKING_STATES, permission=department_staff,
        page="dispatch:handle", button=_("办理"), order=34),
    Act("request_extension", _("申请延期"), "dispatch", services.request_extension,
        forms.ExtensionForm, states=WORKING_STATES,
        conditions=(before_deadline, no_pending_extension), permission=lead_department_staff,
        page="dispatch:handle", button=_("办理"), order=35),
    Act("submit_result", _("提交办理结果"), "dispatch", services.submit_result, forms.ResultForm,
        transition="submit_result", page="dispatch:handle", button=_("办理"), style="primary",
        order=36),
    Act("decide_extension", _("审批延期"), "dispatch", services.decide_extension,
        forms.DecisionForm, states=OPEN_STATES, conditions=(has_pending_extension,),
        permission=extension_decider, order=37,
        help=_("可延期次数以内由信访办派单员或督查人员审批；超出可延期次数的，须经督查人员批准。")),
    Act("approve_result", _("审核通过"), "dispatch", services.approve_result, NoteForm,
        transition="approve_result", page="dispatch:handle", button=_("审核"), style="primary",
        order=40),
    Act("send_back", _("审核退回"), "dispatch", services.send_back_result, forms.SendBackForm,
        transition="send_back", page="dispatch:handle", button=_("审核"), order=41),
    # Corrections of what the case is (the admin's read-only fields): each with a reason,
    # each an event with the old and the new value.
    Act("change_tier", _("调整响应级别"), "dispatch", services.change_tier, forms.ChangeTierForm,
        states=ACCEPTED_OPEN_STATES, conditions=(is_accepted,), permission=tier_and_risk_judge,
        order=80, in_admin=True,
        help=_("按新的响应级别从受理（重办的从重办）时起重新计算答复期限；已批准的延期时间照算。")),
    Act("change_lead_department", _("改派"), "dispatch", services.change_lead_department,
        forms.ChangeLeadDepartmentForm, states=WORKING_STATES, conditions=(with_a_department,),
        permission=redispatcher, order=81, in_admin=True,
        help=_("改由另一个部门主办：新部门收到交办通知，承办人由新部门重新分派。")),
    Act("change_sensitive", _("标记/取消舆情风险"), "dispatch", services.change_sensitive,
        forms.SensitiveForm, states=MARKABLE_STATES, permission=tier_and_risk_judge, order=82,
        in_admin=True, help=_("有舆情风险的案件，办理结果还须督办领导审核。")),
    Act("change_confidential", _("标记/取消保密"), "dispatch", services.change_confidential,
        forms.ConfidentialForm, states=tuple(State.values), permission=confidentiality_marker,
        order=83, in_admin=True, help=_("保密案件的信访人身份不向承办部门显示。")),
    Act("change_complained_party", _("更正被投诉单位、人员"), "dispatch",
        services.change_complained_party, forms.ComplainedPartyForm,
        states=tuple(State.values), permission=confidentiality_marker, order=85,
        in_admin=True,
        help=_("被投诉单位、科室、人员登记有误或核实后发现不同的，由信访办更正并说明理由。")),
    Act("share_attachment", _("提供附件给部门"), "dispatch", services.share_attachment,
        forms.ShareAttachmentForm, states=tuple(State.values),
        conditions=(has_unshared_attachment,), permission=confidentiality_marker, order=84,
        help=_("保密信访人的来信来访材料，经信访办确认或上传脱敏件后才提供给部门。")),
]

def _letter_extension(case: Case):
    """The latest approved extension the petitioner is told of by letter."""
    from cases.models import ReplyChannel

    return (case.extension_requests.filter(state=ExtensionState.APPROVED,
                                           told_channel=ReplyChannel.LETTER)
            .order_by("-decided_at", "-pk").values_list("pk", flat=True).first())


DOCUMENTS = [
    Document(_("办理情况"), lambda case: reverse("dispatch:handle", args=[case.number]),
             shown=lambda case: case.dispatched_at is not None
             or case.handling_mode == HandlingMode.DIRECT, order=19),
    Document(_("交办单"), lambda case: reverse("dispatch:slip", args=[case.number]),
             shown=lambda case: case.dispatched_at is not None, order=20),
    Document(_("延期告知书"), lambda case: reverse("dispatch:extension_notice",
                                              args=[case.number, _letter_extension(case)]),
             shown=lambda case: _letter_extension(case) is not None, order=21),
]


def register_all() -> None:
    register(*ACTS)
    register_panel(Panel("dispatch/_extension_panel.html", order=40))
    register_panel(Panel("dispatch/_discussion_panel.html", order=45))
    for document in DOCUMENTS:
        register_document(document)
