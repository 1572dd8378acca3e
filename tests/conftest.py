import pytest
from django.db import connection

from .factories import build_world


def _own_cache_database(caches: dict) -> dict:
    """Under pytest-xdist each worker gets its own Redis database for the cache: tests
    clear the cache (rate-limit counters), which must not empty another worker's."""
    import os
    import re

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    location = str(caches["default"].get("LOCATION", ""))
    if not worker.startswith("gw") or not location.startswith("redis"):
        return caches
    database = 2 + int(worker[2:])
    own = re.sub(r"/\d*$", "", location.rstrip("/")) + f"/{database}"
    return {**caches, "default": {**caches["default"], "LOCATION": own}}


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.CACHES = _own_cache_database(settings.CACHES)
    # A deliberately slow password hash is for attackers, not for the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage needs collectstatic; tests serve static files from the source.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _eager_tasks_and_clean_cache(_test_settings):
    """Tasks run in the test's own thread (a real worker is tested in test_tasks), and
    rate-limit counters start from zero in every test (in the worker's own cache
    database: after _test_settings has switched to it)."""
    from django.core.cache import cache

    from config.celery import app

    app.conf.task_always_eager = True
    cache.clear()
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def travel():
    """Move the clock: `travel.to(datetime)`, then `travel.shift(hours=3)`."""
    import time_machine

    class Clock:
        traveller = None

        def to(self, moment):
            self.stop()
            self.traveller = time_machine.travel(moment, tick=False)
            self.traveller.start()

        def shift(self, **delta):
            from datetime import timedelta

            from django.utils import timezone

            self.to(timezone.now() + timedelta(**delta))

        def stop(self):
            if self.traveller is not None:
                self.traveller.stop()
                self.traveller = None

    clock = Clock()
    yield clock
    clock.stop()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (run scripts/test)")


@pytest.fixture
def committed_db(django_db_serialized_rollback, transactional_db):
    """Real commits, seen by other threads, workers and the browser.

    The tables are emptied afterwards; serialized rollback then restores the rows the
    migrations seeded (roles, tiers, the holiday calendar) for the tests that follow.
    """
