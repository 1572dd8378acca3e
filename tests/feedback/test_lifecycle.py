"""The whole life of a case through the services, as DESIGN draws it."""

from cases.models import State
from dispatch import services as dispatch
from feedback import services as feedback
from intake import services as intake
from tests.intake.helpers import token


def register_and_accept(world):
    return intake.register_intake(
        actor=world.clerk, submission_token=token(),
        petitioner={"name": "孙丽华", "phone": "13911112222"},
        matter={"channel": "visit", "summary": "楼下餐馆油烟直排",
                "content": "油烟未经净化直排，住户无法开窗。", "category": world.category},
        outcome="accept")


def handle_to_reply(world, case, *, result):
    dispatch.add_note(actor=world.handler, case_id=case.pk, kind="contact", text="电话联系",
                      contact_method="phone", reached=True)
    dispatch.submit_result(actor=world.handler, case_id=case.pk, findings="核实属实",
                           opinion="责令整改", result=result, is_solved=True)
    dispatch.approve_result(actor=world.head, case_id=case.pk)
    dispatch.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone", content=result)


def test_register_to_archive(world):
    case = register_and_accept(world)
    dispatch.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                      lead_department=world.a.pk)
    dispatch.department_accept_case(actor=world.handler, case_id=case.pk)
    handle_to_reply(world, case, result="已加装净化设备")
    feedback.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=True, satisfaction="satisfied")
    case = feedback.archive_case(actor=world.dispatcher, case_id=case.pk)
    assert case.state == State.ARCHIVED and case.responded_at is not None
    assert [e.to_state for e in case.events.exclude(from_state=models_same()).order_by("pk")] == [
        "received", "accepted", "dispatched", "in_handling", "result_submitted", "replied",
        "visited", "archived"]


def models_same():
    # events that keep the state (notes, approvals at intermediate stages) carry from == to
    from django.db.models import F

    return F("to_state")


def test_an_unsatisfied_visit_reopens_and_the_case_closes_after_the_second_round(world):
    case = register_and_accept(world)
    dispatch.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                      lead_department=world.a.pk)
    dispatch.department_accept_case(actor=world.handler, case_id=case.pk)
    handle_to_reply(world, case, result="已约谈店主")
    feedback.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=False, satisfaction="unsatisfied", comments="还在直排")
    case.refresh_from_db()
    assert (case.state, case.reopen_count) == (State.IN_HANDLING, 1)
    handle_to_reply(world, case, result="已加装净化设备并复查")
    feedback.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=True, satisfaction="basically")
    case = feedback.archive_case(actor=world.dispatcher, case_id=case.pk)
    assert case.state == State.ARCHIVED
    assert case.replies.count() == 2 and case.return_visits.count() == 2
