"""Notifications: in-app rows written with the act, e-mail copies sent after commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import Case, Department, HandlingMode, Notification, ReviewStage
from .roles import OFFICE_ROLES, Role

if TYPE_CHECKING:
    from .escalation import SweptCase


# Every kind of notification, as the centre's filter names it.
KINDS = {
    "collective_visit": _("集体访"), "abnormal_visit": _("非正常上访"),
    "escalated": _("呈办待批示"), "extension_requested": _("延期申请"),
    "extension_approved": _("延期同意"), "extension_refused": _("延期不同意"),
    "extension_notice": _("告知信访人延期"),
    "handling": _("办理动态"), "contact": _("联系信访人"),
    "unsatisfied_again": _("再次不满意"), "warning": _("即将到期"), "overdue": _("超期督办"),
    "level2": _("二级督办"), "supervision_answer": _("督办反馈"),
    "supervision_late": _("督办反馈超时"), "digest": _("每日提醒"),
    "dispatched": _("新交办"), "returned": _("退单"), "result_submitted": _("待审核"),
    "sent_back": _("审核退回"), "approved": _("待答复"), "reopened": _("重办"),
    "supervision_opened": _("督办单"), "intake_warning": _("受理即将超时"),
    "intake_overdue": _("受理超时"), "delivery_failed": _("邮件发送失败"),
    "final_warning": _("最终结果即将到期"), "final_overdue": _("最终结果超期"),
    "visit_warning": _("回访即将到期"), "visit_overdue": _("回访超期"),
    "next_steps_replied": _("待答复最终结果"), "discussion": _("内部沟通"),
    "export_ready": _("导出完成"), "export_failed": _("导出失败"),
}


def people_with_role(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True)


@dataclass
class Message:
    """One notification to several people (by their user ids), about a case (a model
    instance, or the sweep's row of one)."""

    recipient_ids: Iterable[int]
    kind: str
    title: str
    body: str = ""
    case: Case | SweptCase | None = None


def notify_many(messages: Iterable[Message], *, email: bool = True) -> list[Notification]:
    """Write every message's rows in one insert, and the e-mail copy of each (for people
    with an address) as an outbox row in the same transaction: nothing leaves if the act
    rolls back, and nothing is lost if a worker or the broker dies after it commits. A
    person named twice in a message is told once."""
    rows = Notification.objects.bulk_create(
        Notification(recipient_id=person_id, case_id=getattr(message.case, "pk", None),
                     kind=message.kind, title=message.title, body=message.body)
        for message in messages
        for person_id in dict.fromkeys(message.recipient_ids)
    )
    if email and rows:
        from .models import Delivery
        from .services import queue_deliveries

        addresses = dict(get_user_model().objects.filter(
            pk__in={row.recipient_id for row in rows}, is_active=True).exclude(email="")
            .values_list("pk", "email"))
        queue_deliveries([
            Delivery(to=addresses[row.recipient_id], subject=row.title,
                     body=row.body or row.title, notification=row, case_id=row.case_id)
            for row in rows if row.recipient_id in addresses])
    return rows


def notify(recipients: Iterable, *, kind: str, title: str, body: str = "",
           case: Case | None = None) -> list[Notification]:
    """Write the notifications now; their e-mails leave only if the transaction commits."""
    return notify_many([Message([person.pk for person in recipients], kind, title, body, case)])


def alert_supervisors(*, case: Case, kind: str, title: str, body: str = "") -> None:
    notify(people_with_role(Role.SUPERVISOR), kind=kind, title=title, body=body, case=case)


# ---------------------------------------------------------------- who hears of a handoff
def people_with_roles(*roles: str) -> list[int]:
    return list(get_user_model().objects.filter(groups__name__in=roles, is_active=True)
                .values_list("pk", flat=True).distinct())


def department_people(department_ids: Iterable[int]) -> list[int]:
    """Every active member and head of these departments."""
    ids = list(department_ids)
    members = Department.members.through.objects.filter(
        department_id__in=ids, user__is_active=True).values_list("user_id", flat=True)
    heads = Department.heads.through.objects.filter(
        department_id__in=ids, user__is_active=True).values_list("user_id", flat=True)
    return list(dict.fromkeys([*members, *heads]))


def department_heads(department_id: int) -> list[int]:
    return list(Department.heads.through.objects.filter(
        department_id=department_id, user__is_active=True).values_list("user_id", flat=True))


def lead_workers(case: Case) -> list[int]:
    """Who works the case for its lead department now: its handler if it has one, else the
    department (for 直办, the office's dispatchers)."""
    if case.handler_id:
        return [case.handler_id]
    if case.handling_mode == HandlingMode.DIRECT:
        return people_with_roles(Role.DISPATCHER)
    return department_people([case.lead_department_id]) if case.lead_department_id else []


def current_reviewers(case: Case) -> list[int]:
    """Who must review the result at its current stage."""
    if case.review_stage == ReviewStage.HEAD:
        return department_heads(case.lead_department_id)
    if case.review_stage == ReviewStage.OFFICE:
        return people_with_roles(Role.DISPATCHER)
    if case.review_stage == ReviewStage.SUPERVISOR:
        return people_with_roles(Role.SUPERVISOR)
    return []


def office_staff() -> list[int]:
    return people_with_roles(*OFFICE_ROLES)


def tell(recipient_ids: Iterable[int], *, kind: str, case: Case, title: str,
         body: str = "", skip=None) -> list[Notification]:
    """A handoff's message to the next people (not to the actor who made it)."""
    skip_id = getattr(skip, "pk", None)
    return notify_many([Message([pk for pk in recipient_ids if pk != skip_id], kind, title,
                                body, case)])
