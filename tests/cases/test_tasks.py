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
