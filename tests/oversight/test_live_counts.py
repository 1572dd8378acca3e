"""Counts that do not recount: after any sequence of acts, the inbox's filter counts, the
desks' figures and the dashboard's live figures (read from the tallies PostgreSQL keeps
with every write) equal a count from scratch, done here in Python over every case."""

import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cases.models import OPEN_STATES, Case, ReviewStage, State
from cases.selectors import fold_tallies, landing_figures, tallies_kept
from dispatch import services as dispatch_acts
from dispatch.selectors import INBOX_STATES, inbox_counts
from oversight import dashboard
from tests.factories import drive_to

pytestmark = pytest.mark.django_db

STATES = [State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.RETURNED,
          State.IN_HANDLING, State.RESULT_SUBMITTED, State.REPLIED, State.ARCHIVED]


def act_at_random(world, rng):
    """One act of the office, or a change made by set-based SQL (as a sweep makes)."""
    choice = rng.random()
    cases = list(Case.objects.order_by("pk"))
    if choice < 0.6 or not cases:
        drive_to(world, rng.choice(STATES))
    elif choice < 0.7:
        case = rng.choice(cases)
        Case.objects.filter(pk=case.pk).update(
            due_at=timezone.now() + timedelta(minutes=rng.randint(-3000, 3000)))
    elif choice < 0.8:
        case = rng.choice(cases)
        case.assisting_departments.add(world.b)
    elif choice < 0.9:
        in_handling = [c for c in cases if c.state == State.IN_HANDLING
                       and c.lead_department_id == world.a.pk]
        if in_handling:
            dispatch_acts.assign_handler(actor=world.head, case_id=rng.choice(in_handling).pk,
                                         handler=world.handler.pk)
    else:
        # Several rows in one statement: a new lead department and deadlines at once.
        chosen = [c.pk for c in rng.sample(cases, min(3, len(cases)))]
        Case.objects.filter(pk__in=chosen, state__in=INBOX_STATES).update(
            lead_department=world.b, due_at=timezone.now() - timedelta(minutes=5))


def from_scratch(world, user, now):
    """Every figure, counted case by case in Python."""
    soon = now + timedelta(hours=settings.INBOX_DUE_SOON_HOURS)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    cases = list(Case.objects.prefetch_related("assisting_departments").select_related("tier"))

    def deadline(case):
        if case.final_due_at is None:
            return case.due_at
        return case.final_due_at if case.final_replied_at is None else None

    def desk(visible):
        def n(test):
            return sum(1 for case in visible if test(case))
        return {
            "registered_today": n(lambda c: c.registered_by_id == user.pk
                                  and c.received_at >= today),
            "received": n(lambda c: c.state == State.RECEIVED),
            "accepted": n(lambda c: c.state == State.ACCEPTED),
            "returned": n(lambda c: c.state == State.RETURNED),
            "dispatched": n(lambda c: c.state == State.DISPATCHED),
            "in_handling": n(lambda c: c.state == State.IN_HANDLING),
            "under_review": n(lambda c: c.state == State.RESULT_SUBMITTED),
            "to_reply": n(lambda c: c.state == State.RESULT_SUBMITTED
                          and c.review_stage == ReviewStage.APPROVED),
            "to_visit": n(lambda c: c.state == State.REPLIED),
            "open": n(lambda c: c.state in OPEN_STATES),
            "overdue": n(lambda c: c.state in OPEN_STATES and deadline(c) is not None
                         and deadline(c) < now),
        }

    def inbox(department):
        here = [c for c in cases if c.lead_department_id == department.pk
                and c.state in INBOX_STATES]
        return {
            "total": len(here),
            "overdue": sum(1 for c in here if c.due_at < now),
            "due_soon": sum(1 for c in here if now <= c.due_at < soon),
            "mine": sum(1 for c in here if c.handler_id == user.pk),
            **{f"state_{s}": sum(1 for c in here if c.state == s) for s in INBOX_STATES},
            **{f"tier_{t}": sum(1 for c in here if c.tier_id and c.tier.code == t)
               for t in ("T1", "T2", "T3", "T4")},
        }

    def live(scoped):
        open_cases = [c for c in scoped if c.state in OPEN_STATES]
        return {
            "open": len(open_cases),
            "overdue": sum(1 for c in open_cases if c.due_at and c.due_at < now),
            "due_soon": sum(1 for c in open_cases if c.due_at and now <= c.due_at < soon),
            "today": sum(1 for c in scoped if c.received_at >= today),
            "tiers": sorted((c.tier.code, 1) for c in open_cases if c.tier_id),
        }

    departments = {world.a.pk, world.b.pk} & {d.pk for d in user.member_of.all()} \
        | {d.pk for d in user.heads_of.all()} if hasattr(user, "member_of") else set()
    return {"cases": cases, "desk": desk, "inbox": inbox, "live": live,
            "departments": departments}


def tier_totals(pairs):
    totals = {}
    for code, n in pairs:
        totals[code] = totals.get(code, 0) + n
    return {code: n for code, n in totals.items() if n}


def check_everything(world, now):
    soon = now + timedelta(hours=settings.INBOX_DUE_SOON_HOURS)
    for user in (world.head, world.handler, world.handler_b):
        scratch = from_scratch(world, user, now)
        for department in (world.a, world.b):
            assert inbox_counts(user, department, now=now, soon=soon) == scratch["inbox"](
                department), (user, department)
    lead_or_assisting = {
        world.head: {world.a.pk}, world.handler: {world.a.pk}, world.handler_b: {world.b.pk}}
    for user, departments in lead_or_assisting.items():
        scratch = from_scratch(world, user, now)
        visible = [c for c in scratch["cases"] if c.lead_department_id in departments
                   or {d.pk for d in c.assisting_departments.all()} & departments]
        assert landing_figures(user, now=now) == scratch["desk"](visible), user
    for user, visible_if in ((world.supervisor, lambda c: True), (world.admin, lambda c: True),
                             (world.dispatcher, lambda c: c.state != State.ARCHIVED)):
        scratch = from_scratch(world, user, now)
        visible = [c for c in scratch["cases"] if visible_if(c)]
        assert landing_figures(user, now=now) == scratch["desk"](visible), user
    today = timezone.localdate(now)
    scratch = from_scratch(world, world.supervisor, now)
    for scope, scoped in (
            (dashboard.Scope(start=today, end=today), scratch["cases"]),
            (dashboard.Scope(start=today, end=today, department=world.a.pk),
             [c for c in scratch["cases"] if c.lead_department_id == world.a.pk]),
            (dashboard.Scope(start=today, end=today,
                             allowed_departments=frozenset({world.b.pk})),
             [c for c in scratch["cases"] if c.lead_department_id == world.b.pk])):
        figures = dashboard.live(scope, now=now)
        expected = scratch["live"](scoped)
        assert {key: figures[key] for key in ("open", "overdue", "due_soon", "today")} == {
            key: expected[key] for key in ("open", "overdue", "due_soon", "today")}, scope
        assert tier_totals((code, n) for _pk, code, _name, n in figures["by_tier"]) == \
            tier_totals(expected["tiers"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_count_equals_a_count_from_scratch_after_random_acts(world, seed, travel):
    assert tallies_kept()
    rng = random.Random(seed)
    for step in range(40):
        act_at_random(world, rng)
        if step % 10 == 9:
            check_everything(world, timezone.now())
            # Another moment: the hours a figure cuts move; later, tomorrow, yesterday.
            check_everything(world, timezone.now() + timedelta(minutes=rng.randint(1, 3000)))
            check_everything(world, timezone.now() - timedelta(minutes=rng.randint(1, 3000)))
        if step == 25:
            assert fold_tallies() > 0  # the folded tally counts the same
    check_everything(world, timezone.now())


def test_a_case_deleted_or_all_cases_truncated_leave_no_count_behind(world):
    from django.db import connection

    drive_to(world, State.IN_HANDLING)
    case = drive_to(world, State.DISPATCHED)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_case_assisting_departments WHERE case_id = %s",
                       [case.pk])
    Case.history.filter(id=case.pk).delete()
    case.events.all().delete()
    check_everything(world, timezone.now())
