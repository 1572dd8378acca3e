"""Small reference tables read by every registration, held per process.

Categories, departments, tiers, channel policies, the safety phrases and the
responsibility list change a few times a year and are read on every registration and
suggestion. `held(name, load)` keeps what `load()` returns in this process until the
reference generation changes or REFERENCE_SECONDS pass. The generation lives in the
shared cache: saving or deleting a row of a reference model bumps it (at once and again
when the transaction commits), so every process reads the change on its next call.

What is held is shared between callers: read it, never change it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

GENERATION_KEY = "reference:generation"
T = TypeVar("T")

_held: dict[str, tuple[str, float, object]] = {}
_state = threading.local()  # changed_in_transaction: a change not yet committed


def generation() -> str:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        value = cache.get(GENERATION_KEY) or ""
    return value


def held(name: str, load: Callable[[], T]) -> T:
    """What load() returns, from this process's copy while the generation holds."""
    if getattr(_state, "changed_in_transaction", False):
        if connection.in_atomic_block:
            # This transaction changed reference rows: read them afresh and hold nothing
            # it might roll back.
            return load()
        _state.changed_in_transaction = False
    current = generation()
    now = time.monotonic()
    entry = _held.get(name)
    if entry is not None and entry[0] == current and entry[1] > now:
        return entry[2]  # type: ignore[return-value]
    value = load()
    _held[name] = (current, now + settings.REFERENCE_SECONDS, value)
    return value


def _bump() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def changed(**_kwargs) -> None:
    """A reference row was saved or deleted (a signal receiver)."""
    _held.clear()
    _bump()
    if connection.in_atomic_block:
        _state.changed_in_transaction = True

        def committed() -> None:
            _state.changed_in_transaction = False
            _bump()

        transaction.on_commit(committed)


def forget() -> None:
    """Drop this process's copies (tests, after restoring a database)."""
    _held.clear()
    _state.changed_in_transaction = False


def connect(*models) -> None:
    from django.db.models.signals import post_delete, post_save

    for model in models:
        uid = f"reference-{model._meta.label_lower}"
        post_save.connect(changed, sender=model, dispatch_uid=uid + "-save", weak=False)
        post_delete.connect(changed, sender=model, dispatch_uid=uid + "-delete", weak=False)


# ---------------------------------------------------------------- the tables
def tier(code: str):
    """The TierPolicy of a code, or None."""
    from .models import TierPolicy

    return held("tiers", lambda: {t.code: t for t in TierPolicy.objects.all()}).get(code)


def tier_by_id(pk: int | None):
    """The TierPolicy of an id, or None (read from the same held table as `tier`)."""
    from .models import TierPolicy

    if pk is None:
        return None
    return held("tiers-by-id", lambda: TierPolicy.objects.in_bulk()).get(pk)


def channel_policy(channel: str):
    """The ChannelPolicy of a channel, or None."""
    from .models import ChannelPolicy

    return held("channel-policies",
                lambda: {p.channel: p for p in ChannelPolicy.objects.all()}).get(channel)


def categories() -> dict:
    """Every category by id, with its parent, default tier and default department."""
    from .models import Category

    return held("categories", lambda: Category.objects.select_related(
        "parent", "default_tier", "default_department").in_bulk())


def departments() -> dict:
    """Every department by id."""
    from .models import Department

    return held("departments", lambda: Department.objects.in_bulk())
