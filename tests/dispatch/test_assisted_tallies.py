"""The cases a department only assists, tallied by PostgreSQL with every write (dispatch
migration 0004): after any sequence of acts, of assisting departments added, removed or
changed, and of set-based updates, the desk of a department's people equals a count from
scratch in Python over every case, for a person of one department and of two."""

import random
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases.models import OPEN_STATES, Case, ReviewStage, State
from cases.roles import Role
from cases.selectors import fold_tallies, landing_figures, tallies_kept
from dispatch import services as dispatch_acts
from tests.factories import DepartmentFactory, UserFactory, drive_to, register

pytestmark = pytest.mark.django_db

THROUGH = Case.assisting_departments.through
STATES = [State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.RETURNED,
          State.IN_HANDLING, State.RESULT_SUBMITTED, State.REPLIED, State.ARCHIVED]


@pytest.fixture
def office(world):
    """The world, a third department, and a handler who works for both A and B."""
    world.c = DepartmentFactory(name="生态环境局", code="C")
    world.handler_ab = UserFactory(username="handler_ab", roles=[Role.HANDLER])
    world.a.members.add(world.handler_ab)
    world.b.members.add(world.handler_ab)
    return world


def desk_from_scratch(user, departments: set[int], now) -> dict[str, int]:
    """The desk's figures over the cases these departments lead or assist, case by case."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    visible = [case for case in Case.objects.prefetch_related("assisting_departments")
               if case.lead_department_id in departments
               or {d.pk for d in case.assisting_departments.all()} & departments]

    def deadline(case):
        if case.final_due_at is None:
            return case.due_at
        return case.final_due_at if case.final_replied_at is None else None

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


def people(office):
    return {office.head: {office.a.pk}, office.handler: {office.a.pk},
            office.handler_b: {office.b.pk}, office.head_b: {office.b.pk},
            office.handler_ab: {office.a.pk, office.b.pk}}


def check_desks(office, now):
    for user, departments in people(office).items():
        assert landing_figures(user, now=now) == desk_from_scratch(user, departments, now), (
            user.username, now)


def dispatched_with_help(office, rng):
    """A case dispatched to A or B with one or two others assisting."""
    case = drive_to(office, State.ACCEPTED)
    lead = rng.choice([office.a, office.b])
    helpers = rng.sample([d for d in (office.a, office.b, office.c) if d != lead],
                         rng.randint(1, 2))
    return dispatch_acts.dispatch_case(actor=office.dispatcher, case_id=case.pk,
                                       lead_department_id=lead.pk,
                                       assisting_department_ids=[d.pk for d in helpers])


def act_at_random(office, rng):
    """One act of the office, or a change made by set-based SQL."""
    cases = list(Case.objects.order_by("pk"))
    departments = [office.a, office.b, office.c]
    choice = rng.random()
    if choice < 0.25 or not cases:
        dispatched_with_help(office, rng)
    elif choice < 0.35:
        drive_to(office, rng.choice(STATES))
    elif choice < 0.45:
        rng.choice(cases).assisting_departments.add(rng.choice(departments))
    elif choice < 0.55:
        case = rng.choice(cases)
        case.assisting_departments.remove(*case.assisting_departments.all()[:1])
    elif choice < 0.6:
        rng.choice(cases).assisting_departments.clear()
    elif choice < 0.65:
        link = THROUGH.objects.order_by("?").first()
        if link is not None:  # the same link, another department (UPDATE of the link)
            taken = set(THROUGH.objects.filter(case_id=link.case_id)
                        .values_list("department_id", flat=True))
            free = [d for d in departments if d.pk not in taken]
            if free:
                THROUGH.objects.filter(pk=link.pk).update(department=rng.choice(free))
    elif choice < 0.75:
        # Several cases in one statement: a new lead department (maybe one that assists
        # them) and a deadline that has passed.
        chosen = [c.pk for c in rng.sample(cases, min(3, len(cases)))]
        Case.objects.filter(pk__in=chosen, state__in=OPEN_STATES).update(
            lead_department=rng.choice(departments),
            due_at=timezone.now() - timedelta(minutes=rng.randint(1, 600)))
    elif choice < 0.85:
        case = rng.choice(cases)
        Case.objects.filter(pk=case.pk).update(
            due_at=timezone.now() + timedelta(minutes=rng.randint(-3000, 3000)))
    elif choice < 0.9:
        # A two-stage case: the deadline in force is the final result's.
        case = rng.choice(cases)
        Case.objects.filter(pk=case.pk).update(
            final_due_at=timezone.now() + timedelta(minutes=rng.randint(-3000, 3000)))
    elif choice < 0.95:
        # A department's person as registrar, today or the day before.
        case = register(office)
        Case.objects.filter(pk=case.pk).update(
            registered_by=rng.choice(list(people(office))),
            received_at=timezone.now() - timedelta(hours=rng.choice([0, 30])))
        case.assisting_departments.add(rng.choice(departments))
    else:
        # Handled and approved by the head: the office's reply is waiting.
        case = dispatched_with_help(office, rng)
        if case.lead_department_id == office.a.pk:
            dispatch_acts.department_accept_case(actor=office.handler, case_id=case.pk)
            dispatch_acts.submit_result(actor=office.handler, case_id=case.pk, findings="已整改",
                                        opinion="已整改", result="已整改", is_solved=True)
            dispatch_acts.approve_result(actor=office.head, case_id=case.pk)
            dispatch_acts.approve_result(actor=office.dispatcher, case_id=case.pk)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_desks_equal_a_count_from_scratch_after_random_acts(office, seed):
    assert tallies_kept()
    rng = random.Random(seed)
    for step in range(45):
        act_at_random(office, rng)
        if step % 9 == 8:
            now = timezone.now()
            check_desks(office, now)
            # Other moments: the hours a figure cuts move.
            check_desks(office, now + timedelta(minutes=rng.randint(1, 3000)))
            check_desks(office, now - timedelta(minutes=rng.randint(1, 3000)))
        if step == 20:
            fold_tallies()  # the folded tally counts the same
    assert THROUGH.objects.exists()
    check_desks(office, timezone.now())


def test_a_case_led_by_one_department_and_assisted_by_the_other_counts_once(office):
    case = drive_to(office, State.ACCEPTED)
    dispatch_acts.dispatch_case(actor=office.dispatcher, case_id=case.pk,
                                lead_department_id=office.a.pk,
                                assisting_department_ids=[office.b.pk, office.c.pk])
    other = drive_to(office, State.ACCEPTED)
    dispatch_acts.dispatch_case(actor=office.dispatcher, case_id=other.pk,
                                lead_department_id=office.c.pk,
                                assisting_department_ids=[office.a.pk, office.b.pk])
    assert landing_figures(office.handler_ab)["dispatched"] == 2
    assert landing_figures(office.handler_b)["dispatched"] == 2
    assert landing_figures(office.head)["dispatched"] == 2


def test_a_re_dispatch_takes_the_former_helpers_cases_off_their_desk(office):
    case = dispatched_with_help(office, random.Random(5))
    helpers = set(case.assisting_departments.values_list("pk", flat=True))
    dispatch_acts.return_case(actor=office.handler if case.lead_department_id == office.a.pk
                              else office.handler_b, case_id=case.pk, reason="不属本部门职责")
    dispatch_acts.dispatch_case(actor=office.dispatcher, case_id=case.pk,
                                lead_department_id=office.c.pk)
    assert not Case.objects.get(pk=case.pk).assisting_departments.exists()
    assert helpers
    check_desks(office, timezone.now())


def test_emptying_the_assisting_departments_leaves_no_count_behind(office):
    rng = random.Random(9)
    for _ in range(4):
        dispatched_with_help(office, rng)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks pending on the links
        cursor.execute(f"TRUNCATE {THROUGH._meta.db_table}")
    check_desks(office, timezone.now())
    dispatched_with_help(office, rng)
    check_desks(office, timezone.now())


class Undone(Exception):
    """Rolls the deletions back before the test's end checks the foreign keys."""


def test_a_deleted_case_leaves_no_count_behind(office):
    rng = random.Random(11)
    first, second, kept = (dispatched_with_help(office, rng) for _ in range(3))
    with pytest.raises(Undone), transaction.atomic(), connection.cursor() as cursor:
        # One case's links first (as Django's collector deletes them), then the cases:
        # the other's links are still there when it goes (foreign keys are checked at
        # commit).
        cursor.execute(f"DELETE FROM {THROUGH._meta.db_table} WHERE case_id = %s", [first.pk])
        cursor.execute("DELETE FROM cases_case WHERE id IN (%s, %s)", [first.pk, second.pk])
        assert list(Case.objects.values_list("pk", flat=True)) == [kept.pk]
        check_desks(office, timezone.now())
        raise Undone
