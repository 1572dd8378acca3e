"""The office's rules, one per test, through the services."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cases import selectors
from cases.exceptions import CaseTransitionError
from cases.models import Case, CaseEvent, Channel, ReviewStage, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from tests.factories import PetitionerFactory, drive_to, register


def test_registering_writes_the_case_and_its_first_event(world):
    case = register(world)
    assert case.state == State.RECEIVED
    assert case.registered_by == world.clerk
    event = case.events.get()
    assert (event.action, event.from_state, event.to_state) == ("register", "", State.RECEIVED)
    assert event.actor == world.clerk


def test_the_public_may_register_only_through_the_web_form(world):
    with pytest.raises(PermissionDenied):
        register(world, actor=None, channel=Channel.PHONE)
    assert register(world, actor=None, channel=Channel.WEB).registered_by is None


def test_a_handler_cannot_register_a_case(world):
    with pytest.raises(PermissionDenied):
        register(world, actor=world.handler)
    assert not Case.objects.exists()


def test_bad_registration_input_names_the_field_and_writes_nothing(world):
    with pytest.raises(ValidationError) as error:
        register(world, summary="", content="   ")
    assert {"summary", "content"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError) as error:
        register(world, channel="pigeon")
    assert "channel" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        register(world, is_collective=True, head_count=None)
    assert "head_count" in error.value.message_dict
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()


def test_a_confidential_petitioner_makes_the_case_confidential(world):
    petitioner = PetitionerFactory(wants_confidentiality=True)
    case = register(world, petitioner=petitioner)
    assert case.is_confidential
    assert not selectors.shows_identity(world.handler, case)
    assert selectors.shows_identity(world.dispatcher, case)


def test_linking_an_earlier_case_flags_a_repeat(world):
    earlier = register(world)
    repeat = register(world, earlier_case=earlier)
    assert repeat.is_repeat and repeat.earlier_case == earlier


def test_accepting_uses_the_category_tier_and_starts_the_clock(world, travel):
    travel.to(timezone.make_aware(timezone.datetime(2026, 3, 10, 10, 0)))
    case = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk)
    assert case.tier.code == "T3"
    assert case.accepted_at == timezone.now()
    assert timezone.localtime(case.due_at) == timezone.make_aware(
        timezone.datetime(2026, 3, 19, 10, 0)
    )


def test_accepting_with_an_unknown_tier_names_the_field(world):
    case = register(world)
    with pytest.raises(ValidationError) as error:
        intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code="T9")
    assert "tier" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


def test_the_platform_deadline_wins_when_it_is_earlier(world):
    platform_due = timezone.now() + timedelta(hours=5)
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0001",
                    platform_due_at=platform_due)
    case = intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    assert case.due_at == platform_due
    assert case.events.last().data["platform_due_at"] is True


def test_a_handler_of_another_department_cannot_act_on_the_case(world):
    case = drive_to(world, State.DISPATCHED)  # dispatched to department A
    for act in (
        lambda: dispatch_acts.department_accept_case(actor=world.handler_b, case_id=case.pk),
        lambda: dispatch_acts.return_case(actor=world.handler_b, case_id=case.pk, reason="不属本部门"),
    ):
        with pytest.raises(PermissionDenied):
            act()
    assert Case.objects.get(pk=case.pk).state == State.DISPATCHED
    assert case.events.count() == 3


def test_a_head_of_another_department_cannot_approve_the_result(world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    with pytest.raises(PermissionDenied):
        dispatch_acts.approve_result(actor=world.head_b, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).review_stage == ReviewStage.HEAD


def test_a_clerk_cannot_dispatch(world):
    case = drive_to(world, State.ACCEPTED)
    with pytest.raises(PermissionDenied):
        dispatch_acts.dispatch_case(actor=world.clerk, case_id=case.pk, lead_department_id=world.a.pk)


def test_a_handler_sees_only_the_cases_of_the_department(world):
    case_a = drive_to(world, State.DISPATCHED)
    assert selectors.visible_cases(world.handler).filter(pk=case_a.pk).exists()
    assert not selectors.visible_cases(world.handler_b).filter(pk=case_a.pk).exists()


def test_an_assisting_department_sees_the_case(world):
    case = drive_to(world, State.ACCEPTED)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                           lead_department_id=world.a.pk,
                           assisting_department_ids=[world.b.pk])
    assert list(selectors.visible_cases(world.handler_b)) == [case]


def test_dispatch_needs_a_category(world):
    case = register(world, category=None)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    with pytest.raises(ValidationError) as error:
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                    lead_department_id=world.a.pk)
    assert "category" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).lead_department is None


def test_dispatch_to_an_unknown_department_names_the_field(world):
    case = drive_to(world, State.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk, lead_department_id=999)
    assert "lead_department" in error.value.message_dict


def test_an_escalated_case_waits_for_the_instruction_before_dispatch(world):
    case = drive_to(world, State.ACCEPTED)
    dispatch_acts.escalate_case(actor=world.dispatcher, case_id=case.pk, note="呈领导批示")
    with pytest.raises(CaseTransitionError, match="批示"):
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                               lead_department_id=world.a.pk)
    with pytest.raises(PermissionDenied):
        dispatch_acts.instruct_case(actor=world.dispatcher, case_id=case.pk, instruction="办")
    dispatch_acts.instruct_case(actor=world.supervisor, case_id=case.pk,
                           instruction="请城管局牵头，一周内答复")
    case = dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                  lead_department_id=world.a.pk)
    assert case.state == State.DISPATCHED
    assert case.handling_mode == "escalated"


def test_a_department_returns_within_the_window_and_the_return_is_counted(world, travel):
    case = drive_to(world, State.DISPATCHED)
    travel.shift(hours=23)
    case = dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="属住建局职责")
    assert case.state == State.RETURNED
    assert case.return_count == 1
    case = dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                  lead_department_id=world.b.pk)
    assert case.lead_department == world.b
    assert case.events.last().data["redispatch"] is True


def test_a_department_cannot_return_a_case_after_the_window(world, travel):
    case = drive_to(world, State.DISPATCHED)
    travel.shift(hours=25)  # T3's window is 24 hours
    with pytest.raises(CaseTransitionError, match="退单时限"):
        dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门")
    assert Case.objects.get(pk=case.pk).state == State.DISPATCHED


def test_a_refused_return_goes_back_to_the_same_department(world):
    case = drive_to(world, State.RETURNED)
    case = dispatch_acts.refuse_return(actor=world.dispatcher, case_id=case.pk, reason="属城管职责")
    assert case.state == State.DISPATCHED
    assert case.lead_department == world.a
    assert case.return_count == 1


def test_the_review_chain_of_a_normal_case(world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    with pytest.raises(PermissionDenied):
        dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)  # head first
    assert dispatch_acts.approve_result(actor=world.head, case_id=case.pk).review_stage == "office"
    with pytest.raises(CaseTransitionError, match="尚未审核通过"):
        feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, content="答复",
                                     channel="phone")
    case = dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    assert case.review_stage == ReviewStage.APPROVED
    case = feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk,
                                        content="已整改完毕", channel="letter").case
    assert case.state == State.REPLIED and case.replied_at is not None


def test_a_sensitive_case_also_needs_a_supervisor(world):
    case = drive_to(world, State.RESULT_SUBMITTED, sensitive=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    case = dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    assert case.review_stage == ReviewStage.SUPERVISOR
    case = dispatch_acts.approve_result(actor=world.supervisor, case_id=case.pk)
    assert case.review_stage == ReviewStage.APPROVED


def test_a_reviewer_sends_the_result_back_to_handling_with_a_note(world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    with pytest.raises(ValidationError) as error:
        dispatch_acts.send_back_result(actor=world.dispatcher, case_id=case.pk, note=" ")
    assert "note" in error.value.message_dict
    case = dispatch_acts.send_back_result(actor=world.dispatcher, case_id=case.pk,
                                     note="请补充整改前后照片")
    assert case.state == State.IN_HANDLING and case.review_stage == ""
    assert case.events.last().note == "请补充整改前后照片"


def test_a_directly_handled_case_skips_the_department_head(world):
    case = drive_to(world, State.ACCEPTED)
    case = dispatch_acts.handle_directly(actor=world.dispatcher, case_id=case.pk)
    assert case.lead_department == world.office
    # The office works its own case: a department handler may not submit its result.
    with pytest.raises(PermissionDenied):
        dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="已调查",
                                    opinion="已调查", result="已调查", is_solved=True)
    case = dispatch_acts.submit_result(actor=world.dispatcher, case_id=case.pk,
                                       findings="已调查", opinion="已调查", result="已调查",
                                       is_solved=True).case
    assert case.review_stage == ReviewStage.OFFICE


def test_an_unsatisfied_visit_reopens_the_case_and_counts_it(world):
    case = drive_to(world, State.REPLIED)
    case = feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True, case_id=case.pk, is_solved=False,
                                        satisfaction="unsatisfied", comments="路灯仍不亮").case
    assert case.state == State.IN_HANDLING
    assert case.reopen_count == 1
    assert [e.action for e in case.events.order_by("-pk")[:2]] == ["reopen", "record_return_visit"]
    assert case.lead_department == world.a


def test_a_visit_with_an_unknown_satisfaction_names_the_field(world):
    case = drive_to(world, State.REPLIED)
    with pytest.raises(ValidationError) as error:
        feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True, case_id=case.pk, is_solved=True,
                                     satisfaction="great")
    assert "satisfaction" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.REPLIED


def test_archiving_keeps_a_valid_invalid_case_reason_only(world):
    case = drive_to(world, State.ANSWERED)
    with pytest.raises(ValidationError) as error:
        feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk, invalid_reason="lazy")
    assert "invalid_reason" in error.value.message_dict
    case = feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk,
                                 invalid_reason="consultation")
    assert case.state == State.ARCHIVED and case.invalid_reason == "consultation"


def test_merging_needs_another_existing_case(world):
    case = register(world)
    with pytest.raises(ValidationError) as error:
        intake_acts.merge_case(actor=world.clerk, case_id=case.pk, into_number=case.number)
    assert "into_number" in error.value.message_dict
    earlier = register(world)
    intake_acts.merge_case(actor=world.clerk, case_id=case.pk, into_number=earlier.number)
    assert earlier.events.last().action == "merged_in"


def test_every_version_of_the_case_is_kept(world):
    case = drive_to(world, State.IN_HANDLING)
    versions = list(case.history.order_by("history_date").values_list("state", flat=True))
    assert versions == ["received", "accepted", "dispatched", "in_handling"]
