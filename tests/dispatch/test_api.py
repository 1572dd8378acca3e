"""The transitions API: the same acts, checks and errors as the pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, State
from dispatch import services as dispatch_acts
from tests.factories import drive_to


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def move(user, case, name, **body):
    return api_as(user).post(reverse("api-transition", args=[case.number, name]), body,
                             format="json")


def test_the_whole_handling_chain_through_the_api(world):
    case = drive_to(world, State.ACCEPTED)
    assert move(world.dispatcher, case, "dispatch", lead_department=world.a.pk,
                assisting_departments=[world.b.pk]).json()["state"] == "dispatched"
    assert move(world.handler, case, "department_accept").json()["state"] == "in_handling"
    response = move(world.handler, case, "submit_result", findings="核实属实", opinion="整改",
                    result="已整改", is_solved=True)
    assert response.json()["state"] == "result_submitted"
    move(world.head, case, "approve_result")
    move(world.dispatcher, case, "approve_result")
    assert move(world.dispatcher, case, "reply", content="已整改",
                channel="phone").json()["state"] == "replied"


def test_a_refused_move_is_409_and_changes_nothing(world):
    case = drive_to(world, State.DISPATCHED)
    before = CaseEvent.objects.count()
    response = move(world.dispatcher, case, "reply", content="x", channel="phone")
    assert response.status_code == 409 and case.number in response.json()["detail"]
    assert CaseEvent.objects.count() == before


def test_a_missing_field_is_named(world):
    case = drive_to(world, State.DISPATCHED)
    response = move(world.handler, case, "return")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    case = drive_to(world, State.IN_HANDLING)
    response = move(world.handler, case, "submit_result", findings="a", opinion="b", result="c",
                    is_solved="maybe")
    assert response.status_code == 400 and "is_solved" in response.json()["errors"]


def test_the_wrong_role_is_403_with_the_reason(world):
    case = drive_to(world, State.ACCEPTED)
    response = move(world.clerk, case, "dispatch", lead_department=world.a.pk)
    assert response.status_code == 403 and "无权" in response.json()["detail"]
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_another_department_gets_404_for_a_guessed_number(world):
    case = drive_to(world, State.DISPATCHED)
    assert move(world.handler_b, case, "department_accept").status_code == 404


def test_an_unknown_transition_lists_the_known_ones(world):
    case = drive_to(world, State.DISPATCHED)
    response = move(world.handler, case, "teleport")
    assert response.status_code == 404 and "department_accept" in response.json()["transitions"]


def test_an_extension_through_the_api(world):
    case = drive_to(world, State.IN_HANDLING)
    later = (case.due_at.replace(microsecond=0)).isoformat()
    response = move(world.handler, case, "request_extension", reason="等待鉴定",
                    requested_due_at=later)
    assert response.status_code == 400 and "requested_due_at" in response.json()["errors"]
    response = move(world.handler, case, "request_extension", reason="等待鉴定",
                    requested_due_at=(case.due_at + timedelta(days=5)).isoformat())
    assert response.status_code == 200 and case.extension_requests.count() == 1


def test_a_reply_through_the_api_is_a_full_reply(world):

    case = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    move(world.dispatcher, case, "reply", content="已整改完毕", channel="letter")
    assert case.replies.get().content == "已整改完毕"
    move(world.clerk, case, "record_return_visit", method="phone", reached=True, is_solved=True,
         satisfaction="satisfied")
    assert case.return_visits.get().method == "phone"
