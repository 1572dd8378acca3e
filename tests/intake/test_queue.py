"""待受理: every received case of every channel, its outcomes as buttons."""

from datetime import timedelta

import pytest
from django.urls import reverse

from cases.models import Case, CaseEvent, Channel, State
from tests.factories import drive_to, register


@pytest.fixture
def clerk_client(client, world):
    client.force_login(world.clerk)
    return client


def test_the_queue_holds_received_cases_of_every_channel_the_most_urgent_first(
        clerk_client, world):
    web = register(world, actor=None, channel=Channel.WEB)
    transfer = register(world, channel=Channel.HOTLINE_12345, external_reference="GD-1")
    kept = register(world, channel=Channel.VISIT)
    drive_to(world, State.ACCEPTED)
    page = clerk_client.get(reverse("intake:queue"))
    queue = page.context["queue"]
    # The 12345 transfer and the visit have two hours, the web submission a working day.
    assert [case.pk for case in queue.rows] == [transfer.pk, kept.pk, web.pk]
    assert queue.counts["all"] == 3 and queue.counts["web"] == 1
    assert queue.counts["hotline_12345"] == 1 and queue.counts["counter"] == 1
    only_web = clerk_client.get(reverse("intake:queue"), {"channel": "web"}).context["queue"]
    assert [case.pk for case in only_web.rows] == [web.pk]


def test_each_row_offers_the_intake_outcomes(clerk_client, world):
    case = register(world, actor=None, channel=Channel.WEB)
    page = clerk_client.get(reverse("intake:queue")).content.decode()
    for name in ("accept", "answer_on_the_spot", "refuse", "merge", "withdraw"):
        assert reverse("cases:act", args=[case.number, name]) in page


def test_a_web_submission_is_accepted_from_the_queue_and_the_page_returns_there(
        clerk_client, world):
    case = register(world, actor=None, channel=Channel.WEB)
    url = reverse("cases:act", args=[case.number, "accept"])
    back = reverse("intake:queue")
    assert clerk_client.get(url).status_code == 200
    response = clerk_client.post(url, {"tier_code": "T2", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and case.tier.code == "T2" and case.due_at


def test_a_refusal_from_the_page_names_the_missing_field(clerk_client, world):
    case = register(world, actor=None, channel=Channel.WEB)
    before = CaseEvent.objects.count()
    response = clerk_client.post(reverse("cases:act", args=[case.number, "refuse"]),
                                 {"reason": "属诉讼事项", "guidance": ""})
    assert response.status_code == 400
    assert "guidance" in response.context["form"].errors
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED
    assert CaseEvent.objects.count() == before


@pytest.mark.parametrize(("name", "data", "state"), [
    ("answer_on_the_spot", {"answer": "已当场解答政策"}, State.ANSWERED),
    ("refuse", {"reason": "属诉讼事项", "guidance": "请向人民法院起诉"}, State.REFUSED),
    ("withdraw", {"reason": "信访人撤回"}, State.WITHDRAWN),
])
def test_every_intake_outcome_is_reachable_from_the_page(clerk_client, world, name, data,
                                                         state):
    case = register(world, actor=None, channel=Channel.WEB)
    response = clerk_client.post(reverse("cases:act", args=[case.number, name]), data)
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == state


def test_a_merge_from_the_page(clerk_client, world):
    earlier = drive_to(world, State.ACCEPTED)
    case = register(world, actor=None, channel=Channel.WEB)
    response = clerk_client.post(reverse("cases:act", args=[case.number, "merge"]),
                                 {"into_number": earlier.number})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.MERGED and case.merged_into == earlier


def test_an_act_the_case_no_longer_allows_says_why(clerk_client, world):
    case = drive_to(world, State.ACCEPTED)
    response = clerk_client.get(reverse("cases:act", args=[case.number, "accept"]))
    assert response.status_code == 409 and "已受理" in response.context["refusal"]
    response = clerk_client.post(reverse("cases:act", args=[case.number, "accept"]), {})
    assert response.status_code == 409


def test_a_bad_cursor_or_channel_gives_the_first_page(clerk_client, world):
    register(world)
    for query in ({"after": "inf_1"}, {"after": "x"}, {"after": "1e20_1"},
                  {"after": "1_99999999999999999999"},
                  {"channel": "nope"}):
        response = clerk_client.get(reverse("intake:queue"), query)
        assert response.status_code == 200 and len(response.context["queue"].rows) == 1
    # A NUL is refused at the edge, naming the field.
    response = clerk_client.get(reverse("intake:queue"), {"after": "1\x00_2"})
    assert response.status_code == 400 and "“after”" in response.content.decode()


def test_the_queue_pages_by_key(clerk_client, world, settings):
    from intake import selectors

    cases = [register(world) for _ in range(selectors.QUEUE_PAGE + 3)]
    first = clerk_client.get(reverse("intake:queue")).context["queue"]
    assert len(first.rows) == selectors.QUEUE_PAGE and first.next_cursor
    second = clerk_client.get(reverse("intake:queue"), {"after": first.next_cursor})
    assert [c.pk for c in second.context["queue"].rows] == [c.pk for c in cases[-3:]]


def test_the_queue_reads_in_a_fixed_number_of_queries(clerk_client, world,
                                                     django_assert_max_num_queries):
    for _ in range(8):
        register(world, actor=None, channel=Channel.WEB)
    with django_assert_max_num_queries(10):
        clerk_client.get(reverse("intake:queue"))


def test_a_handler_has_no_queue(client, world):
    client.force_login(world.handler)
    assert client.get(reverse("intake:queue")).status_code == 403


def test_an_overdue_acceptance_is_marked_and_counted(clerk_client, world, travel):
    case = register(world, actor=None, channel=Channel.WEB)
    travel.to(case.accept_by + timedelta(minutes=1))
    clerk_client.force_login(world.clerk)  # the session of the day before has expired
    page = clerk_client.get(reverse("intake:queue"))
    assert page.context["queue"].counts["overdue"] == 1
    assert "受理超时" in page.content.decode()


def test_a_number_of_any_width_is_found_by_number(world):
    """Past 999 999 cases a year a number has seven digits; a number typed without its
    leading zeros is the same number."""
    from intake.selectors import search_cases

    wide = register(world)
    Case.objects.filter(pk=wide.pk).update(number="XF-2026-1000001")
    short = register(world)
    Case.objects.filter(pk=short.pk).update(number="XF-2026-000019")
    assert list(search_cases(world.clerk, "xf-2026-1000001")) == [Case.objects.get(pk=wide.pk)]
    assert list(search_cases(world.clerk, "XF-2026-19")) == [Case.objects.get(pk=short.pk)]
    assert list(search_cases(world.clerk, "XF-2026-000019")) == [Case.objects.get(pk=short.pk)]
