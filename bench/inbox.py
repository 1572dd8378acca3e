"""The department inbox at scale: 1 million cases, 50 000 of them open in one department.

Times the first, a middle and the last page and each filter, server side (the selector
and the page render through the test client), and prints p50/p95 in ms and the plans.

    bench/run inbox --cases 1000000 --open 50000
"""

import argparse
import random
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

from cases.models import Case, Category, Department, Petitioner, State, TierPolicy  # noqa: E402
from dispatch import selectors  # noqa: E402
from dispatch.selectors import InboxFilters  # noqa: E402

OPEN = [State.DISPATCHED, State.IN_HANDLING, State.IN_HANDLING, State.RESULT_SUBMITTED]


def generate(total: int, open_here: int, rng) -> Department:
    department, _ = Department.objects.get_or_create(code="BENCH", defaults={"name": "基准部门"})
    others = [Department.objects.get_or_create(code=f"O{i}", defaults={"name": f"其他部门{i}"})[0]
              for i in range(20)]
    if Case.objects.count() >= total:
        print(f"data: {Case.objects.count()} cases already there")
        return department
    tiers = list(TierPolicy.objects.all())
    top = Category.objects.create(name="基准")
    subs = [Category.objects.create(name=f"基准{i}", parent=top) for i in range(10)]
    people = Petitioner.objects.bulk_create(
        Petitioner(name=f"居民{i}", phone=f"13{i:09d}") for i in range(50_000))
    now = timezone.now()
    started, batch = time.perf_counter(), []
    for i in range(total):
        here = i < open_here
        received = now - timedelta(days=rng.randint(0 if here else 30, 3 * 365))
        state = rng.choice(OPEN) if here else rng.choice([State.ARCHIVED] * 9 + OPEN)
        due = now + timedelta(hours=rng.randint(-24 * 20, 24 * 20)) if here else \
            received + timedelta(days=7)
        batch.append(Case(
            number=f"IB-{received.year}-{i:07d}", channel="phone", petitioner=rng.choice(people),
            summary="基准案件", content="基准", category=rng.choice(subs), tier=rng.choice(tiers),
            state=state, lead_department=department if here else rng.choice(others),
            received_at=received, accepted_at=received, due_at=due))
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"data: {total} cases, {open_here} open in one department, "
          f"made in {time.perf_counter() - started:.0f} s")
    return department


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    department = generate(options.cases, options.open, random.Random(2026))
    head, _ = get_user_model().objects.get_or_create(username="bench-head")
    head.groups.add(Group.objects.get(name="department_head"))
    department.heads.add(head)
    department.members.add(head)
    measure(department, head, options.runs)


def measure(department: Department, head, runs: int) -> None:
    """The inbox, its counts and the desks, timed for this department's head."""
    rows = list(Case.objects.filter(lead_department=department, state__in=selectors.INBOX_STATES)
                .order_by("due_at", "pk").values_list("due_at", "pk"))
    middle = f"{rows[len(rows) // 2][0].timestamp():.6f}_{rows[len(rows) // 2][1]}"
    print(f"open cases in the department: {len(rows)}")
    inbox = lambda filters=InboxFilters(), **kw: selectors.department_inbox(  # noqa: E731
        head, department, filters, **kw).rows
    timed("selector: first page", lambda: inbox(), runs, 5)
    now = timezone.now()
    timed("selector: the inbox's counts alone", lambda: selectors.inbox_counts(
        head, department, now=timezone.now(), soon=timezone.now() + timedelta(hours=24)),
        runs, 5)
    from cases.selectors import landing_figures  # noqa: E402
    dispatcher, _ = get_user_model().objects.get_or_create(username="bench-dispatcher")
    dispatcher.groups.add(Group.objects.get(name="dispatcher"))
    timed("desk figures: department head", lambda: landing_figures(head), runs, 20)
    timed("desk figures: dispatcher (the office)", lambda: landing_figures(dispatcher),
               runs, 20)
    timed("selector: middle page", lambda: inbox(after=middle), runs)
    timed("selector: last page", lambda: inbox(last=True), runs)
    for label, filters in [("state=in_handling", InboxFilters(state="in_handling")),
                           ("tier=T1", InboxFilters(tier="T1")),
                           ("overdue", InboxFilters(overdue=True)),
                           ("due soon", InboxFilters(due_soon=True)),
                           ("mine", InboxFilters(mine=True)),
                           ("category", InboxFilters(category=Case.objects.filter(
                               lead_department=department).values_list(
                               "category_id", flat=True).first()))]:
        timed(f"selector: {label}", lambda f=filters: inbox(f), runs)
    client = Client()
    client.force_login(head)
    timed("page (HTTP, rendered): first", lambda: client.get("/dispatch/inbox/"),
               runs, 50)
    timed("page (HTTP, rendered): middle",
          lambda: client.get(f"/dispatch/inbox/?after={middle}"), runs)
    timed("page (HTTP, rendered): last", lambda: client.get("/dispatch/inbox/?last=1"),
          runs)
    timed("page (HTTP, rendered): overdue",
          lambda: client.get("/dispatch/inbox/?overdue=on"), runs)

    from django.db.models import Q  # noqa: F401
    base = Case.objects.filter(lead_department=department, state__in=selectors.INBOX_STATES)
    for label, query in [("first page", base.order_by("due_at", "pk")[:51]),
                         ("counts", base.values("pk")),
                         ("tier T1", base.filter(tier__code="T1").order_by("due_at", "pk")[:51])]:
        plan = query.explain()
        print(f"plan ({label}): " + " | ".join(l.strip() for l in plan.splitlines()
                                               if "Scan" in l))


if __name__ == "__main__":
    main()
