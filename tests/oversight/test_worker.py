"""A real Celery worker with its embedded beat, on Redis, escalates a case that falls due."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseSchedule, State
from oversight.models import Escalation, SupervisionOrder
from tests.factories import build_world, drive_to

ROOT = Path(__file__).resolve().parents[2]


def test_worker_and_beat_escalate_a_case_that_falls_due(committed_db, postgres_only, tmp_path):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker (run scripts/test)")
    world = build_world()
    case = drive_to(world, State.IN_HANDLING)
    now = timezone.now()
    # The case fell due a minute ago; its schedule says so.
    Case.objects.filter(pk=case.pk).update(accepted_at=now - timedelta(days=3),
                                           due_at=now - timedelta(minutes=1))
    CaseSchedule.objects.update_or_create(
        case_id=case.pk, defaults={"next_action_at": now - timedelta(days=1)})
    db = connection.settings_dict
    broker = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/3"  # a database of its own
    env = {**os.environ,
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
                           f"{db['PORT']}/{db['NAME']}",
           "CELERY_BROKER_URL": broker, "SWEEP_EVERY_SECONDS": "2",
           "VAR_DIR": str(tmp_path / "var")}
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool", "solo",
         "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule"),
         "--queues", ",".join(settings.TASK_QUEUES)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not SupervisionOrder.objects.filter(case=case, level=1).exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        assert sorted(Escalation.objects.filter(case=case).values_list("step", flat=True)) == [
            "overdue", "warning"]
        time.sleep(3)  # another beat or two: nothing doubles
        assert Escalation.objects.filter(case=case).count() == 2
        assert "oversight.tasks.sweep_deadlines" in (tmp_path / "worker.log").read_text()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
