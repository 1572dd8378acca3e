"""The summary's rollups (oversight migration 0009): kept by PostgreSQL with every write to
the daily and monthly tables, equal to the full tables added up, and what the dashboard
reads when they serve its slice."""

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases.models import Channel, State
from oversight import dashboard
from oversight import figures
from oversight.figures import COUNTERS, refresh_figures
from oversight.models import (ROLLUP_DIMENSIONS, ROLLUP_GROUPINGS, DailyFigures, DailyRollup,
                              MonthlyFigures, MonthlyRollup)
from oversight.services import sweep_deadlines
from tests.factories import drive_to, reply_from_handling

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the rollups are kept by PostgreSQL triggers")


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def rolled_up(source, period: str) -> dict:
    """The full table added up by every grouping, as the rollups should hold it."""
    found: dict[tuple, Counter] = defaultdict(Counter)
    for row in source.objects.values(period, *ROLLUP_DIMENSIONS, *COUNTERS):
        for grouping in ROLLUP_GROUPINGS:
            key = (grouping, row[period], *(
                row[name] if grouping & bit else ("*" if name == "channel" else -1)
                for name, bit in ROLLUP_DIMENSIONS.items()))
            found[key].update({name: row[name] for name in COUNTERS})
    return {key: dict(counts) for key, counts in found.items() if any(counts.values())}


def stored(rollup, period: str) -> dict:
    return {(row["grouping"], row[period], *(row[name] for name in ROLLUP_DIMENSIONS)):
            {name: row[name] for name in COUNTERS}
            for row in rollup.objects.values("grouping", period, *ROLLUP_DIMENSIONS, *COUNTERS)
            if any(row[name] for name in COUNTERS)}


def assert_rollups_agree():
    assert stored(DailyRollup, "day") == rolled_up(DailyFigures, "day")
    assert stored(MonthlyRollup, "month") == rolled_up(MonthlyFigures, "month")


@pytest.fixture
def two_months(world, travel):
    """Cases over two months in two departments, channels and tiers, some answered, some
    late, counted by the figures' refresh."""
    rng = random.Random(17)
    other = world.b
    cases = []
    for day in range(0, 60, 6):
        travel.to(local(2026, 5, 4, 9, 0) + timedelta(days=day, minutes=rng.randint(0, 300)))
        for _ in range(2):
            case = drive_to(world, rng.choice([State.ACCEPTED, State.IN_HANDLING,
                                               State.REPLIED]))
            cases.append(case)
        for case in rng.sample(cases, min(2, len(cases))):
            case.refresh_from_db()
            if case.state == State.IN_HANDLING:
                reply_from_handling(world, case)
        sweep_deadlines()
        refresh_figures(batch_size=5)
    # Some cases moved to another department and channel by hand, counted again as an
    # act would have them.
    from oversight.figures import mark_changed

    moved = rng.sample(cases, len(cases) * 2 // 5)
    for case in moved:
        type(case).objects.filter(pk=case.pk).update(
            channel=rng.choice([Channel.WEB, Channel.HOTLINE_12345]),
            lead_department=other if case.lead_department_id else None)
    mark_changed([case.pk for case in moved])
    refresh_figures()
    travel.to(local(2026, 7, 10, 9, 0))
    return cases


def test_the_rollups_equal_the_full_tables_added_up_through_refreshes(two_months):
    assert DailyRollup.objects.exists() and MonthlyRollup.objects.exists()
    assert_rollups_agree()


def test_the_rollups_follow_a_rebuild_from_scratch(committed_db, two_months):
    before = stored(MonthlyRollup, "month")
    DailyFigures.objects.all().delete()
    assert not stored(DailyRollup, "day")
    figures.rebuild_figures()
    assert_rollups_agree()
    assert stored(MonthlyRollup, "month") == before


def test_any_write_to_the_summary_moves_the_rollups(two_months):
    row = DailyFigures.objects.order_by("pk").first()
    DailyFigures.objects.filter(pk=row.pk).update(received=row.received + 5,
                                                  category_id_value=row.category_id_value + 1)
    DailyFigures.objects.filter(pk=DailyFigures.objects.order_by("-pk").first().pk).delete()
    MonthlyFigures.objects.filter(pk=MonthlyFigures.objects.order_by("pk").first().pk).delete()
    assert_rollups_agree()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE oversight_dailyfigures")
    assert not DailyRollup.objects.exists()
    assert_rollups_agree()


@pytest.mark.parametrize("slice_, by", [
    ({}, "department"), ({}, "category"), ({}, "channel"), ({}, "tier"), ({}, "month"),
    ({"department": "lead"}, "category"), ({"department": "lead"}, "channel"),
    ({"category": "top"}, "department"), ({"channel": Channel.WEB}, "tier"),
    # Three dimensions: no rollup keeps them, the full tables answer.
    ({"department": "lead", "channel": "lead's"}, "tier"),
])
def test_the_dashboard_reads_the_same_figures_from_the_rollups(world, two_months,
                                                              monkeypatch, slice_, by):
    values = dict(slice_)
    if values.get("department") == "lead":
        values["department"] = world.a.pk
    if values.get("channel") == "lead's":
        values["channel"] = next(case.channel for case in two_months
                                 if case.lead_department_id == world.a.pk)
    if values.get("category") == "top":
        case = next(case for case in two_months if case.category_id)
        case.refresh_from_db()
        values["category"] = case.category.parent_id or case.category_id
    scope = dashboard.Scope(start=date(2026, 5, 10), end=date(2026, 7, 5), **values)
    with_rollups = dashboard.figures_of(scope, by)
    monkeypatch.setattr(dashboard.Scope, "rollup_grouping", lambda self, columns=(): None)
    assert dashboard.figures_of(scope, by) == with_rollups
    assert with_rollups["totals"]["received"] > 0


def test_the_smallest_rollup_that_keeps_the_slice_is_read():
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    grouping = dashboard.Scope(**year).rollup_grouping
    assert grouping(["period_month", "department_id_value"]) == 1
    assert grouping(["category_id_value"]) == 2
    assert grouping(["tier_id_value"]) == 8
    assert grouping([]) == 8  # totals alone: the tier rollup is the smallest
    department = dashboard.Scope(**year, department=5).rollup_grouping
    assert department(["category_id_value"]) == 3
    assert department(["channel"]) == 5
    assert dashboard.Scope(**year, department=5, channel="web").rollup_grouping(
        ["tier_id_value"]) is None
    head = dashboard.Scope(**year, allowed_departments=frozenset({5})).rollup_grouping
    assert head(["period_month", "department_id_value"]) == 1


def test_two_refresh_batches_writing_the_summary_at_once_neither_deadlock_nor_lose(
        committed_db):
    """Each batch writes its daily rows in key order, 500 per statement, and each
    statement's trigger upserts the rollup rows: batches whose keys interleave would take
    shared rollup rows in opposite orders; the summary lock makes them take turns."""
    import threading

    from django.db import close_old_connections, transaction

    from oversight.figures import DIMENSIONS, _add_to_summary

    def deltas(seed: int) -> dict:
        rng = random.Random(seed)
        found = defaultdict(Counter)
        for _ in range(1500):
            key = (date(2026, 5, 1) + timedelta(days=rng.randint(0, 3)), rng.randint(1, 40),
                   rng.randint(1, 60), rng.choice(["phone", "web", "visit"]), rng.randint(1, 4))
            found[key]["received"] += 1
        assert len(DIMENSIONS) == len(key)
        return found

    errors, barrier = [], threading.Barrier(2)

    def batch(seed: int):
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                _add_to_summary(deltas(seed))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=batch, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    total = sum(counts["received"] for seed in (1, 2) for counts in deltas(seed).values())
    assert sum(DailyFigures.objects.values_list("received", flat=True)) == total
    assert_rollups_agree()
