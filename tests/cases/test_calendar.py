"""Deadlines per tier on the Chinese public-holiday calendar."""

from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.calendar import add_working_days, compute_due_at, is_working_day, missing_calendar_years
from cases.checks import holiday_calendar_entered
from cases.models import CalendarDay, DayKind, TierPolicy
from intake import services as intake_acts
from tests.factories import register


def local(*parts) -> datetime:
    return timezone.make_aware(datetime(*parts))


def accept_at(world, moment, tier_code, travel):
    travel.to(moment)
    case = register(world)
    return intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code=tier_code)


@pytest.mark.parametrize(
    ("tier", "accepted", "due"),
    [
        ("T1", local(2026, 3, 10, 10, 0), local(2026, 3, 10, 12, 0)),
        ("T1", local(2026, 10, 1, 23, 30), local(2026, 10, 2, 1, 30)),  # hours ignore holidays
        ("T2", local(2026, 3, 10, 10, 0), local(2026, 3, 11, 10, 0)),
        ("T3", local(2026, 3, 10, 10, 0), local(2026, 3, 19, 10, 0)),  # Tue + 7 working days
        ("T4", local(2026, 3, 2, 9, 15), local(2026, 3, 23, 9, 15)),  # Mon + 15 working days
    ],
)
def test_each_tier_sets_the_deadline(world, travel, tier, accepted, due):
    case = accept_at(world, accepted, tier, travel)
    assert case.due_at == due


def test_a_seven_working_day_case_skips_the_national_day_holiday(world, travel):
    # 2026: Oct 1-7 off; Saturday Oct 10 is worked (调休). Counting from Wed Sep 30:
    # Oct 8, 9, 10 (Sat, worked), 12, 13, 14, 15.
    case = accept_at(world, local(2026, 9, 30, 10, 0), "T3", travel)
    assert case.due_at == local(2026, 10, 15, 10, 0)
    assert "calendar_fallback_years" not in case.events.last().data


def test_an_adjusted_weekend_is_a_working_day_and_a_holiday_is_not(db):
    assert is_working_day(date(2026, 10, 10))  # Saturday, worked
    assert not is_working_day(date(2026, 10, 5))  # Monday, National Day
    assert not is_working_day(date(2026, 10, 11))  # plain Sunday


def test_a_case_running_into_an_unentered_year_falls_back_to_weekends(world, travel):
    # Sun 2026-12-20 + 15 working days: 9 in December, then 2027 on plain weekends:
    # Jan 1 (Fri) counts, Jan 4-8 -> Fri 2027-01-08.
    case = accept_at(world, local(2026, 12, 20, 10, 0), "T4", travel)
    assert case.due_at == local(2027, 1, 8, 10, 0)
    event = case.events.last()
    assert event.data["calendar_fallback_years"] == [2027]
    assert "2027 年节假日未录入" in event.note


def test_the_system_check_names_the_missing_year(db, travel):
    travel.to(local(2026, 12, 1, 9, 0))
    warnings = holiday_calendar_entered(None)
    assert [w.id for w in warnings] == ["cases.W001"]
    assert "2027" in warnings[0].msg
    travel.to(local(2026, 6, 1, 9, 0))  # 60 days ahead stays in 2026
    assert holiday_calendar_entered(None) == []


def test_entering_the_year_in_the_admin_table_replaces_the_fallback(world, travel):
    CalendarDay.objects.create(date=date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert missing_calendar_years(date(2026, 12, 20)) == []
    case = accept_at(world, local(2026, 12, 20, 10, 0), "T4", travel)
    assert case.due_at == local(2027, 1, 11, 10, 0)
    assert "calendar_fallback_years" not in case.events.last().data


def test_the_table_wins_over_the_package(db):
    # An administrator marks an extra day off (e.g. a local holiday).
    CalendarDay.objects.create(date=date(2026, 3, 11), kind=DayKind.HOLIDAY, name="地方假日")
    day, fallback = add_working_days(date(2026, 3, 10), 1)
    assert day == date(2026, 3, 12) and fallback == set()


def test_calendar_days_count_weekends(db):
    policy = TierPolicy(code="T3", duration=7, unit="calendar_days")
    assert compute_due_at(policy, local(2026, 9, 30, 10, 0)).due_at == local(2026, 10, 7, 10, 0)


def test_the_migration_seeded_the_package_years(db):
    assert CalendarDay.objects.filter(date__year=2026, kind=DayKind.WORKDAY).count() == 6
    national_day = CalendarDay.objects.get(date=date(2026, 10, 1))
    assert (national_day.kind, national_day.name) == (DayKind.HOLIDAY, "国庆节")


def test_the_sync_task_adds_a_year_the_table_lacks(db):
    from cases.tasks import sync_holiday_calendar

    CalendarDay.objects.filter(date__year=2025).delete()
    assert sync_holiday_calendar() == [2025]
    assert CalendarDay.objects.filter(date__year=2025).exists()
    assert sync_holiday_calendar() == []


def test_check_command_reports_the_warning(db, travel, capsys):
    travel.to(local(2026, 12, 1, 9, 0))
    call_command("check")
    assert "cases.W001" in capsys.readouterr().err


def test_the_calendar_is_held_per_process_and_a_day_entered_is_seen_at_once(
        db, django_capture_on_commit_callbacks, django_assert_num_queries):
    from cases import reference

    with django_capture_on_commit_callbacks(execute=True):  # as if committed
        reference.changed()
    assert add_working_days(date(2026, 3, 10), 1)[0] == date(2026, 3, 11)
    with django_assert_num_queries(0):  # read once, held afterwards
        assert add_working_days(date(2026, 3, 10), 1)[0] == date(2026, 3, 11)
    with django_capture_on_commit_callbacks(execute=True):
        CalendarDay.objects.create(date=date(2026, 3, 11), kind=DayKind.HOLIDAY, name="地方假日")
    assert add_working_days(date(2026, 3, 10), 1)[0] == date(2026, 3, 12)
    CalendarDay.objects.filter(date=date(2026, 3, 11)).delete()
    assert add_working_days(date(2026, 3, 10), 1)[0] == date(2026, 3, 11)
