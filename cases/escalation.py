"""When the next step of the escalation ladder falls due for a case (pure schedule).

Warning at the tier's warning point, overdue at the deadline, level 2 a number of working
days after it. The sweep in oversight performs the steps; this module only says when.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .calendar import add_working_days
from .models import ESCALATION_LADDER, OPEN_STATES, Case


def step_time(case: Case, step: str) -> datetime | None:
    if case.due_at is None or case.accepted_at is None or case.tier is None:
        return None
    if step == "warning":
        # The clock of the current round: acceptance, or the latest reopening.
        started = max(case.accepted_at, case.reopened_at or case.accepted_at)
        span = case.due_at - started
        return started + span * case.tier.warning_percent / 100
    if step == "overdue":
        return case.due_at
    local = timezone.localtime(case.due_at)
    day, _ = add_working_days(local.date(), case.tier.level2_after_working_days)
    return timezone.make_aware(datetime.combine(day, local.time().replace(tzinfo=None)))


def next_step(case: Case) -> tuple[str, datetime] | None:
    """The next step not yet taken and when it falls due; None when nothing remains."""
    if case.state not in OPEN_STATES:
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



