"""The figures: each rate on a hand-built set of cases whose right answers are written
here, the summary kept incrementally against a count from scratch, and the pages."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cases import services as case_services
from cases.models import State
from dispatch import services as dispatch_services
from oversight import dashboard
from oversight.figures import (figures_from_scratch, rebuild_figures, refresh_figures,
                               stored_figures)
from oversight.services import sweep_deadlines
from tests.factories import drive_to, register, reply_from_handling


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def contact(world, case, at=None):
    dispatch_services.add_note(actor=world.handler, case_id=case.pk, kind="contact",
                               text="电话联系", contact_method="phone", reached=True,
                               happened_at=at)


def visit(world, case, satisfaction, solved):
    return case_services.record_return_visit(actor=world.clerk, case_id=case.pk,
                                             is_solved=solved, satisfaction=satisfaction)


@pytest.fixture
def march(world, travel):
    """Seven cases registered in March 2026 (T3: seven working days), and what became
    of them by the end of April."""
    travel.to(local(2026, 3, 2, 9, 0))
    cases = {}
    # c1: contacted and answered in time; satisfied, solved.
    c1 = cases["c1"] = drive_to(world, State.IN_HANDLING)
    contact(world, c1)
    reply_from_handling(world, c1)
    visit(world, c1, "satisfied", True)
    # c2: contacted and answered after the deadline; basically satisfied, not solved.
    c2 = cases["c2"] = drive_to(world, State.IN_HANDLING)
    # c3: open and past its deadline. c4: open, its deadline ahead (accepted later).
    c3 = cases["c3"] = drive_to(world, State.IN_HANDLING)
    # c5: answered in time but archived as invalid (consultation only).
    c5 = cases["c5"] = drive_to(world, State.IN_HANDLING)
    reply_from_handling(world, c5)
    visit(world, c5, "satisfied", True)
    case_services.archive_case(actor=world.dispatcher, case_id=c5.pk,
                               invalid_reason="consultation")
    # c6: answered in time, unsatisfied (reopened), answered again in time, satisfied.
    c6 = cases["c6"] = drive_to(world, State.IN_HANDLING)
    contact(world, c6)
    reply_from_handling(world, c6)
    visit(world, c6, "unsatisfied", False)
    reply_from_handling(world, c6, result="再次整改")
    visit(world, c6, "satisfied", True)
    # c7: merged into c1 (a duplicate): invalid.
    c7 = register(world)
    cases["c7"] = case_services.merge_case(actor=world.clerk, case_id=c7.pk,
                                           into_number=c1.number)
    travel.to(local(2026, 3, 30, 9, 0))
    cases["c4"] = drive_to(world, State.IN_HANDLING)
    travel.to(local(2026, 3, 20, 9, 0))  # past c2's and c3's deadlines (11 March)
    sweep_deadlines()
    contact(world, c2)
    reply_from_handling(world, c2)
    visit(world, c2, "basically", False)
    travel.to(local(2026, 4, 1, 9, 0))
    refresh_figures()
    return cases


def test_each_rate_on_a_hand_built_set(world, march):
    scope = dashboard.Scope(start=local(2026, 3, 1).date(), end=local(2026, 3, 31).date())
    totals = dashboard.totals(scope)
    assert totals["received"] == 5        # c1 c2 c3 c4 c6
    assert totals["invalid"] == 2         # c5 (invalid reason), c7 (merged)
    assert totals["deadline_counted"] == 4  # c1 c2 c3 c6; c4 is not yet due
    assert totals["on_time"] == 2         # c1, c6 (its second round)
    assert totals["overdue_answered"] == 2  # c2 answered late, c3 still open
    assert totals["on_time_rate"] == 50.0
    assert totals["responded"] == 2       # c1, c6 contacted by the deadline; c2 after it
    assert totals["response_rate"] == 50.0
    assert totals["visited"] == 4         # c1, c2, c6 twice
    assert totals["solved"] == 2          # c1, c6's second verdict
    assert totals["resolution_rate"] == 50.0
    assert totals["satisfied"] == 3       # c1 satisfied, c2 basically, c6's second
    assert totals["satisfaction_rate"] == 75.0
    assert totals["reopenings"] == 1
    # The same figures straight from the cases.
    assert stored_figures() == figures_from_scratch()


def test_each_number_drills_down_to_its_cases(world, march):
    scope = dashboard.Scope(start=local(2026, 3, 1).date(), end=local(2026, 3, 31).date())
    numbers = {name: case.number for name, case in march.items()}

    def of(measure):
        return {numbers_by_value[n] for n in dashboard.drilldown(scope, measure)
                .values_list("number", flat=True)}

    numbers_by_value = {number: name for name, number in numbers.items()}
    assert of("received") == {"c1", "c2", "c3", "c4", "c6"}
    assert of("invalid") == {"c5", "c7"}
    assert of("on_time") == {"c1", "c6"}
    assert of("late") == {"c2", "c3"}
    assert of("responded") == {"c1", "c6"}
    assert of("unsatisfied") == {"c6"}  # c2 was basically satisfied
    assert of("reopenings") == {"c6"}
    assert of("overdue") == {"c3"}
    assert of("open") == {"c3", "c4"}


def test_the_summary_agrees_with_a_count_from_scratch_after_random_events(world, travel):
    rng = random.Random(7)
    travel.to(local(2026, 5, 4, 9, 0))
    cases = []
    for day in range(30):
        travel.to(local(2026, 5, 4, 9, 0) + timedelta(days=day, minutes=rng.randint(0, 600)))
        for _ in range(rng.randint(0, 2)):
            cases.append(drive_to(world, rng.choice([State.RECEIVED, State.ACCEPTED,
                                                     State.IN_HANDLING, State.REPLIED])))
        for case in rng.sample(cases, min(3, len(cases))):
            case.refresh_from_db()
            act = rng.random()
            if case.state == State.IN_HANDLING and act < 0.4:
                contact(world, case)
            elif case.state == State.IN_HANDLING and act < 0.7:
                reply_from_handling(world, case)
            elif case.state == State.REPLIED:
                visit(world, case, rng.choice(["satisfied", "basically", "unsatisfied"]),
                      rng.random() < 0.6)
            elif case.state == State.VISITED and act < 0.5:
                case_services.archive_case(actor=world.dispatcher, case_id=case.pk,
                                           invalid_reason=rng.choice(["", "consultation"]))
        sweep_deadlines()
        if day % 7 == 3:
            refresh_figures(batch_size=7)
    refresh_figures(batch_size=7)
    assert stored_figures() == figures_from_scratch()
    assert sum(row["received"] + row["invalid"] for row in stored_figures().values()) == len(
        cases)
    rebuild_figures()
    assert stored_figures() == figures_from_scratch()
