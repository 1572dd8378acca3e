"""City scale (issue 17): a 20 M-case history with 1 M open across 400 departments,
generated in PostgreSQL with set-based SQL, then the issue's goals timed on it.

    bench/run city --cases 20000000 --open 1000000 --departments 400
    DATABASE_URL=postgres://… bench/run city --cases 20000000   # keep the data between runs

The data, all in INSERT … SELECT over generate_series (no Python per row):
- departments with one head and four handlers each; 12 categories of 5 kinds; one
  petitioner per four cases;
- cases evenly over `--years` years (numbers CT-<year>-<6 digits or more>), worded from the shipped
  corpus (intake/corpus) at ~700 000 made-up places; the newest `--open` are open
  (received, accepted, dispatched, returned, in handling, result submitted), spread over
  the departments as cases are in a city: a few departments hold most (the busiest about
  5 %, so 50 000 at 1 M open), deadlines from a week overdue to a month ahead;
- each case's counted facts and the daily and monthly summary (what `rebuild_figures`
  would store for cases without events: written by SQL here, since the generated cases
  have no events for the office's definitions to read), and the departments' ledger by
  day from each case's segments (office, department, review, return visit).
The case table's indexes are dropped for the load and built again after it (as for any
bulk load), with the live tallies counted once from the loaded rows.

Then, each with its goal and the ratio p95 / goal: the dashboard's year by category and
its live figures, the dashboard page, the busiest department's inbox (selector, counts,
page), the desks of its head and of the office's dispatcher, the counter's search by
words and by a seven-digit number, the repeat check over the 90-day window, and a sweep
with `--crossing` cases due among the open ones.
"""

import argparse
import json
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, timed  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import (OPEN_STATES, Case, Category, Department, Petitioner,  # noqa: E402
                          State, TierPolicy)
from oversight.figures import COUNTERS  # noqa: E402
from oversight.models import CaseFacts, DailyFigures, MonthlyFigures  # noqa: E402
from search import DISTRICTS, KINDS, NAME_CHARS, corpus  # noqa: E402

PREFIX = "CT"  # the generated cases' numbers: CT-<year>-<6 digits or more>
HANDLERS = 4
# Open states by share of the open cases (percent, cumulative).
OPEN_MIX = [(3, State.RECEIVED), (5, State.ACCEPTED), (20, State.DISPATCHED),
            (22, State.RETURNED), (82, State.IN_HANDLING), (100, State.RESULT_SUBMITTED)]
# Tiers by share of all cases (percent, cumulative): T1 2 h, T2 24 h, T3 7 d, T4 15 d.
TIER_MIX = [(1, "T1"), (10, "T2"), (80, "T3"), (100, "T4")]


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"data: {label} in {now - started:.0f} s", flush=True)
    return now


def made_cases() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE number LIKE %s", [PREFIX + "-%"])
        return cursor.fetchone()[0]


def reference_data(departments: int) -> tuple[list[int], list[int], list[int]]:
    """Departments (ids in order), the first handler of each, the subcategories."""
    User = get_user_model()
    made = list(Department.objects.filter(code__startswith="CT").order_by("code"))
    if len(made) < departments:
        made += Department.objects.bulk_create(
            Department(code=f"CT{i:03d}", name=f"城市部门{i:03d}")
            for i in range(len(made), departments))
        # One head and four handlers per department; ids in order, so handler k of
        # department i is first_handler[i] + k.
        users = User.objects.bulk_create(
            User(username=f"ct-{d.code.lower()}-{role}", password="!")
            for d in made for role in ("head", *(f"h{k}" for k in range(HANDLERS))))
        head_group = Group.objects.get(name="department_head")
        handler_group = Group.objects.get(name="handler")
        Heads, Members = Department.heads.through, Department.members.through
        Groups = User.groups.through
        heads, members, groups = [], [], []
        for i, department in enumerate(made):
            people = users[i * (HANDLERS + 1):(i + 1) * (HANDLERS + 1)]
            heads.append(Heads(department_id=department.pk, user_id=people[0].pk))
            groups.append(Groups(user_id=people[0].pk, group_id=head_group.pk))
            for person in people:
                members.append(Members(department_id=department.pk, user_id=person.pk))
            for person in people[1:]:
                groups.append(Groups(user_id=person.pk, group_id=handler_group.pk))
        Heads.objects.bulk_create(heads)
        Members.objects.bulk_create(members)
        Groups.objects.bulk_create(groups)
    first_handler = [User.objects.get(username=f"ct-{d.code.lower()}-h0").pk for d in made]
    tops = list(Category.objects.filter(name__startswith="城市大类", parent=None))
    if not tops:
        for i in range(12):
            top = Category.objects.create(name=f"城市大类{i:02d}")
            for j in range(5):
                Category.objects.create(name=f"城市小类{i:02d}-{j}", parent=top)
    subs = list(Category.objects.filter(name__startswith="城市小类").order_by("pk")
                .values_list("pk", flat=True))
    return [d.pk for d in made], first_handler, subs


def generate(total: int, open_cases: int, departments: int, years: int) -> None:
    """Each step once, recorded in the table bench_city: a run that broke off (a timeout,
    a full disk) carries on where it stopped."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_city (step text PRIMARY KEY, data jsonb)")
        cursor.execute("SELECT step, data FROM bench_city")
        # (Django hands jsonb over as text.)
        done = {step: json.loads(data) if isinstance(data, str) else data
                for step, data in cursor.fetchall()}
        if "ready" in done:
            _ledger_step(cursor, done)  # data made before the bench wrote the ledger
            print(f"data: {made_cases()} generated cases already there")
            return
        begun = started = time.perf_counter()
        if "cases" not in done:
            _load(cursor, total, open_cases, departments, years)
            _done(cursor, "cases")
            cursor.execute("SELECT data FROM bench_city WHERE step = 'indexes'")
            done["indexes"] = json.loads(cursor.fetchone()[0])
            started = time.perf_counter()
        indexes = done["indexes"]
        if "facts" not in done:
            # The facts each case contributes and the summaries (see the docstring).
            cursor.execute(f"""
                INSERT INTO oversight_casefacts (case_id, day, department_id_value,
                  category_id_value, channel, tier_id_value, {", ".join(COUNTERS)})
                SELECT id, (received_at AT TIME ZONE %(zone)s)::date, coalesce(lead_department_id, 0),
                  coalesce(category_id, 0), channel, coalesce(tier_id, 0),
                  {", ".join(FACTS.get(name, "0") for name in COUNTERS)}
                FROM cases_case WHERE number LIKE %(pattern)s""",
                           {"zone": settings.TIME_ZONE, "pattern": PREFIX + "-%"})
            _done(cursor, "facts")
            started = step("the cases' facts", started)
        if "summaries" not in done:
            dimensions = "department_id_value, category_id_value, channel, tier_id_value"
            sums = ", ".join(f"sum({name})" for name in COUNTERS)
            for table, period in ((DailyFigures._meta.db_table, "day"),
                                  (MonthlyFigures._meta.db_table, "month")):
                cursor.execute(f"DELETE FROM {table}")
                expression = "day" if period == "day" else "date_trunc('month', day)::date"
                cursor.execute(f"""
                    INSERT INTO {table} ({period}, {dimensions}, {", ".join(COUNTERS)})
                    SELECT {expression}, {dimensions}, {sums} FROM oversight_casefacts
                    GROUP BY {expression}, {dimensions}""")
            _done(cursor, "summaries")
            started = step("the daily and monthly summaries", started)
        _ledger_step(cursor, done)

        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case'")
        present = {name for name, in cursor.fetchall()}
        for name, definition in indexes:
            if name not in present:
                cursor.execute(definition)
                started = step(f"index {name}", started)
        from importlib import import_module

        tallies = import_module("cases.migrations.0024_live_tallies")
        cursor.execute("TRUNCATE cases_tally, cases_tally_delta")
        cursor.execute(tallies.FORWARD[tallies.FORWARD.index("INSERT INTO cases_tally "):])
        started = step("the live tallies counted", started)
        cursor.execute("VACUUM ANALYZE")
        step("VACUUM ANALYZE", started)
        from oversight.figures import moved

        moved()  # the summary tables were written here: the dashboard's cache must see it
        _done(cursor, "ready")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database())), "
                       "pg_size_pretty(pg_total_relation_size('cases_case'))")
        database, cases = cursor.fetchone()
    print(f"data: {total} cases ({open_cases} open, {departments} departments) made in "
          f"{time.perf_counter() - begun:.0f} s; database {database}, cases with indexes {cases}",
          flush=True)


def _load(cursor, total: int, open_cases: int, departments: int, years: int) -> None:
    """The reference data, the petitioners and the cases (without the case table's
    secondary indexes, whose definitions are kept in bench_city)."""
    started = time.perf_counter()
    department_ids, first_handler, subs = reference_data(departments)
    tiers = {t.code: t.pk for t in TierPolicy.objects.all()}
    people = max(total // 4, 1)
    template_person = Petitioner.objects.create(name="模板", phone="13000000000")
    person_columns = [f.column for f in Petitioner._meta.concrete_fields
                      if f.column not in ("id", "phone", "name")]
    cursor.execute(
        "INSERT INTO cases_petitioner (name, phone, {0}) SELECT '居民' || g, "
        "'15' || lpad(g::text, 9, '0'), {1} FROM cases_petitioner p, "
        "generate_series(1, %s) g WHERE p.id = %s".format(
            ", ".join(f'"{c}"' for c in person_columns),
            ", ".join(f'p."{c}"' for c in person_columns)),
        [people, template_person.pk])
    started = step(f"{people} petitioners", started)

    # The bulk load without the case table's secondary indexes (built again after),
    # nor its foreign-key checks and tally triggers (the tallies are counted once
    # after); a cluster without the right to do so loads slower, with them.
    cursor.execute("""SELECT indexname, indexdef FROM pg_indexes
                      WHERE tablename = 'cases_case' AND indexname NOT IN (
                        SELECT conname FROM pg_constraint
                        WHERE conrelid = 'cases_case'::regclass)""")
    indexes = cursor.fetchall()
    _done(cursor, "indexes", indexes)
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        with transaction.atomic():
            cursor.execute("SET session_replication_role = replica")
        replica = True
    except Exception:  # not a superuser: load with the checks
        replica = False

    rows = corpus()
    cursor.execute("CREATE TEMP TABLE city_corpus (k int, summary text, content text)")
    cursor.executemany("INSERT INTO city_corpus VALUES (%s, %s, %s)",
                       [(i, r["summary"], r["content"][:400]) for i, r in enumerate(rows)])
    cursor.execute("SELECT now()")
    now = cursor.fetchone()[0]
    first_day = now - timedelta(days=365 * years)
    columns = [f.column for f in Case._meta.concrete_fields if f.column != "id"]
    made_here = {"number", "state", "channel", "petitioner_id", "summary", "content",
                 "place", "category_id", "tier_id", "lead_department_id", "handler_id",
                 "received_at", "accepted_at", "due_at", "dispatched_at", "replied_at",
                 "archived_at", "closed_at", "responded_at", "satisfaction",
                 "visit_count", "solved_visits",
                 "satisfied_visits", "return_count", "extension_count", "invalid_reason"}
    defaults, default_params = [], []
    for field in Case._meta.concrete_fields:
        if field.column in made_here or field.column == "id" or field.null:
            continue
        defaults.append(f'"{field.column}"')
        default_params.append(field.get_db_prep_value(field.get_default(), connection))
    open_mix = " ".join(f"WHEN r < {share} THEN '{state}'" for share, state in OPEN_MIX)
    tier_mix = " ".join(f"WHEN t < {share} THEN {tiers[code]}" for share, code in TIER_MIX)
    chunk, offsets = 500_000, {}
    for start in range(1, total + 1, chunk):
        stop = min(start + chunk, total + 1)
        cursor.execute(f"""
            INSERT INTO cases_case (number, state, channel, petitioner_id, summary, content,
              place, category_id, tier_id, lead_department_id, handler_id, received_at,
              accepted_at, due_at, dispatched_at, replied_at, archived_at, closed_at,
              responded_at, satisfaction, visit_count,
              solved_visits, satisfied_visits, return_count, extension_count,
              invalid_reason, {", ".join(defaults)})
            SELECT '~' || g,
                   state, (ARRAY['visit','phone','phone','phone','letter','email','web',
                           'hotline_12345','hotline_12345'])[1 + (g * 2654435761) %% 9],
                   %(first_person)s + 1 + (g * 7919) %% %(people)s,
                   left(name || kind || c.summary, 200), name || kind || c.content,
                   district || name || kind || (1 + g %% 40) || '号',
                   (%(subs)s::bigint[])[1 + (g * 40503 + g / 11) %% %(n_subs)s],
                   tier, CASE WHEN state = 'received' THEN NULL ELSE dept_id END,
                   CASE WHEN state IN ('in_handling', 'result_submitted')
                        THEN (%(handlers)s::bigint[])[1 + d] + (g %% {HANDLERS}) END,
                   at, CASE WHEN state <> 'received' THEN at END, due,
                   CASE WHEN state NOT IN ('received', 'accepted') THEN at END,
                   CASE WHEN NOT open THEN at + interval '1 hour' * (2 + g %% 300) END,
                   CASE WHEN NOT open THEN at + interval '1 day' * (3 + g %% 12) END,
                   CASE WHEN NOT open THEN at + interval '1 day' * (3 + g %% 12) END,
                   CASE WHEN NOT open OR g %% 3 = 0 THEN at + interval '1 hour' * (1 + g %% 30) END,
                   CASE WHEN open THEN '' WHEN g %% 10 = 0 THEN 'unsatisfied'
                        WHEN g %% 3 = 0 THEN 'basically' ELSE 'satisfied' END,
                   CASE WHEN open THEN 0 ELSE 1 END,
                   CASE WHEN open OR g %% 5 = 0 THEN 0 ELSE 1 END,
                   CASE WHEN open OR g %% 10 = 0 THEN 0 ELSE 1 END,
                   CASE WHEN g %% 25 = 0 THEN 1 ELSE 0 END,
                   CASE WHEN g %% 40 = 0 THEN 1 ELSE 0 END,
                   CASE WHEN NOT open AND g %% 50 = 0 THEN 'consultation' ELSE '' END,
                   {", ".join(f"%(default{i})s" for i in range(len(defaults)))}
            FROM generate_series(%(start)s::bigint, %(stop)s - 1) g
            CROSS JOIN LATERAL (SELECT
                %(first_day)s::timestamptz + (%(now)s::timestamptz - %(first_day)s::timestamptz)
                  * ((g - 0.5) / %(total)s) AS at,
                g > %(total)s - %(open)s AS open,
                (g * 31) %% 100 AS r, (g * 17 + g / 7) %% 100 AS t,
                -- Departments by a square law: the busiest holds about 5 %% of the cases.
                floor(%(departments)s * power(((g * 2654435761) %% 1000003) / 1000003.0, 2))::int AS d,
                substr(%(chars)s::text, (1 + (g * 104729) %% %(n_chars)s)::int, 1)
                || substr(%(chars)s::text, (1 + (g * 15485863 / 7) %% %(n_chars)s)::int, 1) AS name,
                (%(kinds)s::text[])[1 + (g / 3) %% 8] AS kind,
                (%(districts)s::text[])[1 + (g / 5) %% 8] AS district) AS made
            CROSS JOIN LATERAL (SELECT
                CASE WHEN open THEN CASE {open_mix} END ELSE 'archived' END AS state,
                CASE {tier_mix} END AS tier,
                (%(departments_ids)s::bigint[])[1 + d] AS dept_id,
                CASE WHEN open THEN now() + interval '1 hour' * (((g * 7) %% 960) - 160)
                     ELSE at + interval '7 days' END AS due) AS chosen
            JOIN city_corpus c ON c.k = (g * 613) %% %(n_corpus)s
        """, _params(default_params, {
            "prefix": PREFIX, "zone": settings.TIME_ZONE,
            "first_person": template_person.pk, "people": people, "subs": subs,
            "n_subs": len(subs), "handlers": first_handler, "start": start, "stop": stop,
            "total": total, "open": open_cases, "first_day": first_day, "now": now,
            "departments": len(department_ids),
            "departments_ids": department_ids, "chars": NAME_CHARS,
            "n_chars": len(NAME_CHARS), "kinds": KINDS, "districts": DISTRICTS,
            "n_corpus": len(rows)}))
        # The sweep's schedule (cases.CaseSchedule): the next step within a week for the
        # open cases, the step reached for the overdue ones and some closed ones.
        cursor.execute("""
            INSERT INTO cases_caseschedule (case_id, escalation_step, next_action_at)
            SELECT id, CASE WHEN open AND due_at < now() THEN 'overdue'
                            WHEN NOT open AND g % 9 >= 7 THEN 'overdue' ELSE '' END,
                   CASE WHEN open THEN now() + interval '1 minute' * (1 + (g * 13) % 10080) END
            FROM (SELECT id, due_at, substr(number, 2)::bigint AS g, state <> 'archived' AS open
                  FROM cases_case WHERE number LIKE '~%') c
            WHERE open OR g % 9 >= 7""")
        # Numbers per year, in order of registration (the gapless sequence's own).
        cursor.execute("""
            WITH made AS (SELECT id, extract(year FROM received_at AT TIME ZONE %(zone)s)::int
                              AS year FROM cases_case WHERE number LIKE '~%%'),
                 numbered AS (SELECT id, year, row_number() OVER (PARTITION BY year
                              ORDER BY id) + coalesce((%(offsets)s::jsonb ->> year::text)::int, 0)
                              AS value FROM made),
                 renamed AS (UPDATE cases_case c SET number = %(prefix)s || '-' || n.year
                               || '-' || CASE WHEN n.value < 1000000
                                         THEN lpad(n.value::text, 6, '0')
                                         ELSE n.value::text END
                             FROM numbered n WHERE c.id = n.id RETURNING n.year, n.value)
            SELECT year, max(value) FROM renamed GROUP BY year""",
                       {"zone": settings.TIME_ZONE, "prefix": PREFIX,
                        "offsets": json.dumps(offsets)})
        for year, value in cursor.fetchall():
            offsets[str(year)] = max(offsets.get(str(year), 0), value)
        started = step(f"cases {start}-{stop - 1}", started)
    if replica:
        cursor.execute("SET session_replication_role = DEFAULT")


def _ledger_step(cursor, done: dict) -> None:
    """The departments' ledger by day (what `rebuild_figures` would store from the
    segments of cases without events), written from the cases by one INSERT … SELECT:
    per case the office's segment before dispatch, the lead department's (dispatched;
    its time and late time once answered; its returns refused and extensions), the
    office's review and the return visit. The per-case segment facts are not written:
    the dashboard reads the ledger only."""
    if "ledger" in done:
        return
    started = time.perf_counter()
    segments = [
        # holder, department, starts, ends, dispatched, late from, returns, extensions
        ("'office'", "0", "received_at", "dispatched_at", "0", "NULL", "0", "0"),
        ("'department'", "lead_department_id", "dispatched_at", "replied_at", "1", "due_at",
         "return_count", "extension_count"),
        ("'review'", "0", "replied_at - interval '2 hours'", "replied_at", "0", "NULL", "0", "0"),
        ("'visit'", "lead_department_id", "replied_at", "archived_at", "0", "NULL", "0", "0"),
    ]
    values = ", ".join(f"({', '.join(parts)})" for parts in segments)
    cursor.execute("DELETE FROM oversight_departmentledger")
    cursor.execute(f"""
        INSERT INTO oversight_departmentledger (day, holder, department_id_value, segments,
          held_seconds, late_segments, late_seconds, dispatched, misrouted, returns_upheld,
          returns_refused, extensions)
        SELECT (s.starts AT TIME ZONE %(zone)s)::date, s.holder, s.department,
               count(s.ends), coalesce(sum(extract(epoch FROM s.ends - s.starts)::bigint), 0),
               count(*) FILTER (WHERE s.ends > s.late_from),
               coalesce(sum(greatest(extract(epoch FROM s.ends - s.late_from)::bigint, 0)), 0),
               sum(s.dispatched), 0, 0, sum(s.returns), sum(s.extensions)
        FROM cases_case c CROSS JOIN LATERAL (VALUES {values})
          AS s (holder, department, starts, ends, dispatched, late_from, returns, extensions)
        WHERE c.number LIKE %(pattern)s AND c.invalid_reason = '' AND s.starts IS NOT NULL
          AND s.department IS NOT NULL
        GROUP BY 1, 2, 3""", {"zone": settings.TIME_ZONE, "pattern": PREFIX + "-%"})
    _done(cursor, "ledger")
    step("the departments' ledger", started)


def _done(cursor, name: str, data=None) -> None:
    cursor.execute("INSERT INTO bench_city VALUES (%s, %s) ON CONFLICT (step) DO NOTHING",
                   [name, json.dumps(data)])


def _params(default_params: list, named: dict) -> dict:
    """The named parameters, and the defaults' positional ones as named ones."""
    return named | {f"default{i}": value for i, value in enumerate(default_params)}


# What each generated case counts (cases without events: one round, answered unless open).
FACTS = {
    "received": "CASE WHEN invalid_reason = '' THEN 1 ELSE 0 END",
    "invalid": "CASE WHEN invalid_reason = '' THEN 0 ELSE 1 END",
    "rounds": "CASE WHEN invalid_reason = '' THEN 1 ELSE 0 END",
    "accepted": "CASE WHEN accepted_at IS NOT NULL THEN 1 ELSE 0 END",
    "archived": "CASE WHEN state = 'archived' THEN 1 ELSE 0 END",
    "deadline_counted": "CASE WHEN invalid_reason = '' AND (replied_at IS NOT NULL "
                        "OR due_at < now()) THEN 1 ELSE 0 END",
    "on_time": "CASE WHEN invalid_reason = '' AND replied_at <= due_at THEN 1 ELSE 0 END",
    "responded": "CASE WHEN invalid_reason = '' AND responded_at <= due_at THEN 1 ELSE 0 END",
    "visited": "visit_count", "solved": "solved_visits", "satisfied": "satisfied_visits",
    "visits_due": "visit_count", "visits_on_time": "visit_count",
    "returns": "return_count", "extensions": "extension_count",
    "petitioners_answered": "CASE WHEN replied_at IS NOT NULL THEN 1 ELSE 0 END",
}


def make_due(crossing: int, department_id: int) -> None:
    """`crossing` in-handling cases of the department reach a step now: half were warned
    and fell due a minute ago (an order opens for each), half are due tomorrow and past
    their warning point."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            CREATE TEMP TABLE city_due ON COMMIT DROP AS
            SELECT id, row_number() OVER (ORDER BY id) AS k FROM cases_case
            WHERE lead_department_id = %s AND state = 'in_handling' ORDER BY id LIMIT %s""",
                       [department_id, crossing])
        cursor.execute("""
            UPDATE cases_case c SET
              due_at = CASE WHEN s.k % 2 = 1 THEN now() + interval '1 day'
                            ELSE now() - interval '1 minute' END,
              accepted_at = now() - interval '10 days'
            FROM city_due s WHERE c.id = s.id""")
        cursor.execute("""
            INSERT INTO cases_caseschedule (case_id, escalation_step, next_action_at)
            SELECT id, CASE WHEN k % 2 = 1 THEN '' ELSE 'warning' END,
                   now() - interval '1 minute' FROM city_due
            ON CONFLICT (case_id) DO UPDATE SET escalation_step = excluded.escalation_step,
              next_action_at = excluded.next_action_at""")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000_000)
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=400)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--crossing", type=int, default=10_000)
    parser.add_argument("--only", choices=["dashboard", "inbox", "search", "sweep"],
                        action="append", help="measure only these (repeatable)")
    options = parser.parse_args()
    if options.open > options.cases or options.departments < 1:
        parser.error("--open must not exceed --cases, and --departments must be at least 1")
    generate(options.cases, options.open, options.departments, options.years)
    chosen = set(options.only or ["dashboard", "inbox", "search", "sweep"])

    import dashboard as dashboard_bench
    import inbox as inbox_bench
    import search as search_bench
    import sweep as sweep_bench

    busiest = Department.objects.get(code="CT000")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE state = ANY(%s)",
                       [list(OPEN_STATES)])
        print(f"open cases: {cursor.fetchone()[0]}; in the busiest department: "
              f"{Case.objects.filter(lead_department=busiest, state__in=OPEN_STATES).count()}")
    if "dashboard" in chosen:
        print("-- the dashboard (a year, all departments)")
        dashboard_bench.measure(options.runs)
    if "inbox" in chosen:
        print("-- the busiest department's inbox and the desks")
        head = get_user_model().objects.get(username="ct-ct000-head")
        inbox_bench.measure(busiest, head, options.runs)
    if "search" in chosen:
        print("-- the counter: repeat check, search by words, by number")
        search_bench.measure(options.runs, prefix=PREFIX + "-")
        from intake import selectors

        clerk = get_user_model().objects.get(username="bench-clerk")
        supervisor, _ = get_user_model().objects.get_or_create(username="bench-supervisor")
        supervisor.groups.add(Group.objects.get(name="supervisor"))
        terms = iter(["停水", "油烟", "噪声", "欠薪", "物业管理", "燃气泄漏", "占道经营"] * options.runs)
        timed("search by words as a supervisor (every case)", lambda: selectors.search_page(
            supervisor, next(terms)), options.runs, 20)
        # Seven-digit numbers where the data has them (past 999 999 cases in a year).
        numbers = list(Case.objects.filter(number__regex=r"^CT-\d{4}-\d{7}$").order_by(
            "-pk").values_list("number", flat=True)[:options.runs]) or list(
            Case.objects.filter(number__startswith=PREFIX).order_by("-pk").values_list(
                "number", flat=True)[:options.runs])
        widths = sorted({len(number.rsplit("-", 1)[1]) for number in numbers})
        typed = iter(numbers * options.runs)
        timed(f"search by number ({'/'.join(map(str, widths))} digits)", lambda: list(
            selectors.search_cases(clerk, next(typed))[:50]), options.runs, 20)
    if "sweep" in chosen:
        print(f"-- a sweep with {options.crossing} due among the open cases")
        make_due(options.crossing, busiest.pk)
        sweep_bench.measure(options.crossing)


if __name__ == "__main__":
    main()
