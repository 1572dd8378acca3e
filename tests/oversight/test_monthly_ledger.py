"""The dashboard at city scale, read by months (issue 17): the departments' ledger by month
(oversight migration 0012, kept by PostgreSQL triggers) equals the daily ledger added up,
whatever is written to it; a period is read as whole months, a partial month either by
its days or as the month less its other days, and the figures and the ledger come out the
same as when every day is added up."""

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from django.db import connection

from oversight import dashboard
from oversight import figures
from oversight.figures import LEDGER_COUNTERS
from oversight.models import DepartmentLedger, MonthlyLedger

from .test_rollups import two_months  # noqa: F401 - the fixture

postgres = pytest.mark.skipif(connection.vendor != "postgresql",
                              reason="the monthly ledger is kept by PostgreSQL triggers")


def ledger_by_month() -> dict:
    """The daily ledger added up by month, as the monthly ledger should hold it."""
    found: dict[tuple, Counter] = defaultdict(Counter)
    for row in DepartmentLedger.objects.values("day", "holder", "department_id_value",
                                               *LEDGER_COUNTERS):
        key = (row["day"].replace(day=1), row["holder"], row["department_id_value"])
        found[key].update({name: row[name] for name in LEDGER_COUNTERS})
    return {key: dict(counts) for key, counts in found.items() if any(counts.values())}


def stored_months() -> dict:
    return {(row["month"], row["holder"], row["department_id_value"]):
            {name: row[name] for name in LEDGER_COUNTERS}
            for row in MonthlyLedger.objects.values("month", "holder", "department_id_value",
                                                    *LEDGER_COUNTERS)
            if any(row[name] for name in LEDGER_COUNTERS)}


@postgres
def test_the_monthly_ledger_equals_the_days_added_up_through_refreshes(two_months):
    assert DepartmentLedger.objects.exists()
    assert stored_months() == ledger_by_month()


@postgres
def test_the_monthly_ledger_follows_a_rebuild_from_scratch(committed_db, two_months):
    before = stored_months()
    DepartmentLedger.objects.all().delete()
    assert not stored_months()
    figures.rebuild_figures()
    assert stored_months() == ledger_by_month() == before


@postgres
def test_any_write_to_the_daily_ledger_moves_the_months(two_months):
    row = DepartmentLedger.objects.order_by("pk").first()
    DepartmentLedger.objects.filter(pk=row.pk).update(
        held_seconds=row.held_seconds + 3600, day=row.day + timedelta(days=40))
    DepartmentLedger.objects.filter(pk=DepartmentLedger.objects.order_by("-pk").first().pk).delete()
    DepartmentLedger.objects.create(day=date(2026, 8, 3), holder="department",
                                    department_id_value=row.department_id_value, segments=2,
                                    held_seconds=7200)
    assert stored_months() == ledger_by_month()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE oversight_departmentledger")
    assert not MonthlyLedger.objects.exists()


def days_of(parts) -> Counter:
    """How many times each day is counted by the parts (a month counts each of its days)."""
    counted = Counter()
    for table, low, high, sign in parts:
        day = low
        while day < high:
            if table == "month":
                following = dashboard._next_month(day)
                inner = day
                while inner < following:
                    counted[inner] += sign
                    inner += timedelta(days=1)
                day = following
            else:
                counted[day] += sign
                day += timedelta(days=1)
    return Counter({day: n for day, n in counted.items() if n})


def test_a_period_is_read_as_every_one_of_its_days_once():
    rng = random.Random(11)
    today = date(2026, 12, 3)
    periods = [(date(2025, 12, 3), today), (date(2026, 1, 1), date(2026, 12, 31)),
               (date(2026, 3, 5), date(2026, 3, 20)), (date(2026, 2, 28), date(2026, 3, 1)),
               (date(2026, 12, 1), today), (date(2026, 2, 1), date(2026, 2, 28))]
    for _ in range(300):
        start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 1000))
        periods.append((start, start + timedelta(days=rng.randint(0, 500))))
    for start, end in periods:
        parts = dashboard.period_parts(start, end, today)
        assert all(table in ("month", "day") and low < high for table, low, high, _s in parts)
        assert all(low.day == 1 and high.day == 1 for table, low, high, _s in parts
                   if table == "month")
        expected = Counter({start + timedelta(days=i): 1
                            for i in range((end - start).days + 1)})
        assert days_of(parts) == expected, (start, end, parts)
    # A year to today: the months and one day taken away, not thirty days added.
    assert dashboard.period_parts(date(2025, 12, 3), today, today) == [
        ("day", date(2025, 12, 1), date(2025, 12, 3), -1),
        ("day", date(2026, 12, 4), date(2027, 1, 1), -1),
        ("month", date(2025, 12, 1), date(2027, 1, 1), 1)]


PERIODS = [(date(2026, 5, 10), date(2026, 7, 5)), (date(2026, 5, 3), date(2026, 6, 28)),
           (date(2026, 5, 20), date(2026, 6, 12)), (date(2026, 6, 1), date(2026, 6, 30)),
           (date(2026, 6, 2), date(2026, 6, 29))]


@pytest.mark.parametrize("start, end", PERIODS)
def test_the_figures_and_the_ledger_are_those_of_every_day_added_up(
        world, two_months, monkeypatch, start, end):
    """Months less their days (and the monthly ledger, on PostgreSQL) give what the days
    alone give: the office, a department, a head's departments, each breakdown."""
    scopes = [dashboard.Scope(start=start, end=end),
              dashboard.Scope(start=start, end=end, department=world.a.pk),
              dashboard.Scope(start=start, end=end,
                              allowed_departments=frozenset({world.a.pk, world.b.pk}))]
    by = ("department", "category", "channel", "tier", "month")
    read = [(dashboard.figures_of(scope, *by), dashboard.ledger(scope)) for scope in scopes]
    assert any(ledger for _figures, ledger in read)
    assert any(found["totals"]["received"] for found, _ledger in read)
    with monkeypatch.context() as patched:
        patched.setattr(dashboard, "period_parts",
                        lambda low, high, today=None: [("day", low, high + timedelta(days=1), 1)])
        assert [(dashboard.figures_of(scope, *by), dashboard.ledger(scope))
                for scope in scopes] == read


def test_the_breakdown_cells_are_the_markup_the_template_wrote():
    from django.template import Context

    from oversight.templatetags import figures as tags

    context = Context()

    def breakdown_cells(*arguments):
        return tags.breakdown_cells(context, *arguments)

    def ledger_cells(row):
        return tags.ledger_cells(context, row)

    columns = [("received", "受理量"), ("on_time_rate", "按期答复率%"),
               ("visit_rate", "回访率%")]
    row = {"key": 7, "query": "start=2026-01-01&end=2026-01-31&department=7",
           "received": 12, "on_time_rate": 91.5, "visit_rate": None}
    assert breakdown_cells(row, columns, "department", "/oversight/cases/") == (
        '<td class="num"><a href="/oversight/cases/?start=2026-01-01&amp;end=2026-01-31'
        '&amp;department=7&measure=received">12</a></td>'
        '<td class="num">91.5</td><td class="num">—</td>')
    # A zero is not linked: its list would be empty.
    assert breakdown_cells({**row, "received": 0}, columns[:1], "department", "/x/") == (
        '<td class="num">0</td>')
    # Cases without a department: counted, not linked (0 is no filter).
    assert breakdown_cells({**row, "key": 0}, columns[:1], "department", "/x/") == (
        '<td class="num">12</td>')
    ledger_row = {"segments": 3, "held_hours": 5.5, "average_hours": None, "late_segments": 0,
                  "late_hours": 0.0, "dispatched": 2, "misrouted": 1, "accuracy": 50.0,
                  "returns_upheld": 1, "returns_refused": 0, "extensions": 0}
    assert ledger_cells(ledger_row) == "".join(
        f'<td class="num">{value}</td>' for value in
        ("3", "5.5", "—", "0", "0.0", "2", "1", "50.0%", "1", "0", "0"))


def test_the_page_shows_the_breakdown_and_the_ledger_on_the_department_tab(
        client, world, two_months):
    client.force_login(world.supervisor)
    query = "/oversight/?start=2026-05-01&end=2026-07-10"
    by_department = client.get(query).content.decode()
    row = next(row for row in dashboard.ledger(dashboard.Scope(
        start=date(2026, 5, 1), end=date(2026, 7, 10))) if row["key"] == world.a.pk)
    assert 'id="ledger"' in by_department and f'<th scope="row">{row["label"]}</th>' in (
        by_department)
    assert f'&amp;department={world.a.pk}&measure=received">' in by_department
    by_category = client.get(query + "&by=category").content.decode()
    assert 'id="ledger"' not in by_category and 'id="ledger-elsewhere"' in by_category
    assert 'id="breakdown"' in by_category
