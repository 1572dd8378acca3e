"""Desks that lead somewhere: every count opens the cases it counts, and the count and the
list agree; every row opens its case; the list pages by key in a fixed number of queries
and answers bad query strings with a message, never a 500."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import selectors
from cases.models import State
from cases.views import DESKS, FIGURE_LABELS
from dispatch import services as dispatch_acts
from intake import services as intake_acts
from tests.factories import drive_to, register

ROLES = ["clerk", "dispatcher", "handler", "head", "supervisor", "admin", "handler_b"]
NUMBER_LINK = re.compile(r'<a href="/cases/([A-Z]+-\d{4}-\d{6})/">\1</a>')


@pytest.fixture
def office_day(world, travel):
    """A month-old backlog (overdue by now) in every state a desk counts, plus today's
    registrations, one case led by department B and one that A only assists."""
    for state in (State.RECEIVED, State.ACCEPTED, State.RETURNED, State.DISPATCHED,
                  State.DISPATCHED, State.IN_HANDLING, State.RESULT_SUBMITTED, State.REPLIED,
                  State.ARCHIVED):
        drive_to(world, state)
    approved = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=approved.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=approved.pk)
    travel.shift(days=30)
    for state in (State.RECEIVED, State.RECEIVED, State.ACCEPTED, State.IN_HANDLING):
        drive_to(world, state)
    other = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=other.pk,
                                lead_department_id=world.b.pk,
                                assisting_department_ids=[world.a.pk])
    return world


def rows_shown(response) -> list:
    """The case rows of the page a count leads to: the case list or the intake queue."""
    if "queue" in response.context:
        return response.context["queue"].rows
    return response.context["page"].rows


@pytest.mark.parametrize("username", ROLES)
def test_every_count_on_a_desk_opens_a_list_of_exactly_that_many_cases(client, office_day,
                                                                       username):
    client.force_login(getattr(office_day, username))
    desk = client.get(reverse("home"))
    figures = desk.context["desk"]["figures"]
    assert figures
    page = desk.content.decode()
    for figure in figures:
        assert f'href="{figure["url"]}"'.replace("&", "&amp;") in page, figure
        target = client.get(figure["url"])
        assert target.status_code == 200, (figure, target.content.decode()[:300])
        assert len(rows_shown(target)) == figure["value"], figure["label"]
    if username != "handler_b":
        assert any(figure["value"] for figure in figures)


def test_the_counts_and_the_lists_read_one_definition(office_day):
    user = office_day.supervisor
    counts = selectors.landing_figures(user)
    assert set(counts) == set(selectors.FIGURES) == set(FIGURE_LABELS)
    assert {key for _title, _intro, keys in DESKS.values() for key in keys} <= set(counts)
    for key, value in counts.items():
        assert len(selectors.figure_cases(user, key).rows) == value, key
    assert counts["overdue"] > 0 and counts["registered_today"] == 0
    assert selectors.landing_figures(office_day.clerk)["registered_today"] == 5


def test_the_clerk_s_waiting_count_opens_the_intake_queue(client, office_day):
    client.force_login(office_day.clerk)
    figures = {f["key"]: f for f in client.get(reverse("home")).context["desk"]["figures"]}
    assert figures["received"]["url"] == reverse("intake:queue")
    assert figures["registered_today"]["url"] == reverse("cases:list") + "?figure=registered_today"
    queue = client.get(figures["received"]["url"])
    assert queue.context["queue"].counts["all"] == figures["received"]["value"] == 3


def test_a_department_sees_only_its_cases_in_a_list(client, office_day):
    client.force_login(office_day.handler_b)
    rows = client.get(reverse("cases:list"), {"figure": "dispatched"}).context["page"].rows
    assert [case.lead_department_id for case in rows] == [office_day.b.pk]
    client.force_login(office_day.handler)  # assists that case, leads the other two
    rows = client.get(reverse("cases:list"), {"figure": "dispatched"}).context["page"].rows
    assert len(rows) == 3


def test_the_list_shows_number_links_state_due_time_and_department(client, office_day):
    client.force_login(office_day.dispatcher)
    response = client.get(reverse("cases:list"), {"figure": "overdue"})
    page = response.content.decode()
    numbers = NUMBER_LINK.findall(page)
    assert numbers and len(numbers) == len(response.context["page"].rows)
    assert re.search(r'class="clock clock-over"[^>]*>超期 \d', page)
    assert "城市管理局" in page and "办理中" in page
    assert response.context["total"] == len(numbers)


def test_a_search_narrows_the_list(client, office_day):
    client.force_login(office_day.supervisor)
    case = response_rows(client, figure="open")[0]
    assert [c.number for c in response_rows(client, figure="open", q=case.number.lower())] == [
        case.number]
    assert response_rows(client, figure="open", q="没有这样的摘要") == []
    assert len(response_rows(client, figure="open", q="夜市")) == len(
        response_rows(client, figure="open"))


def response_rows(client, **query):
    response = client.get(reverse("cases:list"), query)
    assert response.status_code == 200
    return response.context["page"].rows


def test_the_list_pages_by_key_and_reaches_every_case_once(client, world, travel,
                                                           monkeypatch):
    monkeypatch.setattr(selectors, "FIGURE_PAGE_SIZE", 2)
    cases = [drive_to(world, State.ACCEPTED) for _ in range(3)]
    travel.shift(hours=1)
    cases += [drive_to(world, State.ACCEPTED) for _ in range(2)]
    cases.append(drive_to(world, State.RECEIVED))  # no due time yet, or a later one
    client.force_login(world.supervisor)
    seen, query = [], {"figure": "open"}
    for _ in range(10):
        response = client.get(reverse("cases:list"), query)
        assert response.status_code == 200
        seen += [case.pk for case in response.context["page"].rows]
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
        assert f"after={cursor}" in response.content.decode()
        query = {"figure": "open", "after": cursor}
    assert sorted(seen) == sorted(case.pk for case in cases) and len(seen) == len(set(seen))


def test_the_list_reads_in_a_fixed_number_of_queries(client, world,
                                                     django_assert_num_queries):
    drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    url = reverse("cases:list") + "?figure=open"
    client.get(url)  # the session is read once and warm
    with CaptureQueriesContext(connection) as one_row:
        assert len(client.get(url).context["page"].rows) == 1
    for _ in range(6):
        drive_to(world, State.IN_HANDLING)
    with django_assert_num_queries(len(one_row)):
        assert len(client.get(url).context["page"].rows) == 7
    assert len(one_row) <= 12  # + the calendar and tiers of the clocks, once a page


@pytest.mark.parametrize(("query", "status", "message"), [
    ({}, 200, "请选择要查看的一项"),
    ({"figure": ""}, 400, "请选择要查看的一项"),
    ({"figure": "everything"}, 400, "没有这一项统计"),
    ({"figure": "open\x00"}, 400, "“figure”：含有系统无法保存的字符"),
    ({"figure": "open", "q": "夜\x00市"}, 400, "空字符"),
    ({"figure": "open", "q": "长" * 101}, 400, "100"),
    ({"figure": "open", "after": "abc"}, 400, "翻页位置无效"),
    ({"figure": "open", "after": "1_99999999999999999999"}, 400, "翻页位置无效"),
    ({"figure": "open", "after": "999999999999999999_1"}, 400, "翻页位置无效"),
    ({"figure": "open", "after": "-_x"}, 400, "翻页位置无效"),
    ({"figure": "open", "after": "1.5_1"}, 400, "翻页位置无效"),
    ({"figure": "open", "after": "\x00"}, 400, "空字符"),
    ({"figure": "open", "after": "-_1"}, 200, "没有符合条件的案件"),
    ({"figure": "open", "after": "1_1"}, 200, "没有符合条件的案件"),
])
def test_bad_query_strings_get_a_message_never_a_500(client, world, query, status, message):
    client.force_login(world.dispatcher)
    response = client.get(reverse("cases:list"), query)
    assert response.status_code == status
    assert message in response.content.decode()


def test_the_list_is_for_signed_in_staff(client, db):
    response = client.get(reverse("cases:list"), {"figure": "open"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("username", "state", "url"), [
    ("supervisor", State.IN_HANDLING, "home"),
    ("dispatcher", State.ACCEPTED, "dispatch:desk"),
    ("dispatcher", State.RETURNED, "dispatch:desk"),
    ("handler", State.DISPATCHED, "dispatch:inbox"),
    ("head", State.RESULT_SUBMITTED, "dispatch:reviews"),
    ("dispatcher", State.REPLIED, "feedback:desk"),
    ("clerk", State.RECEIVED, "intake:queue"),
    ("supervisor", State.ACCEPTED, "cases:list"),
])
def test_case_numbers_on_the_desks_are_links_to_the_case(client, world, username, state, url):
    case = drive_to(world, state)
    client.force_login(getattr(world, username))
    query = {"figure": "open"} if url == "cases:list" else {}
    page = client.get(reverse(url), query).content.decode()
    assert case.number in NUMBER_LINK.findall(page)
