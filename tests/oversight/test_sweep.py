"""The deadline sweep: each step at the right minute, exactly once, whatever happens."""

from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.models import Case, CaseSchedule, Notification, State
from dispatch import services as dispatch_services
from oversight.models import Escalation, SupervisionOrder
from oversight.services import sweep_deadlines
from feedback import services as feedback_acts
from intake import services as intake_acts
from tests.factories import (build_world, drive_to, mentions, register, reply_from_handling,
                             run_together)


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def accepted_at(world, moment, tier, travel):
    travel.to(moment)
    case = register(world)
    return intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code=tier)


def steps(case):
    return list(Escalation.objects.filter(case=case).values_list("step", flat=True))


@pytest.mark.parametrize(
    ("tier", "accepted", "warning", "overdue", "level2"),
    [
        # T1, 2 hours: warning at 75 % (1 h 30), overdue at 2 h, level 2 five working days on
        ("T1", local(2026, 3, 10, 10, 0), local(2026, 3, 10, 11, 30), local(2026, 3, 10, 12, 0),
         local(2026, 3, 17, 12, 0)),
        ("T2", local(2026, 3, 10, 10, 0), local(2026, 3, 11, 4, 0), local(2026, 3, 11, 10, 0),
         local(2026, 3, 18, 10, 0)),
        # T3, 7 working days across National Day 2026: due Oct 15. A working-day tier
        # warns at 75 % of the office hours in between (49 h of 09:00-12:00, 13:30-17:30),
        # during them, not at 75 % of the calendar (a Sunday afternoon, Oct 11 16:00).
        ("T3", local(2026, 9, 30, 10, 0), local(2026, 10, 13, 11, 45),
         local(2026, 10, 15, 10, 0), local(2026, 10, 22, 10, 0)),
        # T4, 15 working days: 105 office hours, warned 78 h 45 min of them in.
        ("T4", local(2026, 3, 2, 9, 0), local(2026, 3, 17, 10, 45), local(2026, 3, 23, 9, 0),
         local(2026, 3, 30, 9, 0)),
    ],
)
def test_each_step_happens_at_its_minute(world, travel, tier, accepted, warning, overdue, level2):
    case = accepted_at(world, accepted, tier, travel)
    for moment, expected in ((warning, []), (overdue, ["warning"]), (level2, ["warning", "overdue"])):
        travel.to(moment - timedelta(minutes=1))
        sweep_deadlines()
        assert steps(case) == expected, (moment, steps(case))
        travel.to(moment)
        sweep_deadlines()
    assert steps(case) == ["warning", "overdue", "level2"]
    case.refresh_from_db()
    assert case.escalation_step == "level2" and case.next_action_at is None
    assert list(case.supervision_orders.values_list("level", flat=True)) == [2, 1]


def test_a_sweep_after_downtime_catches_up_each_step_once(world, travel):
    case = accepted_at(world, local(2026, 3, 10, 10, 0), "T1", travel)
    travel.to(local(2026, 3, 20, 9, 0))  # the beat was down for ten days
    assert sweep_deadlines() == 3
    assert sweep_deadlines() == 0
    assert steps(case) == ["warning", "overdue", "level2"]
    assert SupervisionOrder.objects.filter(case=case).count() == 2


def test_the_supervisors_and_the_department_are_told(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    kinds = set(Notification.objects.values_list("recipient__username", "kind"))
    assert ("head", "warning") in kinds and ("handler", "warning") in kinds
    assert ("supervisor", "overdue") in kinds and ("head", "overdue") in kinds


def test_an_extension_before_the_deadline_prevents_the_escalation(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    request = dispatch_services.request_extension(
        actor=world.handler, case_id=case.pk, reason="等待鉴定",
        requested_due_at=case.due_at + timedelta(days=10))
    dispatch_services.approve_extension(actor=world.supervisor, request_id=request.pk)
    travel.to(case.due_at + timedelta(hours=1))  # the old deadline has passed
    sweep_deadlines()
    assert "overdue" not in steps(case)


def test_replying_closes_the_supervision_order(world, travel):
    case = drive_to(world, State.RESULT_SUBMITTED)
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    order = SupervisionOrder.objects.get(case=case, level=1)
    dispatch_services.approve_result(actor=world.head, case_id=case.pk)
    dispatch_services.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, content="已办",
                                      channel="phone")
    sweep_deadlines()
    order.refresh_from_db()
    assert order.closed_at is not None


def test_a_sweep_interrupted_mid_batch_loses_and_doubles_nothing(world, travel, monkeypatch):
    from oversight import services

    cases = [drive_to(world, State.IN_HANDLING) for _ in range(4)]
    travel.to(max(c.due_at for c in cases) + timedelta(minutes=1))
    calls = {"n": 0}
    real = services._overdue

    def crash_on_the_second_batch(cases, now, audience):
        # The first batch has committed; the worker dies with the second half-written.
        calls["n"] += 1
        messages = real(cases, now, audience)
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return messages

    monkeypatch.setitem(services.STEP_EFFECTS, "overdue", crash_on_the_second_batch)
    with pytest.raises(RuntimeError):
        sweep_deadlines(batch_size=2)
    # The first batch stays; nothing of the second was kept.
    assert Escalation.objects.filter(step="overdue").count() == 2
    assert SupervisionOrder.objects.count() == 2
    assert len({number for _, number in mentions("overdue")}) == 2
    monkeypatch.setitem(services.STEP_EFFECTS, "overdue", real)
    assert sweep_deadlines(batch_size=3) == 4  # the two left, warning and overdue each
    assert Escalation.objects.filter(step="overdue").count() == 4
    assert SupervisionOrder.objects.filter(level=1).count() == 4
    assert len({number for _, number in mentions("overdue")}) == 4
    assert set(mentions("overdue").values()) == {1}


def test_two_sweeps_at_once_take_each_step_once(committed_db, postgres_only, travel):
    world = build_world()
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(30)]
    travel.to(max(c.due_at for c in cases) + timedelta(minutes=1))
    outcomes = run_together(lambda: sweep_deadlines(batch_size=5),
                            lambda: sweep_deadlines(batch_size=5))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(outcomes) == 60  # warning and overdue for each of the 30
    assert Escalation.objects.count() == 60
    assert SupervisionOrder.objects.count() == 30


def test_the_command_and_the_task_run_the_same_sweep(world, travel, capsys):
    from oversight.tasks import sweep_deadlines as task

    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    call_command("sweep_deadlines")
    assert "2 escalation steps taken" in capsys.readouterr().out
    assert task.delay().get() == 0


def test_a_stale_schedule_is_corrected_and_never_loops(world, travel):
    # An administrator moved the warning point after the case was scheduled.
    case = drive_to(world, State.IN_HANDLING)
    CaseSchedule.objects.filter(case=case).update(
        next_action_at=timezone.now() - timedelta(minutes=1))
    assert sweep_deadlines(batch_size=1) == 0  # returns: nothing is due yet
    case.refresh_from_db()
    assert case.next_action_at > timezone.now() and steps(case) == []


def test_a_reopened_case_climbs_a_fresh_ladder_against_a_new_deadline(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    reply_from_handling(world, case)
    travel.shift(days=20)  # long after the first level-2 point
    reopened_at = timezone.now()
    case = feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True, case_id=case.pk,
                                             is_solved=False, satisfaction="unsatisfied").case
    assert case.state == State.IN_HANDLING and case.reopen_count == 1
    # Seven working days again from the reopening, and nothing due at once.
    assert case.due_at > reopened_at + timedelta(days=7) and case.escalation_step == ""
    assert sweep_deadlines() == 0
    travel.to(case.due_at + timedelta(minutes=1))
    assert sweep_deadlines() == 2
    assert sorted(Escalation.objects.filter(case=case).values_list("round", "step")) == [
        (0, "overdue"), (0, "warning"), (1, "overdue"), (1, "warning")]
    assert sorted(SupervisionOrder.objects.filter(case=case).values_list("round", "level")) == [
        (0, 1), (1, 1)]


def test_an_extension_approved_after_the_deadline_closes_nothing_already_opened(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    request = dispatch_services.request_extension(
        actor=world.handler, case_id=case.pk, reason="等待鉴定",
        requested_due_at=case.due_at + timedelta(days=10))
    travel.to(case.due_at + timedelta(hours=1))
    sweep_deadlines()  # the supervisor had not decided yet: overdue, order opened
    dispatch_services.approve_extension(actor=world.supervisor, request_id=request.pk)
    order = SupervisionOrder.objects.get(case=case, level=1)
    assert order.closed_at is None and steps(case) == ["warning", "overdue"]
    case.refresh_from_db()
    # The ladder goes on from the new deadline: level 2 five working days after it.
    assert case.escalation_step == "overdue" and case.next_action_at > case.due_at
    travel.to(case.next_action_at - timedelta(minutes=1))
    assert sweep_deadlines() == 0
    travel.shift(minutes=2)
    assert sweep_deadlines() == 1 and "level2" in steps(case)


def test_a_person_told_of_many_cases_at_one_step_gets_one_message_listing_them(world, travel):
    """Ten cases overdue at once: each supervisor and department person gets one
    notification and one e-mail listing the ten, not ten of each."""
    from cases.models import Delivery

    world.supervisor.email = "supervisor@office.example"
    world.supervisor.save(update_fields=["email"])
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(10)]
    travel.to(max(c.due_at for c in cases) + timedelta(minutes=1))
    sweep_deadlines(batch_size=50)
    [notice] = Notification.objects.filter(kind="overdue", recipient=world.supervisor)
    assert notice.title == "超期督办：10 件案件" and notice.case is None
    assert all(case.number in notice.body for case in cases)
    [mail] = Delivery.objects.filter(notification__kind="overdue", to="supervisor@office.example")
    assert all(case.number in mail.body for case in cases)
    told = mentions("overdue")
    assert {number for _, number in told} == {case.number for case in cases}
    assert set(told.values()) == {1}
    # One case alone keeps its own message and its link.
    single = drive_to(world, State.IN_HANDLING)
    travel.to(single.due_at + timedelta(minutes=1))
    sweep_deadlines()
    notice = Notification.objects.filter(kind="overdue", recipient=world.supervisor).latest("pk")
    assert notice.case_id == single.pk and single.number in notice.title
