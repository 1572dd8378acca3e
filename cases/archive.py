"""Growth and archiving (issue 17): what may leave the database, when, and how it leaves.

The tables that grow with every case are the events (the legal record), the
notifications, the outbox and the cases' history. This module decides, by settings,
what of them the office keeps and takes the rest away, in bounded batches:

- **Notifications**: a read one `NOTIFICATION_READ_KEEP_DAYS` (90) after it was read, any
  one `NOTIFICATION_KEEP_DAYS` (365) after it was written, never while its e-mail copy
  is still waiting to be sent. Its sent (or failed) e-mail copies go with it. The
  notification centre says so.
- **The outbox** (`Delivery`): a row sent or failed for good, `DELIVERY_KEEP_DAYS` (90)
  after it was written; a row about a case that is not a notification's copy (the
  petitioner's e-mails and SMS records, the platform callbacks) only once its case has
  been archived that long too: until then a platform's sequence counts the rows sent, and
  a petitioner answering an e-mail is threaded to the case by its Message-ID. A pending
  row is never touched.
- **The cases' history** (`HistoricalCase`, django-simple-history): every version of a
  case archived more than `HISTORY_KEEP_DAYS` (180) ago is written to a compressed export
  (`ARCHIVE_DIR`, JSON lines in Django's fixture format, one file per batch and month of
  archiving, each with a SHA-256 file beside it) and then deleted; with
  `HISTORY_EXPORT = False` (or `--drop-history`) it is deleted without an export. The
  petitioners' history is left alone: it holds personal data, which retention anonymises
  in every version in place (feedback.retention) and which an export would carry beyond
  the period; the policies' histories are small.
- **Events are kept**: they are the legal record and their chains are verified
  (cases.chain). `export_events` copies the events of the cases archived in one month,
  with each case's chain head and whether it holds, for the archives; nothing is deleted.

Each batch is its own transaction: the rows are claimed with SELECT … FOR UPDATE SKIP
LOCKED, exported (the file is on disk, synced, before the delete), deleted, committed; a
batch that fails removes the files it wrote. Two runs at once therefore share the rows and
never take one twice; a run stopped halfway leaves every row either in the database or in
a complete file (a file written just before a failed commit duplicates rows still in the
database, which a later run exports again; restoring both is harmless: loaddata writes a
row by its key).

The rows are read in windows of their key from the lowest one, which is also the oldest:
a run looks at the rows that became old since the last run, and those the rules keep,
and stops at the first window that is all younger than its cutoff. The read
notifications are found per recipient through their (recipient, read_at) index.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import chain
from .models import Case, CaseEvent, Delivery, DeliveryState, Notification, State

logger = logging.getLogger(__name__)

PARTS = ("notifications", "deliveries", "history")
DONE_STATES = (DeliveryState.SENT, DeliveryState.FAILED)


class ArchiveError(ValueError):
    """A setting, an argument or the export folder is not usable: the message says which."""


# ---------------------------------------------------------------- the policy
@dataclass(frozen=True)
class Policy:
    notification_read_days: int
    notification_days: int
    delivery_days: int
    history_days: int
    export_history: bool
    folder: Path
    batch_size: int

    @classmethod
    def from_settings(cls, *, folder: str | Path | None = None, batch_size: int | None = None,
                      export_history: bool | None = None) -> "Policy":
        """The office's settings; the arguments given replace them for one run."""
        policy = cls(
            notification_read_days=getattr(settings, "NOTIFICATION_READ_KEEP_DAYS", 90),
            notification_days=getattr(settings, "NOTIFICATION_KEEP_DAYS", 365),
            delivery_days=getattr(settings, "DELIVERY_KEEP_DAYS", 90),
            history_days=getattr(settings, "HISTORY_KEEP_DAYS", 180),
            export_history=(getattr(settings, "HISTORY_EXPORT", True)
                            if export_history is None else export_history),
            folder=Path(folder if folder is not None else getattr(
                settings, "ARCHIVE_DIR", Path(settings.VAR_DIR) / "archive")),
            batch_size=(getattr(settings, "ARCHIVE_BATCH_SIZE", 2000)
                        if batch_size is None else batch_size),
        )
        policy.check()
        return policy

    def check(self) -> None:
        for name, setting in (("notification_read_days", "NOTIFICATION_READ_KEEP_DAYS"),
                              ("notification_days", "NOTIFICATION_KEEP_DAYS"),
                              ("delivery_days", "DELIVERY_KEEP_DAYS"),
                              ("history_days", "HISTORY_KEEP_DAYS")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArchiveError(f"{setting} 应为正整数（天），现为 {value!r}")
        if (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                or not 1 <= self.batch_size <= 100_000):
            raise ArchiveError(f"每批行数应在 1 到 100000 之间，现为 {self.batch_size!r}")

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        return {"notification_read": now - timedelta(days=self.notification_read_days),
                "notification": now - timedelta(days=self.notification_days),
                "delivery": now - timedelta(days=self.delivery_days),
                "history": now - timedelta(days=self.history_days)}


def ready_folder(folder: Path) -> Path:
    """The export folder, made if missing; an error that names it if it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArchiveError(f"无法创建导出目录 {folder}：{error.strerror or error}") from error
    if not folder.is_dir():
        raise ArchiveError(f"导出目录 {folder} 不是目录")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ArchiveError(f"导出目录 {folder} 不可写")
    return folder


# ---------------------------------------------------------------- the files
class ExactEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds; an export keeps every digit (an event's
    hash covers its microseconds)."""

    def default(self, o):
        if isinstance(o, (datetime, clock_time)):
            return o.isoformat()
        return super().default(o)


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _put(path: Path, write) -> str:
    """Write a file under a temporary name, sync it, give it its name (atomic), and write
    its checksum beside it in `sha256sum` form. Answers the checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with open(temporary, "wb") as raw:
            write(raw)
            raw.flush()
            os.fsync(raw.fileno())
        checksum = sha256_of(temporary)
        os.replace(temporary, path)
        sidecar = checksum_path(path)
        temporary = sidecar.with_name(f".{sidecar.name}.{uuid.uuid4().hex}.part")
        temporary.write_text(f"{checksum}  {path.name}\n", encoding="ascii")
        os.replace(temporary, sidecar)
        _sync_folder(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return checksum


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)


def _gzip_jsonl(raw, batches: Iterable[Iterable]) -> int:
    """Rows as JSON lines in Django's fixture format (`manage.py loaddata` reads it back),
    gzip-compressed. Answers how many rows."""
    count = 0
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
        text = io.TextIOWrapper(zipped, encoding="utf-8", newline="\n")
        for rows in batches:
            rows = list(rows)
            serializers.serialize("jsonl", rows, stream=text, cls=ExactEncoder)
            count += len(rows)
        text.flush()
        text.detach()
    return count


def read_export(path: str | Path) -> list[dict]:
    """The rows of an export, as written (checks the checksum beside it first)."""
    import json

    path = Path(path)
    verify_checksum(path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def verify_checksum(path: Path) -> None:
    sidecar = checksum_path(path)
    if not sidecar.exists():
        raise ArchiveError(f"{path} 旁没有校验文件 {sidecar.name}")
    expected = sidecar.read_text(encoding="ascii").split()[0]
    if sha256_of(path) != expected:
        raise ArchiveError(f"{path} 与其校验值不符：文件已损坏或被改动")


# ---------------------------------------------------------------- one run
@dataclass
class Tally:
    dry_run: bool = False
    notifications_read: int = 0
    notifications_aged: int = 0
    # The e-mail copies that went with their notifications, and the rows of the outbox
    # taken by its own rule.
    notification_copies: int = 0
    deliveries: int = 0
    history: int = 0
    history_exported: bool = True
    history_by_month: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    finished: bool = True
    parts: tuple[str, ...] = PARTS

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "notifications_read": self.notifications_read,
                "notifications_aged": self.notifications_aged,
                "notification_copies": self.notification_copies,
                "deliveries": self.deliveries, "history": self.history,
                "history_exported": self.history_exported,
                "files": [str(path) for path in self.files], "finished": self.finished}


class _Clock:
    """The run's time budget: checked between batches, never inside one."""

    def __init__(self, seconds: float | None):
        self.until = None if seconds is None else time.monotonic() + seconds

    def out(self) -> bool:
        return self.until is not None and time.monotonic() >= self.until


def run(*, now: datetime | None = None, policy: Policy | None = None, dry_run: bool = False,
        parts: Iterable[str] = PARTS, seconds: float | None = None) -> Tally:
    """One archiving run over the parts named (PARTS), by the policy (the settings by
    default). `seconds`: stop after the batch that passes this budget (the rest is left
    for the next run; `Tally.finished` says whether everything due was done)."""
    now = now or timezone.now()
    policy = policy or Policy.from_settings()
    parts = list(parts)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ArchiveError("不认识的部分：" + "、".join(unknown) + "（可选：" + "、".join(PARTS) + "）")
    if "history" in parts and policy.export_history and not dry_run:
        ready_folder(policy.folder)
    cutoffs = policy.cutoffs(now)
    tally = Tally(dry_run=dry_run, history_exported=policy.export_history, parts=tuple(parts))
    clock = _Clock(seconds)
    steps = {"notifications": (_notifications_aged, _notifications_read),
             "deliveries": (_deliveries,), "history": (_history,)}
    for part in PARTS:
        if part not in parts:
            continue
        for step in steps[part]:
            if not step(tally, policy, cutoffs, clock, dry_run, now):
                tally.finished = False
                logger.info("archive run stopped by its time budget; the next run goes on")
                return tally
    logger.info("archive run: %s", {key: value for key, value in tally.as_dict().items()
                                     if key != "files"})
    return tally


def _windows(queryset, key: str, moment: str, cutoff: datetime, size: int,
             clock: _Clock) -> Iterator[list[tuple]]:
    """(key, moment) of the rows in key order from the lowest, a window at a time, until the
    first window that is all at or after the cutoff. Stops early (raising _OutOfTime)
    when the clock runs out."""
    last = None
    while True:
        if clock.out():
            raise _OutOfTime
        rows = queryset if last is None else queryset.filter(**{f"{key}__gt": last})
        window = list(rows.order_by(key).values_list(key, moment)[:size])
        if not window:
            return
        last = window[-1][0]
        yield window
        if all(when >= cutoff for _key, when in window):
            return


class _OutOfTime(Exception):
    pass


def _timed(step):
    """A step answers False when the clock ran out before it was done."""

    def timed(*args) -> bool:
        try:
            step(*args)
        except _OutOfTime:
            return False
        return True

    timed.__name__ = step.__name__
    return timed


def _notifications_due(cutoffs: dict[str, datetime]):
    """Every notification a run deletes (for the dry run's counts)."""
    return Notification.objects.filter(
        Q(created_at__lt=cutoffs["notification"]) | Q(read_at__lt=cutoffs["notification_read"])
    ).filter(_no_pending_copy())


def _no_pending_copy():
    return ~Exists(Delivery.objects.filter(notification=OuterRef("pk"),
                                           state=DeliveryState.PENDING))


def _delete_notifications(ids: list[int], tally: Tally) -> int:
    """Delete these notifications (locked by the caller) with their e-mail copies."""
    _, copies = Delivery.objects.filter(notification_id__in=ids,
                                        state__in=DONE_STATES).delete()
    # A copy still pending (put back by 再次发送 meanwhile) keeps its notification.
    deleted, by_model = (Notification.objects.filter(pk__in=ids)
                         .filter(~Exists(Delivery.objects.filter(notification=OuterRef("pk"))))
                         .delete())
    tally.notification_copies += copies.get(Delivery._meta.label, 0)
    return by_model.get(Notification._meta.label, 0)


@_timed
def _notifications_aged(tally, policy, cutoffs, clock, dry_run, now) -> None:
    cutoff = cutoffs["notification"]
    for window in _windows(Notification.objects.all(), "pk", "created_at", cutoff,
                           policy.batch_size, clock):
        old = [pk for pk, created in window if created < cutoff]
        if not old:
            continue
        due = Notification.objects.filter(pk__in=old, created_at__lt=cutoff).filter(
            _no_pending_copy())
        if dry_run:
            tally.notifications_aged += due.count()
            tally.notification_copies += Delivery.objects.filter(
                notification__in=due, state__in=DONE_STATES).count()
            continue
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True))
            if ids:
                tally.notifications_aged += _delete_notifications(ids, tally)


@_timed
def _notifications_read(tally, policy, cutoffs, clock, dry_run, now) -> None:
    cutoff = cutoffs["notification_read"]
    people = get_user_model().objects.order_by("pk").values_list("pk", flat=True)
    last = 0
    while chunk := list(people.filter(pk__gt=last)[:500]):
        last = chunk[-1]
        # The (recipient, read_at) index: each person's read ones, oldest read first.
        due = Notification.objects.filter(recipient_id__in=chunk, read_at__lt=cutoff).filter(
            _no_pending_copy())
        if dry_run:
            # Not those the aged part counted already (gone in a real run).
            due = due.exclude(created_at__lt=cutoffs["notification"])
            tally.notifications_read += due.count()
            tally.notification_copies += Delivery.objects.filter(
                notification__in=due, state__in=DONE_STATES).count()
            continue
        while True:
            if clock.out():
                raise _OutOfTime
            with transaction.atomic():
                ids = list(due.order_by("recipient_id", "read_at")
                           .select_for_update(skip_locked=True, of=("self",))
                           .values_list("pk", flat=True)[:policy.batch_size])
                if ids:
                    tally.notifications_read += _delete_notifications(ids, tally)
            if len(ids) < policy.batch_size:
                break


def _deliveries_due(cutoff: datetime) -> Q:
    """Sent or failed before the cutoff; a case's own row (not a notification's copy) only
    once its case has been archived before the cutoff too."""
    return (Q(state__in=DONE_STATES, created_at__lt=cutoff)
            & (Q(notification__isnull=False) | Q(case__isnull=True)
               | Q(case__state=State.ARCHIVED, case__archived_at__lt=cutoff)))


@_timed
def _deliveries(tally, policy, cutoffs, clock, dry_run, now) -> None:
    cutoff = cutoffs["delivery"]
    for window in _windows(Delivery.objects.all(), "pk", "created_at", cutoff,
                           policy.batch_size, clock):
        old = [pk for pk, created in window if created < cutoff]
        if not old:
            continue
        due = Delivery.objects.filter(_deliveries_due(cutoff), pk__in=old)
        if dry_run:
            # Not those the notifications' part counted already (gone in a real run).
            if "notifications" in tally.parts:
                due = due.exclude(notification__in=_notifications_due(cutoffs))
            tally.deliveries += due.count()
            continue
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True))
            if ids:
                # The ORM's delete: an extension's notice forgets the row (SET NULL), a
                # callback's attempts go with it.
                _, deleted = Delivery.objects.filter(pk__in=ids).delete()
                tally.deliveries += deleted.get(Delivery._meta.label, 0)


def month_of(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m")


@_timed
def _history(tally, policy, cutoffs, clock, dry_run, now) -> None:
    history = Case.history.model
    cutoff = cutoffs["history"]
    for window in _windows(history.objects.all(), "history_id", "history_date", cutoff,
                           policy.batch_size, clock):
        old = [pk for pk, when in window if when < cutoff]
        if not old:
            continue
        archived = dict(Case.objects.filter(
            pk__in=history.objects.filter(history_id__in=old).values("id"),
            state=State.ARCHIVED, archived_at__lt=cutoff).values_list("pk", "archived_at"))
        if not archived:
            continue
        due = history.objects.filter(history_id__in=old, id__in=list(archived))
        if dry_run:
            for case_id in due.values_list("id", flat=True):
                month = month_of(archived[case_id])
                tally.history_by_month[month] = tally.history_by_month.get(month, 0) + 1
                tally.history += 1
            continue
        written: list[Path] = []
        try:
            with transaction.atomic():
                rows = list(due.select_for_update(skip_locked=True).order_by("history_id"))
                if not rows:
                    continue
                if policy.export_history:
                    by_month = defaultdict(list)
                    for row in rows:
                        by_month[month_of(archived[row.id])].append(row)
                    for month, month_rows in sorted(by_month.items()):
                        path = (policy.folder / "history" / history._meta.db_table / month
                                / f"{now:%Y%m%dT%H%M%S}-{month_rows[0].history_id}-"
                                  f"{month_rows[-1].history_id}-{uuid.uuid4().hex[:8]}"
                                  ".jsonl.gz")
                        written.append(path)
                        _put(path, lambda raw, month_rows=month_rows: _gzip_jsonl(
                            raw, [month_rows]))
                        tally.history_by_month[month] = (
                            tally.history_by_month.get(month, 0) + len(month_rows))
                history.objects.filter(history_id__in=[row.history_id for row in rows]).delete()
                tally.history += len(rows)
        except BaseException:
            for path in written:
                _remove(path)
            raise
        tally.files.extend(written)


# ---------------------------------------------------------------- the events, copied
@dataclass
class EventExport:
    month: str
    cases: int = 0
    events: int = 0
    breaks: list[chain.Break] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    dry_run: bool = False


def parse_month(text: str) -> date:
    try:
        month = datetime.strptime(text.strip(), "%Y-%m").date()
    except (AttributeError, ValueError):
        raise ArchiveError(f"月份应写作 YYYY-MM（例如 2025-03），现为 {text!r}") from None
    if month.year < 2000:
        raise ArchiveError(f"月份 {text!r} 太早")
    return month


def export_events(*, month: str, policy: Policy | None = None, dry_run: bool = False,
                  cases=None) -> EventExport:
    """Copy the events of the cases archived in `month` (YYYY-MM, local time) — or of these
    cases (a Case queryset, e.g. those whose retention ended), filed under `month` — into
    `events/<month>.jsonl.gz` (Django's fixture format, every field as stored), with
    `events/<month>.heads.csv`: each case's number, its events, its chain's head and
    whether the chain holds. Nothing is deleted. Written under temporary names and
    renamed when complete, so a file present is whole."""
    import csv

    policy = policy or Policy.from_settings()
    first = parse_month(month)
    label = f"{first:%Y-%m}"
    if cases is None:
        start = timezone.make_aware(datetime.combine(first, clock_time()))
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = timezone.make_aware(datetime.combine(following, clock_time()))
        cases = Case.objects.filter(state=State.ARCHIVED, archived_at__gte=start,
                                    archived_at__lt=end)
    cases = cases.order_by("pk")
    tally = EventExport(month=label, dry_run=dry_run)

    def batches() -> Iterator[list[tuple]]:
        last = 0
        while batch := list(cases.filter(pk__gt=last).values_list("pk", "number",
                                                                  "archived_at")
                            [:policy.batch_size]):
            last = batch[-1][0]
            yield batch

    if dry_run:
        for batch in batches():
            tally.cases += len(batch)
            tally.events += CaseEvent.objects.filter(
                case_id__in=[pk for pk, _n, _a in batch]).count()
        return tally

    folder = ready_folder(policy.folder) / "events"
    heads: list[list] = []

    def events_of_each_batch():
        for batch in batches():
            ids = [pk for pk, _number, _archived in batch]
            verified = chain.verify(cases=Case.objects.filter(pk__in=ids))
            broken = {found.case_id: found for found in verified.breaks}
            tally.breaks.extend(verified.breaks)
            events = list(CaseEvent.objects.filter(case_id__in=ids).order_by("case_id", "pk"))
            by_case = defaultdict(list)
            for event in events:
                by_case[event.case_id].append(event)
            for pk, number, archived_at in batch:
                head = chain.head_of(by_case[pk])
                heads.append([pk, number, archived_at and archived_at.isoformat(),
                              head.count if head else 0, head.hash if head else "",
                              broken[pk].reason if pk in broken else "intact"])
            tally.cases += len(batch)
            tally.events += len(events)
            yield events

    events_path = folder / f"{label}.jsonl.gz"
    _put(events_path, lambda raw: _gzip_jsonl(raw, events_of_each_batch()))
    tally.files.append(events_path)

    def write_heads(raw) -> None:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["case_id", "number", "archived_at", "events", "head", "chain"])
        writer.writerows(heads)
        text.flush()
        text.detach()

    heads_path = folder / f"{label}.heads.csv"
    _put(heads_path, write_heads)
    tally.files.append(heads_path)
    return tally
