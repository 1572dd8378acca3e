"""The ledger the office is judged by: every hour charged to the one who held the case,
every round counted with its own answer. Hand-built scenarios, their answers written here."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cases import ledger
from cases.models import State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from oversight import dashboard
from oversight.figures import (figures_from_scratch, ledger_from_scratch, rebuild_figures,
                               refresh_figures, stored_figures)
from oversight.models import DepartmentLedger
from oversight.services import sweep_deadlines
from tests.factories import build_world, drive_to, reply_from_handling

HOUR = 3600


def local(*parts):
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def world(db):
    return build_world()


def _events(case):
    return list(case.events.order_by("at", "pk"))


def _ledger_rows(start, end):
    scope = dashboard.Scope(start=start, end=end)
    return {row["key"]: row for row in dashboard.ledger(scope)}


def test_a_case_returned_twice_charges_each_hour_to_its_holder(world, travel):
    travel.to(local(2026, 3, 2, 9, 0))  # a Monday
    case = drive_to(world, State.ACCEPTED)
    first_due = case.due_at
    travel.to(local(2026, 3, 2, 10, 0))
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    travel.to(local(2026, 3, 2, 12, 0))
    dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门职责")
    travel.to(local(2026, 3, 2, 14, 0))
    dispatch_acts.refuse_return(actor=world.dispatcher, case_id=case.pk, reason="属城管职责")
    travel.to(local(2026, 3, 3, 10, 0))
    dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="确属住建职责")
    travel.to(local(2026, 3, 3, 11, 0))
    case = dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                       lead_department_id=world.b.pk)
    # The return was upheld: B has the tier's full time from its dispatch.
    assert case.due_at > first_due
    assert case.due_at == first_due + timedelta(days=1, hours=2)  # 7 working days from 11:00

    found = ledger.segments(case, _events(case))
    assert [(s.holder, s.department_id, s.outcome) for s in found] == [
        ("office", None, ""),
        ("department", world.a.pk, ""),
        ("return", world.a.pk, "refused"),
        ("department", world.a.pk, "misrouted"),
        ("return", world.a.pk, "upheld"),
        ("department", world.b.pk, ""),
    ]
    assert [s.held_seconds(case.due_at) / HOUR for s in found[:5]] == [1, 2, 2, 20, 1]
    assert found[5].ended_at is None  # B still holds it

    refresh_figures()
    rows = _ledger_rows(local(2026, 3, 1).date(), local(2026, 3, 31).date())
    a, b, office = rows[world.a.pk], rows[world.b.pk], rows[0]
    # A held it 2 + 20 hours, and the refused return's two hours of deciding are A's too.
    assert (a["segments"], a["held_hours"]) == (3, 24.0)
    assert (a["returns_upheld"], a["returns_refused"]) == (1, 1)
    assert (a["dispatched"], a["misrouted"], a["accuracy"]) == (1, 1, 0.0)
    assert (b["dispatched"], b["misrouted"], b["accuracy"]) == (1, 0, 100.0)
    assert b["segments"] == 0  # its time is still running
    # The office: an hour before the first dispatch and an hour deciding the upheld return.
    assert (office["segments"], office["held_hours"]) == (2, 2.0)
    assert stored_figures(DepartmentLedger) == ledger_from_scratch()


def test_a_reopened_late_case_keeps_its_late_first_round(world, travel):
    travel.to(local(2026, 3, 2, 9, 0))
    case = drive_to(world, State.IN_HANDLING)
    due = case.due_at
    assert due == local(2026, 3, 11, 9, 0)  # seven working days
    travel.to(due + timedelta(hours=24))
    reply_from_handling(world, case)  # a day late
    travel.to(due + timedelta(hours=25))
    feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True, case_id=case.pk,
                               is_solved=False, satisfaction="unsatisfied")  # reopens it
    case.refresh_from_db()
    assert case.state == State.IN_HANDLING and case.replied_at is None
    travel.to(due + timedelta(hours=48))
    case = reply_from_handling(world, case, result="再次整改")  # well within the new time

    first, second = ledger.rounds(case, _events(case))
    assert (first.number, first.on_time, first.late_seconds(case.replied_at)) == (
        1, False, 24 * HOUR)
    assert (second.number, second.on_time) == (2, True)
    assert second.started_at == due + timedelta(hours=25)

    refresh_figures()
    totals = dashboard.totals(dashboard.Scope(start=local(2026, 3, 1).date(),
                                              end=local(2026, 3, 31).date()))
    # Counted by rounds: one late, one on time — not "1 of 1 on time".
    assert (totals["rounds"], totals["deadline_counted"], totals["on_time"]) == (2, 2, 1)
    assert totals["on_time_rate"] == 50.0
    rows = _ledger_rows(local(2026, 3, 1).date(), local(2026, 3, 31).date())
    assert rows[world.a.pk]["late_segments"] == 1
    assert rows[world.a.pk]["late_hours"] == 24.0  # from the deadline to the result
    assert stored_figures() == figures_from_scratch()


def test_the_case_page_shows_the_segments_and_the_rounds(client, world, travel):
    travel.to(local(2026, 3, 2, 9, 0))
    case = drive_to(world, State.DISPATCHED)
    dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门职责")
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.b.pk)
    client.force_login(world.supervisor)
    page = client.get(f"/cases/{case.number}/").content.decode()
    for text in ("责任时段", "信访办（交办前）", "城市管理局", "退单成立", "住房和城乡建设局",
                 "办理轮次", "第1轮"):
        assert text in page, text


def test_the_ledger_agrees_with_a_count_from_scratch_after_a_random_month(world, travel):
    rng = random.Random(15)
    travel.to(local(2026, 6, 1, 9, 0))
    cases = []
    for day in range(30):
        travel.to(local(2026, 6, 1, 9, 0) + timedelta(days=day, minutes=rng.randint(0, 600)))
        for _ in range(rng.randint(0, 2)):
            cases.append(drive_to(world, rng.choice([State.ACCEPTED, State.DISPATCHED,
                                                     State.IN_HANDLING])))
        for case in rng.sample(cases, min(4, len(cases))):
            case.refresh_from_db()
            act = rng.random()
            if case.state == State.ACCEPTED:
                dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                            lead_department_id=world.a.pk)
            elif case.state == State.DISPATCHED and case.lead_department_id == world.a.pk:
                if act < 0.5 and case.dispatched_at > timezone.now() - timedelta(hours=20):
                    dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="不属")
                else:
                    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
            elif case.state == State.RETURNED:
                if act < 0.5:
                    dispatch_acts.refuse_return(actor=world.dispatcher, case_id=case.pk,
                                                reason="属本部门")
                else:
                    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                                lead_department_id=world.b.pk)
            elif case.state == State.IN_HANDLING and case.lead_department_id == world.a.pk:
                reply_from_handling(world, case)
            elif case.state == State.REPLIED:
                feedback_acts.record_visit(
                    actor=world.clerk, method="phone", reached=True, case_id=case.pk,
                    is_solved=act < 0.6, satisfaction=rng.choice(["satisfied", "unsatisfied"]))
        sweep_deadlines()
        if day % 6 == 2:
            refresh_figures(batch_size=5)
    refresh_figures(batch_size=5)
    assert stored_figures(DepartmentLedger) == ledger_from_scratch()
    assert stored_figures() == figures_from_scratch()
    rebuild_figures()
    assert stored_figures(DepartmentLedger) == ledger_from_scratch()
    assert stored_figures() == figures_from_scratch()
