"""The counter's search by words a page at a time (issue 17): newest first, read a
stretch of time at a time, each page the next rows of the whole search and no other;
where a page stops looking it says so, and the next page goes on to the search's days."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from intake import selectors
from tests.factories import register

# Days back of each case, newest first: several in the first day and week, some in every
# stretch, some past the reach of one page, one past the search's days.
AGES = [0, 0, 0.5, 2, 3, 6, 8, 20, 29, 31, 45, 60, 89, 95, 130, 200, 364, 400]


def made(world, settings, word="路灯"):
    now = timezone.now()
    cases = []
    for i, age in enumerate(AGES):
        case = register(world, summary=f"滨河小区{word}不亮{i}", content="晚上很黑")
        Case.objects.filter(pk=case.pk).update(
            received_at=now - timedelta(days=age, minutes=i))
        cases.append(case.pk)
    register(world, summary="建设街井盖缺失", content="有人差点掉下去")  # no match
    return cases


def pages(user, term, size):
    """Every page in turn: rows and the page as the selector answers it."""
    found, after = [], ""
    while True:
        page = selectors.search_page(user, term, after=after, size=size)
        found.append(page)
        if not page.next_cursor:
            return found
        after = page.next_cursor


def test_the_pages_together_are_the_whole_search_in_its_order(world, settings):
    made(world, settings)
    for user in (world.clerk, world.supervisor, world.dispatcher):
        whole = list(selectors.search_cases(user, "路灯").values_list("pk", flat=True))
        for size in (1, 3, 50):
            read = pages(user, "路灯", size)
            assert [case.pk for page in read for case in page.rows] == whole, (user, size)
            assert all(len(page.rows) <= size for page in read)


def test_a_page_that_is_not_full_says_how_far_back_it_looked(world, settings):
    cases = made(world, settings)
    first = selectors.search_page(world.supervisor, "路灯", size=50)
    within = [pk for pk, age in zip(cases, AGES) if age < selectors.SEARCH_REACH.days]
    assert [case.pk for case in first.rows] == within  # newest first, the reach only
    assert not first.is_full and first.next_cursor
    assert timezone.now() - first.reached >= selectors.SEARCH_REACH - timedelta(seconds=5)
    second = selectors.search_page(world.supervisor, "路灯", after=first.next_cursor, size=50)
    reach = selectors.SEARCH_REACH.days
    assert [case.pk for case in second.rows] == [
        pk for pk, age in zip(cases, AGES) if reach <= age < 2 * reach]
    assert second.reached < first.reached and second.next_cursor
    # Page after page to the search's days, and nothing beyond them.
    rest = pages(world.supervisor, "路灯", 50)
    assert [case.pk for page in rest[1:] for case in page.rows] == [
        pk for pk, age in zip(cases, AGES) if reach <= age <= settings.SEARCH_TEXT_DAYS]
    assert rest[-1].next_cursor is None and rest[-1].reached == rest[-1].since


def test_a_full_page_goes_on_after_its_last_row(world, settings):
    cases = made(world, settings)
    first = selectors.search_page(world.supervisor, "路灯", size=4)
    assert first.is_full and [case.pk for case in first.rows] == cases[:4]
    second = selectors.search_page(world.supervisor, "路灯", after=first.next_cursor, size=4)
    assert [case.pk for case in second.rows] == cases[4:8]


def test_pages_answer_only_what_the_searcher_may_see(world, settings):
    made(world, settings)
    read = pages(world.handler, "路灯", 3)
    assert not any(page.rows for page in read) and read[-1].reached == read[-1].since


def test_a_number_is_one_page(world):
    case = register(world)
    page = selectors.search_page(world.clerk, case.number)
    assert [found.pk for found in page.rows] == [case.pk] and page.next_cursor is None
    assert page.reached is None


def test_the_queue_page_shows_how_far_it_looked_and_goes_further(client, world, settings):
    cases = made(world, settings)
    client.force_login(world.clerk)
    shown = client.post(reverse("intake:queue"), {"q": "路灯"}, follow=True)
    page = shown.content.decode()
    assert 'id="search-reach"' in page and 'id="search-earlier"' in page
    assert [case.pk for case in shown.context["results"]] == [
        pk for pk, age in zip(cases, AGES) if age < selectors.SEARCH_REACH.days]
    here = shown.request["PATH_INFO"] + "?" + shown.request["QUERY_STRING"]
    seen, later = [], shown
    while later.context["found"].next_cursor:
        later = client.get(here + "&after=" + later.context["found"].next_cursor)
        seen += [case.pk for case in later.context["results"]]
    assert seen == [pk for pk, age in zip(cases, AGES)
                    if selectors.SEARCH_REACH.days <= age <= settings.SEARCH_TEXT_DAYS]
    assert "内容查找只查近" in later.content.decode()
