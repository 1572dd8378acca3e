"""A case's clock in words and colour, counted in working time for working-day clocks."""

from datetime import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from cases import clock
from cases.calendar import (after_working_seconds, parse_office_hours, working_point,
                            working_seconds)
from cases.models import State
from tests.factories import drive_to


def local(*args):
    return timezone.make_aware(datetime(*args))


def test_working_seconds_count_office_hours_of_working_days_only(db):
    # Friday 6 March 2026 16:00 to Monday 10:00: 1 h 30 on Friday, 1 h on Monday.
    assert working_seconds(local(2026, 3, 6, 16, 0), local(2026, 3, 9, 10, 0)) == 9000
    # Across the lunch break and through National Day 2026 (1-7 October): nothing.
    assert working_seconds(local(2026, 3, 10, 11, 0), local(2026, 3, 10, 14, 0)) == 5400
    assert working_seconds(local(2026, 10, 2, 9, 0), local(2026, 10, 4, 18, 0)) == 0
    assert working_seconds(local(2026, 3, 10, 14, 0), local(2026, 3, 10, 11, 0)) == 0


def test_the_working_instant_after_skips_nights_lunch_and_weekends(db):
    assert after_working_seconds(local(2026, 3, 6, 17, 0), 3600) == local(2026, 3, 9, 9, 30)
    assert after_working_seconds(local(2026, 3, 10, 11, 30), 3600) == local(2026, 3, 10, 14, 0)
    # A working-day window's warning point always falls in office hours.
    point = working_point(local(2026, 3, 6, 21, 2), local(2026, 3, 17, 21, 2), 75)
    assert point.weekday() < 5
    assert timezone.localtime(point).time() <= datetime(2000, 1, 1, 17, 30).time()


@pytest.mark.parametrize("text", ["9-12", "12:00-09:00", "09:00-12:00,11:00-13:00", "", "25:00-26:00"])
def test_office_hours_that_make_no_sense_name_the_setting(text):
    with pytest.raises(ImproperlyConfigured, match="OFFICE_HOURS"):
        parse_office_hours(text)


@pytest.mark.parametrize(("now", "working", "level", "words"), [
    # Due Monday 9 March 10:00, read on Friday 16:00: 2 h 30 of working time left.
    (local(2026, 3, 6, 16, 0), True, "ok", "剩余 2 小时 30 分钟"),
    (local(2026, 3, 6, 16, 0), False, "ok", "剩余 2 天 18 小时"),
    (local(2026, 3, 9, 9, 15), True, "soon", "剩余 45 分钟"),
    # Over since Monday 10:00, read on Tuesday 11:00: 8 h of office hours over.
    (local(2026, 3, 10, 11, 0), True, "over", "超期 1 个工作日 1 小时"),
    (local(2026, 3, 10, 11, 0), False, "over", "超期 1 天 1 小时"),
    # Friday night: only Monday's first working hour is left.
    (local(2026, 3, 6, 22, 0), True, "ok", "剩余 1 小时"),
])
def test_the_clock_reads_in_words_and_levels(db, now, working, level, words):
    reading = clock.read(local(2026, 3, 9, 10, 0), working=working, now=now)
    assert (reading.level, reading.words) == (level, words)
    assert "2026-03-09 10:00" in reading.explanation


def test_after_the_close_a_deadline_tonight_is_told_on_the_calendar(db):
    reading = clock.read(local(2026, 3, 9, 21, 0), working=True, now=local(2026, 3, 9, 18, 0))
    assert (reading.level, reading.words, reading.working) == ("soon", "剩余 3 小时", False)


def test_the_case_page_and_inbox_show_time_left_in_working_time(client, world, travel):
    travel.to(local(2026, 3, 6, 10, 0))  # a Friday
    case = drive_to(world, State.DISPATCHED)  # T3: seven working days
    travel.to(local(2026, 3, 16, 16, 0))
    client.force_login(world.handler)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert 'class="clock clock-soon"' in page and "剩余 2 小时 30 分钟" in page
    inbox = client.get(reverse("dispatch:inbox")).content.decode()
    assert "剩余 2 小时 30 分钟" in inbox
    travel.to(local(2026, 3, 17, 11, 0))
    client.force_login(world.handler)  # a day later: the idle session has ended
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert 'class="clock clock-over"' in page and "超期 1 小时" in page
