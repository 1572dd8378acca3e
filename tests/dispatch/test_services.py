"""Dispatch and handling: the office's rules, one per test."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cases.exceptions import CaseTransitionError
from cases.models import Case, Notification, State
from dispatch import selectors, services
from dispatch.models import ExtensionRequest, HandlingNote, HandlingResult, ResponsibilityEntry
from tests.factories import DepartmentFactory, drive_to, register


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


def test_routing_suggests_the_responsibility_list_then_history_then_the_default(world):
    case = register(world, content="幸福路夜市噪音扰民")
    ResponsibilityEntry.objects.create(matter="噪声扰民", keywords="噪音 扰民",
                                       department=world.b, priority=1, version="2026年版")
    suggestions = selectors.routing_suggestions(case)
    assert [s.value for s in suggestions][:2] == [world.b, world.a]
    assert suggestions[0].source == "list"
    assert suggestions[0].reason == "权责清单（2026年版）：噪声扰民"


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
        services.approve_extension(actor=world.clerk, request_id=request.pk)
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


# ---------------------------------------------------------------- corrections: tier, 改派, marks
def test_the_tier_of_a_case_in_handling_is_corrected_with_a_reason_on_the_record(world):
    case = drive_to(world, State.IN_HANDLING)  # T3, with the handler of A
    case = services.change_tier(actor=world.supervisor, case_id=case.pk, tier_code="T1",
                                reason="涉及燃气泄漏，危及安全")
    case.refresh_from_db()
    assert (case.state, case.tier.code) == (State.IN_HANDLING, "T1")
    assert case.due_at == case.accepted_at + timedelta(hours=2)
    assert case.next_action_at is not None and case.next_action_at <= case.due_at
    event = case.events.get(action="change_tier")
    assert (event.actor, event.note) == (world.supervisor, "涉及燃气泄漏，危及安全")
    assert (event.data["from"], event.data["to"]) == ("T3", "T1")
    assert event.data["due_at"]["to"] == case.due_at.isoformat()
    assert Notification.objects.filter(recipient=world.handler, kind="handling",
                                       title__contains="T1").exists()


def test_a_tier_change_grants_again_the_time_an_approved_extension_granted(world):
    case = drive_to(world, State.IN_HANDLING)
    request = services.request_extension(actor=world.handler, case_id=case.pk, reason="等待鉴定",
                                         requested_due_at=case.due_at + timedelta(days=5))
    services.approve_extension(actor=world.supervisor, request_id=request.pk)
    case = services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T1",
                                reason="险情升级")
    assert case.due_at == case.accepted_at + timedelta(hours=2, days=5)
    assert case.extension_count == 1


def test_a_tier_change_keeps_the_platform_deadline_first(world):
    from cases.models import Channel

    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0001",
                    platform_due_at=timezone.now() + timedelta(hours=10))
    from intake import services as intake_services

    case = intake_services.accept_case(actor=world.clerk, case_id=case.pk)
    assert case.due_at == case.platform_due_at  # T3's seven days come after it
    case = services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T1",
                                reason="紧急")
    assert case.due_at == case.accepted_at + timedelta(hours=2)
    case = services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T2",
                                reason="经核实属水电气暖")
    assert case.due_at == case.platform_due_at


def test_a_reopened_case_counts_its_new_tier_from_the_reopening(world, travel):
    from feedback import services as feedback_services

    case = drive_to(world, State.VISITED)
    travel.shift(days=1)
    feedback_services.reopen_case(actor=world.supervisor, case_id=case.pk, reason="整改不到位")
    case = services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T2",
                                reason="涉及供水")
    assert case.due_at == case.reopened_at + timedelta(hours=24)


def test_only_dispatchers_supervisors_and_administrators_correct_the_tier(world):
    case = drive_to(world, State.DISPATCHED)
    for person in (world.clerk, world.handler, world.head):
        with pytest.raises(PermissionDenied):
            services.change_tier(actor=person, case_id=case.pk, tier_code="T1", reason="紧急")
    assert Case.objects.get(pk=case.pk).tier.code == "T3"
    case = services.change_tier(actor=world.admin, case_id=case.pk, tier_code="T1",
                                reason="登记时定级错误")
    assert case.events.get(action="change_tier").actor == world.admin


@pytest.mark.parametrize("tier_code, reason, field", [
    ("T1", "  ", "reason"), ("T9", "紧急", "tier_code"), ("T3", "不变", "tier_code")])
def test_a_tier_change_needs_a_reason_and_another_tier(world, tier_code, reason, field):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(ValidationError) as error:
        services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code=tier_code,
                             reason=reason)
    assert field in error.value.message_dict
    unchanged = Case.objects.get(pk=case.pk)
    assert (unchanged.tier.code, unchanged.due_at) == ("T3", case.due_at)
    assert not unchanged.events.filter(action="change_tier").exists()


@pytest.mark.parametrize("state", [State.RECEIVED, State.REPLIED, State.ARCHIVED])
def test_only_an_accepted_open_case_has_its_tier_corrected(world, state):
    case = drive_to(world, state)
    with pytest.raises(CaseTransitionError):
        services.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T1",
                             reason="紧急")


def test_a_case_not_yet_signed_for_is_redispatched_to_another_department(world, travel):
    case = drive_to(world, State.ACCEPTED)
    case = services.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                  lead_department_id=world.a.pk,
                                  assisting_department_ids=[world.b.pk])
    travel.shift(hours=20)
    case = services.change_lead_department(actor=world.dispatcher, case_id=case.pk,
                                           lead_department=world.b.pk,
                                           reason="经核实属住建部门职责")
    case.refresh_from_db()
    assert (case.state, case.lead_department) == (State.DISPATCHED, world.b)
    assert list(case.assisting_departments.all()) == []  # never lead and assisting
    assert case.dispatched_at == timezone.now()  # B's return window starts now
    event = case.events.get(action="change_lead_department")
    assert (event.data["from"], event.data["to"]) == (world.a.pk, world.b.pk)
    assert event.note == "经核实属住建部门职责"
    assert Notification.objects.filter(recipient=world.handler_b, kind="dispatched",
                                       title__contains="改派").exists()
    assert Notification.objects.filter(recipient=world.head_b, kind="dispatched").exists()
    assert Notification.objects.filter(recipient=world.handler, kind="handling",
                                       title__contains="改派").exists()


def test_a_case_in_handling_redispatched_waits_for_the_new_departments_handler(world):
    case = drive_to(world, State.IN_HANDLING)
    assert case.handler == world.handler
    case = services.change_lead_department(actor=world.dispatcher, case_id=case.pk,
                                           lead_department=world.b.pk, reason="职责调整")
    case.refresh_from_db()
    assert (case.state, case.lead_department, case.handler) == (State.IN_HANDLING, world.b,
                                                                None)
    with pytest.raises(PermissionDenied):  # A no longer works it
        services.add_note(actor=world.handler, case_id=case.pk, kind="investigation",
                          text="继续核查")


def test_only_a_dispatcher_or_an_administrator_redispatches(world):
    case = drive_to(world, State.DISPATCHED)
    for person in (world.supervisor, world.clerk, world.handler, world.head):
        with pytest.raises(PermissionDenied):
            services.change_lead_department(actor=person, case_id=case.pk,
                                            lead_department=world.b.pk, reason="职责调整")
    assert Case.objects.get(pk=case.pk).lead_department == world.a


def test_a_redispatch_needs_another_active_department_and_a_reason(world):
    case = drive_to(world, State.DISPATCHED)
    retired = DepartmentFactory(name="已撤销的部门", code="Z", is_active=False)
    for department, reason, field in [
            (world.a.pk, "职责调整", "lead_department"), (world.office.pk, "职责调整", "lead_department"),
            (retired.pk, "职责调整", "lead_department"), (999999, "职责调整", "lead_department"),
            (world.b.pk, "", "reason")]:
        with pytest.raises(ValidationError) as error:
            services.change_lead_department(actor=world.dispatcher, case_id=case.pk,
                                            lead_department=department, reason=reason)
        assert field in error.value.message_dict, department
    unchanged = Case.objects.get(pk=case.pk)
    assert (unchanged.lead_department, unchanged.handler) == (world.a, case.handler)
    assert not unchanged.events.filter(action="change_lead_department").exists()


def test_a_direct_case_or_one_not_yet_dispatched_is_not_redispatched(world):
    direct = services.handle_directly(actor=world.dispatcher,
                                      case_id=drive_to(world, State.ACCEPTED).pk)
    for case in (direct, drive_to(world, State.ACCEPTED), drive_to(world, State.RETURNED)):
        with pytest.raises(CaseTransitionError):
            services.change_lead_department(actor=world.dispatcher, case_id=case.pk,
                                            lead_department=world.b.pk, reason="职责调整")


def test_marking_a_case_sensitive_is_on_the_record(world):
    case = drive_to(world, State.IN_HANDLING)
    case = services.change_sensitive(actor=world.dispatcher, case_id=case.pk,
                                     is_sensitive=True, reason="网络媒体已有报道")
    assert Case.objects.get(pk=case.pk).is_sensitive
    event = case.events.get(action="change_sensitive")
    assert (event.data, event.note) == ({"from": False, "to": True}, "网络媒体已有报道")
    services.change_sensitive(actor=world.supervisor, case_id=case.pk, is_sensitive=False,
                              reason="经研判舆情已平息")
    assert not Case.objects.get(pk=case.pk).is_sensitive
    assert case.events.filter(action="change_sensitive").last().data == {"from": True,
                                                                          "to": False}


def test_a_case_marked_sensitive_after_the_office_approved_goes_to_a_supervisor(world):
    from feedback import services as feedback_services

    case = drive_to(world, State.IN_HANDLING)
    services.submit_result(actor=world.handler, case_id=case.pk, findings="核实",
                           opinion="处理", result="已办", is_solved=True)
    services.approve_result(actor=world.head, case_id=case.pk)
    services.approve_result(actor=world.dispatcher, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).review_stage == "approved"
    services.change_sensitive(actor=world.dispatcher, case_id=case.pk, is_sensitive=True,
                              reason="信访人扬言向媒体反映")
    case.refresh_from_db()
    assert case.review_stage == "supervisor"
    assert Notification.objects.filter(recipient=world.supervisor,
                                       kind="result_submitted").exists()
    with pytest.raises(CaseTransitionError):
        feedback_services.send_reply(actor=world.dispatcher, case_id=case.pk,
                                     channel="phone", content="已办")
    services.approve_result(actor=world.supervisor, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).review_stage == "approved"


def test_unmarking_does_not_skip_a_supervisor_review_under_way(world):
    case = drive_to(world, State.IN_HANDLING, sensitive=True)
    services.submit_result(actor=world.handler, case_id=case.pk, findings="核实",
                           opinion="处理", result="已办", is_solved=True)
    services.approve_result(actor=world.head, case_id=case.pk)
    services.approve_result(actor=world.dispatcher, case_id=case.pk)
    services.change_sensitive(actor=world.dispatcher, case_id=case.pk, is_sensitive=False,
                              reason="误标")
    assert Case.objects.get(pk=case.pk).review_stage == "supervisor"


def test_only_dispatchers_supervisors_and_administrators_mark_a_case_sensitive(world):
    case = drive_to(world, State.DISPATCHED)
    for person in (world.clerk, world.handler, world.head):
        with pytest.raises(PermissionDenied):
            services.change_sensitive(actor=person, case_id=case.pk, is_sensitive=True,
                                      reason="舆情")
    assert not Case.objects.get(pk=case.pk).is_sensitive


def test_a_mark_set_to_what_it_already_is_names_the_field(world):
    case = drive_to(world, State.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        services.change_sensitive(actor=world.dispatcher, case_id=case.pk, is_sensitive=False,
                                  reason="无")
    assert "is_sensitive" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.change_confidential(actor=world.dispatcher, case_id=case.pk,
                                     is_confidential=None, reason="信访人要求")
    assert "is_confidential" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.change_confidential(actor=world.dispatcher, case_id=case.pk,
                                     is_confidential=True, reason="")
    assert "reason" in error.value.message_dict
    assert not Case.objects.get(pk=case.pk).is_confidential
    assert not case.events.filter(action__in=["change_sensitive",
                                              "change_confidential"]).exists()


def test_marking_a_case_confidential_hides_the_petitioner_from_the_department(world):
    from cases.selectors import shows_identity

    case = drive_to(world, State.IN_HANDLING)
    assert shows_identity(world.handler, case)
    case = services.change_confidential(actor=world.clerk, case_id=case.pk,
                                        is_confidential=True, reason="信访人担心被打击报复")
    assert not shows_identity(world.handler, Case.objects.get(pk=case.pk))
    event = case.events.get(action="change_confidential")
    assert (event.actor, event.data, event.note) == (
        world.clerk, {"from": False, "to": True}, "信访人担心被打击报复")


def test_a_petitioner_who_asked_for_confidentiality_keeps_it(world):
    world.petitioner.wants_confidentiality = True
    world.petitioner.save()
    case = drive_to(world, State.ACCEPTED)
    assert case.is_confidential
    with pytest.raises(ValidationError) as error:
        services.change_confidential(actor=world.supervisor, case_id=case.pk,
                                     is_confidential=False, reason="无需保密")
    assert "is_confidential" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).is_confidential


def test_only_office_staff_supervisors_and_administrators_mark_a_case_confidential(world):
    case = drive_to(world, State.IN_HANDLING)
    for person in (world.handler, world.head, world.handler_b):
        with pytest.raises(PermissionDenied):
            services.change_confidential(actor=person, case_id=case.pk, is_confidential=True,
                                         reason="保密")
    for person, value in ((world.supervisor, True), (world.admin, False)):
        services.change_confidential(actor=person, case_id=case.pk, is_confidential=value,
                                     reason="核实后调整")
    assert case.events.filter(action="change_confidential").count() == 2
