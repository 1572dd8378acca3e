"""Growth and archiving: what the office no longer keeps leaves the database in batches —
read and old notifications, sent outbox rows, the history of long-archived cases (exported
first, restorable) — while the events, the legal record, stay and still verify."""

import gzip
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from cases import archive, chain, tasks
from cases.models import Case, CaseEvent, Delivery, DeliveryState, Notification, State
from tests.factories import build_world, drive_to, run_together

ROOT = Path(__file__).resolve().parents[2]
NOW = timezone.make_aware(datetime(2026, 6, 1, 12, 0))


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def ago(**delta):
    return NOW - timedelta(**delta)


def notification(user, *, created, read=None, case=None):
    return Notification.objects.create(recipient=user, kind="dispatched", title="新交办",
                                       body="请及时办理", case=case, created_at=created,
                                       read_at=read)


def delivery(*, created, state=DeliveryState.SENT, notification=None, case=None,
             channel="email"):
    return Delivery.objects.create(channel=channel, to="someone@example.org", subject="通知",
                                   body="内容", notification=notification, case=case,
                                   state=state, created_at=created,
                                   sent_at=created if state == DeliveryState.SENT else None)


def policy(tmp_path, **overrides):
    return archive.Policy.from_settings(folder=tmp_path / "archive", **overrides)


def archived_at(world, travel, when):
    travel.to(when)
    case = drive_to(world, State.ARCHIVED)
    travel.stop()
    return case


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


# ---------------------------------------------------------------- notifications
def test_a_read_notification_goes_once_read_longer_than_its_period(world, tmp_path):
    days = getattr(settings, "NOTIFICATION_READ_KEEP_DAYS", 90)
    user = world.handler
    gone = notification(user, created=ago(days=days + 30),
                        read=ago(days=days, seconds=1))
    kept = notification(user, created=ago(days=days + 30),
                        read=ago(days=days, seconds=-1))
    unread = notification(user, created=ago(days=days + 30))

    tally = archive.run(now=NOW, policy=policy(tmp_path), parts=["notifications"])

    assert (exists(gone), exists(kept), exists(unread)) == (False, True, True)
    assert (tally.notifications_read, tally.notifications_aged) == (1, 0)


def test_any_notification_goes_after_the_longest_period_read_or_not(world, tmp_path):
    days = getattr(settings, "NOTIFICATION_KEEP_DAYS", 365)
    gone = notification(world.handler, created=ago(days=days, seconds=1))
    kept = notification(world.handler, created=ago(days=days, seconds=-1))

    tally = archive.run(now=NOW, policy=policy(tmp_path), parts=["notifications"])

    assert (exists(gone), exists(kept)) == (False, True)
    assert tally.notifications_aged == 1


def test_a_notification_goes_with_its_sent_copy_but_stays_while_its_copy_is_pending(
        world, tmp_path):
    sent = notification(world.handler, created=ago(days=400), read=ago(days=399))
    sent_copy = delivery(created=ago(days=400), notification=sent)
    failed_copy = delivery(created=ago(days=400), notification=sent,
                           state=DeliveryState.FAILED)
    waiting = notification(world.head, created=ago(days=400), read=ago(days=399))
    pending_copy = delivery(created=ago(days=400), notification=waiting,
                            state=DeliveryState.PENDING)

    tally = archive.run(now=NOW, policy=policy(tmp_path), parts=["notifications"])

    assert not exists(sent) and not exists(sent_copy) and not exists(failed_copy)
    assert exists(waiting) and exists(pending_copy)
    assert (tally.notifications_aged, tally.notification_copies) == (1, 2)


def test_the_notification_centre_says_how_long_notifications_are_kept(client, world):
    client.force_login(world.handler)
    page = client.get(reverse("cases:notifications")).content.decode()
    read_days = getattr(settings, "NOTIFICATION_READ_KEEP_DAYS", 90)
    all_days = getattr(settings, "NOTIFICATION_KEEP_DAYS", 365)
    assert f"已读通知在阅读 {read_days} 天后删除；所有通知最长保留 {all_days} 天。" in page


# ---------------------------------------------------------------- the outbox
def test_sent_and_failed_rows_go_after_their_period_pending_ones_never(world, tmp_path):
    days = getattr(settings, "DELIVERY_KEEP_DAYS", 90)
    told = notification(world.handler, created=NOW)  # unread and young: it stays
    old_sent = delivery(created=ago(days=days, seconds=1), notification=told)
    young_sent = delivery(created=ago(days=days, seconds=-1), notification=told)
    old_failed = delivery(created=ago(days=days + 5), notification=told,
                          state=DeliveryState.FAILED)
    old_pending = delivery(created=ago(days=days + 200), state=DeliveryState.PENDING)
    old_sms_waiting = delivery(created=ago(days=days + 200), state=DeliveryState.PENDING,
                               channel="sms")
    lone_sent = delivery(created=ago(days=days + 1))

    tally = archive.run(now=NOW, policy=policy(tmp_path), parts=["deliveries"])

    assert [exists(row) for row in (old_sent, young_sent, old_failed, old_pending,
                                    old_sms_waiting, lone_sent)] == [
        False, True, False, True, True, False]
    assert exists(told) and tally.deliveries == 3


def test_a_cases_own_rows_wait_until_the_case_is_archived_that_long(world, travel, tmp_path):
    days = getattr(settings, "DELIVERY_KEEP_DAYS", 90)
    long_archived = archived_at(world, travel, ago(days=days + 10))
    lately_archived = archived_at(world, travel, ago(days=days - 10))
    travel.to(ago(days=days + 30))
    open_case = drive_to(world, State.IN_HANDLING)
    travel.stop()
    rows = {name: delivery(created=ago(days=days + 20), case=case, channel=channel)
            for name, case, channel in (
                ("archived long ago", long_archived, "email"),
                ("platform, archived long ago", long_archived, "platform"),
                ("archived lately", lately_archived, "email"),
                ("open", open_case, "platform"))}

    archive.run(now=NOW, policy=policy(tmp_path), parts=["deliveries"])

    assert {name: exists(row) for name, row in rows.items()} == {
        "archived long ago": False, "platform, archived long ago": False,
        "archived lately": True, "open": True}


# ---------------------------------------------------------------- the cases' history
def _history_of(cases):
    return list(Case.history.filter(id__in=[case.pk for case in cases])
                .order_by("history_id").values())


def test_the_history_of_a_long_archived_case_is_exported_then_deleted_and_restores_exactly(
        world, travel, tmp_path):
    days = getattr(settings, "HISTORY_KEEP_DAYS", 180)
    old = [archived_at(world, travel, local(2024, 3, 5, 10, 0)),
           archived_at(world, travel, local(2024, 4, 7, 15, 30))]
    recent = archived_at(world, travel, ago(days=days - 1))
    travel.to(local(2024, 1, 2, 9, 0))
    still_open = drive_to(world, State.IN_HANDLING)
    travel.stop()
    before = _history_of(old)
    kept_before = _history_of([recent, still_open])
    assert len(before) >= 10

    tally = archive.run(now=NOW, policy=policy(tmp_path), parts=["history"])

    assert tally.history == len(before)
    assert Case.history.filter(id__in=[case.pk for case in old]).count() == 0
    assert _history_of([recent, still_open]) == kept_before
    assert {path.parent.name for path in tally.files} == {"2024-03", "2024-04"}
    exported = []
    for path in tally.files:
        assert path.name.endswith(".jsonl.gz")
        checksum, name = archive.checksum_path(path).read_text().split()
        assert (checksum, name) == (archive.sha256_of(path), path.name)
        rows = archive.read_export(path)
        assert {row["model"] for row in rows} == {"cases.historicalcase"}
        exported += rows
    assert sorted(row["pk"] for row in exported) == [row["history_id"] for row in before]

    for path in tally.files:
        call_command("loaddata", str(path), verbosity=0)
    assert _history_of(old) == before  # every field, to the microsecond
    # The live cases never changed.
    assert Case.objects.get(pk=old[0].pk).state == State.ARCHIVED


def test_the_office_may_drop_the_history_without_an_export(world, travel, tmp_path):
    case = archived_at(world, travel, local(2024, 3, 5, 10, 0))
    count = Case.history.filter(id=case.pk).count()

    call_command("archive_rows", "--only", "history", "--drop-history",
                 "--folder", str(tmp_path / "unused"))

    assert Case.history.filter(id=case.pk).count() == 0
    assert not (tmp_path / "unused").exists()
    assert count > 0


def test_each_batch_is_its_own_file_and_transaction(world, travel, tmp_path):
    case = archived_at(world, travel, local(2024, 3, 5, 10, 0))
    count = Case.history.filter(id=case.pk).count()
    batch = 3

    tally = archive.run(now=NOW, policy=policy(tmp_path, batch_size=batch), parts=["history"])

    assert tally.history == count
    assert len(tally.files) == -(-count // batch)
    assert all(len(archive.read_export(path)) <= batch for path in tally.files)


def test_a_run_stops_at_its_time_budget_and_the_next_goes_on(world, travel, tmp_path):
    case = archived_at(world, travel, local(2024, 3, 5, 10, 0))
    notification(world.handler, created=ago(days=800))
    count = Notification.objects.count()  # the case's own, of 2024, and this one

    stopped = archive.run(now=NOW, policy=policy(tmp_path), seconds=0)
    assert not stopped.finished and Case.history.filter(id=case.pk).exists()
    assert Notification.objects.count() == count

    done = archive.run(now=NOW, policy=policy(tmp_path))
    assert done.finished and not Case.history.filter(id=case.pk).exists()
    assert done.notifications_aged == count and Notification.objects.count() == 0


def test_a_failed_batch_leaves_its_rows_and_no_file(world, travel, tmp_path, monkeypatch):
    case = archived_at(world, travel, local(2024, 3, 5, 10, 0))
    count = Case.history.filter(id=case.pk).count()

    def broken_delete(self):
        raise RuntimeError("disk or database failed mid-batch")

    monkeypatch.setattr(type(Case.history.model.objects.all()), "delete", broken_delete)
    with pytest.raises(RuntimeError):
        archive.run(now=NOW, policy=policy(tmp_path), parts=["history"])

    assert Case.history.filter(id=case.pk).count() == count
    leftovers = [p for p in (tmp_path / "archive").rglob("*") if p.is_file()]
    assert leftovers == []


# ---------------------------------------------------------------- dry run, arguments
def test_a_dry_run_counts_what_a_run_does_and_changes_nothing(world, travel, tmp_path):
    archived_at(world, travel, local(2024, 3, 5, 10, 0))
    of_the_case = Notification.objects.count()  # written in 2024: past the longest period
    read = notification(world.handler, created=ago(days=200), read=ago(days=150))
    delivery(created=ago(days=200), notification=read)
    notification(world.head, created=ago(days=500))
    delivery(created=ago(days=200))
    before = (Notification.objects.count(), Delivery.objects.count(),
              Case.history.count())

    dry = archive.run(now=NOW, policy=policy(tmp_path), dry_run=True)
    assert (Notification.objects.count(), Delivery.objects.count(),
            Case.history.count()) == before
    assert not (tmp_path / "archive").exists()

    real = archive.run(now=NOW, policy=policy(tmp_path))
    for name in ("notifications_read", "notifications_aged", "notification_copies",
                 "deliveries", "history"):
        assert getattr(dry, name) == getattr(real, name), name
    assert dry.history_by_month == real.history_by_month == {"2024-03": real.history}
    assert (real.notifications_read, real.notifications_aged, real.notification_copies,
            real.deliveries) == (1, 1 + of_the_case, 1, 1)


def test_the_command_prints_its_counts_and_says_a_dry_run_changed_nothing(
        world, travel, tmp_path, capsys):
    notification(world.handler, created=timezone.now() - timedelta(days=800))
    call_command("archive_rows", "--dry-run", "--folder", str(tmp_path))
    out = capsys.readouterr().out
    assert "通知（超过 365 天）：将删除 1 条" in out and "试运行：未作任何改动" in out
    assert Notification.objects.count() == 1

    call_command("archive_rows", "--folder", str(tmp_path))
    assert "通知（超过 365 天）：已删除 1 条" in capsys.readouterr().out
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("arguments, message", [
    (["--batch-size", "0"], "应为正整数"),
    (["--batch-size", "many"], "应为正整数"),
    (["--max-seconds", "-5"], "应为正整数"),
    (["--only", "events"], "invalid choice"),
    (["--export-events", "2025-13"], "月份应写作 YYYY-MM"),
    (["--export-events", "March"], "月份应写作 YYYY-MM"),
    (["--export-events", "2025-03", "--only", "history"], "只导出记录"),
])
def test_bad_arguments_get_a_clear_message(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("archive_rows", *arguments)


def test_an_unwritable_folder_and_a_bad_setting_are_named(db, tmp_path, settings):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    with pytest.raises(CommandError, match="a-file"):
        call_command("archive_rows", "--only", "history", "--folder", str(occupied))
    with pytest.raises(CommandError, match="a-file"):
        call_command("archive_rows", "--export-events", "2025-03",
                     "--folder", str(occupied / "below"))
    settings.NOTIFICATION_READ_KEEP_DAYS = 0
    with pytest.raises(CommandError, match="NOTIFICATION_READ_KEEP_DAYS 应为正整数"):
        call_command("archive_rows", "--dry-run")


def test_a_bad_argument_on_the_command_line_is_one_line_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "manage.py", "archive_rows", "--batch-size", "0"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "应为正整数" in result.stderr


# ---------------------------------------------------------------- two runs at once
@pytest.mark.postgres
def test_two_runs_at_once_share_the_rows_and_take_none_twice(committed_db, postgres_only,
                                                              travel, tmp_path):
    world = build_world()
    cases = [archived_at(world, travel, local(2024, month, 3, 10, 0)) for month in (2, 3, 4)]
    history_ids = sorted(Case.history.filter(id__in=[c.pk for c in cases])
                         .values_list("history_id", flat=True))
    for day in range(40):
        told = notification(world.handler, created=ago(days=500 - day),
                            read=ago(days=400 - day))
        delivery(created=ago(days=500 - day), notification=told)
        delivery(created=ago(days=300 - day))
    # Everything is past its period (the cases' own notifications were written in 2024).
    notifications, deliveries = Notification.objects.count(), Delivery.objects.count()
    small = policy(tmp_path, batch_size=4)

    outcomes = run_together(lambda: archive.run(now=NOW, policy=small),
                            lambda: archive.run(now=NOW, policy=small))

    assert all(isinstance(outcome, archive.Tally) for outcome in outcomes), outcomes
    assert sum(t.history for t in outcomes) == len(history_ids)
    assert sum(t.notifications_aged + t.notifications_read for t in outcomes) == notifications
    assert sum(t.deliveries + t.notification_copies for t in outcomes) == deliveries
    assert Case.history.filter(id__in=[c.pk for c in cases]).count() == 0
    assert Notification.objects.count() == 0 and Delivery.objects.count() == 0
    exported = sorted(row["pk"] for t in outcomes for path in t.files
                      for row in archive.read_export(path))
    assert exported == history_ids  # each version in exactly one file
    assert chain.verify().breaks == []


# ---------------------------------------------------------------- the events stay
def test_the_chain_still_verifies_after_a_run(world, travel, tmp_path, capsys):
    old = archived_at(world, travel, local(2024, 3, 5, 10, 0))
    events = CaseEvent.objects.filter(case=old).count()
    archive.run(now=NOW, policy=policy(tmp_path))
    assert CaseEvent.objects.filter(case=old).count() == events
    call_command("verify_event_chain")
    assert "记录链完整" in capsys.readouterr().out


def test_a_months_events_are_copied_whole_with_their_heads_and_restore(world, travel,
                                                                       tmp_path, capsys):
    march = [archived_at(world, travel, local(2024, 3, day, 10, 0)) for day in (4, 28)]
    archived_at(world, travel, local(2024, 4, 1, 9, 0))  # another month
    stored = {event.pk: event for event in CaseEvent.objects.filter(case__in=march)}

    call_command("archive_rows", "--export-events", "2024-03", "--folder", str(tmp_path))
    out = capsys.readouterr().out
    assert f"2024-03 归档的案件 2 件、记录 {len(stored)} 条已导出" in out
    assert "每件案件的记录链完整" in out

    path = tmp_path / "events" / "2024-03.jsonl.gz"
    archive.verify_checksum(path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        loaded = [found.object for found in serializers.deserialize("jsonl", stream)]
    assert sorted(event.pk for event in loaded) == sorted(stored)
    for event in loaded:  # every sealed field as stored, to the microsecond
        assert chain.digest(event, event.previous_hash) == event.hash == stored[event.pk].hash
        for name in chain.SEALED_FIELDS:
            assert getattr(event, name) == getattr(stored[event.pk], name), name
    heads = (tmp_path / "events" / "2024-03.heads.csv").read_text().splitlines()
    assert heads[0] == "case_id,number,archived_at,events,head,chain"
    assert {line.split(",")[1] for line in heads[1:]} == {case.number for case in march}
    assert all(line.endswith(",intact") for line in heads[1:])
    assert CaseEvent.objects.filter(case__in=march).count() == len(stored)  # nothing deleted

    # Were the events ever lost, the export puts them back and the chains hold again.
    CaseEvent.objects.filter(case=march[0]).delete()
    with pytest.raises(CommandError):
        call_command("verify_event_chain", "--case", march[0].number)
    call_command("loaddata", str(path), verbosity=0)
    call_command("verify_event_chain", "--case", march[0].number)


def test_a_broken_chain_is_exported_as_it_is_and_named(world, travel, tmp_path):
    case = archived_at(world, travel, local(2024, 3, 4, 10, 0))
    second = CaseEvent.objects.filter(case=case).order_by("pk")[1]
    CaseEvent.objects.filter(pk=second.pk).update(note="改过")

    tally = archive.export_events(month="2024-03", policy=policy(tmp_path))

    assert [broken.case_id for broken in tally.breaks] == [case.pk]
    heads = (tmp_path / "archive" / "events" / "2024-03.heads.csv").read_text()
    assert "intact" not in heads.splitlines()[1]


# ---------------------------------------------------------------- the task
def test_the_task_runs_the_service_and_answers_its_counts(world, settings, tmp_path):
    settings.ARCHIVE_DIR = tmp_path
    notification(world.handler, created=timezone.now() - timedelta(days=800))
    answer = tasks.archive_rows.delay().get()
    assert answer["notifications_aged"] == 1 and answer["finished"] is True
