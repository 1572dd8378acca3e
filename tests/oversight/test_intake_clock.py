"""The sweep on cases still received: warned at the channel's warning point, escalated at
the acceptance time limit, exactly once each; a 12345 transfer also against its platform's
deadline; accepting a case ends the intake steps and starts the tier's ladder."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseSchedule, Channel, Notification
from intake import services as intake_acts
from oversight.models import Escalation, SupervisionOrder
from oversight.services import sweep_deadlines
from tests.factories import build_world, mentions, register, run_together


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def steps(case):
    return list(Escalation.objects.filter(case=case).values_list("step", flat=True))


def told(kind):
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username",
                                                                   flat=True))


# A web submission on Tuesday 10 March 2026 at 10:00: to be accepted by 10:00 on Wednesday
# (one working day), warned at 75 % of the office hours between (7 h of 09:00-12:00 and
# 13:30-17:30), at 16:45 on Tuesday, not at 04:00 in the night.
REGISTERED = local(2026, 3, 10, 10, 0)
WARNING = local(2026, 3, 10, 16, 45)
ACCEPT_BY = local(2026, 3, 11, 10, 0)


@pytest.fixture
def web_case(world, travel):
    travel.to(REGISTERED)
    return register(world, actor=None, channel=Channel.WEB)


def test_a_web_case_left_received_is_warned_then_escalated_once_each(world, travel,
                                                                     web_case):
    assert web_case.accept_by == ACCEPT_BY and web_case.next_action_at == WARNING
    travel.to(WARNING - timedelta(minutes=1))
    assert sweep_deadlines() == 0
    travel.to(WARNING)
    assert sweep_deadlines() == 1 and steps(web_case) == ["intake_warning"]
    # The office staff who decide on received cases, not yet the supervisors.
    assert told("intake_warning") == {"clerk", "dispatcher"}

    travel.to(ACCEPT_BY - timedelta(minutes=1))
    assert sweep_deadlines() == 0
    travel.to(ACCEPT_BY)
    assert sweep_deadlines() == 1
    assert steps(web_case) == ["intake_warning", "intake_overdue"]
    assert told("intake_overdue") == {"clerk", "dispatcher", "supervisor"}
    # No department holds the case: no supervision order.
    assert not SupervisionOrder.objects.exists()

    travel.shift(days=60)  # nobody accepts it: nothing more, and nothing twice
    assert sweep_deadlines() == 0
    web_case.refresh_from_db()
    assert web_case.escalation_step == "intake_overdue" and web_case.next_action_at is None
    events = web_case.events.filter(action__startswith="escalation_")
    assert [(e.action, e.action_label, e.actor) for e in events] == [
        ("escalation_intake_warning", "受理预警", None),
        ("escalation_intake_overdue", "受理超时", None)]
    assert datetime.fromisoformat(events[1].data["accept_by"]) == ACCEPT_BY
    assert Notification.objects.filter(kind="intake_warning").count() == 2
    assert Notification.objects.filter(kind="intake_overdue").count() == 3


def test_a_sweep_after_downtime_takes_both_intake_steps_once(world, travel, web_case):
    travel.to(local(2026, 5, 9, 10, 0))  # sixty days later, the first sweep
    assert sweep_deadlines() == 2
    assert sweep_deadlines() == 0
    assert steps(web_case) == ["intake_warning", "intake_overdue"]
    assert Escalation.objects.get(case=web_case, step="intake_overdue").due_at == ACCEPT_BY


def test_two_sweeps_at_once_take_each_intake_step_once(committed_db, postgres_only, travel):
    world = build_world()
    travel.to(REGISTERED)
    cases = [register(world, actor=None, channel=Channel.WEB) for _ in range(20)]
    travel.to(ACCEPT_BY + timedelta(minutes=1))
    outcomes = run_together(lambda: sweep_deadlines(batch_size=3),
                            lambda: sweep_deadlines(batch_size=3))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(outcomes) == 40  # the warning and the overdue of each of the 20
    assert Escalation.objects.count() == 40
    assert CaseEvent.objects.filter(action__startswith="escalation_intake_").count() == 40
    # Each case told once to each person (a person told of several at one step of a
    # batch gets one list): two office staff for the warning, and a supervisor too after.
    warned, late = mentions("intake_warning"), mentions("intake_overdue")
    assert len(warned) == 20 * 2 and set(warned.values()) == {1}
    assert len(late) == 20 * 3 and set(late.values()) == {1}
    assert Notification.objects.filter(kind="intake_warning").count() < 20 * 2
    assert set(CaseSchedule.objects.values_list("escalation_step", flat=True)) == {
        "intake_overdue"}
    assert sweep_deadlines() == 0 and len(cases) == 20


def test_a_batch_of_received_cases_costs_a_fixed_number_of_statements(world, travel):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(count):
        Case.objects.all().delete()
        travel.to(REGISTERED)
        for _ in range(count):
            register(world, actor=None, channel=Channel.WEB)
        travel.to(ACCEPT_BY + timedelta(minutes=1))
        with CaptureQueriesContext(connection) as queries:
            assert sweep_deadlines(batch_size=50) == 2 * count
        return len(queries.captured_queries)

    assert cost(2) == cost(12)


# ---------------------------------------------------------------- a 12345 transfer
ARRIVED = local(2026, 3, 10, 10, 0)
PLATFORM_DUE = local(2026, 3, 11, 10, 0)  # the platform gives one day


@pytest.fixture
def transfer(world, travel):
    travel.to(ARRIVED)
    return register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0042",
                    platform_due_at=PLATFORM_DUE)


def test_a_transfer_past_its_platform_deadline_while_received_is_warned_and_overdue(
        world, travel, transfer):
    assert transfer.due_at == PLATFORM_DUE
    assert transfer.accept_by == ARRIVED + timedelta(hours=2)
    travel.to(ARRIVED + timedelta(hours=2))
    assert sweep_deadlines() == 2  # not accepted in two hours: both intake steps
    # The platform's deadline: warned at 75 % of its day from arrival, overdue at it.
    travel.to(local(2026, 3, 11, 4, 0) - timedelta(minutes=1))
    assert sweep_deadlines() == 0
    travel.to(local(2026, 3, 11, 4, 0))
    assert sweep_deadlines() == 1 and steps(transfer)[-1] == "warning"
    travel.to(PLATFORM_DUE)
    assert sweep_deadlines() == 1
    assert steps(transfer) == ["intake_warning", "intake_overdue", "warning", "overdue"]
    assert {"clerk", "dispatcher"} <= told("warning")
    assert {"supervisor", "clerk", "dispatcher"} <= told("overdue")
    assert not SupervisionOrder.objects.exists()  # no department to answer one yet
    travel.shift(minutes=1)
    transfer.refresh_from_db()
    assert transfer.is_overdue and transfer.next_action_at is None  # level 2 needs a tier


def test_accepting_a_late_transfer_puts_it_on_the_tier_s_level_2(world, travel, transfer):
    travel.to(PLATFORM_DUE + timedelta(hours=1))
    assert sweep_deadlines() == 4
    case = intake_acts.accept_case(actor=world.clerk, case_id=transfer.pk, tier_code="T3")
    assert case.due_at == PLATFORM_DUE  # still the earlier, the platform's
    assert case.escalation_step == "overdue"
    level2 = local(2026, 3, 18, 10, 0)  # five working days after the deadline
    assert case.next_action_at == level2
    travel.to(level2)
    assert sweep_deadlines() == 1 and steps(case)[-1] == "level2"
    assert SupervisionOrder.objects.filter(case=case, level=2).exists()


# ---------------------------------------------------------------- accepting
def test_accepting_ends_the_intake_steps_and_starts_the_tier_s_ladder(world, travel,
                                                                       web_case):
    travel.to(WARNING)
    assert sweep_deadlines() == 1  # warned: accept it, please
    accepted = local(2026, 3, 11, 9, 0)
    travel.to(accepted)
    case = intake_acts.accept_case(actor=world.clerk, case_id=web_case.pk, tier_code="T1")
    # T1: two hours, warned at 75 %.
    assert case.next_action_at == accepted + timedelta(hours=1, minutes=30)
    travel.to(ACCEPT_BY + timedelta(minutes=1))  # the acceptance limit passes: nothing
    assert sweep_deadlines() == 0
    travel.to(accepted + timedelta(hours=2))
    assert sweep_deadlines() == 2
    assert steps(case) == ["intake_warning", "warning", "overdue"]
    assert not Notification.objects.filter(kind="intake_overdue").exists()


def test_a_case_accepted_at_once_never_takes_an_intake_step(world, travel):
    travel.to(REGISTERED)
    case = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk,
                                   tier_code="T3")
    travel.to(case.due_at + timedelta(minutes=1))
    assert sweep_deadlines() == 2 and steps(case) == ["warning", "overdue"]


def test_a_case_ended_at_intake_leaves_the_clock(world, travel, web_case):
    intake_acts.refuse_case(actor=world.clerk, case_id=web_case.pk, reason="属诉讼事项",
                            guidance="请向人民法院提起诉讼")
    travel.to(ACCEPT_BY + timedelta(days=1))
    assert sweep_deadlines() == 0 and steps(web_case) == []
