"""The public portal: submit, track by number plus phone, rate; abuse is kept out."""

import pytest
from django.urls import reverse

from cases.models import Case, State
from dispatch import services as dispatch_acts
from tests.factories import drive_to

from .helpers import token


def submission(**overrides):
    data = {"submission_token": str(token()), "name": "周明", "phone": "13622223333",
            "summary": "阳光花园垃圾站三天未清运", "content": "垃圾站三天没有清运，异味严重。"}
    data.update(overrides)
    return data


def test_a_submission_gives_back_the_case_number(client, world):
    response = client.post(reverse("intake:public_submit"), submission())
    case = Case.objects.get()
    assert response.status_code == 200
    assert case.number in response.content.decode()
    assert (case.state, case.channel, case.registered_by) == (State.RECEIVED, "web", None)


def test_a_submission_with_bad_fields_names_them(client, world):
    response = client.post(reverse("intake:public_submit"),
                           submission(phone="123", content=""))
    assert response.status_code == 400
    assert {"phone", "content"} <= set(response.context["form"].errors)
    assert not Case.objects.exists()


def test_the_honeypot_keeps_robots_out(client, world):
    response = client.post(reverse("intake:public_submit"),
                           submission(website="http://spam.example"))
    assert response.status_code == 400
    assert "未被接受" in response.content.decode()
    assert not Case.objects.exists()


def test_the_same_form_sent_twice_makes_one_case(client, world):
    data = submission()
    client.post(reverse("intake:public_submit"), data)
    client.post(reverse("intake:public_submit"), data)
    assert Case.objects.count() == 1


def track(client, number, phone):
    return client.get(reverse("intake:public_track"), {"number": number, "phone": phone})


def test_tracking_shows_the_timeline_in_plain_words(client, world):
    case = drive_to(world, State.DISPATCHED)
    page = track(client, case.number, "138 0013 8001").content.decode()
    assert case.summary in page
    for words in ("您的诉求已登记", "已受理", "已转交承办单位办理"):
        assert words in page
    assert "答复期限" in page


def test_tracking_with_a_wrong_phone_says_only_that_nothing_matches(client, world):
    case = drive_to(world, State.DISPATCHED)
    response = track(client, case.number, "13999999999")
    page = response.content.decode()
    assert response.status_code == 404
    assert "没有与该编号和电话相符的案件" in page
    assert case.summary not in page and "已受理" not in page


def test_tracking_never_shows_internal_notes_or_names(client, world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.send_back_result(actor=world.head, case_id=case.pk,
                                   note="内部意见：核查不细，重新走访")
    page = track(client, case.number, "13800138001").content.decode()
    for secret in ("内部意见", world.handler.username, world.handler.first_name,
                   world.head.first_name, "城市管理局"):
        assert secret not in page


def test_after_the_reply_the_petitioner_reads_it_and_rates_it(client, world):
    case = drive_to(world, State.REPLIED)
    page = track(client, case.number, "13800138001").content.decode()
    assert "已整改" in page and "请评价办理结果" in page
    response = client.post(reverse("feedback:public_rate"), {
        "number": case.number, "phone": "13800138001", "is_solved": "yes",
        "satisfaction": "basically", "comments": "基本解决"})
    assert response.status_code == 200 and "感谢您的评价" in response.content.decode()
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (State.VISITED, "basically")


def test_a_rating_with_a_wrong_phone_changes_nothing(client, world):
    case = drive_to(world, State.REPLIED)
    response = client.post(reverse("feedback:public_rate"), {
        "number": case.number, "phone": "13999999999", "is_solved": "no",
        "satisfaction": "unsatisfied"})
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == State.REPLIED


def test_the_public_rate_limit_answers_429_with_a_readable_page(client, world, settings):
    settings.PUBLIC_TRACK_RATE = "3/m"
    for _ in range(3):
        assert track(client, "XF-2026-000001", "13800138001").status_code == 404
    response = track(client, "XF-2026-000001", "13800138001")
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()


def test_the_submission_rate_limit(client, world, settings):
    settings.PUBLIC_SUBMIT_RATE = "2/h"
    for _ in range(2):
        client.post(reverse("intake:public_submit"), submission())
    response = client.post(reverse("intake:public_submit"), submission())
    assert response.status_code == 429
    assert Case.objects.count() == 2


def test_the_public_pages_speak_english_when_chosen(client, world):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("intake:public_submit")).content.decode()
    assert "Your matter in one sentence" in page and "Submit" in page


def test_the_case_page_shows_public_acts_without_an_actor(client, world):
    case = services_rate(world)
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "回访" in page


def services_rate(world):
    from feedback import services

    return services.rate_reply(case=drive_to(world, State.REPLIED), is_solved=True,
                               satisfaction="satisfied")
