"""The closing stage's counters for the office's figures (oversight registers them in
`oversight.figures.FACT_EXTENSIONS`), read from a case's events round by round:

- visits_due (应回访): rounds whose answer ending the handling (the reply, or a two-stage
  case's final result) was given and whose return visit is due: visited (a verdict), its
  attempts used up (the last unreached attempt allowed), or its time limit passed (the
  sweep's 回访超期 step). 回访率 = verdicts (`visited`, one per round) ÷ visits_due;
- visits_on_time (按期回访): of those, rounds visited with a verdict by the visit's time
  limit (`visit_due_at`, in the reply's event). A visit made before the time limits were
  kept counts as on time;
- final_counted (应答复最终结果): two-stage rounds answered with their next steps whose
  final result was answered or is past its deadline (the sweep's 最终结果超期 step);
- final_on_time (按期答复最终结果): of those, final results answered by `final_due_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cases.models import EscalationStep

VISIT_OVERDUE = f"escalation_{EscalationStep.VISIT_OVERDUE}"
FINAL_OVERDUE = f"escalation_{EscalationStep.FINAL_OVERDUE}"


@dataclass
class ClosingRound:
    """One round's answers and visit, as its events tell them."""

    answered_at: datetime | None = None  # the reply that the visit follows
    visit_due_at: datetime | None = None
    visit_deadline_known: bool = False
    visited_at: datetime | None = None  # a verdict
    attempts_used_up: bool = False
    visit_window_ended: bool = False
    final_due_at: datetime | None = None  # set by the next-steps reply
    final_at: datetime | None = None
    final_window_ended: bool = False

    @property
    def visit_due(self) -> bool:
        return self.answered_at is not None and (
            self.visited_at is not None or self.attempts_used_up or self.visit_window_ended)

    @property
    def visited_on_time(self) -> bool:
        if not self.visit_due or self.visited_at is None:
            return False
        return not self.visit_deadline_known or self.visited_at <= self.visit_due_at

    @property
    def final_counted(self) -> bool:
        return self.final_due_at is not None and (
            self.final_at is not None or self.final_window_ended)

    @property
    def final_on_time(self) -> bool:
        return self.final_counted and self.final_at is not None and (
            self.final_at <= self.final_due_at)


def closing_rounds(events) -> list[ClosingRound]:
    """The rounds' answers and visits (`events` in order of time); rounds are numbered as
    `cases.ledger.rounds` numbers them (events older than the ledger by their acts)."""
    found: dict[int, ClosingRound] = {}
    last = 0
    for event in events:
        number = event.round
        if not number:
            number = 1 if event.action == "accept" else (
                last + 1 if event.action == "reopen" else last)
        if event.action == "accept":
            number = 1
        last = number
        if number == 0:
            continue
        current = found.setdefault(number, ClosingRound())
        data = event.data or {}
        if event.action == "reply_to_petitioner":
            stage = data.get("stage", "reply")
            if stage == "next_steps":
                current.final_due_at = _parse(data.get("final_due_at"))
            elif current.answered_at is None:
                current.answered_at = event.at
                if stage == "final":
                    current.final_at = event.at
                current.visit_due_at = _parse(data.get("visit_due_at"))
                current.visit_deadline_known = current.visit_due_at is not None
        elif event.action == "record_return_visit" and current.visited_at is None:
            current.visited_at = event.at
        elif event.action == "visit_unreached" and data.get("ends_visit"):
            current.attempts_used_up = True
        elif event.action == VISIT_OVERDUE:
            current.visit_window_ended = True
        elif event.action == FINAL_OVERDUE:
            current.final_window_ended = True
    return [found[number] for number in sorted(found)]


def visit_and_final_facts(case, events, *, valid: bool, rounds) -> dict[str, int]:
    """The counters above for one case (a function of `oversight.figures.FACT_EXTENSIONS`)."""
    if not valid:
        return {"visits_due": 0, "visits_on_time": 0, "final_counted": 0, "final_on_time": 0}
    closing = closing_rounds(events)
    # A merged petitioner's verdict (feedback.merged) is a visit that was owed and made: it
    # counts in 应回访 and 按期回访 as it counts in 回访评价, so 回访率 stays a share.
    merged_visits = sum(event.action == "merged_verdict" for event in events)
    return {
        "visits_due": sum(r.visit_due for r in closing) + merged_visits,
        "visits_on_time": sum(r.visited_on_time for r in closing) + merged_visits,
        "final_counted": sum(r.final_counted for r in closing),
        "final_on_time": sum(r.final_on_time for r in closing),
    }


def _parse(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
