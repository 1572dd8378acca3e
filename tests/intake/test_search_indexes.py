"""The search by words' indexes, one per quarter (issue 17, item 5): the quarters the
search reaches and the next one are there, valid, and each stretch of a search asks one
quarter at a time with bounds its own index is proved to serve."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Case
from intake import search_indexes, selectors

pytestmark = pytest.mark.django_db


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def test_a_stretch_is_cut_at_the_quarters_edges_newest_first():
    assert search_indexes.quarter_parts(local(2026, 9, 20), local(2026, 10, 5)) == [
        (local(2026, 10, 1), local(2026, 10, 5)), (local(2026, 9, 20), local(2026, 10, 1))]
    assert search_indexes.quarter_parts(local(2026, 11, 1), local(2026, 11, 2)) == [
        (local(2026, 11, 1), local(2026, 11, 2))]
    # A year back: five quarters, the edges in the office's time zone.
    parts = search_indexes.quarter_parts(local(2025, 12, 3, 9), local(2026, 12, 3, 9))
    assert [start for start, _end in parts] == [
        local(2026, 10, 1), local(2026, 7, 1), local(2026, 4, 1), local(2026, 1, 1),
        local(2025, 12, 3, 9)]
    assert str(local(2026, 10, 1).utcoffset()) == "8:00:00"


def test_the_wanted_quarters_run_from_the_search_days_back_to_the_next_quarter(settings):
    settings.SEARCH_TEXT_DAYS = 365
    settings.REPEAT_WINDOW_DAYS = 90
    assert list(search_indexes.wanted(local(2026, 12, 3))) == [
        "case_words_bigram_2025q4", "case_words_bigram_2026q1", "case_words_bigram_2026q2",
        "case_words_bigram_2026q3", "case_words_bigram_2026q4", "case_words_bigram_2027q1",
        "case_words_trgm_2026q3", "case_words_trgm_2026q4", "case_words_trgm_2027q1"]
    assert search_indexes.wanted(local(2026, 12, 31, 23, 59))[
        "case_words_bigram_2027q1"][:2] == (local(2027, 1, 1), local(2027, 4, 1))


def test_keeping_makes_the_missing_and_drops_the_old_and_the_broken(committed_db,
                                                                    postgres_only, monkeypatch):
    wanted = set(search_indexes.wanted(timezone.now()))
    assert {name for name, valid in search_indexes.present().items() if valid} == wanted
    old = search_indexes.DEFINITION.format(name="case_words_bigram_2019q1",
                                           using=search_indexes.KINDS[search_indexes.PREFIX][0],
                                           start="2019-01-01T00:00:00+08:00",
                                           end="2019-04-01T00:00:00+08:00")
    newest = max(name for name in wanted if name.startswith(search_indexes.TRIGRAM_PREFIX))
    # As a build cut short leaves it: there, but no query may use it.
    broken = search_indexes.index_name(search_indexes.quarter_start(timezone.now()))
    with connection.cursor() as cursor:
        cursor.execute(old)
        cursor.execute(f'DROP INDEX "{newest}"')
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
                       [broken])
    assert search_indexes.present()[broken] is False
    done = search_indexes.keep()
    assert sorted(done["made"]) == sorted([newest, broken])
    assert sorted(done["dropped"]) == sorted(["case_words_bigram_2019q1", broken])
    assert all(search_indexes.present().values())
    assert set(search_indexes.present()) == wanted
    assert search_indexes.keep() == {"made": [], "dropped": [], "failed": []}
    # One that cannot be built is named and left for the next run; the rest go on, and the
    # connection keeps its timeouts.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{newest}"')
        cursor.execute(f'DROP INDEX "{broken}"')
        cursor.execute("SHOW statement_timeout")
        timeout = cursor.fetchone()[0]
    kinds = dict(search_indexes.KINDS)
    kinds[search_indexes.TRIGRAM_PREFIX] = ("gin (no_such_column gin_trgm_ops)",
                                            kinds[search_indexes.TRIGRAM_PREFIX][1])
    monkeypatch.setattr(search_indexes, "KINDS", kinds)
    assert search_indexes.keep() == {"made": [broken], "dropped": [], "failed": [newest]}
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == timeout
    monkeypatch.undo()
    assert search_indexes.keep()["made"] == [newest]


def test_each_part_of_a_search_is_served_by_its_quarters_index(world, postgres_only):
    now = timezone.now()
    start = search_indexes.quarter_start(now)
    cases = selectors.search_cases(world.supervisor, "路灯").values_list("pk", "received_at")
    part = cases.filter(received_at__gte=max(start, now - timedelta(days=7)),
                        received_at__lt=search_indexes.next_quarter(start))[:51]
    with connection.cursor() as cursor:
        # Only the words' indexes left to choose from (the test's transaction rolls back).
        cursor.execute("""SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case'
                          AND indexdef LIKE '%%received_at%%' AND indexdef NOT LIKE '%%gin%%'""")
        for name, in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = part.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row for row, in cursor.fetchall())
    assert search_indexes.index_name(start) in plan, plan


def test_the_repeat_checks_window_is_read_a_quarter_at_a_time(world, postgres_only):
    """Each part of the window: a quarter's bounds, its trigram index (the place's and
    the other indexes on received_at dropped for the plan; the test rolls back)."""
    now = timezone.now()
    start = search_indexes.quarter_start(now)
    recent = Case.objects.filter(received_at__gte=now - timedelta(days=90))
    part = selectors.nearest_by_words(
        recent.filter(received_at__gte=start, received_at__lt=search_indexes.next_quarter(start)),
        text="滨河小区路灯不亮晚上很黑", place="滨河小区")[:20]
    with connection.cursor() as cursor:
        cursor.execute("""SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case'
                          AND indexdef LIKE '%%received_at%%' AND indexdef NOT LIKE '%%gin%%'""")
        for name, in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = part.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row for row, in cursor.fetchall())
    assert search_indexes.index_name(start, search_indexes.TRIGRAM_PREFIX) in plan, plan


def test_the_task_is_on_the_beat_and_on_the_long_jobs_queue():
    from intake.tasks import keep_search_indexes

    assert any(entry["task"] == keep_search_indexes.name
               for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert settings.CELERY_TASK_ROUTES[keep_search_indexes.name] == {"queue": "exports"}


def test_on_sqlite_keeping_does_nothing(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert search_indexes.keep() == {"made": [], "dropped": [], "failed": []}


def test_a_case_stamped_in_the_future_is_still_found(world):
    from tests.factories import register

    case = register(world, summary="滨河小区路灯不亮", content="晚上很黑")
    Case.objects.filter(pk=case.pk).update(received_at=timezone.now() + timedelta(days=700))
    page = selectors.search_page(world.supervisor, "路灯")
    assert [row.pk for row in page.rows] == [case.pk]


def test_a_cursor_far_in_the_future_reads_no_more_parts(world, django_assert_max_num_queries):
    from cases.paging import cursor_of

    after = cursor_of(timezone.make_aware(datetime(3000, 1, 1)), 1)
    with django_assert_max_num_queries(12):
        page = selectors.search_page(world.supervisor, "路灯", after=after)
    assert page.rows == []


def test_the_repeat_check_asked_close_first_finds_what_asking_at_once_finds(world,
                                                                            postgres_only):
    """Without a place the window is asked at REPEAT_CLOSE_THRESHOLD first and again
    lower only where a quarter gave fewer than its shortlist: the same nearest as asking
    at REPEAT_WORD_THRESHOLD alone, whichever quarters are full or short."""
    import random

    from django.db import transaction
    from tests.factories import register

    rng = random.Random(17)
    now = timezone.now()
    places, problems = ["幸福路", "滨河小区", "光明街", "青年路"], ["噪音扰民", "路灯不亮",
                                                         "占道经营", "油烟扰民"]
    stamps = {}
    # A full quarter (this one: many close wordings), a short one, and older days.
    for n in range(70):
        wording = f"{rng.choice(places)}{rng.randint(1, 40)}号{rng.choice(problems)}"
        if n % 3 == 0:
            wording = f"幸福路{rng.randint(1, 9)}号噪音扰民"
        case = register(world, summary=wording, content="已有多日，请尽快处理。")
        stamps[case.pk] = now - timedelta(days=rng.choice([0, 1, 2, 3, 40, 70, 89])
                                          if n % 3 == 0 else rng.randint(0, 89),
                                          minutes=n)
    for pk, at in stamps.items():
        Case.objects.filter(pk=pk).update(received_at=at)
    recent = Case.objects.filter(received_at__gte=now - timedelta(days=90))
    for text in ["幸福路5号噪音扰民", "光明街12号油烟扰民", "青年路路灯不亮", "东风渠河道垃圾"]:
        with transaction.atomic():
            staged = selectors._nearest_by_quarter(
                recent, text=text, place="", thresholds=[selectors.REPEAT_CLOSE_THRESHOLD,
                                                         selectors.REPEAT_WORD_THRESHOLD])
            at_once = selectors._nearest_by_quarter(
                recent, text=text, place="", thresholds=[selectors.REPEAT_WORD_THRESHOLD])
        assert staged == at_once, text
    assert len(at_once) <= selectors.REPEAT_SHORTLIST
    # The common wording fills the newest quarter at the close threshold already: the
    # second statement asks fewer parts than the first.
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic(), CaptureQueriesContext(connection) as seen:
        selectors._nearest_by_quarter(recent, text="幸福路5号噪音扰民", place="", thresholds=[
            selectors.REPEAT_CLOSE_THRESHOLD, selectors.REPEAT_WORD_THRESHOLD])
    asked = [query["sql"].count("UNION ALL") + 1 for query in seen.captured_queries
             if "word_similarity(" in query["sql"]]
    assert len(asked) == 2 and asked[1] < asked[0], asked
