"""The JSON API: token authentication, the same services and checks as the forms."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, State
from tests.factories import UserFactory, drive_to, register
from cases.roles import Role


@pytest.fixture
def platform(world):
    """The city 12345 platform's account: a clerk role with a token."""
    user = UserFactory(username="platform-12345", roles=[Role.CLERK])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def body(world, **overrides):
    data = {"channel": "hotline_12345", "summary": "小区停水两天", "content": "滨河小区6号楼停水两天，无人通知。",
            "petitioner": {"name": "王芳", "phone": "18644445555"},
            "category": world.category.pk, "external_reference": "12345-20261122-0001",
            "platform_due_at": "2030-01-01T12:00:00+08:00", "outcome": "accept"}
    data.update(overrides)
    return data


def test_the_api_needs_a_token(client, world):
    response = client.post(reverse("api-cases"), body(world), content_type="application/json")
    assert response.status_code in (401, 403)
    assert not Case.objects.exists()


@pytest.mark.parametrize("channel", ["visit", "phone", "letter", "email", "web", "hotline_12345"])
def test_each_channel_registers_through_the_api(platform, world, channel):
    response = platform.post(reverse("api-cases"), body(world, channel=channel), format="json")
    assert response.status_code == 201, response.json()
    case = Case.objects.get(number=response.json()["number"])
    assert (case.channel, case.state) == (channel, State.ACCEPTED)
    assert response.json()["state"] == "accepted" and response.json()["due_at"]
    assert case.external_reference == "12345-20261122-0001"
    assert case.platform_due_at is not None
    assert list(case.events.values_list("action", flat=True)) == ["register", "accept"]


@pytest.mark.parametrize(
    ("outcome", "extra", "state"),
    [
        ("leave", {}, State.RECEIVED),
        ("accept", {"tier": "T2"}, State.ACCEPTED),
        ("answer", {"answer": "已告知停水原因"}, State.ANSWERED),
        ("refuse", {"refusal_reason": "属诉讼事项", "refusal_guidance": "请向法院起诉"},
         State.REFUSED),
    ],
)
def test_each_outcome_through_the_api(platform, world, outcome, extra, state):
    response = platform.post(reverse("api-cases"), body(world, outcome=outcome, **extra),
                             format="json")
    assert response.status_code == 201, response.json()
    assert Case.objects.get().state == state


def test_merging_through_the_api(platform, world):
    earlier = register(world)
    response = platform.post(reverse("api-cases"),
                             body(world, outcome="merge", merge_into=earlier.number),
                             format="json")
    assert response.json()["state"] == "merged"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"petitioner": {"name": "王芳", "phone": "abc"}}, "petitioner.phone"),
        ({"content": ""}, "content"),
        ({"content": "长" * 5001}, "content"),
        ({"category": 99999}, "category"),
        ({"channel": "pigeon"}, "channel"),
        ({"outcome": "refuse", "refusal_reason": "理由"}, "refusal_guidance"),
        ({"platform_due_at": "next tuesday"}, "platform_due_at"),
    ],
)
def test_bad_input_is_answered_by_field_and_nothing_is_written(platform, world, overrides,
                                                               field):
    response = platform.post(reverse("api-cases"), body(world, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_a_malformed_body_is_a_readable_400(platform, world):
    response = platform.post(reverse("api-cases"), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Case.objects.exists()


def test_the_same_request_id_makes_one_case(platform, world):
    data = body(world, request_id="6f1c9b0e-1d2a-4e3b-9c8d-7a6b5c4d3e2f")
    first = platform.post(reverse("api-cases"), data, format="json").json()
    second = platform.post(reverse("api-cases"), data, format="json").json()
    assert first["number"] == second["number"] and Case.objects.count() == 1


def test_reading_a_case_back(platform, world):
    number = platform.post(reverse("api-cases"), body(world), format="json").json()["number"]
    data = platform.get(reverse("api-case", args=[number])).json()
    assert data["state"] == "accepted" and data["external_reference"] == "12345-20261122-0001"
    assert [e["action"] for e in data["events"]] == ["register", "accept"]


def test_a_handler_of_another_department_gets_404_for_a_guessed_number(world):
    case = drive_to(world, State.DISPATCHED)
    api = APIClient()
    api.force_authenticate(world.handler_b)
    assert api.get(reverse("api-case", args=[case.number])).status_code == 404
    api.force_authenticate(world.handler)
    assert api.get(reverse("api-case", args=[case.number])).status_code == 200


def test_the_reference_data(platform, world):
    categories = platform.get(reverse("api-categories")).json()
    sub = categories[0]["subcategories"][0]
    assert sub["id"] == world.category.pk and sub["default_tier"] == "T3"
    departments = platform.get(reverse("api-departments")).json()
    assert {d["code"] for d in departments} >= {"A", "B", "OFFICE"}


def test_a_role_without_intake_rights_is_refused_readably(world):
    api = APIClient()
    api.force_authenticate(world.handler)
    response = api.post(reverse("api-cases"), body(world), format="json")
    assert response.status_code == 403 and "登记" in response.json()["detail"]
    assert not Case.objects.exists()


def test_times_are_given_in_the_office_s_zone(platform, world):
    due = platform.post(reverse("api-cases"), body(world), format="json").json()["due_at"]
    assert due.endswith("+08:00")


# Statements of one API registration accepted at once, the reference tables held and the
# year's number row already made: what registration costs, pinned so that it cannot grow
# back unnoticed (issue 17). Lower it when a change saves one; never raise it silently.
# Without a place the repeat check asks the window close first and, its quarters short
# of candidates here, once more lower (a threshold set and a read: two statements).
REGISTER_AND_ACCEPT_STATEMENTS = 27


def test_one_registration_and_acceptance_through_the_api_takes_a_fixed_number_of_statements(
        world, django_capture_on_commit_callbacks, django_assert_num_queries, postgres_only):
    from cases import reference

    with django_capture_on_commit_callbacks(execute=True):  # as if the world had been committed
        reference.changed()
    user = UserFactory(username="api-clerk", roles=[Role.CLERK])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    def post(n: int):
        return api.post(reverse("api-cases"), {
            "channel": "phone", "outcome": "accept", "category": world.category.pk,
            "summary": f"幸福路{n}号占道经营", "content": f"幸福路{n}号门前占道经营，已有三天。",
            "petitioner": {"name": f"市民{n}", "phone": f"1390000{n:04d}"},
            "request_id": f"00000000-0000-4000-8000-{n:012d}"}, format="json")

    assert post(1).status_code == 201  # the held tables read, the year's number row made
    with django_assert_num_queries(REGISTER_AND_ACCEPT_STATEMENTS):
        answer = post(2)
    assert answer.status_code == 201, answer.json()
    case = Case.objects.get(number=answer.json()["number"])
    assert case.state == State.ACCEPTED and case.number.endswith("-000002")
    assert list(case.events.values_list("action", flat=True)) == ["register", "accept"]
    # One version of the case for the one act, as it ended, recorded under its caller.
    assert list(case.history.values_list("number", "state", "history_type", "history_user")) \
        == [(case.number, State.ACCEPTED, "+", user.pk)]
