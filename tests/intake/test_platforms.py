"""Platforms as clients: their keys, their tickets, their cases only, strict input."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, State
from cases.roles import Role, has_role
from intake.models import Platform, PlatformAPIKey, PlatformCase
from intake.platforms import ensure_account
from tests.factories import build_world, drive_to, register, run_together

ARABIC_INDIC_PHONE = "١٣٨٠٠١٣٨٠٠٠"


def make_platform(code="p12345", **fields) -> Platform:
    platform = Platform.objects.create(name=f"平台{code}", code=code, **fields)
    return ensure_account(platform)


def key_client(platform, **key_fields):
    _key, secret = PlatformAPIKey.objects.create_key(name="test", platform=platform,
                                                     **key_fields)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return api


@pytest.fixture
def platform(world):
    return make_platform()


@pytest.fixture
def api(platform):
    return key_client(platform)


def ticket_body(world, ticket="12345-0001", **overrides):
    data = {"summary": "小区停水两天", "content": "滨河小区6号楼停水两天，无人通知。",
            "petitioner": {"name": "王芳", "phone": "18644445555"},
            "category": world.category.pk, "external_reference": ticket}
    data.update(overrides)
    return data


def post(api, data):
    return api.post(reverse("api-cases"), data, format="json")


def test_the_platform_account_holds_the_platform_role(platform):
    assert has_role(platform.account, Role.PLATFORM)
    assert not platform.account.has_usable_password()


def test_keys_are_kept_hashed(platform):
    key, secret = PlatformAPIKey.objects.create_key(name="k", platform=platform)
    assert secret not in key.hashed_key and secret.split(".")[1] not in key.hashed_key


def test_a_case_arrives_by_the_platform_s_channel_under_its_ticket(api, platform, world):
    response = post(api, ticket_body(world))
    assert response.status_code == 201, response.json()
    case = Case.objects.get(number=response.json()["number"])
    assert case.channel == platform.channel and case.state == State.RECEIVED
    assert PlatformCase.objects.get(case=case).ticket == "12345-0001"


def test_the_same_ticket_twice_answers_the_first_case(api, world):
    first = post(api, ticket_body(world))
    second = post(api, ticket_body(world, summary="另一个摘要"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"]
    assert Case.objects.count() == 1


def test_two_platforms_may_use_the_same_ticket(api, world):
    other = key_client(make_platform("other"))
    assert post(api, ticket_body(world)).status_code == 201
    assert post(other, ticket_body(world)).status_code == 201
    assert Case.objects.count() == 2


def test_two_posts_of_one_ticket_at_once_make_one_case(committed_db, postgres_only):
    # Real commits (seen by both threads); the seeded rows are restored afterwards.
    world = build_world()
    platform = make_platform()
    clients = [key_client(platform), key_client(platform)]
    data = ticket_body(world)
    answers = run_together(*[lambda c=c: post(c, data) for c in clients])
    assert all(not isinstance(a, Exception) for a in answers), answers
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.json()["number"] for a in answers}) == 1
    assert Case.objects.count() == 1 and PlatformCase.objects.count() == 1


def test_the_platform_finds_its_case_by_ticket(api, world):
    number = post(api, ticket_body(world)).json()["number"]
    found = api.get(reverse("api-cases"), {"external_reference": "12345-0001"})
    assert found.status_code == 200 and [c["number"] for c in found.json()] == [number]
    assert api.get(reverse("api-cases"), {"external_reference": "nope"}).json() == []


def test_a_lookup_without_a_ticket_names_the_field(api, world):
    response = api.get(reverse("api-cases"))
    assert response.status_code == 400 and "external_reference" in response.json()["errors"]


def test_staff_find_by_external_reference_as_they_may_see(world):
    case = register(world)
    Case.objects.filter(pk=case.pk).update(external_reference="T-9")
    staff = APIClient()
    staff.force_authenticate(world.dispatcher)
    found = staff.get(reverse("api-cases"), {"external_reference": "T-9"}).json()
    assert [c["number"] for c in found] == [case.number]


def test_another_platform_s_case_and_the_counter_s_are_404(api, world):
    counter_case = register(world)
    other = key_client(make_platform("other"))
    theirs = post(other, ticket_body(world, ticket="X-1")).json()["number"]
    for number in (counter_case.number, theirs):
        response = api.get(reverse("api-case", args=[number]))
        assert response.status_code == 404 and "detail" in response.json()
        response = api.post(reverse("api-transition", args=[number, "refuse"]),
                            {"reason": "x", "guidance": "y"}, format="json")
        assert response.status_code == 404


def test_a_platform_granted_all_cases_sees_them(world):
    counter_case = register(world)
    api = key_client(make_platform("all", sees_all_cases=True))
    assert api.get(reverse("api-case", args=[counter_case.number])).status_code == 200


def test_a_platform_cannot_make_the_office_s_acts(api, world):
    number = post(api, ticket_body(world)).json()["number"]
    response = api.post(reverse("api-transition", args=[number, "refuse"]),
                        {"reason": "x", "guidance": "y"}, format="json")
    assert response.status_code == 403 and response.json()["detail"]
    assert Case.objects.get(number=number).state == State.RECEIVED


def test_a_platform_only_leaves_its_cases_for_the_office(api, world):
    response = post(api, ticket_body(world, outcome="accept"))
    assert response.status_code == 400 and "outcome" in response.json()["errors"]


@pytest.mark.parametrize("fields", [{"revoked": True},
                                    {"expiry_date": timezone.now() - timedelta(days=1)}])
def test_a_revoked_or_expired_key_is_refused_in_json(platform, world, fields):
    api = key_client(platform, **fields)
    response = post(api, ticket_body(world))
    assert response.status_code == 401 and response.json()["detail"]
    assert response["WWW-Authenticate"] == "Api-Key"
    assert not Case.objects.exists()


def test_a_wrong_key_is_401(world):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Api-Key abc.def")
    response = api.get(reverse("api-departments"))
    assert response.status_code == 401 and response.json()["detail"]


def test_an_inactive_platform_is_refused(platform, world):
    api = key_client(platform)
    Platform.objects.filter(pk=platform.pk).update(is_active=False)
    assert api.get(reverse("api-departments")).status_code == 401


def test_each_key_is_throttled_with_a_json_429(platform, world, settings):
    settings.PLATFORM_RATE = "2/min"
    cache.clear()
    api = key_client(platform)
    answers = [api.get(reverse("api-departments")).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    response = api.get(reverse("api-departments"))
    assert response.json()["detail"] and response.has_header("Retry-After")
    assert key_client(platform).get(reverse("api-departments")).status_code == 200


def test_a_request_id_reused_with_another_body_is_409(api, world):
    request_id = "6f1c9b0e-1d2a-4e3b-9c8d-7a6b5c4d3e2f"
    first = post(api, ticket_body(world, request_id=request_id))
    again = post(api, ticket_body(world, request_id=request_id))
    other = post(api, ticket_body(world, ticket="12345-0002", request_id=request_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert other.status_code == 409 and "request_id" in other.json()["errors"]
    assert Case.objects.count() == 1


def test_staff_request_id_reused_with_another_body_is_409(world):
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.clerk).key}")
    data = {**ticket_body(world), "channel": "phone", "request_id": "1f1c9b0e-1d2a-4e3b-9c8d-7a6b5c4d3e2f"}
    assert post(staff, data).status_code == 201
    assert post(staff, data).status_code == 200
    assert post(staff, {**data, "summary": "改了"}).status_code == 409
    assert Case.objects.count() == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"categroy": 1}, "categroy"),
    ({"category": 10.7}, "category"),
    ({"category": "1"}, "category"),
    ({"is_sensitive": "yes"}, "is_sensitive"),
    ({"summary": 12}, "summary"),
    ({"demands": "长" * 2001}, "demands"),
    ({"summary": "停水\x00"}, "summary"),
    ({"petitioner": {"name": "王芳", "phone": ARABIC_INDIC_PHONE}}, "petitioner.phone"),
    ({"petitioner": {"name": "王芳", "phone": "18644445555", "nmae": "x"}}, "petitioner.nmae"),
])
def test_strict_input_is_refused_naming_the_field(api, world, overrides, field):
    response = post(api, ticket_body(world, **overrides))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert field.split(".")[-1] in response.json()["detail"]
    assert not Case.objects.exists()


def test_a_category_given_as_10_7_does_not_find_category_10(api, world):
    response = post(api, ticket_body(world, category=world.category.pk + 0.7))
    assert response.status_code == 400 and not Case.objects.exists()


@pytest.mark.parametrize("phone", ["+8618644445555", "0086-186-4444-5555", "+86 186 4444 5555"])
def test_a_phone_with_the_country_code_is_accepted(api, world, phone):
    response = post(api, ticket_body(world, petitioner={"name": "王芳", "phone": phone}))
    assert response.status_code == 201, response.json()
    assert Case.objects.get().petitioner.phone == "18644445555"


def test_a_transition_note_as_long_as_the_form_s_only(world):
    case = drive_to(world, State.DISPATCHED)
    staff = APIClient()
    staff.force_authenticate(world.handler)
    response = staff.post(reverse("api-transition", args=[case.number, "department_accept"]),
                          {"note": "长" * 100_000}, format="json")
    assert response.status_code == 400, response.json()
    response = staff.post(reverse("api-transition", args=[case.number, "department_accept"]),
                          {"nota": "x"}, format="json")
    assert response.status_code == 400 and "nota" in response.json()["errors"]


def test_an_unreached_visit_through_the_api_stays_unreached(world):
    case = drive_to(world, State.REPLIED)
    staff = APIClient()
    staff.force_authenticate(world.clerk)
    response = staff.post(reverse("api-transition", args=[case.number, "record_return_visit"]),
                          {"method": "phone", "reached": False, "comments": "无人接听"},
                          format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "replied"
    detail = staff.get(reverse("api-case", args=[case.number])).json()
    assert detail["visit"]["reached"] is False and detail["visit"]["satisfaction"] is None
    case.refresh_from_db()
    assert case.unreached_visits == 1


def test_the_detail_shows_who_acted_and_the_result(world):
    case = drive_to(world, State.REPLIED)
    staff = APIClient()
    staff.force_authenticate(world.clerk)
    detail = staff.get(reverse("api-case", args=[case.number])).json()
    assert all(e["actor"] and e["action_display"] for e in detail["events"])
    assert detail["result"]["handler"] and detail["result"]["result"]
    assert detail["visit"] is None


def test_unknown_api_paths_answer_json_404(api):
    response = api.get("/api/v1/nothing/")
    assert response.status_code == 404 and response.json()["detail"]


def test_a_body_that_is_not_json_is_415(api):
    response = api.post(reverse("api-cases"), "a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.json()["detail"]


def test_the_schema_and_its_docs_page(client, world):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/cases/", "/api/v1/cases/{number}/",
            "/api/v1/cases/{number}/transitions/{name}/"} <= set(paths)
    assert "RecordReturnVisitInputRequest" in schema.json()["components"]["schemas"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and "RecordReturnVisitInputRequest" in docs.content.decode()


def test_the_admin_gives_a_platform_its_account_and_shows_a_new_key_once(client, world):
    client.force_login(world.admin)
    admin_client = client
    response = admin_client.post("/admin/intake/platform/add/", {
        "name": "12345热线", "code": "hotline", "channel": "hotline_12345",
        "is_active": "on", "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0", "api_keys-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, response.content.decode()[:2000]
    platform = Platform.objects.get(code="hotline")
    assert has_role(platform.account, Role.PLATFORM)
    response = admin_client.post("/admin/intake/platformapikey/add/", {
        "name": "生产", "platform": platform.pk}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    key = PlatformAPIKey.objects.get(platform=platform)
    message = next(message for message in shown if key.prefix in message)
    secret = message.split(f"{key.prefix}.")[1].split(".")[0]
    assert PlatformAPIKey.objects.is_valid(f"{key.prefix}.{secret}")
    later = client.get(reverse("admin:intake_platformapikey_change", args=[key.pk]))
    assert later.status_code == 200 and secret not in later.content.decode()
