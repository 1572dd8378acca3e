"""The sweep's schedule row (CaseSchedule): after any sequence of acts, deadline changes
and sweeps at later moments, every case on the ladder has the step its events record and
the next time its own fields give; a case off the ladder loses its time at the next
sweep; the case row itself is never written by a sweep."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import ledger
from cases.calendar import reading_once
from cases.chain import verify
from cases.escalation import SWEPT_COLUMNS, SweptCase, next_step, step_deadline, step_time
from cases.models import ESCALATION_LADDER, SWEPT_STATES, Case, CaseSchedule, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from oversight.models import SupervisionOrder
from oversight.services import _attach_rows, sweep_deadlines
from tests.factories import drive_to

pytestmark = pytest.mark.django_db

STATES = [State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.IN_HANDLING,
          State.RESULT_SUBMITTED, State.REPLIED, State.VISITED, State.ARCHIVED]


def act_at_random(world, rng, travel):
    """A new case somewhere on its way, an act that moves a deadline, or a sweep later."""
    choice = rng.random()
    cases = list(Case.objects.order_by("pk"))
    of = {state: [case for case in cases if case.state == state] for state in State.values}
    if choice < 0.45 or not cases:
        drive_to(world, rng.choice(STATES))
    elif choice < 0.55 and [case for case in of[State.IN_HANDLING]
                            if case.due_at > timezone.now()]:
        case = rng.choice([case for case in of[State.IN_HANDLING]
                           if case.due_at > timezone.now()])  # asked before the deadline
        request = dispatch_acts.request_extension(
            actor=world.handler, case_id=case.pk, reason="等待鉴定",
            requested_due_at=case.due_at + timedelta(days=rng.randint(1, 10)))
        dispatch_acts.approve_extension(actor=world.supervisor, request_id=request.pk)
    elif choice < 0.65 and of[State.IN_HANDLING] + of[State.DISPATCHED]:
        case = rng.choice(of[State.IN_HANDLING] + of[State.DISPATCHED])
        other = rng.choice([code for code in ("T1", "T2", "T3") if code != case.tier.code])
        dispatch_acts.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code=other,
                                  reason="调整")
    elif choice < 0.72 and of[State.REPLIED]:
        feedback_acts.record_unreached_visit(actor=world.clerk,
                                             case_id=rng.choice(of[State.REPLIED]).pk,
                                             method="phone")
    elif choice < 0.8 and of[State.VISITED]:
        feedback_acts.reopen_case(actor=world.dispatcher,
                                  case_id=rng.choice(of[State.VISITED]).pk, reason="不满意")
    else:
        travel.to(timezone.now() + timedelta(hours=rng.randint(1, 96)))
        sweep_deadlines(batch_size=rng.choice([1, 3, 200]))


def check_schedules():
    """Each case on the ladder: its row's time is the ladder's next step, never past."""
    now = timezone.now()
    rows = {row.case_id: row for row in CaseSchedule.objects.all()}
    for case in Case.objects.select_related("tier"):
        if case.state not in SWEPT_STATES:
            continue
        upcoming = next_step(case)
        row = rows.get(case.pk)
        stored = row.next_action_at if row else None
        assert stored == (upcoming[1] if upcoming else None), str((case.number, case.state, stored, list(
            case.events.values_list("action", "at", "data"))))
        if stored is not None and stored <= now:
            assert sweep_deadlines() >= 0  # due: the next sweep takes it
    assert not verify().breaks  # the step stored is the last one the events record


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_schedule_equals_what_it_is_derived_from_after_random_acts(world, seed, travel):
    rng = random.Random(seed)
    travel.to(timezone.now())
    for step in range(36):
        act_at_random(world, rng, travel)
        if step % 6 == 5:
            sweep_deadlines()
            check_schedules()
    # Far later, every case off the ladder has lost its time, and the others wait.
    travel.to(timezone.now() + timedelta(days=400))
    sweep_deadlines()
    for row in CaseSchedule.objects.select_related("case"):
        if row.case.state not in SWEPT_STATES:
            assert row.next_action_at is None, row.case.number
        else:
            assert row.next_action_at is None or row.next_action_at > timezone.now()
    check_schedules()


def test_the_sweep_writes_no_case_row_and_a_fixed_number_of_statements(world, travel):
    """A batch's statements do not grow with its cases (no lazy read per case), and none
    of them writes cases_case."""
    def sweep_of(count):
        # The cases swept before are off the ladder now, their orders answered.
        CaseSchedule.objects.update(next_action_at=None)
        SupervisionOrder.objects.all().delete()
        cases = [drive_to(world, State.IN_HANDLING) for _ in range(count)]
        travel.to(max(case.due_at for case in cases) + timedelta(minutes=1))
        with CaptureQueriesContext(connection) as queries:
            assert sweep_deadlines() == 2 * count  # the warning and the overdue step
        return [query["sql"] for query in queries.captured_queries]

    small, large = sweep_of(1), sweep_of(6)
    assert len(small) == len(large)
    assert not [sql for sql in large
                if sql.lstrip().upper().startswith("UPDATE") and '"cases_case"' in
                sql.split("SET")[0]]
    assert Case.objects.filter(state=State.IN_HANDLING).count() == 7


@pytest.mark.parametrize("seed", [4, 5])
def test_a_case_read_as_the_sweeps_row_climbs_the_same_ladder(world, seed, travel):
    """The sweep reads a case as a row of columns (no model instance): for every case
    after random acts, the row answers every step's time and deadline, the next step,
    the holder, the round and the deadline in force as the case itself does."""
    rng = random.Random(seed)
    travel.to(timezone.now())
    for _ in range(30):
        act_at_random(world, rng, travel)
    cases = list(Case.objects.select_related("tier").order_by("pk"))
    rows = [SweptCase(*values) for values in
            Case.objects.order_by("pk").values_list(*SWEPT_COLUMNS)]
    with reading_once():
        _attach_rows(rows)
        for case, row in zip(cases, rows):
            assert row.pk == case.pk
            assert next_step(row) == next_step(case), case.number
            for step in ESCALATION_LADDER:
                assert step_time(row, step) == step_time(case, step), (case.number, step)
                assert step_deadline(row, step) == step_deadline(case, step)
            assert ledger.holder_of(row) == ledger.holder_of(case)
            assert ledger.round_of(row) == ledger.round_of(case)
            assert row.deadline_in_force == case.deadline_in_force
            assert (row.escalation_step, row.next_action_at) == (case.escalation_step,
                                                                 case.next_action_at)
    assert {case.state for case in cases} >= {State.RECEIVED, State.IN_HANDLING}
