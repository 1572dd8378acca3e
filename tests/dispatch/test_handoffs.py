"""Every handoff tells the next person, once: in the app and by e-mail after commit."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from cases.models import Notification, State
from dispatch import services
from feedback import services as feedback_services
from tests.factories import drive_to


@pytest.fixture
def mailed(world):
    for person in (world.handler, world.head, world.handler_b, world.head_b, world.dispatcher,
                   world.clerk, world.supervisor):
        person.email = f"{person.username}@example.org"
        person.save(update_fields=["email"])
    return world


def told(kind, case):
    return sorted(Notification.objects.filter(kind=kind, case=case)
                  .values_list("recipient__username", flat=True))


def test_a_dispatch_reaches_the_lead_and_assisting_departments_at_once(
        mailed, django_capture_on_commit_callbacks):
    world = mailed
    case = drive_to(world, State.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                               lead_department_id=world.a.pk,
                               assisting_department_ids=[world.b.pk])
    assert told("dispatched", case) == ["handler", "handler_b", "head", "head_b"]
    lead = Notification.objects.get(kind="dispatched", case=case, recipient=world.handler)
    assert "主办" in lead.title and case.number in lead.title
    assert {m.to[0] for m in mail.outbox} == {"handler@example.org", "head@example.org",
                                              "handler_b@example.org", "head_b@example.org"}


def test_a_return_tells_the_dispatchers(world):
    case = drive_to(world, State.DISPATCHED)
    services.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门职责")
    assert told("returned", case) == ["dispatcher"]


def test_each_review_stage_tells_the_next_reviewer_and_then_the_reply_desk(world):
    case = drive_to(world, State.IN_HANDLING)
    services.submit_result(actor=world.handler, case_id=case.pk, findings="核实",
                           opinion="整改", result="已整改", is_solved=True)
    assert told("result_submitted", case) == ["head"]
    services.approve_result(actor=world.head, case_id=case.pk)
    assert told("result_submitted", case) == ["dispatcher", "head"]
    services.approve_result(actor=world.dispatcher, case_id=case.pk)
    assert told("approved", case) == ["clerk"]  # the approving dispatcher is not told


def test_sent_back_tells_the_handler(world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    services.send_back_result(actor=world.head, case_id=case.pk, note="请补充照片")
    assert told("sent_back", case) == ["handler"]


def test_a_reopening_tells_the_department(world):
    case = drive_to(world, State.VISITED)
    feedback_services.reopen_case(actor=world.supervisor, case_id=case.pk, reason="整改不到位")
    assert told("reopened", case) == ["handler"]


def test_an_extension_decision_tells_the_handler(world):
    case = drive_to(world, State.IN_HANDLING)
    request = services.request_extension(actor=world.handler, case_id=case.pk, reason="等待鉴定",
                                         requested_due_at=case.due_at + timedelta(days=3))
    # Within the tier's limit the office decides too (beyond it, supervisors alone).
    assert told("extension_requested", case) == ["dispatcher", "supervisor"]
    services.decide_extension(actor=world.supervisor, case_id=case.pk, decision="approve")
    request.refresh_from_db()
    assert request.state == "approved" and told("extension_approved", case) == ["handler"]


def test_a_handoff_that_rolls_back_sends_nothing(mailed, django_capture_on_commit_callbacks):
    world = mailed
    case = drive_to(world, State.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Exception):
            services.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                   lead_department_id=world.a.pk,
                                   assisting_department_ids=[999999])
    assert not Notification.objects.filter(kind="dispatched").exists()
    assert not mail.outbox


def test_each_kind_can_be_read_alone_in_the_notification_centre(client, world):
    case = drive_to(world, State.DISPATCHED)
    services.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门职责")
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:notifications"), {"kind": "returned"})
    assert [n.kind for n in page.context["page"]] == ["returned"]
    assert "退单" in dict(page.context["kinds"])["returned"]
