"""Dispatch and handling: the office's rules, one per test."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cases.exceptions import CaseTransitionError
from cases.models import Case, Notification, State
from dispatch import selectors, services
from dispatch.models import ExtensionRequest, HandlingNote, HandlingResult, RoutingRule
from tests.factories import drive_to, register


def test_dispatch_with_a_changed_tier_needs_a_reason(world):
    case = drive_to(world, State.ACCEPTED)  # T3 from its category
    with pytest.raises(ValidationError) as error:
        services.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                          lead_department=world.a.pk, tier="T1")
    assert "tier_change_reason" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).tier.code == "T3"
    case = services.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                             lead_department=world.a.pk, tier="T1",
                             tier_change_reason="燃气泄漏，危及安全")
    assert (case.state, case.tier.code) == (State.DISPATCHED, "T1")
    assert case.due_at == case.accepted_at + timedelta(hours=2)
    assert case.events.filter(action="change_tier").get().note == "燃气泄漏，危及安全"


def test_each_handling_mode(world):
    assigned = services.dispatch(actor=world.dispatcher, case_id=drive_to(world, State.ACCEPTED).pk,
                                 mode="assigned", lead_department=world.a.pk,
                                 assisting_departments=[world.b.pk])
    assert assigned.state == State.DISPATCHED and list(assigned.assisting_departments.all()) == [world.b]
    direct = services.dispatch(actor=world.dispatcher, case_id=drive_to(world, State.ACCEPTED).pk,
                               mode="direct")
    assert direct.state == State.IN_HANDLING and direct.lead_department == world.office
    escalated = services.dispatch(actor=world.dispatcher,
                                  case_id=drive_to(world, State.ACCEPTED).pk, mode="escalated")
    assert (escalated.state, escalated.handling_mode) == (State.ACCEPTED, "escalated")
    assert Notification.objects.filter(recipient=world.supervisor, kind="escalated").exists()


def test_assigned_mode_needs_a_lead_department(world):
    case = drive_to(world, State.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        services.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned")
    assert "lead_department" in error.value.message_dict


def test_routing_suggests_rules_then_history_then_the_default(world):
    case = register(world, content="幸福路夜市噪音扰民")
    RoutingRule.objects.create(keywords="噪音 扰民", department=world.b, priority=1)
    suggestions = selectors.routing_suggestions(case)
    assert [s.department for s in suggestions][:2] == [world.b, world.a]
    assert "规则" in suggestions[0].reason


def test_the_first_contact_that_reaches_the_petitioner_marks_the_response(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    services.add_note(actor=world.handler, case_id=case.pk, kind="contact", text="电话未接通",
                      contact_method="phone", reached=False)
    assert Case.objects.get(pk=case.pk).responded_at is None
    first = timezone.now() - timedelta(minutes=5)
    services.add_note(actor=world.handler, case_id=case.pk, kind="contact", text="已电话联系",
                      contact_method="phone", reached=True, happened_at=first)
    services.add_note(actor=world.handler, case_id=case.pk, kind="contact", text="再次回电",
                      contact_method="phone", reached=True)
    assert Case.objects.get(pk=case.pk).responded_at == first
    assert case.events.filter(action="contact").count() == 3


def test_a_contact_needs_its_method_and_outcome(world):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(ValidationError) as error:
        services.add_note(actor=world.handler, case_id=case.pk, kind="contact", text="联系")
    assert "contact_method" in error.value.message_dict
    assert not HandlingNote.objects.exists()


def test_an_assisting_department_writes_to_the_lead_but_not_as_the_lead(world):
    case = drive_to(world, State.ACCEPTED)
    services.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                      lead_department=world.a.pk, assisting_departments=[world.b.pk])
    note = services.add_note(actor=world.handler_b, case_id=case.pk, kind="assist",
                             text="我局配合核查房屋产权")
    assert note.department == world.b
    with pytest.raises(ValidationError) as error:
        services.add_note(actor=world.handler_b, case_id=case.pk, kind="investigation",
                          text="越权记录")
    assert "kind" in error.value.message_dict


def test_another_department_cannot_write_on_the_case(world):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(PermissionDenied):
        services.add_note(actor=world.handler_b, case_id=case.pk, kind="investigation", text="x")


def test_an_extension_approved_moves_the_deadline_and_keeps_the_old_one(world):
    case = drive_to(world, State.IN_HANDLING)
    original = case.due_at
    request = services.request_extension(actor=world.handler, case_id=case.pk,
                                         reason="需等待房屋安全鉴定结果",
                                         requested_due_at=original + timedelta(days=5))
    assert Notification.objects.filter(recipient=world.supervisor,
                                       kind="extension_requested").exists()
    with pytest.raises(PermissionDenied):
        services.approve_extension(actor=world.dispatcher, request_id=request.pk)
    services.approve_extension(actor=world.supervisor, request_id=request.pk, note="同意")
    case.refresh_from_db()
    assert case.due_at == original + timedelta(days=5) and case.extension_count == 1
    assert case.history.filter(due_at=original).exists()
    assert ExtensionRequest.objects.get().state == "approved"


def test_an_extension_refused_leaves_the_deadline(world):
    case = drive_to(world, State.IN_HANDLING)
    request = services.request_extension(actor=world.handler, case_id=case.pk, reason="人手不足",
                                         requested_due_at=case.due_at + timedelta(days=3))
    with pytest.raises(ValidationError):
        services.refuse_extension(actor=world.supervisor, request_id=request.pk, note="")
    services.refuse_extension(actor=world.supervisor, request_id=request.pk,
                              note="理由不充分，请按期办结")
    assert Case.objects.get(pk=case.pk).due_at == case.due_at
    with pytest.raises(CaseTransitionError):
        services.approve_extension(actor=world.supervisor, request_id=request.pk)


def test_an_extension_must_be_asked_before_the_deadline(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    with pytest.raises(CaseTransitionError, match="期限届满前"):
        services.request_extension(actor=world.handler, case_id=case.pk, reason="来不及",
                                   requested_due_at=case.due_at + timedelta(days=3))


def test_one_pending_extension_at_a_time(world):
    case = drive_to(world, State.IN_HANDLING)
    later = case.due_at + timedelta(days=3)
    services.request_extension(actor=world.handler, case_id=case.pk, reason="等待鉴定",
                               requested_due_at=later)
    with pytest.raises(CaseTransitionError, match="已有一份延期申请在审批中"):
        services.request_extension(actor=world.handler, case_id=case.pk, reason="再申请",
                                   requested_due_at=later)


def test_the_written_result_enters_the_review_chain(world):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(ValidationError) as error:
        services.submit_result(actor=world.handler, case_id=case.pk, findings="", opinion="",
                               result="已整改", is_solved=True)
    assert {"findings", "opinion"} <= set(error.value.message_dict)
    result = services.submit_result(actor=world.handler, case_id=case.pk,
                                    findings="现场核查属实", opinion="责令限期整改",
                                    result="摊位已清理", is_solved=True)
    case.refresh_from_db()
    assert (case.state, case.review_stage) == (State.RESULT_SUBMITTED, "head")
    assert result.result == "摊位已清理"
    assert HandlingResult.objects.get() == result


def test_the_head_assigns_a_handler_of_the_department(world):
    case = drive_to(world, State.DISPATCHED)

    with pytest.raises(ValidationError):
        services.assign_handler(actor=world.head, case_id=case.pk,
                                     handler=world.handler_b.pk)
    with pytest.raises(PermissionDenied):
        services.assign_handler(actor=world.head_b, case_id=case.pk,
                                     handler=world.handler.pk)
    case = services.assign_handler(actor=world.head, case_id=case.pk,
                                        handler=world.handler.pk)
    assert case.handler == world.handler
