"""The department heads' daily digest: what is due today and overdue, once a day."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cases.models import Case, Notification, State
from oversight.models import DailyDigest
from oversight.services import send_daily_digests
from tests.factories import build_world, drive_to, run_together


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def open_case_due(world, due_at):
    case = drive_to(world, State.IN_HANDLING)
    Case.objects.filter(pk=case.pk).update(due_at=due_at)
    return case


def test_heads_get_one_digest_a_day_from_the_digest_hour(world, travel, settings,
                                                          django_capture_on_commit_callbacks):
    settings.DIGEST_HOUR = 8
    travel.to(local(2026, 11, 23, 6, 0))
    overdue = open_case_due(world, local(2026, 11, 20, 10, 0))
    today = open_case_due(world, local(2026, 11, 23, 17, 0))
    later = open_case_due(world, local(2026, 11, 26, 10, 0))
    travel.to(local(2026, 11, 23, 7, 59))
    assert send_daily_digests() == 0
    travel.to(local(2026, 11, 23, 8, 0))
    world.head.email = "head@example.org"
    world.head.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests() == 1
    digest = Notification.objects.get(kind="digest")
    assert digest.recipient == world.head
    assert "今日到期 1 件，已超期 1 件" in digest.title
    assert overdue.number in digest.body and "已超期" in digest.body
    assert today.number in digest.body and later.number not in digest.body
    assert [message.to for message in mail.outbox] == [["head@example.org"]]
    # Later runs the same day send nothing more; the next day sends again.
    travel.to(local(2026, 11, 23, 15, 0))
    assert send_daily_digests() == 0
    travel.to(local(2026, 11, 24, 9, 0))
    assert send_daily_digests() == 1
    assert Notification.objects.filter(kind="digest").count() == 2


def test_a_department_with_nothing_due_gets_nothing(world, travel):
    travel.to(local(2026, 11, 23, 6, 0))
    open_case_due(world, local(2026, 12, 1, 10, 0))
    travel.to(local(2026, 11, 23, 9, 0))
    assert send_daily_digests() == 0
    assert not Notification.objects.filter(kind="digest").exists()


def test_two_workers_send_each_digest_once(committed_db, postgres_only, travel):
    world = build_world()
    travel.to(local(2026, 11, 23, 6, 0))
    open_case_due(world, local(2026, 11, 22, 10, 0))
    travel.to(local(2026, 11, 23, 9, 0))
    outcomes = run_together(send_daily_digests, send_daily_digests)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(outcomes) == [0, 1]
    assert DailyDigest.objects.count() == 1
    assert Notification.objects.filter(kind="digest").count() == 1
