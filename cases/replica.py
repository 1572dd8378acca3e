"""Reads that may lag a little go to the read replica (DATABASE_REPLICA_URL), when one is
configured: the pages that only read the office's figures and records.

`@reads_from_replica` marks a view; within it the router sends reads of the office's own
tables (the apps below) to the replica. Everything else stays on the primary: writes,
reads inside a transaction (an act reads what it writes), and the tables of logins,
sessions and permissions (a person just logged in must not look logged out because the
replica is a second behind).
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

REPLICA = "replica"
OFFICE_APPS = {"cases", "intake", "dispatch", "feedback", "oversight"}
_state = threading.local()


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def reading_from_replica():
    previous = getattr(_state, "on", False)
    _state.on = True
    try:
        yield
    finally:
        _state.on = previous


def reads_from_replica(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with reading_from_replica():
            return view(*args, **kwargs)

    wrapped.reads_from_replica = True  # copied outwards by the decorators above it
    return wrapped


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (getattr(_state, "on", False) and configured()
                and model._meta.app_label in OFFICE_APPS
                and not connections["default"].in_atomic_block):
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, first, second, **hints):
        return True  # the same database, one of them a copy

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
