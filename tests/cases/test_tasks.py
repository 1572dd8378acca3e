"""Celery: a real worker on the configured broker runs the project's tasks."""

import importlib
import time

import pytest
from django.conf import settings

from cases.models import CalendarDay


@pytest.fixture
def celery_worker(committed_db):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker (run scripts/test)")
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    from celery.signals import task_postrun
    from django.db import connection

    def close_worker_connection(**kwargs):  # runs in the worker's thread
        connection.close()

    app.conf.task_always_eager = False  # this test wants the real broker
    task_postrun.connect(close_worker_connection, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False,
                          loglevel="WARNING") as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_worker_connection)


def test_a_worker_on_redis_runs_the_calendar_sync(celery_worker):
    from cases.tasks import sync_holiday_calendar

    CalendarDay.objects.filter(date__year=2024).delete()
    sync_holiday_calendar.delay()
    deadline = time.monotonic() + 30
    while not CalendarDay.objects.filter(date__year=2024).exists():
        assert time.monotonic() < deadline, "the worker did not run the task"
        time.sleep(0.2)


def test_the_beat_schedule_names_tasks_that_exist():
    from config.celery import app

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        importlib.import_module(entry["task"].rsplit(".", 1)[0])
        assert entry["task"] in app.tasks


def test_each_kind_of_work_has_its_own_queue():
    """A hung mail server must not starve the sweep: mail, sweep, figures and exports are
    routed to queues of their own, and every scheduled task is routed to a known queue."""
    from config.celery import app

    queue_of = {name: app.amqp.router.route({}, name)["queue"].name
                for name in [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]}
    assert queue_of["oversight.tasks.sweep_deadlines"] == "sweep"
    assert queue_of["cases.tasks.send_deliveries"] == "mail"
    assert queue_of["oversight.tasks.send_daily_digests"] == "mail"
    assert queue_of["oversight.tasks.refresh_figures"] == "figures"
    assert queue_of["oversight.tasks.make_monthly_report"] == "exports"
    assert set(queue_of.values()) <= set(settings.TASK_QUEUES)
    assert queue_of["intake.tasks.send_callbacks"] == "callbacks"
    assert len(set(queue_of.values())) == 6
    assert "--queues=default,sweep,mail,callbacks,figures,exports" in (
        settings.BASE_DIR / "scripts" / "run").read_text()
