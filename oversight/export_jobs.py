"""Exports made by a task: asked for (`start_export`), made (`make_export`, the export
task), kept for a while, then removed (`keep_exports`, the periodic task).

A job is made for the person who asked, with what that person may see
(`export_tables.table_for` with their user, their query string and the time they
asked), so a file made later holds what the page would have given them then. The task is
acknowledged late: a delivery may come twice, or again after a worker died. Each
delivery claims the job under its row lock for one attempt; a job already finished, or
held by a live attempt, is left alone; only the attempt that still holds the job may
finish it, and the finish (the file, the state, the notification) happens once.
"""

from __future__ import annotations

import io
import logging
import tempfile
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.notifications import Message, notify_many

from .export_tables import KINDS, may_export, table_for
from .exports import FORMATS, Table, file_name, write_csv, write_xlsx
from .models import ExportJob, ExportState

logger = logging.getLogger(__name__)

# Not part of the query: how the page was asked for the file, and its paging.
NOT_PARAMS = ("export", "page", "after")
# The progress written to the job every this many rows.
PROGRESS_EVERY = 500
UNFINISHED = (ExportState.QUEUED, ExportState.RUNNING)


def params_of(query: QueryDict) -> dict[str, list[str]]:
    """A query string as the job keeps it ({name: [values]}, names sorted). A NUL has no
    place in a query and none in PostgreSQL's JSON: dropped."""
    return {_clean(name): [_clean(value) for value in query.getlist(name)]
            for name in sorted(query) if name not in NOT_PARAMS}


def _clean(text: str) -> str:
    return text.replace("\x00", "")[:500]


def query_of(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, values in (params or {}).items():
        query.setlist(str(name), [str(value) for value in values] if isinstance(
            values, list) else [str(values)])
    return query


def lease() -> timedelta:
    """How long an attempt holds its job: past the task's hard time limit it is dead
    (killed), and another delivery may take the job over."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# ---------------------------------------------------------------- asking
@transaction.atomic
def start_export(*, actor, kind: str, file_format: str, params: dict,
                 table: Table | None = None) -> ExportJob:
    """A job for this export, sent to the export task once the job is committed. The
    same export asked again while it is still being made is the same job (a second
    click, a reload)."""
    if file_format not in FORMATS or kind not in KINDS:
        raise ValidationError(_("没有这种导出。"))
    if not may_export(actor, kind):
        raise PermissionDenied
    waiting = (ExportJob.objects.select_for_update()
               .filter(requested_by=actor, kind=kind, file_format=file_format,
                       params=params, state__in=UNFINISHED).order_by("-pk").first())
    if waiting is not None:
        return waiting
    now = timezone.now()
    if table is None:
        table = table_for(kind, actor, query_of(params), now=now)
    job = ExportJob.objects.create(
        requested_by=actor, kind=kind, file_format=file_format, params=params,
        title=f"{KINDS[kind].label}：{table.title}"[:200], rows_total=table.total,
        filename=file_name(table, file_format)[:200], created_at=now)
    transaction.on_commit(lambda: _send(job.pk), robust=True)
    return job


def _send(job_id: int) -> None:
    from .tasks import make_export

    make_export.delay(job_id)


# ---------------------------------------------------------------- making
def make_export(*, job_id: int, now: datetime | None = None) -> str:
    """One delivery of the export task: claim, write the file outside any transaction,
    finish. Returns what happened (for the worker's log)."""
    now = now or timezone.now()
    job = _claim(job_id, now)
    if job is None:
        return "skipped"
    if job.state == ExportState.FAILED:
        return "failed"
    attempt = job.attempts
    try:
        table = table_for(job.kind, job.requested_by, query_of(job.params),
                          now=job.created_at)
        name, written = _write(job, table, attempt)
    except PermissionDenied:
        _fail(job.pk, attempt, _("您已没有导出这些内容的权限。"))
        return "failed"
    except Exception as error:  # noqa: BLE001 - whatever went wrong is told to the person
        logger.exception("export job %s failed", job.pk)
        _fail(job.pk, attempt, _("生成文件时出错（%(error)s），请稍后重新导出。") % {
            "error": type(error).__name__})
        return "failed"
    if not _finish(job.pk, attempt, name=name, rows=written, audit=table.audit):
        default_storage.delete(name)  # another attempt took the job over: not ours
        return "superseded"
    return "done"


@transaction.atomic
def _claim(job_id: int, now: datetime) -> ExportJob | None:
    job = (ExportJob.objects.select_for_update(of=("self",)).select_related("requested_by")
           .filter(pk=job_id).first())
    if job is None or job.is_finished:
        return None
    if job.state == ExportState.RUNNING and job.lease_until and job.lease_until > now:
        return None  # a live attempt is making it
    if job.attempts >= settings.EXPORT_MAX_ATTEMPTS:
        _mark_failed(job, _("多次尝试仍未完成，请缩小范围后重新导出。"), now)
        return job
    job.state = ExportState.RUNNING
    job.attempts += 1
    job.started_at = now
    job.lease_until = now + lease()
    job.rows_done = 0
    job.save(update_fields=["state", "attempts", "started_at", "lease_until", "rows_done"])
    return job


def _write(job: ExportJob, table: Table, attempt: int) -> tuple[str, int]:
    """The file, written to a scratch file and then stored under a name nobody can guess
    (MEDIA_ROOT/exports/…, served only through the download view)."""
    def progress(rows: int) -> None:
        if rows % PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job.pk, attempts=attempt,
                                     state=ExportState.RUNNING).update(rows_done=rows)

    with tempfile.TemporaryFile() as scratch:
        if job.file_format == "csv":
            text = io.TextIOWrapper(scratch, encoding="utf-8", newline="")
            written = write_csv(table, text, progress=progress)
            text.flush()
            text.detach()
        else:
            written = write_xlsx(table, scratch, progress=progress)
        scratch.seek(0)
        stamp = timezone.localdate(job.created_at)
        name = default_storage.save(
            f"exports/{stamp:%Y/%m}/{job.pk}-{uuid.uuid4().hex}.{job.file_format}",
            File(scratch))
    return name, written


@transaction.atomic
def _finish(job_id: int, attempt: int, *, name: str, rows: int, audit: str) -> bool:
    job = ExportJob.objects.select_for_update().get(pk=job_id)
    if job.state != ExportState.RUNNING or job.attempts != attempt:
        return False
    now = timezone.now()
    job.state = ExportState.DONE
    job.file.name = name
    job.rows_done = job.rows_total = rows
    job.audit_detail = audit[:200]
    job.finished_at = now
    job.lease_until = None
    job.save(update_fields=["state", "file", "rows_done", "rows_total", "audit_detail",
                            "finished_at", "lease_until"])
    url = reverse("oversight:export_job", args=[job.pk])
    notify_many([Message([job.requested_by_id], "export_ready",
                         _("导出已完成：%(title)s") % {"title": job.title},
                         _("共 %(rows)s 行，请到“我的导出”下载：%(url)s") % {
                             "rows": rows, "url": url})], email=False)
    return True


@transaction.atomic
def _fail(job_id: int, attempt: int, message: str) -> None:
    job = ExportJob.objects.select_for_update().get(pk=job_id)
    if job.state == ExportState.RUNNING and job.attempts == attempt:
        _mark_failed(job, message, timezone.now())


def _mark_failed(job: ExportJob, message: str, now: datetime) -> None:
    """Call with the job locked."""
    job.state = ExportState.FAILED
    job.error = message
    job.finished_at = now
    job.lease_until = None
    job.save(update_fields=["state", "error", "finished_at", "lease_until"])
    notify_many([Message([job.requested_by_id], "export_failed",
                         _("导出失败：%(title)s") % {"title": job.title}, message)],
                email=False)


# ---------------------------------------------------------------- keeping
def keep_exports(*, now: datetime | None = None) -> dict:
    """The periodic tidy-up: a job whose task was lost (never delivered, or its worker
    died and the broker has not handed it out again) is sent again; finished jobs older
    than EXPORT_KEEP_DAYS are deleted with their files."""
    now = now or timezone.now()
    lost = list(ExportJob.objects.filter(
        state=ExportState.QUEUED, created_at__lt=now - timedelta(minutes=5)
    ).values_list("pk", flat=True)) + list(ExportJob.objects.filter(
        state=ExportState.RUNNING, lease_until__lt=now).values_list("pk", flat=True))
    for job_id in lost:
        _send(job_id)
    old = list(ExportJob.objects.filter(
        state__in=(ExportState.DONE, ExportState.FAILED),
        finished_at__lt=now - timedelta(days=settings.EXPORT_KEEP_DAYS)
    ).values_list("pk", "file"))
    ExportJob.objects.filter(pk__in=[job_id for job_id, _name in old]).delete()
    for _job_id, name in old:
        if name:
            default_storage.delete(name)
    return {"sent_again": len(lost), "removed": len(old)}


# ---------------------------------------------------------------- telling
def status_of(job: ExportJob) -> dict:
    """The progress page's JSON."""
    return {
        "id": job.pk, "state": job.state, "state_label": str(job.get_state_display()),
        "rows_done": job.rows_done, "rows_total": job.rows_total, "percent": job.percent,
        "finished": job.is_finished, "error": job.error,
        "download_url": (reverse("oversight:export_download", args=[job.pk])
                         if job.state == ExportState.DONE else None),
    }
