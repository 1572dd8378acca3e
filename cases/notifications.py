"""Notifications: in-app rows written with the act, e-mail copies sent after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Case, Notification
from .roles import Role


def people_with_role(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True)


def notify(recipients: Iterable, *, kind: str, title: str, body: str = "",
           case: Case | None = None) -> list[Notification]:
    """Write the notifications now; their e-mails leave only if the transaction commits."""
    rows = Notification.objects.bulk_create(
        Notification(recipient=person, case=case, kind=kind, title=title, body=body)
        for person in {person.pk: person for person in recipients}.values()
    )
    ids = [row.pk for row in rows]
    if ids:
        from .tasks import send_notification_emails

        transaction.on_commit(lambda: send_notification_emails.delay(notification_ids=ids))
    return rows


def alert_supervisors(*, case: Case, kind: str, title: str, body: str = "") -> None:
    notify(people_with_role(Role.SUPERVISOR), kind=kind, title=title, body=body, case=case)
