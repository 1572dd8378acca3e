"""节假日与调休 in the admin: the list opens at this year; a year is entered in one step,
from the package or from the notice pasted in, previewed before it is written, and an
entered year is replaced only when asked."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import calendar
from cases.models import CalendarDay

IMPORT = "admin:cases_calendarday_import"
DATA = Path(__file__).parent / "data"


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def _rows(year: int) -> set:
    return set(CalendarDay.objects.filter(date__year=year).values_list("date", "kind"))


def _package(year: int) -> set:
    return {(day.date, day.kind) for day in calendar.package_year(year)}


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _preview_then_confirm(client, data: dict):
    preview = client.post(reverse(IMPORT), data)
    assert preview.status_code == 200, preview.context["form"].errors
    assert preview.context["preview"] is not None
    return client.post(reverse(IMPORT), {**data, "_confirm": "1",
                                         "digest": preview.context["preview"]["digest"]})


def test_the_holiday_list_opens_at_this_year_with_its_neighbours_a_click_away(admin_client,
                                                                                travel):
    travel.to(datetime(2025, 6, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    response = admin_client.get(reverse("admin:cases_calendarday_changelist"))
    shown = {day.date.year for day in response.context["cl"].result_list}
    assert shown == {2025}
    assert response.context["cl"].result_count == CalendarDay.objects.filter(
        date__year=2025).count()
    page = response.content.decode()
    assert "?year=2024" in page and "?year=2026" in page
    assert reverse(IMPORT) in page and "导入一年的节假日" in page
    every = admin_client.get(reverse("admin:cases_calendarday_changelist"), {"year": "all"})
    assert every.context["cl"].result_count == CalendarDay.objects.count()
    nonsense = admin_client.get(reverse("admin:cases_calendarday_changelist"), {"year": "99999"})
    assert nonsense.status_code == 200 and nonsense.context["cl"].result_count == 0


def test_a_year_the_package_knows_is_loaded_in_one_step(admin_client):
    CalendarDay.objects.filter(date__year=2025).delete()
    data = {"year": "2025", "source": "package"}
    preview = admin_client.post(reverse(IMPORT), data)
    assert preview.status_code == 200
    assert len(preview.context["preview"]["days"]) == len(_package(2025))
    assert _rows(2025) == set()  # a preview writes nothing
    response = _preview_then_confirm(admin_client, data)
    assert response.status_code == 302
    assert response["Location"].endswith("?year=2025")
    assert _rows(2025) == _package(2025)
    assert any("2025 年已录入" in message for message in _messages(response))


def test_the_pasted_notice_is_entered_after_its_preview(admin_client):
    CalendarDay.objects.filter(date__year=2026).delete()
    text = (DATA / "holiday_notice_2026.txt").read_text(encoding="utf-8")
    data = {"year": "2026", "source": "notice", "notice": text}
    preview = admin_client.post(reverse(IMPORT), data)
    page = preview.content.decode()
    assert "确认导入" in page and "2026-02-15" in page and "调休上班日" in page
    assert _rows(2026) == set()
    assert _preview_then_confirm(admin_client, data).status_code == 302
    assert _rows(2026) == _package(2026)


def test_a_notice_that_does_not_fit_the_year_answers_a_form_error_and_writes_nothing(
        admin_client):
    before = set(CalendarDay.objects.values_list("date", "kind"))
    text = (DATA / "holiday_notice_2026.txt").read_text(encoding="utf-8")
    for data in ({"year": "2027", "source": "notice", "notice": text.replace("关于2026年", "")},
                 {"year": "2027", "source": "notice", "notice": "一、元旦：1月1日至放假。"},
                 {"year": "2027", "source": "notice", "notice": text},
                 {"year": "2027", "source": "notice", "notice": ""},
                 {"year": "abc", "source": "notice", "notice": text}):
        for confirm in ({}, {"_confirm": "1", "digest": "x"}):
            response = admin_client.post(reverse(IMPORT), {**data, **confirm})
            assert response.status_code == 400
            form = response.context["form"]
            assert form.errors
            assert response.context["preview"] is None
            named = [form.fields[name].label for name in form.errors]
            assert all(any(message.startswith(f"{label}：") for message in _messages(response))
                       for label in named)
    assert set(CalendarDay.objects.values_list("date", "kind")) == before


def test_the_notice_of_another_year_is_named_as_such(admin_client):
    text = (DATA / "holiday_notice_2026.txt").read_text(encoding="utf-8")
    response = admin_client.post(reverse(IMPORT), {"year": "2027", "source": "notice",
                                                   "notice": text.replace("关于2026年", "")})
    assert "请核对年份" in " ".join(response.context["form"].errors["notice"])


def test_a_year_the_package_does_not_know_is_told_on_the_year(admin_client):
    response = admin_client.post(reverse(IMPORT), {"year": "2099", "source": "package"})
    assert response.status_code == 400
    assert "没有收录 2099 年" in " ".join(response.context["form"].errors["year"])


def test_an_entered_year_is_replaced_only_when_asked(admin_client):
    CalendarDay.objects.filter(date="2024-06-10").update(name="改过的名称")
    before = set(CalendarDay.objects.filter(date__year=2024).values_list("date", "kind", "name"))
    data = {"year": "2024", "source": "package"}
    refused = admin_client.post(reverse(IMPORT), {**data, "_confirm": "1", "digest": "x"})
    assert refused.status_code == 400
    assert "replace" in refused.context["form"].errors
    assert set(CalendarDay.objects.filter(date__year=2024).values_list(
        "date", "kind", "name")) == before
    response = _preview_then_confirm(admin_client, {**data, "replace": "on"})
    assert response.status_code == 302
    assert _rows(2024) == _package(2024)
    assert CalendarDay.objects.get(date="2024-06-10").name == "端午节"


def test_a_confirmation_of_something_else_than_the_preview_shows_the_new_preview(
        admin_client):
    CalendarDay.objects.filter(date__year=2026).delete()
    text = (DATA / "holiday_notice_2026.txt").read_text(encoding="utf-8")
    data = {"year": "2026", "source": "notice", "notice": text}
    preview = admin_client.post(reverse(IMPORT), data)
    shorter = text.split("二、春节")[0]
    response = admin_client.post(reverse(IMPORT), {
        **data, "notice": shorter, "_confirm": "1",
        "digest": preview.context["preview"]["digest"]})
    assert response.status_code == 200
    assert len(response.context["preview"]["days"]) == 4  # 元旦: three days off, one worked
    assert _rows(2026) == set()


def test_the_service_refuses_to_replace_an_entered_year_unasked(db):
    before = _rows(2025)
    with pytest.raises(ValidationError) as refused:
        calendar.enter_year(year=2025, days=calendar.package_year(2025), replace=False)
    assert "replace" in refused.value.message_dict
    assert _rows(2025) == before


def test_a_person_without_the_right_to_change_holidays_cannot_import(client, world):
    client.force_login(world.dispatcher)
    response = client.get(reverse(IMPORT))
    assert response.status_code in (302, 403)


def test_a_year_not_yet_entered_is_told_with_the_way_to_import_it(admin_client, travel):
    travel.to(datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    CalendarDay.objects.filter(date__year=2027).delete()
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "2027 年的法定节假日尚未录入" in page and reverse(IMPORT) in page
    form = admin_client.get(reverse(IMPORT)).context["form"]
    assert form.initial["year"] == 2027
