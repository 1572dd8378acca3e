"""Working days on the Chinese public-holiday calendar, and deadlines from tier and channel
policies.

The CalendarDay table is consulted first: it is seeded from the `chinese-calendar`
package and the administrators keep it (the package stops at the last year the State
Council had published when it was released). A year with no rows at all is computed on
plain weekends; callers learn which years fell back so that they can say so.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
import functools
import re
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import reference
from .models import CalendarDay, ChannelPolicy, DayKind, TierPolicy, TimeUnit

logger = logging.getLogger(__name__)

# Years already read inside a `reading_once()` block (the sweep's batch): the calendar is
# read once per batch instead of once per case, and a count of working days after a day
# is counted once.
_year_cache: ContextVar[dict | None] = ContextVar("calendar_year_cache", default=None)

# The package names holidays in English; the office reads Chinese.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@dataclass
class WorkingCalendar:
    """The special days of some years, loaded once for one computation."""

    special: dict[date, str] = field(default_factory=dict)
    entered_years: set[int] = field(default_factory=set)
    fallback_years: set[int] = field(default_factory=set)

    @classmethod
    def for_range(cls, first: date, last: date) -> "WorkingCalendar":
        years = tuple(range(first.year, last.year + 1))
        cache = _year_cache.get()
        if cache is not None and years in cache:
            rows = cache[years]
        else:
            # Held per process like the other reference tables (cases.reference): a day
            # saved or deleted anywhere, or years imported, is seen at the next call.
            rows = reference.held(f"calendar:{','.join(map(str, years))}", lambda: list(
                CalendarDay.objects.filter(date__year__in=years).values_list("date", "kind")))
            if cache is not None:
                cache[years] = rows
        calendar = cls()
        for day, kind in rows:
            calendar.special[day] = kind
            calendar.entered_years.add(day.year)
        return calendar

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.entered_years:
            self.fallback_years.add(day.year)
        kind = self.special.get(day)
        if kind == DayKind.HOLIDAY:
            return False
        if kind == DayKind.WORKDAY:
            return True
        return day.weekday() < 5


def add_working_days(start: date, count: int) -> tuple[date, set[int]]:
    """The count-th working day after `start` (start itself is not counted).

    Answers the day and the years computed on plain weekends for want of entries.
    """
    cache = _year_cache.get()
    key = ("after", start, count)  # inside reading_once() the calendar does not change
    if cache is not None and key in cache:
        day, fallback_years = cache[key]
        return day, set(fallback_years)
    # Long holidays are at most 8 days; three calendar days a working day is ample.
    calendar = WorkingCalendar.for_range(start, start + timedelta(days=count * 3 + 14))
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    if cache is not None:
        cache[key] = (day, frozenset(calendar.fallback_years))
    return day, calendar.fallback_years


def local_zone():
    """The current time zone, looked up once inside a `reading_once()` block: the lookup
    costs more than the ladder's arithmetic it serves, case after case."""
    cache = _year_cache.get()
    if cache is None:
        return timezone.get_current_timezone()
    if "zone" not in cache:
        cache["zone"] = timezone.get_current_timezone()
    return cache["zone"]


def once(key, load):
    """What load() answers, read once inside a `reading_once()` block (a request, a
    sweep's batch), else every time."""
    cache = _year_cache.get()
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]


@contextmanager
def reading_once():
    """Inside the block, each year's special days are read from the database once."""
    token = _year_cache.set({})
    try:
        yield
    finally:
        _year_cache.reset(token)


def is_working_day(day: date) -> bool:
    return WorkingCalendar.for_range(day, day).is_working_day(day)


# ---------------------------------------------------------------- working time
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@functools.lru_cache(maxsize=8)
def parse_office_hours(text: str) -> tuple[tuple[time, time], ...]:
    """`09:00-12:00,13:30-17:30` as ordered (start, end) pairs; ImproperlyConfigured,
    naming OFFICE_HOURS, for anything else (ranges must be ascending and not overlap)."""
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part)
        try:
            if not match:
                raise ValueError
            h1, m1, h2, m2 = map(int, match.groups())
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise ImproperlyConfigured(
                f"OFFICE_HOURS: {part.strip()!r} is not a range like 09:00-12:00") from None
        if end <= start or (ranges and start < ranges[-1][1]):
            raise ImproperlyConfigured(
                f"OFFICE_HOURS: {part.strip()!r} must end after it starts and after the "
                "range before it")
        ranges.append((start, end))
    if not ranges:
        raise ImproperlyConfigured("OFFICE_HOURS: no working hours given")
    return tuple(ranges)


def office_hours() -> tuple[tuple[time, time], ...]:
    return parse_office_hours(settings.OFFICE_HOURS)


def working_day_seconds() -> int:
    """The length of one working day's office hours, in seconds."""
    return sum(_seconds(start, end) for start, end in office_hours())


def _seconds(start: time, end: time) -> int:
    return (end.hour - start.hour) * 3600 + (end.minute - start.minute) * 60


def working_seconds(start: datetime, end: datetime) -> int:
    """The office hours of working days between two instants (0 when end <= start).

    Counted on local wall-clock time (China keeps no daylight saving time)."""
    if end <= start:
        return 0
    zone = local_zone()
    first = timezone.localtime(start, zone).replace(tzinfo=None)
    last = timezone.localtime(end, zone).replace(tzinfo=None)
    calendar = WorkingCalendar.for_range(first.date(), last.date())
    hours = office_hours()
    total = 0.0
    day = first.date()
    while day <= last.date():
        if calendar.is_working_day(day):
            for opens, closes in hours:
                low = max(first, datetime.combine(day, opens))
                high = min(last, datetime.combine(day, closes))
                if high > low:
                    total += (high - low).total_seconds()
        day += timedelta(days=1)
    return int(total)


def after_working_seconds(start: datetime, seconds: float) -> datetime:
    """The instant `seconds` of office hours after `start` (start itself when 0): always
    inside office hours on a working day, or at the close of one."""
    zone = local_zone()
    cursor = timezone.localtime(start, zone).replace(tzinfo=None)
    if seconds <= 0:
        return start
    per_day = working_day_seconds()
    horizon = cursor.date() + timedelta(days=int(seconds // per_day) * 3 + 30)
    calendar = WorkingCalendar.for_range(cursor.date(), horizon)
    hours = office_hours()
    remaining = seconds
    day = cursor.date()
    while day <= horizon:
        if calendar.is_working_day(day):
            for opens, closes in hours:
                low = max(cursor, datetime.combine(day, opens))
                high = datetime.combine(day, closes)
                if high <= low:
                    continue
                available = (high - low).total_seconds()
                if remaining <= available:
                    return timezone.make_aware(low + timedelta(seconds=remaining), zone)
                remaining -= available
        day += timedelta(days=1)
    # Beyond the horizon (a calendar without working days): the calendar instant.
    return start + timedelta(seconds=seconds)


def working_point(start: datetime, due: datetime, percent: float) -> datetime:
    """The instant at `percent` of a window's office hours: a working-day clock's warning
    falls when people are at work. A window without office hours keeps the calendar
    point."""
    total = working_seconds(start, due)
    if total <= 0:
        return start + (due - start) * percent / 100
    return after_working_seconds(start, total * percent / 100)


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    fallback_years: frozenset[int]


def compute_due_at(policy: TierPolicy, start: datetime) -> Deadline:
    """When the answer falls due for a case of this tier whose clock starts at `start`."""
    return deadline_after(start, policy.duration, policy.unit)


def compute_accept_by(policy: ChannelPolicy, start: datetime) -> Deadline:
    """When a case of this channel, received at `start`, must have been decided on."""
    return deadline_after(start, policy.acceptance_duration, policy.acceptance_unit)


def deadline_after(start: datetime, duration: int, unit: str) -> Deadline:
    """`duration` hours, calendar days or working days after `start`.

    Working days keep the clock time: accepted at 10:00, due at 10:00 on the n-th working
    day after the day of acceptance (the day of acceptance itself does not count).
    """
    if unit == TimeUnit.HOURS:
        return Deadline(start + timedelta(hours=duration), frozenset())
    if unit == TimeUnit.CALENDAR_DAYS:
        return Deadline(start + timedelta(days=duration), frozenset())
    local = timezone.localtime(start)
    day, fallback = add_working_days(local.date(), duration)
    due = timezone.make_aware(datetime.combine(day, local.time().replace(tzinfo=None)))
    if fallback:
        logger.warning(
            "Holiday calendar missing for %s: deadline computed on plain weekends",
            ", ".join(map(str, sorted(fallback))),
        )
    return Deadline(due, frozenset(fallback))


def missing_calendar_years(today: date | None = None) -> list[int]:
    """Years a deadline set today could reach for which nobody entered the holidays."""
    today = today or timezone.localdate()
    last = today + timedelta(days=settings.CALENDAR_LOOKAHEAD_DAYS)
    wanted = set(range(today.year, last.year + 1))
    entered = {
        day.year for day in CalendarDay.objects.filter(date__year__in=wanted).dates("date", "year")
    }
    return sorted(wanted - entered)


def import_package_years(calendar_day_model=CalendarDay) -> list[int]:
    """Copy the years `chinese-calendar` knows and the table lacks; answers those years.

    A year already in the table is left alone: the administrators' entries win. Takes the
    model so that the data migration can pass its historical one.
    """
    import chinese_calendar

    known: dict[int, list] = {}
    for day, name in chinese_calendar.holidays.items():
        known.setdefault(day.year, []).append((day, DayKind.HOLIDAY.value, name))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:  # only the weekends worked are special
            known.setdefault(day.year, []).append((day, DayKind.WORKDAY.value, name))
    entered = {day.year for day in calendar_day_model.objects.dates("date", "year")}
    added = []
    for year in sorted(set(known) - entered):
        calendar_day_model.objects.bulk_create(
            [
                calendar_day_model(date=day, kind=kind, name=HOLIDAY_NAMES.get(name, name))
                for day, kind, name in known[year]
            ],
            ignore_conflicts=True,
        )
        added.append(year)
    if added:
        reference.changed()  # bulk_create sends no signal
    return added


# ---------------------------------------------------------------- one year at a time
@dataclass(frozen=True)
class PlannedDay:
    """A day as it will be entered: a holiday or a weekend worked, with its festival."""

    date: date
    kind: str  # DayKind
    name: str


@dataclass(frozen=True)
class YearEntered:
    year: int
    holidays: int
    workdays: int
    replaced: int  # rows of the year there were before


def package_year(year: int) -> list[PlannedDay]:
    """The days `chinese-calendar` knows for `year` (empty when it does not know it):
    its holidays and the weekends it says are worked."""
    import chinese_calendar

    days = [PlannedDay(day, DayKind.HOLIDAY.value, HOLIDAY_NAMES.get(name, name))
            for day, name in chinese_calendar.holidays.items() if day.year == year]
    days += [PlannedDay(day, DayKind.WORKDAY.value, HOLIDAY_NAMES.get(name, name))
             for day, name in chinese_calendar.workdays.items()
             if day.year == year and day.weekday() >= 5]
    return sorted(days, key=lambda day: day.date)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        return ""


def entered_days(year: int) -> int:
    return CalendarDay.objects.filter(date__year=year).count()


def enter_year(*, year: int, days: list[PlannedDay], replace: bool) -> YearEntered:
    """Enter a year's holidays and weekends worked in one transaction.

    A year already entered is replaced only when `replace` is asked for: its rows go and
    the given days take their place. A day of the list outside the year (元旦 from 12月31日,
    in the notice of the year after) is written over whatever that date held.
    """
    if not any(day.kind == DayKind.HOLIDAY for day in days):
        raise ValidationError({"year": _("%(year)s 年没有找到任何放假日，未作改动。") % {"year": year}})
    try:
        with transaction.atomic():
            existing = CalendarDay.objects.select_for_update().filter(date__year=year)
            replaced = len(existing.values_list("pk", flat=True))
            if replaced and not replace:
                raise ValidationError({"replace": _(
                    "%(year)s 年已录入 %(count)d 天。要用新的安排替换，请勾选“替换已录入的"
                    "%(year)s 年”。") % {"year": year, "count": replaced}})
            existing.delete()
            inside = [day for day in days if day.date.year == year]
            outside = [day for day in days if day.date.year != year]
            CalendarDay.objects.bulk_create(
                [CalendarDay(date=day.date, kind=day.kind, name=day.name) for day in inside])
            if outside:
                CalendarDay.objects.bulk_create(
                    [CalendarDay(date=day.date, kind=day.kind, name=day.name) for day in outside],
                    update_conflicts=True, unique_fields=["date"], update_fields=["kind", "name"])
            reference.changed()  # bulk writes send no signal
    except IntegrityError:
        # Someone entered the same year at the same moment: nothing of this one was kept.
        raise ValidationError({"year": _(
            "%(year)s 年的节假日正在由别人录入，本次未作改动；请刷新后查看。") % {"year": year}}) from None
    logger.info("Calendar year %s entered: %s days (%s replaced)", year, len(days), replaced)
    return YearEntered(
        year=year, replaced=replaced,
        holidays=sum(day.kind == DayKind.HOLIDAY for day in days),
        workdays=sum(day.kind == DayKind.WORKDAY for day in days))
