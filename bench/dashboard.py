"""The oversight dashboard at scale: 5 million cases over three years.

The cases are generated in PostgreSQL itself (generate_series), the summary tables are
built once from scratch (`rebuild_figures`, timed), and then the dashboard for the last
year and all departments is timed server side: the figures alone, and the whole page
through the test client. Also timed: the incremental refresh of 1 000 changed cases, and
the monthly report's figures.

    bench/run dashboard --cases 5000000
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, timed  # noqa: E402

setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, Category, Department, Petitioner  # noqa: E402
from oversight import dashboard  # noqa: E402
from oversight.figures import mark_changed, rebuild_figures, refresh_figures  # noqa: E402

# Columns the generator fills; every other NOT NULL column gets its model default.
GENERATED = {
    "number": "'DB-' || g",
    "channel": "(ARRAY['visit','phone','letter','email','web','hotline_12345'])"
               "[(1 + mod(g::bigint * 2654435761, 6))::int]",
    "petitioner_id": "(SELECT min(id) FROM cases_petitioner) + mod(g::bigint * 7919, {people})",
    "summary": "(ARRAY['小区噪声扰民','道路积水','物业不作为','拖欠工资','油烟污染','违章搭建',"
               "'路灯不亮','垃圾清运不及时'])[1 + mod(g / 7, 8)]",
    "content": "'基准案件内容'",
    "place": "'街道' || (mod(g, 300))",
    "category_id": "(SELECT array_agg(id ORDER BY id) FROM cases_category "
                   "WHERE parent_id IS NOT NULL)[(1 + mod(g::bigint * 40503 + g / 11, {categories}))::int]",
    "tier_id": "(SELECT array_agg(id ORDER BY code) FROM cases_tierpolicy)"
               "[(1 + mod(g::bigint * 2246822519 + g / 5, 4))::int]",
    "lead_department_id": "(SELECT array_agg(id ORDER BY id) FROM cases_department)"
                          "[(1 + mod(g::bigint * 3266489917 + g / 3, {departments}))::int]",
    # Three years back from now, spread evenly; the newest 2 % are still open.
    "received_at": "now() - (interval '3 years') * (1 - g::float / {total})",
    "accepted_at": "now() - (interval '3 years') * (1 - g::float / {total})",
    "due_at": "now() - (interval '3 years') * (1 - g::float / {total}) + interval '7 days'",
    "state": "CASE WHEN g > {total} * 0.98 THEN 'in_handling' ELSE 'archived' END",
    "replied_at": "CASE WHEN g > {total} * 0.98 THEN NULL ELSE now() - (interval '3 years') "
                  "* (1 - g::float / {total}) + interval '1 day' * (1 + mod(g, 9)) END",
    "responded_at": "now() - (interval '3 years') * (1 - g::float / {total}) "
                    "+ interval '1 hour' * (1 + mod(g, 200))",
    "satisfaction": "CASE WHEN g > {total} * 0.98 THEN '' WHEN mod(g, 10) = 0 THEN 'unsatisfied'"
                    " WHEN mod(g, 3) = 0 THEN 'basically' ELSE 'satisfied' END",
    "is_solved": "CASE WHEN g > {total} * 0.98 THEN NULL ELSE mod(g, 5) <> 0 END",
    "visit_count": "CASE WHEN g > {total} * 0.98 THEN 0 ELSE 1 END",
    "solved_visits": "CASE WHEN g > {total} * 0.98 OR mod(g, 5) = 0 THEN 0 ELSE 1 END",
    "satisfied_visits": "CASE WHEN g > {total} * 0.98 OR mod(g, 10) = 0 THEN 0 ELSE 1 END",
    "return_count": "CASE WHEN mod(g, 25) = 0 THEN 1 ELSE 0 END",
    "extension_count": "CASE WHEN mod(g, 40) = 0 THEN 1 ELSE 0 END",
    "invalid_reason": "CASE WHEN mod(g, 50) = 0 THEN 'consultation' ELSE '' END",
}


def insert_sql(model, generated: dict, sizes: dict) -> tuple[str, list]:
    """INSERT … SELECT over generate_series(1, %s) g: the generated columns, and every
    other NOT NULL column with its model default."""
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in generated:
            expression = generated[field.column]
            for name, size in sizes.items():
                expression = expression.replace("{" + name + "}", str(size))
            columns.append(field.column)
            values.append(expression)
        elif not field.null:
            columns.append(field.column)
            values.append("%s")
            params.append(field.get_db_prep_value(field.get_default(), connection))
    return (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(1, %s) g", params)


def generate(total: int, *, workers: int = 2, rebuild_only: bool = False) -> None:
    if Case.objects.count() >= total:
        print(f"data: {Case.objects.count()} cases already there")
        if rebuild_only:
            rebuild(workers)
        return
    started = time.perf_counter()
    for i in range(12):
        Department.objects.get_or_create(code=f"D{i}", defaults={"name": f"部门{i:02d}"})
    for i in range(8):
        top, _ = Category.objects.get_or_create(name=f"大类{i}", parent=None)
        for j in range(4):
            Category.objects.get_or_create(name=f"小类{i}-{j}", parent=top)
    sizes = {"total": total, "people": 200_000,
             "categories": Category.objects.filter(parent__isnull=False).count(),
             "departments": Department.objects.count()}
    people_sql, people_params = insert_sql(
        Petitioner, {"name": "'居民' || g", "phone": "'13' || lpad(g::text, 9, '0')"}, sizes)
    with connection.cursor() as cursor:
        cursor.execute(people_sql.replace("generate_series(1, %s)", "generate_series(1, 200000)"),
                       people_params)
    sql, params = insert_sql(Case, GENERATED, sizes)
    with connection.cursor() as cursor:
        for start in range(0, total, 500_000):
            chunk = min(500_000, total - start)
            cursor.execute(sql.replace("generate_series(1, %s)",
                                       f"generate_series({start + 1}, {start + chunk})"), params)
            print(f"  {start + chunk} cases", flush=True)
        # One case in nine reached the overdue step (the sweep's schedule row says so).
        cursor.execute("INSERT INTO cases_caseschedule (case_id, escalation_step) "
                       "SELECT id, 'overdue' FROM cases_case WHERE mod(id, 9) >= 7")
        cursor.execute("ANALYZE")
    print(f"data: {total} cases over three years, made in {time.perf_counter() - started:.0f} s")
    rebuild(workers)


def rebuild(workers: int) -> None:
    started = time.perf_counter()
    counted = rebuild_figures(workers=workers).counted
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds = time.perf_counter() - started
    print(f"summary rebuilt from scratch: {counted} cases in {seconds:.0f} s "
          f"({counted / seconds:,.0f} cases/s, {workers} processes), "
          f"{dashboard.DailyFigures.objects.count()} summary rows")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="processes of the rebuild")
    parser.add_argument("--rebuild-only", action="store_true",
                        help="generate (or keep) the data and time the rebuild, nothing else")
    options = parser.parse_args()
    generate(options.cases, workers=options.workers, rebuild_only=options.rebuild_only)
    if options.rebuild_only:
        return
    measure(options.runs)


def measure(runs: int) -> None:
    """The dashboard's figures and pages for the last year, with their goals; the
    incremental refresh of 1 000 changed cases."""
    today = timezone.localdate()
    year = dashboard.Scope(start=today - timedelta(days=365), end=today)
    one_department = dashboard.Scope(start=year.start, end=year.end,
                                     department=Department.objects.order_by("pk").first().pk)
    timed("figures: totals, one year", lambda: dashboard.totals(year), runs)
    timed("figures: by department, one year", lambda: dashboard.breakdown(year, "department"),
          runs)
    timed("figures: by category, one year", lambda: dashboard.breakdown(year, "category"),
          runs, goal_ms=50)
    timed("figures: by month, one year", lambda: dashboard.breakdown(year, "month"),
          runs)
    timed("figures: live (open, overdue, due soon, today)", lambda: dashboard.live(year),
          runs, goal_ms=20)
    timed("figures: totals, one department, one year",
          lambda: dashboard.totals(one_department), runs)

    supervisor, _ = get_user_model().objects.get_or_create(username="bench-supervisor")
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    client = Client()
    client.force_login(supervisor)
    query = f"start={year.start}&end={year.end}"
    assert client.get(f"/oversight/?{query}").status_code == 200
    from django.core.cache import cache

    def first_look(path):
        cache.clear()  # as after a refresh moved the figures: read and made afresh
        return client.get(path)

    for by in ("department", "category", "month"):
        timed(f"page: /oversight/ one year, all departments, by {by}, first look",
              lambda by=by: first_look(f"/oversight/?{query}&by={by}"), runs, goal_ms=50)
        timed(f"page: /oversight/ one year, all departments, by {by}, again",
              lambda by=by: client.get(f"/oversight/?{query}&by={by}"), runs,
              goal_ms=50)
    three_years = f"start={today - timedelta(days=3 * 365)}&end={today}"
    timed("page: /oversight/ three years, by department",
          lambda: client.get(f"/oversight/?{three_years}"), runs)
    timed("page: drill-down, overdue (first page)",
          lambda: client.get(f"/oversight/cases/?{query}&measure=overdue"), runs)
    timed("page: drill-down, answered late in the year (first page)",
          lambda: client.get(f"/oversight/cases/?{query}&measure=late"), runs)

    ids = list(Case.objects.order_by("-pk").values_list("pk", flat=True)[:1000])
    mark_changed(ids)
    start = time.perf_counter()
    refresh_figures()
    print(f"incremental refresh of 1000 changed cases: "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    start = time.perf_counter()
    refresh_figures()
    print(f"refresh with nothing queued: {(time.perf_counter() - start) * 1000:.1f} ms")
    from django.db.models import Sum

    print("the year as parts (table, from, to, sign): " + "; ".join(
        f"{table} {low}…{high} {sign:+d}" for table, low, high, sign in
        dashboard.period_parts(year.start, year.end)))
    for rows, sign in year.figure_parts(["department_id_value"]):
        grouped = rows.values("department_id_value").annotate(n=Sum("received")).order_by()
        print(f"plan of the year by department ({rows.model.__name__}, {sign:+d}): " + " | ".join(
            line.strip() for line in grouped.explain().splitlines() if "Scan" in line))


if __name__ == "__main__":
    main()
