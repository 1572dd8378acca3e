"""The deadline sweep at scale: 1 million open cases, N of them crossing a threshold now.

    bench/run sweep --open 1000000 --crossing 1000

Prints the time of a sweep with N due, of a sweep with none due, of the reminders of the
supervision orders it opened once their answer time has passed, and the plan of the
query that claims due rows.
"""

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import (Case, CaseSchedule, Department, Petitioner, State,  # noqa: E402
                          TierPolicy)
from oversight.services import remind_late_answers, sweep_deadlines  # noqa: E402


def generate(total: int, crossing: int, rng) -> None:
    if Case.objects.count() >= total:
        print(f"data: {Case.objects.count()} cases already there")
        return
    tier = TierPolicy.objects.get(code="T3")
    department, _ = Department.objects.get_or_create(code="SWEEP", defaults={"name": "基准部门"})
    # Two heads and five handlers are told of each step, as in a real department.
    User = get_user_model()
    heads = [User.objects.create(username=f"sweep-head-{i}") for i in range(2)]
    handlers = [User.objects.create(username=f"sweep-handler-{i}") for i in range(5)]
    department.heads.add(*heads)
    department.members.add(*handlers)
    people = Petitioner.objects.bulk_create(
        Petitioner(name=f"居民{i}", phone=f"13{i:09d}") for i in range(20_000))
    now = timezone.now()
    started, batch = time.perf_counter(), []
    for i in range(total):
        crosses = i < crossing
        # Half the crossing cases were accepted ten days ago and are due tomorrow: their
        # warning point (75 % of the span) has just passed. The other half were warned
        # and fell due a minute ago: a supervision order opens for each. The others are
        # far from any step.
        accepted = now - timedelta(days=10 if crosses else rng.randint(1, 5))
        due = now + timedelta(days=rng.randint(3, 20))
        next_action = now + timedelta(hours=rng.randint(1, 24 * 20))
        step = ""
        if crosses:
            next_action = now - timedelta(minutes=1)
            due = now + timedelta(days=1) if i % 2 else next_action
            step = "" if i % 2 else "warning"
        batch.append(Case(
            number=f"SW-2026-{i:07d}", channel="phone", petitioner=rng.choice(people),
            summary="基准案件", content="基准", tier=tier, state=State.IN_HANDLING,
            lead_department=department, handler=rng.choice(handlers), received_at=accepted,
            accepted_at=accepted, due_at=due, next_action_at=next_action,
            escalation_step=step))
        if len(batch) == 5000:
            _insert(batch)
            batch = []
    _insert(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"data: {total} open cases, {crossing} crossing a threshold, "
          f"made in {time.perf_counter() - started:.0f} s")


def _insert(cases: list[Case]) -> None:
    """The cases and their schedule rows (bulk_create does not call save)."""
    Case.objects.bulk_create(cases)
    CaseSchedule.objects.bulk_create(
        CaseSchedule(case_id=case.pk, escalation_step=case.escalation_step,
                     next_action_at=case.next_action_at) for case in cases)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--crossing", type=int, default=1000)
    parser.add_argument("--profile", action="store_true",
                        help="print where the sweep with cases due spends its time")
    options = parser.parse_args()
    generate(options.open, options.crossing, random.Random(2026))
    measure(options.crossing, profile=options.profile)


def measure(crossing: int, *, profile: bool = False) -> None:
    """A sweep with `crossing` steps due (made so by the caller), then three with none."""
    query = (Case.objects.filter(schedule__next_action_at__lte=timezone.now())
             .order_by("schedule__next_action_at")[:1000])
    print("plan of the claim: " + " | ".join(
        line.strip() for line in query.explain().splitlines() if "Scan" in line))
    from cases.models import Notification
    from oversight.models import SupervisionOrder

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    taken = sweep_deadlines()
    elapsed = time.perf_counter() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(f"goal: < 2000 ms for 10 000 due; ratio {elapsed * 1000 / 2000 * 10000 / max(taken, 1):.2f}"
          " (per step, scaled to 10 000)")
    print(f"sweep with {crossing} due: {taken} steps in "
          f"{elapsed * 1000:.0f} ms "
          f"({SupervisionOrder.objects.count()} supervision orders, "
          f"{Notification.objects.count()} notifications written)")
    for run in range(3):
        start = time.perf_counter()
        taken = sweep_deadlines()
        print(f"sweep with none due (run {run + 1}): {taken} steps in "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")
    # The orders just opened, their departments' answer time passed: the sweep's first
    # part tells each late answer once.
    later = timezone.now() + timedelta(
        hours=TierPolicy.objects.get(code="T3").supervision_answer_hours, minutes=1)
    written = Notification.objects.count()
    start = time.perf_counter()
    late = remind_late_answers(now=later)
    print(f"late answers to supervision orders: {late} reminded in "
          f"{(time.perf_counter() - start) * 1000:.0f} ms "
          f"({Notification.objects.count() - written} notifications written)")


if __name__ == "__main__":
    main()
