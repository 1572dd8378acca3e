"""The deadline sweep: every open case climbs its escalation ladder exactly once.

Driven by `Case.next_action_at`, not by the beat's clock: a missed or doubled beat, a
second worker or a restart changes nothing. Each batch claims due rows with
FOR UPDATE SKIP LOCKED, takes each due step under a unique (case, step) key, writes its
notifications in the same transaction, and leaves every e-mail to after the commit.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.escalation import next_step
from cases.models import OPEN_STATES, Case, EscalationStep
from cases.notifications import alert_supervisors, notify, people_with_role
from cases.roles import Role

from .models import Escalation, SupervisionOrder


def sweep_deadlines(*, now=None, batch_size: int | None = None) -> int:
    """Take every ladder step due by `now`; answers how many steps were taken."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    close_answered_orders(now=now)
    taken = 0
    while True:
        with transaction.atomic():
            batch = list(
                Case.objects.filter(state__in=OPEN_STATES, next_action_at__lte=now)
                .select_related("tier", "lead_department", "handler")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("next_action_at")[:batch_size]
            )
            for case in batch:
                taken += _take_due_steps(case, now)
        if len(batch) < batch_size:
            return taken


def close_answered_orders(*, now) -> int:
    """An order closes once its case is no longer waiting for the office's answer."""
    return SupervisionOrder.objects.filter(closed_at__isnull=True).exclude(
        case__state__in=OPEN_STATES).update(closed_at=now)


def _take_due_steps(case: Case, now) -> int:
    """Every step of this locked case that is due by now, in ladder order."""
    taken = 0
    while (upcoming := next_step(case)) is not None and upcoming[1] <= now:
        step, at = upcoming
        _, created = Escalation.objects.get_or_create(
            case=case, step=step, defaults={"due_at": case.due_at, "happened_at": now})
        if created:
            STEP_EFFECTS[step](case, now)
            taken += 1
        case_services.advance_escalation(case=case, step=step, at=at)
    # Whatever was stored (a tier policy edited since, an old schedule), the claimed row
    # leaves with the ladder's own next time, so no row is claimed twice for nothing.
    case_services.reschedule(case=case)
    return taken


def _department_people(case: Case):
    User = get_user_model()
    if case.lead_department_id is None:
        return list(people_with_role(Role.DISPATCHER))
    people = list(User.objects.filter(headed_departments=case.lead_department_id,
                                      is_active=True))
    if case.handler_id:
        people.append(case.handler)
    return people


def _warn(case: Case, now) -> None:
    notify(_department_people(case), kind="warning", case=case,
           title=_("即将到期：%(number)s 将于 %(due)s 到期") % {
               "number": case.number,
               "due": timezone.localtime(case.due_at).strftime("%m-%d %H:%M")},
           body=case.summary)


def _open_order(case: Case, now, level: int) -> None:
    SupervisionOrder.objects.get_or_create(
        case=case, level=level,
        defaults={"opened_at": now,
                  "answer_due_at": now + timedelta(hours=settings.SUPERVISION_ANSWER_HOURS)})


def _overdue(case: Case, now) -> None:
    _open_order(case, now, 1)
    title = _("超期督办：%(number)s") % {"number": case.number}
    alert_supervisors(case=case, kind="overdue", title=title, body=case.summary)
    notify(_department_people(case), kind="overdue", case=case, title=title, body=case.summary)


def _level2(case: Case, now) -> None:
    _open_order(case, now, 2)
    alert_supervisors(case=case, kind="level2",
                      title=_("二级督办（拟通报）：%(number)s") % {"number": case.number},
                      body=case.summary)


STEP_EFFECTS = {
    EscalationStep.WARNING: _warn,
    EscalationStep.OVERDUE: _overdue,
    EscalationStep.LEVEL2: _level2,
}
