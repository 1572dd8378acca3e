"""The public portal: submit, track by number plus query code, rate through the signed
link; abuse is kept out."""

import html
import re

from django.urls import reverse

from cases.models import Case, State
from dispatch import services as dispatch_acts
from intake import query_codes
from intake.models import QueryCode
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


def track(client, number, code):
    return client.post(reverse("intake:public_track"), {"number": number, "code": code})


def code_of(case):
    """A fresh query code for a case the test made (the registration's code is shown
    once; this replaces it, as 补发查询码 does)."""
    return query_codes.issue(case)


def test_a_submission_shows_its_query_code_once_and_it_opens_the_tracking_page(client, world):
    response = client.post(reverse("intake:public_submit"), submission())
    case = Case.objects.get()
    code = response.context["query_code"]
    assert len(code.replace("-", "")) == 8 and code in response.content.decode()
    assert code.replace("-", "") not in QueryCode.objects.get(case=case).code_hash
    assert track(client, case.number, code.lower()).status_code == 200


def test_tracking_shows_the_timeline_in_plain_words(client, world):
    case = drive_to(world, State.DISPATCHED)
    page = track(client, case.number, code_of(case)).content.decode()
    assert case.summary in page
    for words in ("您的诉求已登记", "已受理", "已转交承办单位办理"):
        assert words in page
    assert "答复期限" in page


def test_tracking_by_get_only_shows_the_empty_form(client, world):
    case = drive_to(world, State.DISPATCHED)
    response = client.get(reverse("intake:public_track"),
                          {"number": case.number, "phone": "13800138001"})
    assert response.status_code == 200 and case.summary not in response.content.decode()


def test_a_wrong_code_and_an_unknown_number_answer_the_same(client, world):
    case = drive_to(world, State.DISPATCHED)
    code_of(case)
    wrong = track(client, case.number, "ABCD2345")
    unknown = track(client, "XF-2026-999999", "ABCD2345")
    phone = track(client, case.number, "13800138001")
    for response in (wrong, unknown, phone):
        page = response.content.decode()
        assert response.status_code == 404
        assert "没有与该编号和查询码相符的案件" in page
        assert case.summary not in page and "已受理" not in page
    assert wrong.context["form"].initial == {"number": case.number}


def test_a_new_code_replaces_the_old_one(client, world):
    case = drive_to(world, State.DISPATCHED)
    old = code_of(case)
    new = code_of(case)
    assert track(client, case.number, old).status_code == 404
    assert track(client, case.number, new).status_code == 200


def test_tracking_never_shows_internal_notes_or_names(client, world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.send_back_result(actor=world.head, case_id=case.pk,
                                   note="内部意见：核查不细，重新走访")
    page = track(client, case.number, code_of(case)).content.decode()
    for secret in ("内部意见", world.handler.username, world.handler.first_name,
                   world.head.first_name, "城市管理局", "13800138001"):
        assert secret not in page


def test_after_the_reply_the_tracking_page_gives_the_signed_rating_link(client, world):
    case = drive_to(world, State.REPLIED)
    response = track(client, case.number, code_of(case))
    page = response.content.decode()
    assert "已整改" in page and "请评价办理结果" in page
    link = re.search(r'href="(/public/rate/\?t=[^"]+)"', page).group(1)
    form = client.get(html.unescape(link))
    assert form.status_code == 200 and "提交评价" in form.content.decode()
    token = form.context["form"].initial["token"]
    response = client.post(reverse("feedback:public_rate"), {
        "token": token, "is_solved": "yes", "satisfaction": "basically", "comments": "基本解决"})
    assert response.status_code == 200 and "感谢您的评价" in response.content.decode()
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (State.VISITED, "basically")
    assert "请评价办理结果" not in track(client, case.number, code_of(case)).content.decode()


def test_the_per_address_rate_limit_answers_429_with_a_readable_page(client, world, settings):
    settings.PUBLIC_TRACK_RATE = "3/m"
    for _ in range(3):
        assert track(client, "XF-2026-000001", "ABCD2345").status_code == 404
    response = track(client, "XF-2026-000001", "ABCD2345")
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()


def test_wrong_codes_are_limited_per_case_number_whatever_the_address(client, world,
                                                                     settings):
    settings.PUBLIC_TRACK_FAILURES_PER_CASE = 3
    case = drive_to(world, State.DISPATCHED)
    code = code_of(case)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        response = client.post(reverse("intake:public_track"),
                               {"number": case.number, "code": "ABCD2345"},
                               REMOTE_ADDR=address)
        assert response.status_code == 404
    response = client.post(reverse("intake:public_track"),
                           {"number": case.number, "code": code}, REMOTE_ADDR="10.0.0.4")
    assert response.status_code == 429
    page = response.content.decode()
    assert "查询码输错次数太多" in page and case.summary not in page
    other = drive_to(world, State.DISPATCHED)
    assert track(client, other.number, code_of(other)).status_code == 200


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
    page = client.get(reverse("intake:public_track")).content.decode()
    assert "Query code" in page


def test_the_case_page_shows_public_acts_without_an_actor(client, world):
    case = rated(world)
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "回访" in page


def rated(world):
    from feedback import services

    case = drive_to(world, State.REPLIED)
    services.rate_by_link(token=services.rating_token(case.replies.get()), is_solved=True,
                          satisfaction="satisfied")
    return case
