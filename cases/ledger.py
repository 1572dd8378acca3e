"""Responsibility segments and rounds, read from a case's events.

Every event records who holds the case after it (`holder`, `holder_department`), the
deadline in force (`deadline`) and the round (`round`): `stamp()` does it when the event
is written. From that log:

- a **segment** is a stretch of time one holder held the case in one round — the office
  before dispatch (`office`), a department (`department`), the office deciding a return
  (`return`), a reviewer in the office (`review`), the office's return visit (`visit`) —
  from its first event to the next segment's first event, under the last deadline in force
  in it. Its late time is the part of it past that deadline. A return decided by a
  re-dispatch to another department is upheld (misrouted: charged to the dispatcher who
  sent it, not to the department, and the new department gets a fresh time limit); a
  return refused charges its decision time to the returning department;
- a **round** runs from acceptance (round 1) or a reopening (round 2, 3, …) to the next
  reopening: its own deadline, first reply, first contact that reached the petitioner and
  visit verdict. A late first answer stays late whatever the second round does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

OFFICE, DEPARTMENT, RETURN, REVIEW, VISIT = "office", "department", "return", "review", "visit"
HOLDER_LABELS = {OFFICE: "信访办（交办前）", DEPARTMENT: "承办部门", RETURN: "信访办（退单审核）",
                 REVIEW: "信访办（结果审核）", VISIT: "信访办（回访）"}


def holder_of(case) -> tuple[str, int | None]:
    """Who holds the case in its current state, and which department that is."""
    from .models import HandlingMode, ReviewStage, State

    state = case.state
    if state in (State.RECEIVED, State.ACCEPTED):
        return OFFICE, None
    if state in (State.DISPATCHED, State.IN_HANDLING):
        if case.handling_mode == HandlingMode.DIRECT:
            return OFFICE, None
        return DEPARTMENT, case.lead_department_id
    if state == State.RETURNED:
        return RETURN, case.lead_department_id  # the department that returned it
    if state == State.RESULT_SUBMITTED:
        if case.review_stage == ReviewStage.HEAD and case.handling_mode != HandlingMode.DIRECT:
            return DEPARTMENT, case.lead_department_id
        return REVIEW, None
    if state in (State.REPLIED, State.VISITED):
        return VISIT, case.lead_department_id
    return "", None  # ended


def round_of(case) -> int:
    return 0 if case.accepted_at is None else 1 + (case.reopen_count or 0)


def stamp(event, case) -> None:
    """Set the event's holder, deadline and round from the case after the act."""
    event.holder, event.holder_department = holder_of(case)
    event.deadline = case.deadline_in_force
    event.round = round_of(case)


# ---------------------------------------------------------------- reading the log
@dataclass
class Segment:
    holder: str
    department_id: int | None
    round: int
    started_at: datetime
    ended_at: datetime | None = None
    due_at: datetime | None = None
    outcome: str = ""  # return segments: "upheld" / "refused"; misrouted department ones
    dispatcher_id: int | None = None  # who sent it to the department
    extensions: int = 0
    opened_by: str = ""  # the act that began it

    @property
    def is_dispatch(self) -> bool:
        """A department segment begun by sending the case there (not by a refused return
        or a result sent back)."""
        return self.holder == DEPARTMENT and self.opened_by in (
            "dispatch", "change_lead_department")

    @property
    def charged_department_id(self) -> int | None:
        """Whom the segment's time is charged to: a refused return's decision time is the
        returning department's; a misrouted department's time is nobody's lateness."""
        if self.holder == RETURN and self.outcome == "refused":
            return self.department_id
        return self.department_id if self.holder in (DEPARTMENT, VISIT) else None

    @property
    def charged_holder(self) -> str:
        if self.holder == RETURN and self.outcome == "refused":
            return DEPARTMENT
        return self.holder

    def held_seconds(self, now: datetime) -> float:
        return max(0.0, ((self.ended_at or now) - self.started_at).total_seconds())

    def late_seconds(self, now: datetime) -> float:
        if self.due_at is None or self.outcome == "misrouted" or self.holder == VISIT:
            return 0.0
        end = self.ended_at or now
        return max(0.0, (end - max(self.started_at, self.due_at)).total_seconds())

    @property
    def label(self) -> str:
        return HOLDER_LABELS.get(self.holder, self.holder)


@dataclass
class Round:
    number: int
    started_at: datetime
    due_at: datetime | None = None
    replied_at: datetime | None = None
    responded_at: datetime | None = None
    department_id: int | None = None
    verdicts: list = field(default_factory=list)  # (is_solved, satisfaction) of its visits
    past_deadline: bool = False  # the sweep found it overdue unanswered

    @property
    def counted(self) -> bool:
        """Counted for on-time: answered, or its deadline passed unanswered."""
        return self.due_at is not None and (self.replied_at is not None or self.past_deadline)

    @property
    def on_time(self) -> bool:
        return self.counted and self.replied_at is not None and self.replied_at <= self.due_at

    @property
    def responded_in_time(self) -> bool:
        return (self.counted and self.responded_at is not None
                and self.responded_at <= self.due_at)

    def late_seconds(self, now: datetime) -> float:
        if self.due_at is None:
            return 0.0
        return max(0.0, ((self.replied_at or now) - self.due_at).total_seconds())


def _holder(event, case) -> tuple[str, int | None]:
    """An event's holder; events older than the ledger are read from their state."""
    if event.holder or not event.to_state:
        return event.holder, event.holder_department
    from types import SimpleNamespace

    from .models import ReviewStage

    shadow = SimpleNamespace(state=event.to_state, handling_mode=case.handling_mode,
                             lead_department_id=case.lead_department_id,
                             review_stage=ReviewStage.OFFICE)
    return holder_of(shadow)


def segments(case, events) -> list[Segment]:
    """The case's segments, oldest first (`events` in order of time)."""
    found: list[Segment] = []
    last_dispatcher = None
    for event in events:
        holder, department = _holder(event, case)
        if not event.holder and event.deadline is None and case.accepted_at and (
                event.at >= case.accepted_at):
            event.deadline = case.due_at  # an event older than the ledger: today's deadline
        current = found[-1] if found else None
        if event.action in ("dispatch", "change_lead_department", "refuse_return"):
            if event.action != "refuse_return":
                last_dispatcher = event.actor_id
        # Registration (round 0) and acceptance (round 1) are one stretch at the office.
        if current is not None and (current.holder, current.department_id,
                                    max(current.round, 1)) == (holder, department,
                                                               max(event.round, 1)):
            current.due_at = event.deadline or current.due_at
            if event.action == "extend":
                current.extensions += 1
            continue
        if current is not None:
            current.ended_at = event.at
            if current.holder == RETURN:
                upheld = event.action == "dispatch" and department != current.department_id
                current.outcome = "upheld" if upheld else "refused"
                if upheld:
                    # The department it came from held a case that was never its own.
                    for earlier in reversed(found[:-1]):
                        if earlier.holder == DEPARTMENT:
                            if earlier.department_id == current.department_id:
                                earlier.outcome = "misrouted"
                            break
        if not holder:
            continue  # ended: no segment after it
        found.append(Segment(holder=holder, department_id=department, round=max(event.round, 1),
                             started_at=event.at, due_at=event.deadline,
                             opened_by=event.action,
                             dispatcher_id=last_dispatcher if holder == DEPARTMENT else None))
    return found


def rounds(case, events, *, now: datetime | None = None) -> list[Round]:
    """The case's rounds, first first (`events` in order of time)."""
    from django.utils import timezone

    from .models import EscalationStep

    now = now or timezone.now()
    found: dict[int, Round] = {}
    last = 0
    for event in events:
        number = event.round
        if not number:  # an event older than the ledger
            number = 1 if event.action == "accept" else (
                last + 1 if event.action == "reopen" else last)
        if event.action == "accept":
            number = 1
        last = number
        if number == 0:
            continue
        current = found.get(number)
        if current is None:
            current = found[number] = Round(number=number, started_at=event.at)
        # The reply's own event may carry the next deadline (a two-stage case's final
        # result): the round's is the one in force before it.
        if current.replied_at is None and event.deadline is not None and (
                event.action != "reply_to_petitioner"):
            current.due_at = event.deadline
        if event.action == "reply_to_petitioner" and current.replied_at is None:
            current.replied_at = event.at
            current.department_id = event.holder_department or case.lead_department_id
        elif event.action == "contact" and event.data.get("reached") and (
                current.responded_at is None):
            current.responded_at = _parse(event.data.get("happened_at")) or event.at
        elif event.action == "record_return_visit":
            current.verdicts.append((event.data.get("is_solved"),
                                     event.data.get("satisfaction", "")))
        elif event.action in (f"escalation_{EscalationStep.OVERDUE}",
                              f"escalation_{EscalationStep.LEVEL2}"):
            current.past_deadline = True
    ordered = [found[number] for number in sorted(found)]
    if ordered:
        first = ordered[0]
        if first.responded_at is None and case.responded_at is not None and (
                len(ordered) == 1 or case.responded_at < ordered[1].started_at):
            first.responded_at = case.responded_at  # a contact older than the ledger
        if first.due_at is None:
            first.due_at = case.due_at if len(ordered) == 1 else None
        last = ordered[-1]
        if last.replied_at is None and case.due_at is not None:
            last.due_at = case.due_at
            last.past_deadline = last.past_deadline or (case.escalation_step in (
                EscalationStep.OVERDUE, EscalationStep.LEVEL2))
    return ordered


def _parse(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
