"""A case's clock in words and colour: 剩余 3 小时, 超期 2 个工作日, on every list and page.

A working-day clock (a T3 or T4 answer, a web submission's acceptance, the return visit)
counts only the office hours of working days (OFFICE_HOURS on the holiday calendar), so
a case due on Monday morning read on Friday evening has a few working hours left, not
three days. When no office hours lie between now and the deadline (due tonight, read
after the close), the words fall back on the calendar: the deadline still comes.
A clock more than LONG_DAYS calendar days away or over is told in calendar days: at that
distance the working hours add nothing but cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from . import reference
from .calendar import once, working_day_seconds, working_seconds
from .models import State, TimeUnit

LONG_DAYS = 60


@dataclass(frozen=True)
class Reading:
    """How a deadline stands at one moment."""

    due_at: datetime
    seconds: int  # time left (> 0) or over (<= 0), in working time when `working`
    working: bool
    level: str  # "ok", "soon" (within INBOX_DUE_SOON_HOURS) or "over"
    what: str  # which deadline: "answer", "acceptance", "final", "visit"

    @property
    def over(self) -> bool:
        return self.level == "over"

    @property
    def words(self) -> str:
        span = _span(abs(self.seconds), self.working)
        if self.over:
            return _("超期 %(span)s") % {"span": span}
        return _("剩余 %(span)s") % {"span": span}

    @property
    def explanation(self) -> str:
        """The absolute deadline and how the words were counted (a tooltip)."""
        names = {"answer": _("答复期限"), "acceptance": _("受理时限"),
                 "final": _("最终结果期限"), "visit": _("回访期限")}
        at = timezone.localtime(self.due_at).strftime("%Y-%m-%d %H:%M")
        counted = (_("按工作时间计（%(hours)s）") % {"hours": settings.OFFICE_HOURS}
                   if self.working else _("按自然时间计"))
        return f"{names[self.what]} {at}，{counted}"


def read(due_at: datetime | None, *, working: bool, what: str = "answer",
         now: datetime | None = None) -> Reading | None:
    """The reading of a deadline now (None without a deadline)."""
    if due_at is None:
        return None
    now = now or timezone.now()
    calendar = int((due_at - now).total_seconds())
    level = ("over" if calendar <= 0
             else "soon" if calendar < settings.INBOX_DUE_SOON_HOURS * 3600 else "ok")
    if working and abs(calendar) <= LONG_DAYS * 86400:
        counted = (working_seconds(now, due_at) if calendar > 0
                   else -working_seconds(due_at, now))
        if counted != 0:
            return Reading(due_at, counted, True, level, what)
    return Reading(due_at, calendar, False, level, what)


def of_case(case, now: datetime | None = None) -> Reading | None:
    """The clock that matters for an open case: its acceptance while it is received
    without an answer's deadline, the final result's once the next steps were answered,
    the return visit's once replied, else the answer's."""
    if not case.is_open:
        return None
    if case.state == State.RECEIVED and case.due_at is None:
        policy = once(("channel-policy", case.channel),
                      lambda: reference.channel_policy(case.channel))
        working = policy is not None and policy.acceptance_unit == TimeUnit.WORKING_DAYS
        return read(case.accept_by, working=working, what="acceptance", now=now)
    if case.state == State.REPLIED:
        if (case.visit_due_at is None
                or case.unreached_visits >= settings.VISIT_MAX_ATTEMPTS):
            return None
        return read(case.visit_due_at, working=True, what="visit", now=now)
    if case.awaits_final_result:
        return read(case.final_due_at, working=False, what="final", now=now)
    # Held per process, and read once per request: no query per row of a list.
    tier = once(("tier", case.tier_id), lambda: reference.tier_by_id(case.tier_id))
    working = tier is not None and tier.unit == TimeUnit.WORKING_DAYS
    return read(case.due_at, working=working, now=now)


def _span(seconds: int, working: bool) -> str:
    """Days and hours, or hours and minutes, or minutes: what a person reads at a glance."""
    minutes = seconds // 60
    day = (working_day_seconds() // 60) if working else 24 * 60
    days, rest = divmod(minutes, day)
    hours, mins = divmod(rest, 60)
    if days:
        unit = _("%(n)s 个工作日") if working else _("%(n)s 天")
        text = unit % {"n": days}
        if hours and days < 10:
            text += " " + _("%(n)s 小时") % {"n": hours}
        return text
    if hours:
        text = _("%(n)s 小时") % {"n": hours}
        if mins and hours < 10:
            text += " " + _("%(n)s 分钟") % {"n": mins}
        return text
    return _("%(n)s 分钟") % {"n": max(mins, 1) if seconds else 0}


def timedelta_words(delta: timedelta, *, working: bool = False) -> str:
    """A span in the clock's words (for documents and messages)."""
    return _span(int(delta.total_seconds()), working)
