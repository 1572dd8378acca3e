"""Offered ⇔ allowed: for every state and every person, the acts a page offers are exactly
the acts the services accept, and the API offers the same.

Each scenario builds one case; for every person (each role, and for departments: lead,
assisting, other) and every act of the table, the act is tried inside a savepoint with
valid input and rolled back. An act that is offered must succeed; an act that is not
offered must be refused (CaseError or PermissionDenied), never accepted.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.acts import act_url, all_acts, available_acts
from cases.exceptions import CaseError
from cases.models import Case, Channel, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from tests.factories import DepartmentFactory, UserFactory, drive_to, register, reply_from_handling

# A 1×1 PNG: the upload check reads the content, not the name.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _dispatched_with_assistance(w):
    case = drive_to(w, State.ACCEPTED)
    return dispatch_acts.dispatch_case(actor=w.dispatcher, case_id=case.pk,
                                       lead_department_id=w.a.pk,
                                       assisting_department_ids=[w.b.pk])


def _in_handling_with_assistance(w):
    case = _dispatched_with_assistance(w)
    return dispatch_acts.department_accept_case(actor=w.handler, case_id=case.pk)


def _escalated(w, *, instructed=False):
    case = drive_to(w, State.ACCEPTED)
    case = dispatch_acts.escalate_case(actor=w.dispatcher, case_id=case.pk)
    if instructed:
        case = dispatch_acts.instruct_case(actor=w.supervisor, case_id=case.pk,
                                           instruction="请城管局牵头办理")
    return case


def _past_return_window(w):
    case = _dispatched_with_assistance(w)
    Case.objects.filter(pk=case.pk).update(dispatched_at=timezone.now() - timedelta(days=3))
    return case


def _overdue(w):
    case = _in_handling_with_assistance(w)
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - timedelta(hours=1))
    return case


def _with_pending_extension(w):
    case = _in_handling_with_assistance(w)
    dispatch_acts.request_extension(actor=w.handler, case_id=case.pk, reason="等待鉴定",
                                    requested_due_at=case.due_at + timedelta(days=5))
    return case


def _with_open_order(w):
    from oversight.models import SupervisionOrder

    case = _in_handling_with_assistance(w)
    SupervisionOrder.objects.create(case=case, level=1, round=0,
                                    answer_due_at=timezone.now() + timedelta(hours=24))
    return case


def _direct(w):
    case = drive_to(w, State.ACCEPTED)
    return dispatch_acts.handle_directly(actor=w.dispatcher, case_id=case.pk)


def _direct_submitted(w):
    case = _direct(w)
    return dispatch_acts.submit_result(actor=w.dispatcher, case_id=case.pk, findings="核实",
                                       opinion="处理", result="已办", is_solved=True).case


def _submitted(w, *, approvals=0, sensitive=False):
    case = drive_to(w, State.IN_HANDLING)
    if sensitive:
        Case.objects.filter(pk=case.pk).update(is_sensitive=True)
    dispatch_acts.submit_result(actor=w.handler, case_id=case.pk, findings="核实",
                                opinion="处理", result="已办", is_solved=True)
    for reviewer in [w.head, w.dispatcher, w.supervisor][:approvals]:
        dispatch_acts.approve_result(actor=reviewer, case_id=case.pk)
    return Case.objects.get(pk=case.pk)


def _late_reply(w):
    """Replied after its deadline: its department may appeal the on-time figure."""
    case = drive_to(w, State.IN_HANDLING)
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - timedelta(hours=1))
    return reply_from_handling(w, Case.objects.get(pk=case.pk))


def _appeal_pending(w):
    from oversight import appeals

    case = _late_reply(w)
    appeals.file_appeal(actor=w.head, case_id=case.pk, measure="on_time", ground="unreachable",
                        reason="信访人电话停机")
    return Case.objects.get(pk=case.pk)


def _unreachable(w):
    case = drive_to(w, State.REPLIED)
    for _ in range(3):
        feedback_acts.record_unreached_visit(actor=w.clerk, case_id=case.pk, method="phone")
    return case


SCENARIOS = {
    "received_web": lambda w: register(w, actor=None, channel=Channel.WEB),
    "received_counter": lambda w: register(w),
    "accepted": lambda w: drive_to(w, State.ACCEPTED),
    "escalated": lambda w: _escalated(w),
    "instructed": lambda w: _escalated(w, instructed=True),
    "dispatched": _dispatched_with_assistance,
    "dispatched_past_return_window": _past_return_window,
    "returned": lambda w: drive_to(w, State.RETURNED),
    "in_handling": _in_handling_with_assistance,
    "in_handling_overdue": _overdue,
    "in_handling_extension_pending": _with_pending_extension,
    "in_handling_order_open": _with_open_order,
    "direct": _direct,
    "direct_submitted": _direct_submitted,
    "submitted_head": lambda w: _submitted(w),
    "submitted_office": lambda w: _submitted(w, approvals=1),
    "submitted_supervisor": lambda w: _submitted(w, approvals=2, sensitive=True),
    "approved": lambda w: _submitted(w, approvals=2),
    "replied": lambda w: drive_to(w, State.REPLIED),
    "replied_unreachable": _unreachable,
    "replied_late": _late_reply,
    "appeal_pending": _appeal_pending,
    "visited": lambda w: drive_to(w, State.VISITED),
    "archived": lambda w: drive_to(w, State.ARCHIVED),
    "answered": lambda w: drive_to(w, State.ANSWERED),
    "refused": lambda w: drive_to(w, State.REFUSED),
    "merged": lambda w: drive_to(w, State.MERGED),
    "merged_into_a_replied_case": lambda w: intake_acts.merge_case(
        actor=w.clerk, case_id=register(w).pk, into_number=drive_to(w, State.REPLIED).number),
    "withdrawn": lambda w: drive_to(w, State.WITHDRAWN),
}

PEOPLE = ("clerk", "dispatcher", "supervisor", "admin", "handler", "head", "handler_b",
          "head_b", "handler_c")


def _appealable_measure(case: Case) -> str:
    """A measure the case's department may still appeal (has wanting rounds, no appeal)."""
    from oversight import appeals

    for measure in ("on_time", "response"):
        if appeals.wanting_rounds(case, measure) and not case.appeals.filter(
                measure=measure).exists():
            return measure
    return "on_time"


def _example(name: str, w, case: Case, user) -> dict:
    """Valid input for each act of the table, as its form would clean it."""
    dispatch = {"category": None, "tier": "", "tier_change_reason": "",
                "lead_department": w.b.pk, "assisting_departments": [], "note": ""}
    examples = {
        "accept": {"tier_code": "", "note": ""},
        "answer_on_the_spot": {"answer": "已当场解答"},
        "refuse": {"reason": "属诉讼事项", "guidance": "请向人民法院起诉"},
        "merge": {"into_number": w.merge_target.number, "note": ""},
        "withdraw": {"reason": "信访人撤回"},
        "dispatch": dispatch,
        "handle_directly": dispatch,
        "escalate": dispatch,
        "change_tier": {"tier_code": "T1", "reason": "涉及人身安全"},
        "change_lead_department": {"lead_department": w.c.pk, "reason": "经核实属生态环境局职责"},
        "change_sensitive": {"is_sensitive": not case.is_sensitive, "reason": "网络已有报道"},
        "change_confidential": {"is_confidential": not case.is_confidential,
                                "reason": "信访人要求保密"},
        "share_attachment": {"attachment": case.attachments.filter(kind="intake").values_list(
            "pk", flat=True).first(), "redacted": None},
        "instruct": {"instruction": "请城管局牵头办理"},
        "refuse_return": {"reason": "属本部门职责"},
        "department_accept": {},
        "return": {"reason": "不属本部门职责"},
        "assign_handler": {"handler": w.handler.pk},
        "add_note": {"kind": "assist" if user in (w.handler_b, w.head_b) else "investigation",
                     "text": "现场核查", "contact_method": "", "reached": None,
                     "happened_at": None},
        "attach_files": {"files": [SimpleUploadedFile("现场.png", PNG, "image/png")]},
        "request_extension": {"reason": "等待鉴定",
                              "requested_due_at": (case.due_at or timezone.now())
                              + timedelta(days=3)},
        "submit_result": {"findings": "核实属实", "opinion": "责令整改", "result": "已整改",
                          "is_solved": True},
        "decide_extension": {"decision": "approve", "note": ""},
        "approve_result": {"note": ""},
        "send_back": {"note": "请补充照片"},
        "reply": {"channel": "phone", "content": "已整改完毕", "next_steps": ""},
        "record_return_visit": {"method": "phone", "reached": True, "is_solved": True,
                                "satisfaction": "satisfied", "comments": ""},
        "record_unreached_visit": {"method": "phone", "comments": "无人接听"},
        "record_merged_visit": {"method": "phone", "reached": True, "is_solved": True,
                                "satisfaction": "satisfied", "comments": ""},
        "reopen": {"reason": "整改不到位"},
        "archive": {"invalid_reason": "", "note": ""},
        "answer_supervision": {"answer": "已整改，明日答复信访人"},
        "change_complained_party": {"complained_department": w.a,
                                    "complained_section": "执法一队", "complained_person": "张某",
                                    "reason": "核实后更正"},
        "file_appeal": {"measure": _appealable_measure(case), "ground": "unreachable",
                        "reason": "信访人电话停机，多次联系不上", "evidence": []},
        "decide_appeal": {"appeal_id": case.appeals.filter(state="pending").values_list(
            "pk", flat=True).first(), "decision": "upheld", "note": "证明材料属实"},
    }
    return examples[name]


class _Undo(Exception):
    pass


def _accepted_by_the_service(act, user, case, data) -> bool:
    try:
        with transaction.atomic():
            act.perform(actor=user, case=case, data=data)
            raise _Undo
    except _Undo:
        return True
    except (CaseError, PermissionDenied):
        return False


@pytest.fixture
def people(world):
    world.c = DepartmentFactory(name="生态环境局", code="C")
    world.handler_c = UserFactory(username="handler_c", roles=["handler"])
    world.c.members.add(world.handler_c)
    world.merge_target = drive_to(world, State.ACCEPTED)
    return world


def test_every_act_of_the_table_has_an_example_here(people):
    case = register(people)
    for act in all_acts():
        assert _example(act.name, people, case, people.clerk) is not None, act.name


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_acts_offered_are_exactly_the_acts_the_services_accept(people, scenario):
    case_id = SCENARIOS[scenario](people).pk
    mismatches = []
    for person in PEOPLE:
        user = getattr(people, person)
        case = Case.objects.select_related("tier").get(pk=case_id)
        offered = {act.name for act in available_acts(user, case)}
        for act in all_acts():
            data = _example(act.name, people, case, user)
            try:
                accepted = _accepted_by_the_service(act, user, case, data)
            except ValidationError as error:
                mismatches.append((person, act.name, "input refused", error.messages))
                continue
            if accepted != (act.name in offered):
                mismatches.append((person, act.name, "offered" if act.name in offered
                                   else "not offered", "accepted" if accepted else "refused"))
    assert not mismatches, f"{scenario}: {mismatches}"


@pytest.mark.parametrize("scenario", ["received_web", "accepted", "dispatched", "in_handling",
                                      "submitted_head", "approved", "replied", "visited"])
def test_the_case_page_and_the_api_offer_the_same_acts(people, client, scenario):
    from rest_framework.test import APIClient

    case = SCENARIOS[scenario](people)
    for person in PEOPLE:
        user = getattr(people, person)
        offered = available_acts(user, Case.objects.get(pk=case.pk))
        client.force_login(user)
        page = client.get(reverse("cases:detail", args=[case.number]))
        api = APIClient()
        api.force_authenticate(user)
        answer = api.get(reverse("api-case", args=[case.number]))
        if page.status_code == 404:  # not visible to this person: no door at all
            assert answer.status_code == 404 and not offered, person
            continue
        assert {button["url"] for button in page.context["acts"]} == {
            act_url(case, act) for act in offered}, person
        assert answer.json()["acts"] == [act.name for act in offered], person
