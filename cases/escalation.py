"""When the next step of the escalation ladder falls due for a case (pure schedule).

While a case is received: an intake warning at its channel's warning point of the
acceptance time limit, and intake overdue at the limit (`accept_by`). Then, against the
answer's deadline: warning at the tier's warning point, overdue at the deadline, level 2 a
number of working days after it. Once the round's first answer is given those are
skipped: a two-stage (T4) case, answered with its next steps, climbs the final result's
warning and overdue (`final_due_at`), and a replied case the return visit's (`visit_due_at`),
each at the tier's warning point of its window and at its deadline. A 12345 transfer has that deadline from its arrival (the
platform's), so it can climb both parts while still received. The sweep in oversight
performs the steps; this module only says when.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .calendar import add_working_days, local_zone, working_point
from .models import (ESCALATION_LADDER, FINAL_STEPS, INTAKE_STEPS, SWEPT_STATES, VISIT_STEPS,
                     Case, ChannelPolicy, EscalationStep, State, TierPolicy, TimeUnit)


@dataclass(slots=True, eq=False)
class SweptCase:
    """A case as the sweep reads it: the columns the ladder, the steps' events and their
    messages use, as plain attributes, read as one tuple per row (`COLUMNS`). No model
    instance and no state machine set-up per row: a batch of thousands is built in
    milliseconds. The caller attaches the schedule row's two fields, the tier and the
    channel's terms; the functions of this module read it as they read a Case."""

    pk: int
    number: str
    state: str
    channel: str
    summary: str
    tier_id: int | None
    handling_mode: str
    lead_department_id: int | None
    handler_id: int | None
    received_at: datetime
    accept_by: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    reopened_at: datetime | None
    replied_at: datetime | None
    review_stage: str
    reopen_count: int
    unreached_visits: int
    visit_due_at: datetime | None
    final_due_at: datetime | None
    final_replied_at: datetime | None
    escalation_step: str = ""
    next_action_at: datetime | None = None
    tier: TierPolicy | None = None
    channel_policy: ChannelPolicy | None = None

    # The case's own definitions, not copies of them.
    awaits_final_result = Case.awaits_final_result
    deadline_in_force = Case.deadline_in_force


# The case's columns a SweptCase is built from, in order: its fields without a default.
SWEPT_COLUMNS = tuple(field.name for field in fields(SweptCase) if field.default is MISSING)


def step_time(case: Case, step: str) -> datetime | None:
    if step in INTAKE_STEPS:
        return _intake_step_time(case, step)
    if step in FINAL_STEPS:
        return _final_step_time(case, step)
    if step in VISIT_STEPS:
        return _visit_step_time(case, step)
    if case.due_at is None or case.replied_at is not None:
        return None
    if step == EscalationStep.OVERDUE:
        return case.due_at
    if step == EscalationStep.WARNING:
        # The clock of the current round: the latest reopening, the acceptance, or the
        # arrival of a transfer that came with its platform's deadline.
        started = case.reopened_at or case.accepted_at or case.received_at
        percent = _warning_percent(case)
        if percent is None:
            return None
        return _point(started, case.due_at, percent, answer_in_working_time(case))
    # Level 2 is the tier's term; a received case without a tier gets it at acceptance.
    if case.tier_id is None:
        return None
    zone = local_zone()
    local = timezone.localtime(case.due_at, zone)
    day, _ = add_working_days(local.date(), case.tier.level2_after_working_days)
    return timezone.make_aware(datetime.combine(day, local.time()), zone)


def _intake_step_time(case: Case, step: str) -> datetime | None:
    """Only while the case waits for the office's decision: accepting it ends them."""
    if case.state != State.RECEIVED or case.accept_by is None:
        return None
    if step == EscalationStep.INTAKE_OVERDUE:
        return case.accept_by
    policy = case.channel_policy
    if policy is None:
        return None
    return _point(case.received_at, case.accept_by, policy.warning_percent,
                  policy.acceptance_unit == TimeUnit.WORKING_DAYS)


def _final_step_time(case: Case, step: str) -> datetime | None:
    """While a two-stage case waits for its final result, after the next steps."""
    if not case.awaits_final_result or case.state not in SWEPT_STATES:
        return None
    if step == EscalationStep.FINAL_OVERDUE:
        return case.final_due_at
    started = case.reopened_at or case.accepted_at or case.replied_at
    # The final result's term is in calendar days.
    return _point_of(case, started, case.final_due_at, working=False)


def _visit_step_time(case: Case, step: str) -> datetime | None:
    """While a replied case waits for its return visit: a visit that reached the
    petitioner moves it on, and so does the last attempt allowed that did not."""
    if (case.state != State.REPLIED or case.visit_due_at is None
            or case.unreached_visits >= settings.VISIT_MAX_ATTEMPTS):
        return None
    if step == EscalationStep.VISIT_OVERDUE:
        return case.visit_due_at
    # The return visit's term is in working days.
    return _point_of(case, case.final_replied_at or case.replied_at, case.visit_due_at,
                     working=True)


def _point_of(case: Case, started: datetime | None, due: datetime, *,
              working: bool) -> datetime:
    """The tier's warning point of a window (its deadline when the start is unknown)."""
    percent = _warning_percent(case)
    if started is None or percent is None or started >= due:
        return due
    return _point(started, due, percent, working)


def _point(started: datetime, due: datetime, percent: float, working: bool) -> datetime:
    """A working-day window's warning falls at its share of the office hours, so it
    reaches people at work; other windows at their share of the calendar."""
    if working:
        return working_point(started, due, percent)
    return started + (due - started) * percent / 100


def answer_in_working_time(case) -> bool:
    """Whether the answer's clock counts working days: the tier's unit; a received
    transfer without a tier runs on its platform's calendar deadline."""
    return case.tier_id is not None and case.tier.unit == TimeUnit.WORKING_DAYS


def step_deadline(case: Case, step: str) -> tuple[str, datetime | None]:
    """The deadline a step runs against, and its name in the step's event."""
    if step in INTAKE_STEPS:
        return "accept_by", case.accept_by
    if step in FINAL_STEPS:
        return "final_due_at", case.final_due_at
    if step in VISIT_STEPS:
        return "visit_due_at", case.visit_due_at
    return "due_at", case.due_at


def _warning_percent(case: Case) -> int | None:
    """The tier's warning point; before a tier is set (a received transfer), its channel's."""
    if case.tier_id is not None:
        return case.tier.warning_percent
    policy = case.channel_policy
    return policy.warning_percent if policy is not None else None


def next_step(case: Case) -> tuple[str, datetime] | None:
    """The next step not yet taken and when it falls due; None when nothing remains."""
    if case.state not in SWEPT_STATES:
        return None
    done = ESCALATION_LADDER.index(case.escalation_step) + 1 if case.escalation_step else 0
    for step in ESCALATION_LADDER[done:]:
        at = step_time(case, step)
        if at is not None:
            return step, at
    return None


def schedule(case: Case) -> None:
    """Set next_action_at from the ladder (call with the row locked; the caller saves)."""
    upcoming = next_step(case)
    case.next_action_at = upcoming[1] if upcoming else None
