"""Exports too big for the request: an export job, made by the task for the person who
asked, with what they may see, fetched by them alone; a delivery that comes twice makes
one file and one notification."""

import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.identity import mask_phone
from cases.models import AccessKind, Notification, PersonalDataAccess
from oversight import export_jobs
from oversight.models import ExportJob, ExportState
from oversight.tasks import make_export
from tests.factories import UserFactory, register

CASES_URL = "/oversight/cases/?measure=received&export=xlsx"


@pytest.fixture
def small_threshold(settings, tmp_path):
    settings.EXPORT_INLINE_ROWS = 2
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def three_cases(world):
    return [register(world) for _ in range(3)]


def _start(client, url, django_capture_on_commit_callbacks):
    """Ask for the export as a person does: the page offers a job, its button starts one
    (the task runs when the job is committed: eager here)."""
    offer = client.get(url)
    assert offer.status_code == 200
    assert "oversight/export_offer.html" in [t.name for t in offer.templates]
    form = offer.context
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("oversight:export_start"), {
            "kind": form["kind"], "file_format": form["file_format"], "query": form["query"]})
    assert started.status_code == 302
    return ExportJob.objects.get(pk=int(started["Location"].rstrip("/").split("/")[-1]))


def _book(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return load_workbook(io.BytesIO(body)).active


def _files(root):
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_a_small_export_is_answered_in_the_request(client, world, three_cases, settings):
    settings.EXPORT_INLINE_ROWS = 3
    client.force_login(world.supervisor)
    response = client.get(CASES_URL)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert not ExportJob.objects.exists()


def test_a_big_export_is_made_by_a_job_and_the_person_is_told(
        client, world, three_cases, small_threshold, django_capture_on_commit_callbacks):
    client.force_login(world.supervisor)
    job = _start(client, CASES_URL, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.rows_total, job.rows_done, job.requested_by) == (
        ExportState.DONE, 3, 3, world.supervisor)
    assert job.kind == "cases" and job.params == {"measure": ["received"]}
    assert job.finished_at and job.file.name.startswith("exports/")
    sheet = _book(client.get(reverse("oversight:export_download", args=[job.pk])))
    numbers = {row[0] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert numbers == {case.number for case in three_cases}
    assert sheet.cell(row=4, column=2).is_date and sheet.auto_filter.ref == "A3:K6"
    told = Notification.objects.filter(recipient=world.supervisor, kind="export_ready")
    assert told.count() == 1
    assert reverse("oversight:export_job", args=[job.pk]) in told.get().body
    page = client.get(reverse("oversight:export_job", args=[job.pk])).content.decode()
    assert reverse("oversight:export_download", args=[job.pk]) in page
    mine = client.get(reverse("oversight:my_exports")).content.decode()
    assert job.title in mine


def test_asking_twice_while_it_is_made_is_the_same_job(client, world, three_cases,
                                                       small_threshold):
    client.force_login(world.supervisor)
    offer = client.get(CASES_URL).context
    data = {"kind": "cases", "file_format": "xlsx", "query": offer["query"]}
    first = client.post(reverse("oversight:export_start"), data)  # not committed: no task
    second = client.post(reverse("oversight:export_start"), data)
    assert first["Location"] == second["Location"]
    assert ExportJob.objects.get().state == ExportState.QUEUED


def test_the_progress_json_tells_the_state_the_rows_and_the_download(
        client, world, three_cases, small_threshold):
    client.force_login(world.supervisor)
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="csv",
                                   params={"measure": ["received"]})
    url = reverse("oversight:export_status", args=[job.pk])
    queued = client.get(url)
    assert queued["Content-Type"] == "application/json" and "no-cache" in queued[
        "Cache-Control"]
    assert json.loads(queued.content) | {"id": 0} == {
        "id": 0, "state": "queued", "state_label": "排队中", "rows_done": 0, "rows_total": 3,
        "percent": 0, "finished": False, "error": "", "download_url": None}
    ExportJob.objects.filter(pk=job.pk).update(state=ExportState.RUNNING, rows_done=1)
    assert json.loads(client.get(url).content)["percent"] == 33
    assert make_export(job.pk) == "done"
    done = json.loads(client.get(url).content)
    assert (done["state"], done["percent"], done["finished"]) == ("done", 100, True)
    assert done["download_url"] == reverse("oversight:export_download", args=[job.pk])
    text = b"".join(client.get(done["download_url"]).streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("编号,登记时间")


def test_only_the_person_who_asked_and_administrators_may_fetch_it(
        client, world, three_cases, small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    make_export(job.pk)
    urls = [reverse(name, args=[job.pk]) for name in (
        "oversight:export_job", "oversight:export_status", "oversight:export_download")]
    another = UserFactory(username="supervisor2", roles=["supervisor"])
    for person in (another, world.dispatcher, world.head):
        client.force_login(person)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404], person
        assert job.title not in client.get(reverse("oversight:my_exports")).content.decode()
    client.force_login(world.admin)
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    client.force_login(world.supervisor)
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    client.logout()
    assert all(client.get(url).status_code == 302 for url in urls)  # to the login page


def test_a_maker_who_lost_the_role_no_longer_fetches_it(client, world, three_cases,
                                                        small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    make_export(job.pk)
    world.supervisor.groups.clear()
    client.force_login(world.supervisor)
    assert client.get(reverse("oversight:export_download", args=[job.pk])).status_code == 403


def test_a_delivery_that_comes_again_makes_no_second_file_nor_notification(
        world, three_cases, small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    assert make_export(job.pk) == "done"
    made = _files(small_threshold)
    assert make_export(job.pk) == "skipped"
    assert make_export.apply(args=[job.pk]).get() == "skipped"
    assert _files(small_threshold) == made and len(made) == 1
    assert Notification.objects.filter(kind="export_ready").count() == 1
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_delivery_while_a_live_attempt_holds_the_job_leaves_it(world, three_cases,
                                                                 small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.RUNNING, attempts=1, lease_until=timezone.now() + timedelta(minutes=5))
    assert make_export(job.pk) == "skipped"
    assert _files(small_threshold) == [] and not Notification.objects.exists()


def test_a_job_whose_worker_died_is_taken_over_and_the_dead_attempt_cannot_finish_it(
        world, three_cases, small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    # The first attempt claimed it, then its worker was killed: the lease ran out.
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.RUNNING, attempts=1, lease_until=timezone.now() - timedelta(seconds=1))
    assert make_export(job.pk) == "done"
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.attempts == 2
    # Had the first attempt lived on, its finish would be refused (and its file removed).
    assert not export_jobs._finish(job.pk, 1, name="exports/x.xlsx", rows=3, audit="")
    assert Notification.objects.filter(kind="export_ready").count() == 1
    assert len(_files(small_threshold)) == 1


def test_the_periodic_run_sends_a_lost_job_again_and_removes_old_files(
        world, three_cases, small_threshold, settings):
    lost = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                    params={"measure": ["received"]})
    ExportJob.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=1))
    # The task was never delivered (the broker was down when the job was committed).
    assert export_jobs.keep_exports()["sent_again"] == 1
    lost.refresh_from_db()
    assert lost.state == ExportState.DONE and len(_files(small_threshold)) == 1
    settings.EXPORT_KEEP_DAYS = 7
    later = timezone.now() + timedelta(days=8)
    assert export_jobs.keep_exports(now=later)["removed"] == 1
    assert not ExportJob.objects.exists() and _files(small_threshold) == []


def test_a_failure_marks_the_job_failed_with_a_message_and_tells_the_person(
        client, world, three_cases, small_threshold, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_jobs, "write_xlsx", broken)
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    assert make_export(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and "OSError" in job.error and job.finished_at
    assert Notification.objects.filter(kind="export_failed").count() == 1
    assert make_export(job.pk) == "skipped"  # a failed job stays failed
    client.force_login(world.supervisor)
    status = json.loads(client.get(reverse("oversight:export_status", args=[job.pk])).content)
    assert status["state"] == "failed" and status["error"] == job.error
    assert client.get(reverse("oversight:export_download", args=[job.pk])).status_code == 404


def test_the_jobs_file_holds_what_the_inline_export_holds_for_that_person(
        client, world, small_threshold, settings):
    """A head sees their department's cases; the job made for the head is the head's, row
    for row the file the request would have answered."""
    from cases.models import State
    from tests.factories import drive_to

    for _ in range(3):
        drive_to(world, State.IN_HANDLING)  # led by department A
    register(world)  # still received: no department
    for person in (world.head, world.head_b, world.supervisor):
        client.force_login(person)
        settings.EXPORT_INLINE_ROWS = 1000
        inline = [row for row in _book(client.get(CASES_URL)).iter_rows(values_only=True)]
        job = export_jobs.start_export(actor=person, kind="cases", file_format="xlsx",
                                       params={"measure": ["received"]})
        make_export(job.pk)
        made = [row for row in _book(client.get(
            reverse("oversight:export_download", args=[job.pk]))).iter_rows(values_only=True)]
        assert made == inline, person
    heads = {person: ExportJob.objects.get(requested_by=person).rows_total
             for person in (world.head, world.head_b, world.supervisor)}
    assert heads == {world.head: 3, world.head_b: 0, world.supervisor: 4}


def test_the_jobs_file_masks_the_petitioner_as_the_inline_export_does_and_is_recorded(
        client, world, small_threshold, settings):
    """The repeat petitioners: the office's list shows the phone masked, in the request
    and in the job's file alike, and each download of the names is recorded."""
    settings.HOT_REPEAT_MIN_CASES = 3
    for _ in range(3):
        register(world)
    phone = world.petitioner.phone
    client.force_login(world.supervisor)
    inline = client.get("/oversight/hot/?export=xlsx&table=repeaters")
    inline_text = [row for row in _book(inline).iter_rows(values_only=True)]
    job = export_jobs.start_export(actor=world.supervisor, kind="hot", file_format="xlsx",
                                   params={"table": ["repeaters"]})
    assert make_export(job.pk) == "done"
    before = PersonalDataAccess.objects.filter(kind=AccessKind.EXPORT).count()
    response = client.get(reverse("oversight:export_download", args=[job.pk]))
    rows = [row for row in _book(response).iter_rows(values_only=True)]
    assert rows == inline_text
    cells = [str(cell) for row in rows for cell in row if cell is not None]
    assert mask_phone(phone) in cells and not any(phone in cell for cell in cells)
    assert PersonalDataAccess.objects.filter(kind=AccessKind.EXPORT).count() == before + 1
    assert PersonalDataAccess.objects.filter(kind=AccessKind.EXPORT).latest("pk").username == (
        "supervisor")


def test_a_department_cannot_make_a_job_of_an_export_it_may_not_see(client, world,
                                                                    small_threshold):
    from django.core.exceptions import PermissionDenied

    client.force_login(world.handler)
    response = client.post(reverse("oversight:export_start"), {
        "kind": "access_log", "file_format": "xlsx", "query": ""})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        export_jobs.start_export(actor=world.handler, kind="hot", file_format="xlsx",
                                 params={})
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("data", [{}, {"kind": "nothing", "file_format": "xlsx"},
                                  {"kind": "cases", "file_format": "pdf"},
                                  {"kind": "cases", "file_format": "xlsx",
                                   "query": "start=2026-99-99&measure=%00&petitioner=x"}])
def test_bad_input_to_the_export_doors_is_not_a_server_error(client, world, data,
                                                            small_threshold):
    client.force_login(world.supervisor)
    assert client.post(reverse("oversight:export_start"), data).status_code in (302, 404)
    assert client.get("/oversight/exports/999999/status/").status_code == 404
    assert client.get("/oversight/exports/999999/download/").status_code == 404
    assert client.get(reverse("oversight:export_start")).status_code == 405


def test_the_export_task_goes_to_the_exports_queue(settings):
    assert settings.CELERY_TASK_ROUTES["oversight.tasks.make_export"] == {"queue": "exports"}
    assert settings.CELERY_BEAT_SCHEDULE["keep-exports"]["task"] == (
        "oversight.tasks.keep_exports")


def test_the_admin_lists_the_jobs_and_fetches_a_file_through_the_download_view(
        client, world, three_cases, small_threshold):
    job = export_jobs.start_export(actor=world.supervisor, kind="cases", file_format="xlsx",
                                   params={"measure": ["received"]})
    make_export(job.pk)
    client.force_login(world.admin)
    listing = client.get(reverse("admin:oversight_exportjob_changelist"))
    assert listing.status_code == 200 and job.title in listing.content.decode()
    page = client.get(reverse("admin:oversight_exportjob_change", args=[job.pk]))
    assert reverse("oversight:export_download", args=[job.pk]) in page.content.decode()
    assert "/media/" not in page.content.decode()
    deleted = client.post(reverse("admin:oversight_exportjob_delete", args=[job.pk]),
                          {"post": "yes"})
    assert deleted.status_code == 302
    assert not ExportJob.objects.exists() and _files(small_threshold) == []


def test_a_real_worker_on_the_exports_queue_makes_the_job_once(committed_db, postgres_only,
                                                               tmp_path, settings):
    """The job committed, its task published to Redis, a worker taking the exports queue
    makes the file; the task sent again (as keep_exports would) changes nothing."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    from config.celery import app
    from tests.factories import build_world

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker (run scripts/test)")
    root = Path(__file__).resolve().parents[2]
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    world = build_world()
    for _ in range(3):
        register(world)
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
                           f"{db['PORT']}/{db['NAME']}",
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "MEDIA_ROOT": str(media),
           "VAR_DIR": str(tmp_path / "var")}
    app.conf.task_always_eager = False
    try:
        job = export_jobs.start_export(actor=world.supervisor, kind="cases",
                                       file_format="xlsx", params={"measure": ["received"]})
        make_export.delay(job.pk)  # a second delivery of the same job
        log = open(tmp_path / "worker.log", "w+")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--queues", "exports"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while ExportJob.objects.get(pk=job.pk).state != ExportState.DONE:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.5)
            time.sleep(3)  # the second delivery, handled
            assert "skipped" in (tmp_path / "worker.log").read_text()
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    finally:
        app.conf.task_always_eager = True
    job.refresh_from_db()
    assert (job.rows_done, job.attempts) == (3, 1)
    assert len(_files(media)) == 1
    assert Notification.objects.filter(kind="export_ready").count() == 1
