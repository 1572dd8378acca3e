"""A read replica for the pages that only read (DATABASE_REPLICA_URL): the office's
tables read there inside those pages, everything else on the primary."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from cases import replica
from cases.models import Case

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(replica, "configured", lambda: True)
    return replica.ReplicaRouter()


def test_pages_that_only_read_send_the_office_s_reads_to_the_replica(committed_db,
                                                                     with_replica):
    router = with_replica
    assert router.db_for_read(Case) is None  # outside such a page
    with replica.reading_from_replica():
        assert router.db_for_read(Case) == "replica"
        assert router.db_for_read(get_user_model()) is None  # logins stay on the primary
        with transaction.atomic():
            assert router.db_for_read(Case) is None  # an act reads what it writes
    assert router.db_for_write(Case) == "default"
    assert router.allow_migrate("default", "cases") and not router.allow_migrate("replica",
                                                                                 "cases")


def test_without_a_replica_everything_is_read_on_the_primary(committed_db):
    with replica.reading_from_replica():
        assert replica.ReplicaRouter().db_for_read(Case) is None


@pytest.mark.parametrize("view", ["oversight.views.dashboard_page",
                                  "oversight.views.drilldown_page",
                                  "oversight.views.report_pdf",
                                  "oversight.views.hot_topics_page",
                                  "oversight.views.access_log",
                                  "oversight.accountability_views.complaints_page"])
def test_the_reading_pages_are_marked(view):
    import importlib

    module, name = view.rsplit(".", 1)
    assert getattr(getattr(importlib.import_module(module), name), "reads_from_replica", False)


def test_the_replica_url_adds_the_alias_and_the_router(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(VAR_DIR=str(tmp_path), DATABASE_URL="postgres://u:p@primary.internal/db",
               DATABASE_REPLICA_URL="postgres://u:p@replica.internal/db")
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            "django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['replica']['HOST'], s.DATABASE_ROUTERS, "
            "s.DATABASES['replica']['OPTIONS'].get('options', '')[:16])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert "replica.internal ['cases.replica.ReplicaRouter'] -c lock_timeout" in result.stdout, (
        result.stdout + result.stderr)
