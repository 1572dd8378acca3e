"""The deadline sweep: every open case climbs its escalation ladder exactly once.

Driven by each case's `next_action_at` (its CaseSchedule row), not by the beat's clock: a missed or doubled beat, a
second worker or a restart changes nothing. Each batch claims due rows with
FOR UPDATE SKIP LOCKED, takes each due step under a unique (case, step) key, writes its
notifications in the same transaction, and leaves every e-mail to after the commit.

A batch costs a fixed number of statements, whatever its size: the claim, the calendar,
the steps already taken, the recipients, and one insert or update per kind of row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from functools import cached_property

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import bulk
from cases import services as case_services
from cases.calendar import reading_once
from cases.escalation import SWEPT_COLUMNS, SweptCase, step_deadline
from cases.exceptions import CaseTransitionError
from cases.models import (ESCALATION_LADDER, OPEN_STATES, Case, CaseSchedule, ChannelPolicy,
                          Department, EscalationStep, State, TierPolicy)
from cases.notifications import Message, notify_many, office_staff, people_with_role
from cases.acts import ensure_allowed
from cases.models import lead_department_staff
from cases.roles import Role

from .models import DailyDigest, Escalation, SupervisionOrder


def sweep_deadlines(*, now=None, batch_size: int | None = None) -> int:
    """Take every ladder step due by `now`; answers how many steps were taken."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    remind_late_answers(now=now)
    taken = 0
    while True:
        with transaction.atomic(), reading_once():
            batch = [SweptCase(*row) for row in (
                # Due cases through the schedule's small index, whatever their state: a
                # case that left the ladder (closed, visited) with a time still set is
                # claimed once and its schedule cleared. Rows, not model instances: only
                # the columns the ladder and the messages read (not the complaint's text).
                Case.objects.filter(schedule__next_action_at__lte=now)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("schedule__next_action_at")
                .values_list(*SWEPT_COLUMNS)[:batch_size]
            )]
            _attach_rows(batch)
            taken += _take_batch(batch, now)
        if len(batch) < batch_size:
            return taken


def _attach_rows(batch: list[SweptCase]) -> None:
    """The batch's schedules, tiers and channels' terms, one query each, read after the
    lock: PostgreSQL re-reads a locked row an act changed meanwhile, but not the rows
    joined to it."""
    if not batch:
        return
    tiers = TierPolicy.objects.in_bulk({case.tier_id for case in batch if case.tier_id})
    schedules = {case_id: (step, at) for case_id, step, at in CaseSchedule.objects.filter(
        case_id__in_batch=[case.pk for case in batch]).values_list(
            "case_id", "escalation_step", "next_action_at")}
    for case in batch:
        if case.tier_id:
            case.tier = tiers[case.tier_id]
        case.escalation_step, case.next_action_at = schedules[case.pk]
    # The intake steps read the channel's terms, and so does the warning of a case
    # without a tier yet (a received transfer).
    ChannelPolicy.attach(case for case in batch
                         if case.state == State.RECEIVED or case.tier_id is None)


def _take_batch(batch: list[SweptCase], now) -> int:
    """Every step due by now for these locked cases: the steps, their effects, their
    notifications, all in the caller's transaction."""
    if not batch:
        return 0
    already = set(Escalation.objects.filter(case_id__in_batch=[case.pk for case in batch])
                  .values_list("case_id", "round", "step"))
    new = [(case, step) for case, step in
           case_services.advance_escalations(cases=batch, now=now)
           if (case.pk, case.reopen_count, step) not in already]
    bulk.insert_rows(Escalation, ["case", "step", "round", "happened_at", "due_at"],
                     [(case.pk, step, case.reopen_count, now, step_deadline(case, step)[1])
                      for case, step in new])
    by_step = defaultdict(list)
    for case, step in new:
        by_step[step].append(case)
    audience = Audience(batch)
    messages: list[Message] = []
    for step in ESCALATION_LADDER:
        if by_step[step]:
            messages += STEP_EFFECTS[step](by_step[step], now, audience)
    notify_many(grouped(messages))
    return len(new)


# A person told of several cases at one step of one batch (or of several late answers to
# supervision orders) gets one message listing them.
GROUP_TITLES = {
    "intake_warning": gettext_lazy("受理即将超时：%(n)s 件案件"),
    "intake_overdue": gettext_lazy("受理超时：%(n)s 件案件"),
    "warning": gettext_lazy("即将到期：%(n)s 件案件"),
    "overdue": gettext_lazy("超期督办：%(n)s 件案件"),
    "level2": gettext_lazy("二级督办（拟通报）：%(n)s 件案件"),
    "final_warning": gettext_lazy("最终结果即将到期：%(n)s 件案件"),
    "final_overdue": gettext_lazy("最终结果超期：%(n)s 件案件"),
    "visit_warning": gettext_lazy("回访即将到期：%(n)s 件案件"),
    "visit_overdue": gettext_lazy("回访超期：%(n)s 件案件"),
    "supervision_late": gettext_lazy("督办反馈超时：%(n)s 件督办单"),
}


def grouped(messages: list[Message]) -> list[Message]:
    """One notification (and one e-mail) per person and kind of step: whoever is told of
    one case keeps the case's own message (and its link); whoever is told of several gets
    one message listing them, line by line, instead of one per case. People told of the
    same cases share one message."""
    per_person: dict[tuple[int, str], list[Message]] = defaultdict(list)
    for message in messages:
        for person in dict.fromkeys(message.recipient_ids):
            per_person[(person, message.kind)].append(message)
    alone: dict[int, list[int]] = defaultdict(list)  # message index -> people
    lists: dict[tuple[str, tuple[int, ...]], list[int]] = defaultdict(list)
    index_of = {id(message): index for index, message in enumerate(messages)}
    for (person, kind), told in per_person.items():
        if len(told) == 1:
            alone[index_of[id(told[0])]].append(person)
        else:
            lists[(kind, tuple(index_of[id(m)] for m in told))].append(person)
    result = [Message(people, messages[index].kind, messages[index].title,
                      messages[index].body, messages[index].case)
              for index, people in sorted(alone.items())]
    for (kind, indexes), people in lists.items():
        told = [messages[index] for index in indexes]
        result.append(Message(
            people, kind, str(GROUP_TITLES.get(kind, "%(n)s")) % {"n": len(told)},
            "\n".join(f"{m.title}　{m.body}".strip() for m in told), None))
    return result


class Audience:
    """Who is told about the cases of one batch, read in one query per kind of person."""

    def __init__(self, cases: list[Case | SweptCase]):
        self.department_ids = {case.lead_department_id for case in cases
                               if case.lead_department_id}

    @cached_property
    def heads(self) -> dict[int, list[int]]:
        pairs = Department.heads.through.objects.filter(
            department_id__in=self.department_ids, user__is_active=True,
        ).values_list("department_id", "user_id")
        heads = defaultdict(list)
        for department_id, user_id in pairs:
            heads[department_id].append(user_id)
        return heads

    @cached_property
    def supervisors(self) -> list[int]:
        return list(people_with_role(Role.SUPERVISOR).values_list("pk", flat=True))

    @cached_property
    def dispatchers(self) -> list[int]:
        return list(people_with_role(Role.DISPATCHER).values_list("pk", flat=True))

    @cached_property
    def office_staff(self) -> list[int]:
        """Clerks and dispatchers: whoever may decide on a received case."""
        return office_staff()

    def department(self, case: Case | SweptCase) -> list[int]:
        """The lead department's heads and the case's handler; while the case has no
        department yet, the office staff deciding on it (received) or the dispatchers."""
        if case.state == State.RECEIVED:
            return self.office_staff
        if case.lead_department_id is None:
            return self.dispatchers
        people = list(self.heads.get(case.lead_department_id, []))
        if case.handler_id:
            people.append(case.handler_id)
        return people


def _open_orders(cases: list[SweptCase], now, level: int) -> None:
    """The department answers within its tier's own time (2 h for the most urgent).

    A 12345 transfer past its platform's deadline while still received gets no order: no
    department holds it yet to answer one; the office and the supervisors are told.
    """
    bulk.insert_rows(
        SupervisionOrder, ["case", "level", "round", "opened_at", "answer_due_at", "answer"],
        [(case.pk, level, case.reopen_count, now,
          now + timedelta(hours=case.tier.supervision_answer_hours), "")
         for case in cases if case.state != State.RECEIVED],
        ignore_conflicts=True)


# Each step's message is worded once per batch (gettext and the local zone are looked up
# once, not once per case).
def _at(moment, zone) -> str:
    return timezone.localtime(moment, zone).strftime("%m-%d %H:%M")


def _timed(cases: list[SweptCase], people: list[int], kind: str, title, field: str
           ) -> list[Message]:
    """One message per case to `people`, its title naming the case and its `field` time."""
    zone = timezone.get_current_timezone()
    return [Message(people, kind, title % {"number": case.number,
                                           "due": _at(getattr(case, field), zone)},
                    case.summary, case) for case in cases]


def _intake_warning(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    return _timed(cases, audience.office_staff, "intake_warning",
                  _("受理即将超时：%(number)s 须于 %(due)s 前受理"), "accept_by")


def _intake_overdue(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    """No supervision order: no department holds the case; the office is late itself."""
    return _timed(cases, audience.office_staff + audience.supervisors, "intake_overdue",
                  _("受理超时：%(number)s 已超过受理时限 %(due)s，仍未受理"), "accept_by")


def _warn(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    title, zone = _("即将到期：%(number)s 将于 %(due)s 到期"), timezone.get_current_timezone()
    return [Message(audience.department(case), "warning", title % {
        "number": case.number, "due": _at(case.due_at, zone)}, case.summary, case)
        for case in cases]


def _overdue(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    _open_orders(cases, now, 1)
    wording, messages = _("超期督办：%(number)s"), []
    for case in cases:
        title = wording % {"number": case.number}
        messages.append(Message(audience.supervisors, "overdue", title, case.summary, case))
        messages.append(Message(audience.department(case), "overdue", title, case.summary,
                                case))
    return messages


def _level2(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    _open_orders(cases, now, 2)
    title = _("二级督办（拟通报）：%(number)s")
    return [Message(audience.supervisors, "level2", title % {"number": case.number},
                    case.summary, case) for case in cases]


def _final_warning(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    title, zone = (_("最终结果即将到期：%(number)s 须于 %(due)s 前答复最终结果"),
                   timezone.get_current_timezone())
    return [Message(audience.department(case), "final_warning", title % {
        "number": case.number, "due": _at(case.final_due_at, zone)}, case.summary, case)
        for case in cases]


def _final_overdue(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    wording, zone = (_("最终结果超期：%(number)s 已过 %(due)s，仍未答复最终结果"),
                     timezone.get_current_timezone())
    messages = []
    for case in cases:
        title = wording % {"number": case.number, "due": _at(case.final_due_at, zone)}
        messages.append(Message(audience.supervisors, "final_overdue", title, case.summary,
                                case))
        messages.append(Message(audience.department(case), "final_overdue", title,
                                case.summary, case))
    return messages


def _visit_warning(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    """The office's staff make the return visits (clerks and dispatchers)."""
    return _timed(cases, audience.office_staff, "visit_warning",
                  _("回访即将到期：%(number)s 须于 %(due)s 前回访"), "visit_due_at")


def _visit_overdue(cases: list[SweptCase], now, audience: Audience) -> list[Message]:
    return _timed(cases, audience.office_staff + audience.supervisors, "visit_overdue",
                  _("回访超期：%(number)s 已过回访期限 %(due)s，仍未回访"), "visit_due_at")


STEP_EFFECTS = {
    EscalationStep.INTAKE_WARNING: _intake_warning,
    EscalationStep.INTAKE_OVERDUE: _intake_overdue,
    EscalationStep.WARNING: _warn,
    EscalationStep.OVERDUE: _overdue,
    EscalationStep.LEVEL2: _level2,
    EscalationStep.FINAL_WARNING: _final_warning,
    EscalationStep.FINAL_OVERDUE: _final_overdue,
    EscalationStep.VISIT_WARNING: _visit_warning,
    EscalationStep.VISIT_OVERDUE: _visit_overdue,
}


# ---------------------------------------------------------------- supervision orders
def _lock_order(order_id: int) -> SupervisionOrder:
    try:
        return SupervisionOrder.objects.select_for_update().get(pk=order_id)
    except SupervisionOrder.DoesNotExist:
        raise ValidationError({"order": _("督办单不存在。")}) from None


def waits_for_answer_from(user, order: SupervisionOrder) -> bool:
    """Whether this order is open, unanswered and this person's to answer."""
    return (order.closed_at is None and order.answered_at is None
            and lead_department_staff(order.case, user))


@case_services.act_transaction
def answer_order(*, actor, order_id: int, answer: str) -> SupervisionOrder:
    """The lead department answers a supervision order: what it has done and when the
    petitioner will be answered. One answer per order; the supervisors are told."""
    case_id = SupervisionOrder.objects.filter(pk=order_id).values_list("case_id", flat=True)
    if not case_id:
        raise ValidationError({"order": _("督办单不存在。")})
    # The case first, then what hangs off it (one lock order for every act).
    case = case_services.lock_case(case_id[0])
    order = _lock_order(order_id)
    if not lead_department_staff(case, actor):
        raise PermissionDenied(_("只有主办部门的人员可以反馈督办单。"))
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": _("请填写反馈内容：已做的工作和答复信访人的时间。")})
    if order.closed_at is not None:
        raise CaseTransitionError(_("案件 %(number)s 的%(level)s已办结，不需再反馈。") % {
            "number": case.number, "level": order.get_level_display()})
    if order.answered_at is not None:
        raise CaseTransitionError(_("案件 %(number)s 的%(level)s已于 %(at)s 反馈。") % {
            "number": case.number, "level": order.get_level_display(),
            "at": timezone.localtime(order.answered_at).strftime("%Y-%m-%d %H:%M")})
    now = timezone.now()
    order.answer, order.answered_at, order.answered_by = answer, now, actor
    order.save(update_fields=["answer", "answered_at", "answered_by"])
    case_services.record_event(case, actor=actor, action="supervision_answer", note=answer,
                               data={"level": order.level, "late": now > order.answer_due_at})
    notify_many([Message(people_with_role(Role.SUPERVISOR).values_list("pk", flat=True),
                         "supervision_answer",
                         _("督办反馈：%(number)s（%(level)s）") % {
                             "number": case.number, "level": order.get_level_display()},
                         answer, case)])
    return order


def open_order_of(case: Case) -> SupervisionOrder | None:
    """The case's oldest supervision order still waiting for the department's answer."""
    return (SupervisionOrder.objects.filter(case=case, closed_at__isnull=True,
                                            answered_at__isnull=True)
            .order_by("opened_at", "pk").first())


@case_services.act_transaction
def answer_supervision(*, actor, case_id: int, answer: str) -> SupervisionOrder:
    """督办反馈 from the case: answers its oldest open order (the act of the table)."""
    case = case_services.lock_case(case_id)
    ensure_allowed("answer_supervision", actor, case)
    return answer_order(actor=actor, order_id=open_order_of(case).pk, answer=answer)


def close_orders_of(case: Case, *, now=None) -> int:
    """The petitioner has been answered (or the case left the office's hands): a
    consequence of the answering act, run in its transaction with the case locked."""
    return SupervisionOrder.objects.filter(case=case, closed_at__isnull=True).update(
        closed_at=now or timezone.now())


def remind_late_answers(*, now) -> int:
    """Orders whose department let the answer time pass: the supervisors and the
    department's heads are told once (`late_reminded_at` is stamped under the row lock);
    whoever is told of several in one batch gets one message listing them."""
    reminded = 0
    while True:
        with transaction.atomic():
            orders = list(
                SupervisionOrder.objects.filter(
                    closed_at__isnull=True, answered_at__isnull=True,
                    late_reminded_at__isnull=True, answer_due_at__lte=now)
                .select_related("case")
                # What the message and its audience read, not the complaint's text.
                .only("level", *(f"case__{name}" for name in LATE_CASE_FIELDS))
                # The case with its order (the lock order of every act: a reply locks
                # the case, then closes its orders); a case being worked is left for the
                # next sweep rather than waited for.
                .select_for_update(skip_locked=True, of=("self", "case"))
                .order_by("answer_due_at")[:settings.SWEEP_BATCH_SIZE])
            if not orders:
                return reminded
            audience = Audience([order.case for order in orders])
            wording = _("督办反馈超时：%(number)s（%(level)s）")
            messages = [Message(audience.supervisors + audience.department(order.case),
                                "supervision_late", wording % {
                                    "number": order.case.number,
                                    "level": order.get_level_display()},
                                order.case.summary, order.case) for order in orders]
            # The same stamp for the whole batch: one UPDATE, no CASE WHEN per order.
            SupervisionOrder.objects.filter(pk__in_batch=[order.pk for order in orders]
                                            ).update(late_reminded_at=now)
            notify_many(grouped(messages))
            reminded += len(orders)


LATE_CASE_FIELDS = ("number", "summary", "state", "lead_department", "handler")


# ---------------------------------------------------------------- the heads' daily digest
DIGEST_LIST_LENGTH = 20


def send_daily_digests(*, now=None) -> int:
    """Each department head gets, once a day from DIGEST_HOUR on, what their department
    must answer today and what is already overdue. Runs often (a missed hour is caught up
    by the next run); a department with nothing due gets nothing. Answers how many
    departments were told."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.DIGEST_HOUR:
        return 0
    day = local.date()
    end_of_day = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    open_due = Case.objects.filter(state__in=OPEN_STATES, due_at__lt=end_of_day,
                                   lead_department__isnull=False)
    figures = {
        row["lead_department"]: row for row in open_due.order_by().values("lead_department")
        .annotate(overdue=Count("pk", filter=Q(due_at__lte=now)),
                  due_today=Count("pk", filter=Q(due_at__gt=now)))
    }
    done = set(DailyDigest.objects.filter(day=day).values_list("department_id", flat=True))
    told = 0
    for department in Department.objects.filter(pk__in=set(figures) - done):
        row = figures[department.pk]
        with transaction.atomic():
            __, created = DailyDigest.objects.get_or_create(
                department=department, day=day,
                defaults={"due_today": row["due_today"], "overdue": row["overdue"],
                          "sent_at": now})
            if not created:
                continue
            heads = list(department.heads.filter(is_active=True).values_list("pk", flat=True))
            cases = list(open_due.filter(lead_department=department)
                         .order_by("due_at")[:DIGEST_LIST_LENGTH]
                         .values_list("number", "summary", "due_at"))
            lines = [f"{number}  {timezone.localtime(due).strftime('%m-%d %H:%M')}"
                     f"{_('（已超期）') if due <= now else ''}  {summary}"
                     for number, summary, due in cases]
            total = row["due_today"] + row["overdue"]
            if total > len(cases):
                lines.append(_("……另有 %(n)d 件，请到部门待办查看。") % {"n": total - len(cases)})
            notify_many([Message(heads, "digest", _(
                "%(department)s %(day)s：今日到期 %(today)d 件，已超期 %(overdue)d 件") % {
                    "department": department.name, "day": day.strftime("%m-%d"),
                    "today": row["due_today"], "overdue": row["overdue"]},
                "\n".join(lines))])
            told += 1
    return told
