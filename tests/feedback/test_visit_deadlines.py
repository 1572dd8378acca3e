"""Return visits on time: due the tier's working days after the reply, warned and overdue
once per round by the sweep, stopped by the visit, counted as 回访率 and 按期回访率."""

from datetime import datetime

import pytest
from django.utils import timezone

from cases.models import CaseEvent, Notification, State
from feedback import services as feedback_acts
from oversight import dashboard
from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
from oversight.models import Escalation
from oversight.services import sweep_deadlines
from tests.factories import drive_to, reply_from_handling


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def replied_at(world, travel, moment):
    """A T3 case (visit due 1 working day after the reply) replied at `moment`."""
    travel.to(local(2026, 3, 2, 9, 0))
    case = drive_to(world, State.IN_HANDLING)
    travel.to(moment)
    return reply_from_handling(world, case)


def visit(world, case, satisfaction="satisfied"):
    return feedback_acts.record_visit(actor=world.clerk, case_id=case.pk, method="phone",
                                      reached=True, is_solved=True,
                                      satisfaction=satisfaction).case


def steps(case, step):
    return CaseEvent.objects.filter(case=case, action=f"escalation_{step}").count()


def test_a_visit_is_due_one_working_day_after_the_reply_over_the_weekend(world, travel):
    case = replied_at(world, travel, local(2026, 3, 6, 10, 0))  # a Friday
    assert case.state == State.REPLIED
    assert case.visit_due_at == local(2026, 3, 9, 10, 0)         # the Monday
    # The warning at 75 % of the office hours in between (7 h: Friday 10:00-12:00 and
    # 13:30-17:30, Monday 09:00-10:00): Friday 16:45, not 75 % of 72 hours (Sunday 16:00).
    assert case.next_action_at == local(2026, 3, 6, 16, 45)


def test_the_sweep_warns_once_and_is_overdue_once(world, travel):
    case = replied_at(world, travel, local(2026, 3, 6, 10, 0))
    travel.to(local(2026, 3, 8, 17, 0))
    sweep_deadlines()
    sweep_deadlines()
    assert steps(case, "visit_warning") == 1 and steps(case, "visit_overdue") == 0
    assert Notification.objects.filter(case=case, kind="visit_warning",
                                       recipient=world.clerk).count() == 1
    travel.to(local(2026, 3, 9, 11, 0))
    sweep_deadlines()
    sweep_deadlines()
    assert steps(case, "visit_warning") == 1 and steps(case, "visit_overdue") == 1
    assert Notification.objects.filter(case=case, kind="visit_overdue",
                                       recipient=world.supervisor).count() == 1
    assert set(Escalation.objects.filter(case=case).values_list("step", flat=True)) == {
        "visit_warning", "visit_overdue"}
    case.refresh_from_db()
    assert case.next_action_at is None and case.is_visit_overdue
    # No answer steps: the case was answered in time, before any of them fell due.
    assert steps(case, "overdue") == 0


def test_a_visit_stops_the_ladder(world, travel):
    case = replied_at(world, travel, local(2026, 3, 6, 10, 0))
    travel.to(local(2026, 3, 6, 15, 0))
    case = visit(world, case)
    assert case.next_action_at is None
    travel.to(local(2026, 3, 10, 9, 0))
    assert sweep_deadlines() == 0
    assert steps(case, "visit_warning") == steps(case, "visit_overdue") == 0


def test_the_last_unreached_attempt_stops_the_ladder(world, travel, settings):
    settings.VISIT_MAX_ATTEMPTS = 2
    case = replied_at(world, travel, local(2026, 3, 6, 10, 0))
    feedback_acts.record_unreached_visit(actor=world.clerk, case_id=case.pk, method="phone")
    case.refresh_from_db()
    assert case.next_action_at == local(2026, 3, 6, 16, 45)  # one more attempt allowed
    feedback_acts.record_unreached_visit(actor=world.clerk, case_id=case.pk, method="phone")
    case.refresh_from_db()
    assert case.next_action_at is None and case.can_be_archived
    travel.to(local(2026, 3, 10, 9, 0))
    assert sweep_deadlines() == 0


def test_a_reopening_starts_a_new_round_of_visit_steps(world, travel):
    case = replied_at(world, travel, local(2026, 3, 6, 10, 0))
    travel.to(local(2026, 3, 9, 11, 0))
    sweep_deadlines()
    case = visit(world, case, "unsatisfied")  # reopens the case
    assert case.state == State.IN_HANDLING and case.visit_due_at is None
    travel.to(local(2026, 3, 10, 10, 0))  # a Tuesday
    case = reply_from_handling(world, case, result="再次整改")
    assert case.visit_due_at == local(2026, 3, 11, 10, 0)
    travel.to(local(2026, 3, 11, 11, 0))
    sweep_deadlines()
    sweep_deadlines()
    assert steps(case, "visit_overdue") == 2  # once in each round
    assert sorted(Escalation.objects.filter(case=case, step="visit_overdue")
                  .values_list("round", flat=True)) == [0, 1]


def test_visit_rates_on_the_dashboard(world, travel):
    friday = local(2026, 3, 6, 10, 0)
    on_time = replied_at(world, travel, friday)
    late = replied_at(world, travel, friday)
    never = replied_at(world, travel, friday)
    travel.to(local(2026, 3, 9, 9, 0))
    visit(world, on_time)                             # before Monday 10:00
    travel.to(local(2026, 3, 9, 11, 0))
    sweep_deadlines()                                 # late's and never's windows end
    visit(world, late)
    not_yet = replied_at(world, travel, local(2026, 3, 9, 12, 0))  # due Tuesday 12:00
    travel.to(local(2026, 3, 9, 13, 0))
    refresh_figures()
    totals = dashboard.totals(dashboard.Scope(start=local(2026, 3, 1).date(),
                                              end=local(2026, 3, 31).date()))
    assert totals["visits_due"] == 3        # on_time, late, never; not_yet is not due
    assert totals["visited"] == 2           # on_time, late
    assert totals["visits_on_time"] == 1    # on_time
    assert totals["visit_rate"] == 66.7
    assert totals["visit_on_time_rate"] == 33.3
    assert not_yet.state == State.REPLIED
    assert stored_figures() == figures_from_scratch()


@pytest.mark.parametrize("rate", ["visit_rate", "visit_on_time_rate"])
def test_the_visit_rates_are_defined_on_the_page(rate):
    from oversight.figures import RATES

    assert RATES[rate][3]
