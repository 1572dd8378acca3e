"""Input no table can hold, numbers that are not numbers, months that do not exist:
each answered 400 or 404 naming the field, never a 500 (issue 16, item 2). One test per
input that was measured to give a 500."""

import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from cases.middleware import json_depth_exceeds
from cases.models import Case, CaseEvent, State
from cases.parsing import parse_int, parse_month, validate_date_in_range
from tests.factories import drive_to, register

NUL = "\x00"


def signed_in(client, user):
    client.force_login(user)
    return client


def refused_naming(response, field: str, status: int = 400) -> str:
    assert response.status_code == status, response.content[:500]
    text = response.content.decode()
    assert field in text
    return text


# ---------------------------------------------------------------- NUL at the edge
def test_a_nul_in_a_transition_note_on_the_act_page_is_refused_naming_the_field(client, world):
    case = register(world)
    events = CaseEvent.objects.filter(case=case).count()
    response = signed_in(client, world.clerk).post(
        f"/cases/{case.number}/acts/withdraw/", {"reason": f"信访人撤回{NUL}"})
    text = refused_naming(response, "reason")
    assert "无法保存的字符" in text
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.parametrize("field, value", [("phone", f"1380013{NUL}8001"),
                                          ("id_number", f"11010519491231{NUL}02X")])
def test_a_nul_in_the_counter_forms_phone_or_id_is_refused(client, world, field, value):
    before = Case.objects.count()
    response = signed_in(client, world.clerk).post("/intake/register/", {
        "channel": "visit", "name": "王五", "phone": "13800138009", "summary": "噪音",
        "content": "夜间施工", "outcome": "register", field: value})
    refused_naming(response, field)
    assert Case.objects.count() == before


def test_a_nul_in_a_lookup_is_refused(client, world):
    response = signed_in(client, world.clerk).post("/intake/lookup/", {"phone": f"138{NUL}"})
    refused_naming(response, "phone")


def test_a_nul_in_a_case_number_in_the_path_is_refused(client, world):
    case = register(world)
    for path in (f"/cases/{case.number}%00/", f"/dispatch/cases/{case.number}%00/handle/",
                 f"/feedback/cases/{case.number}%00/reply/"):
        response = signed_in(client, world.dispatcher).get(path)
        assert response.status_code in (400, 404), path


def test_a_case_number_with_odd_characters_in_the_path_is_not_found(client, world):
    response = signed_in(client, world.dispatcher).get("/cases/XF-2026-%E2%80%AE000001/")
    assert response.status_code == 404


def test_a_nul_in_a_query_string_key_or_value_is_refused(client, world):
    signed_in(client, world.dispatcher)
    refused_naming(client.get("/intake/queue/", {"channel": NUL}), "channel")
    response = client.get("/intake/queue/?ch%00annel=1")
    assert response.status_code == 400


def test_a_nul_in_a_public_form_is_refused(client, db):
    response = client.post("/public/track/", {"number": "XF-2026-000001", "code": f"A{NUL}"})
    refused_naming(response, "code")


def test_a_nul_in_a_json_body_is_refused_as_json_naming_the_field(client, world):
    response = signed_in(client, world.clerk).post(
        "/api/v1/cases/", json.dumps({"channel": "web", "petitioner": {"name": f"王{NUL}"}}),
        content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["petitioner.name"]


def test_a_lone_surrogate_in_a_json_body_is_refused(client, world):
    response = signed_in(client, world.clerk).post(
        "/api/v1/cases/", '{"summary": "\\ud800"}', content_type="application/json")
    assert response.status_code == 400
    assert "summary" in response.json()["errors"]


# ---------------------------------------------------------------- JSON nesting and size
def test_a_json_body_nested_100000_levels_is_refused_before_parsing(client, world):
    body = "[" * 100_000 + "]" * 100_000
    response = signed_in(client, world.clerk).post("/api/v1/cases/", body,
                                                   content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    assert not json_depth_exceeds(json.dumps({"text": "[" * 1000, "q": '"\\[{'}), 64)
    assert json_depth_exceeds("[" * 65 + "]" * 65, 64)
    assert not json_depth_exceeds("[" * 64 + "]" * 64, 64)


def test_a_body_larger_than_the_limit_is_413_and_json_for_the_api(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = signed_in(client, world.clerk).post(
        "/api/v1/cases/", json.dumps({"content": "x" * 2000}), content_type="application/json")
    assert response.status_code == 413
    assert "body" in response.json()["errors"]
    response = client.post("/intake/lookup/", {"text": "x" * 2000})
    assert response.status_code == 413


# ---------------------------------------------------------------- numbers and cursors
def test_parse_int_takes_only_ascii_digits_within_bounds():
    assert parse_int("42") == 42
    for text in ("²", "٣", "-1", " 1", "1e20", "inf", "", None, "9" * 30, "1_000"):
        assert parse_int(text) is None, text
    assert parse_int("5", minimum=1, maximum=4) is None


@pytest.mark.parametrize("path", [
    "/cases/notifications/?page=²", "/oversight/supervision/?page=²&department=²",
    "/oversight/cases/?page=²&open_tier=²", "/oversight/cases/?page=" + "9" * 40,
    "/oversight/?department=²&category=٣&tier=²",
    "/feedback/archive/?year=²&category=²", "/dispatch/inbox/?department=²&category=²",
    "/cases/?figure=open&after=inf_1", "/cases/?figure=open&after=1e20_1",
    "/intake/queue/?after=inf_1", "/intake/queue/?after=1e20_1",
    "/feedback/archive/?after=inf_1", "/feedback/archive/?after=1e20_1",
])
def test_unicode_digits_and_odd_cursors_in_a_query_never_give_a_500(client, world, path):
    for user in (world.supervisor, world.clerk, world.handler, world.dispatcher):
        response = signed_in(client, user).get(path)
        assert response.status_code < 500, (user.username, path)


def test_a_unicode_digit_as_an_id_in_a_path_is_not_found(client, world):
    signed_in(client, world.supervisor)
    assert client.get("/oversight/supervision/²/").status_code == 404
    assert client.get("/cases/notifications/²/").status_code == 404


def test_a_dispatch_with_a_unicode_digit_as_category_is_not_a_500(client, world):
    case = drive_to(world, State.ACCEPTED)
    response = signed_in(client, world.dispatcher).post(
        f"/dispatch/cases/{case.number}/", {"category": "²", "lead_department": world.a.pk,
                                            "mode": "assign"})
    assert response.status_code < 500


# ---------------------------------------------------------------- months and dates
def test_parse_month_takes_only_real_months():
    assert parse_month("2026-10") == date(2026, 10, 1)
    for text in ("2026-13", "2026-00", "9999-12", "٢٠٢٦-١٠", "2026-1", ""):
        assert parse_month(text) is None, text


def test_a_report_for_month_13_is_refused_naming_the_month(client, world):
    signed_in(client, world.supervisor)
    response = client.post("/oversight/reports/", {"month": "2026-13"})
    refused_naming(response, "月份")
    assert client.get("/oversight/reports/2026-13.pdf").status_code == 404


def test_dates_near_year_9999_are_refused_naming_the_field(client, world):
    signed_in(client, world.supervisor)
    response = client.get("/oversight/", {"start": "9999-12-31", "end": "9999-12-31"})
    assert response.status_code < 500
    assert "日期须在" in response.content.decode()
    case = drive_to(world, State.IN_HANDLING)
    response = signed_in(client, world.handler).post(
        f"/dispatch/cases/{case.number}/extension/",
        {"reason": "需现场核查", "requested_due_at": "9999-12-31T23:59"})
    assert response.status_code < 500
    assert response.status_code == 302 or "日期须在" in response.content.decode()
    assert not case.extension_requests.exists()
    response = client.post(f"/dispatch/cases/{case.number}/note/",
                           {"text": "走访", "note": "走访", "happened_at": "9999-12-31T23:59"})
    assert response.status_code < 500
    with pytest.raises(ValidationError):
        validate_date_in_range(date(9999, 12, 31))
    validate_date_in_range(date(2026, 1, 1))
