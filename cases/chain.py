"""The chain of a case's events (issue 15): the acts that decide a department's figures
are written once and never changed, and the record shows if one was.

Every event of a case, in the order of its key, stores the hash of the event before it
(`previous_hash`; the case's first event stores `GENESIS`) and its own `hash`: SHA-256 over
the previous hash and everything the event says (`digest`). An event edited afterwards no
longer matches its hash; an event deleted, inserted or edited and re-hashed breaks the
next event's link; a last event deleted that moved the case or that the case counts
(COUNTED_ACTS, its escalation step) leaves the case row saying more than its events.
`verify` walks the chains and names the first broken link of each case
(`manage.py verify_event_chain`); the dossier prints the head (`head_of`). What no stored
chain can show is a rewrite of every hash from the change on by someone who can write
the database: that is caught against a head kept outside it (a printed dossier).

Events are sealed just before they are inserted, with the case row locked (every act
holds it), so two events of one case never take the same previous hash: `seal` for one
event (CaseEvent.record), `seal_batch` for the sweep's bulk insert. A sanctioned rewrite
(retention's anonymisation of notes) reseals the chains it found intact (`reseal`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Callable, Iterable

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

GENESIS = "0" * 64  # the previous hash of a case's first event

# What the hash covers, besides the previous hash: an event's whole meaning.
SEALED_FIELDS = ("case_id", "actor_id", "at", "action", "from_state", "to_state", "note",
                 "data", "holder", "holder_department", "deadline", "round")


# ---------------------------------------------------------------- the hash
def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not dt_timezone.utc and timezone.is_aware(value):
        value = value.astimezone(dt_timezone.utc)
    return value.isoformat()


def _as_stored(value):
    """The data as the database gives it back: PostgreSQL's jsonb writes a whole float
    (3.0, 1e20) as a number that may come back as an integer, so whole floats are hashed as
    the integers they name; keys are strings, tuples lists."""
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    if isinstance(value, dict):
        return {str(key): _as_stored(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_stored(item) for item in value]
    return value


# Values that JSON gives back as they went in and `_as_stored` leaves alone.
_PLAIN = (str, int, bool, type(None))


def _stored_data(data) -> dict:
    """The event's data as the database gives it back (see `_as_stored`); a flat dict of
    texts, integers, booleans and nulls already is, and skips the round trip (the sweep
    seals thousands of such events a batch)."""
    if not data:
        return {}
    if type(data) is dict and all(type(key) is str and type(value) in _PLAIN
                                  for key, value in data.items()):
        return data
    return _as_stored(json.loads(json.dumps(data)))


def canonical(event, previous_hash: str) -> bytes:
    """The bytes hashed: the previous hash and the sealed fields, as sorted JSON."""
    payload = {name: getattr(event, name) for name in SEALED_FIELDS}
    payload["at"] = _moment(payload["at"])
    payload["deadline"] = _moment(payload["deadline"])
    payload["data"] = _stored_data(payload["data"])
    payload["previous_hash"] = previous_hash
    return _CANONICAL.encode(payload).encode("utf-8")


# json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")), made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(event, previous_hash: str) -> str:
    return hashlib.sha256(canonical(event, previous_hash)).hexdigest()


# ---------------------------------------------------------------- sealing
def _heads(case_ids: Iterable[int]) -> dict[int, str]:
    """The hash of each case's last event (cases without events are absent)."""
    from .models import CaseEvent

    last = (CaseEvent.objects.filter(case_id__in_batch=list(case_ids)).values("case_id")
            .annotate(last=Max("pk")).values("last"))
    return dict(CaseEvent.objects.filter(pk__in=last).values_list("case_id", "hash"))


def seal(event) -> None:
    """Link an unsaved event to its case's chain. Call with the case row locked, after
    every other field is set and just before the insert."""
    from .models import CaseEvent

    previous = _known_head(event.case_id)
    if previous is None:
        previous = (CaseEvent.objects.filter(case_id=event.case_id).order_by("-pk")
                    .values_list("hash", flat=True).first())
    _link(event, GENESIS if previous is None else previous)


# ---------------------------------------------------------------- heads known to the act
# A case registered by the act under way has no event but the ones this act writes: its
# head is known without reading it back (the register event's previous hash is GENESIS,
# the acceptance's is the register event's hash). Known from the case's insert
# (`starts`) and after each event inserted (`sealed`), until the act ends (`forget`,
# cases.services.act_transaction). A savepoint rolled back takes the knowledge with it:
# each head carries a no-op on_commit callback that Django drops with the savepoint's
# work, and a head whose callback is gone is read from the table again. The sweep's
# batches and a reseal forget the heads of the cases they touch.
_known = threading.local()


class _Mark:
    """A callback that does nothing: present in the transaction's on_commit list while
    the work it was registered with stands."""

    def __call__(self) -> None:
        pass


def _heads_known() -> dict:
    if not hasattr(_known, "heads"):
        _known.heads = {}
    return _known.heads


def _remember(case_id: int, head: str) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return
    mark = _Mark()
    transaction.on_commit(mark)
    _heads_known()[case_id] = (head, mark)


def _known_head(case_id: int) -> str | None:
    entry = _heads_known().get(case_id)
    if entry is None:
        return None
    head, mark = entry
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
            callback is mark for _savepoints, callback, *_rest in connection.run_on_commit):
        return head
    del _heads_known()[case_id]
    return None


def starts(case_id: int) -> None:
    """The case was inserted just now, in this act: its chain is empty."""
    _remember(case_id, GENESIS)


def sealed(event) -> None:
    """The event was inserted: it heads its case's chain if the act knows that chain."""
    if event.case_id in _heads_known():
        _remember(event.case_id, event.hash)


def forget(case_ids: Iterable[int] | None = None) -> None:
    """The act ended (no ids: every head), or these chains were written otherwise."""
    if case_ids is None:
        _heads_known().clear()
        return
    for case_id in case_ids:
        _heads_known().pop(case_id, None)


def seal_batch(events: list) -> None:
    """Link unsaved events, several per case in the order they will be inserted (one
    bulk insert keeps that order in their keys). Call with their cases' rows locked."""
    if not events:
        return
    forget({event.case_id for event in events})
    heads = _heads({event.case_id for event in events})
    for event in events:
        _link(event, heads.get(event.case_id, GENESIS))
        heads[event.case_id] = event.hash


def _link(event, previous_hash: str) -> None:
    event.previous_hash = previous_hash
    event.hash = digest(event, previous_hash)


def reseal(case_ids: Iterable[int]) -> int:
    """Hash these cases' chains again after a sanctioned rewrite of their events (call
    with the cases locked, and only for chains found intact before the rewrite: a chain
    broken before must stay broken). Answers how many events changed."""
    from .models import CaseEvent

    case_ids = list(case_ids)
    forget(case_ids)
    changed = []
    previous, case_id = GENESIS, None
    for event in CaseEvent.objects.filter(case_id__in=list(case_ids)).order_by("case_id", "pk"):
        if event.case_id != case_id:
            previous, case_id = GENESIS, event.case_id
        stored = (event.previous_hash, event.hash)
        _link(event, previous)
        if (event.previous_hash, event.hash) != stored:
            changed.append(event)
        previous = event.hash
    CaseEvent.objects.bulk_update(changed, ["previous_hash", "hash"], batch_size=1000)
    return len(changed)


# ---------------------------------------------------------------- reading the chain
@dataclass(frozen=True)
class Head:
    hash: str
    count: int

    @property
    def grouped(self) -> str:
        """The first 16 hex digits in groups of four, for reading aloud and comparing."""
        return " ".join(self.hash[i:i + 4] for i in range(0, 16, 4))


def head_of(events: Iterable) -> Head | None:
    """The chain's head: the hash of the last event by key, and how many there are."""
    events = list(events)
    if not events:
        return None
    return Head(hash=max(events, key=lambda event: event.pk).hash, count=len(events))


@dataclass(frozen=True)
class Break:
    """The first broken link of a case's chain."""

    case_id: int
    case_number: str
    event_id: int | None
    action: str
    at: datetime | None
    reason: str
    stored: str = ""
    computed: str = ""

    @property
    def action_label(self) -> str:
        return _action_label(self.action)

    def lines(self) -> list[str]:
        if self.event_id is None:
            where = _("案件 %(number)s：") % {"number": self.case_number}
        else:
            where = _("案件 %(number)s：第一处断链在记录 #%(id)s（%(label)s %(action)s，"
                      "%(at)s）") % {
                "number": self.case_number, "id": self.event_id,
                "label": self.action_label, "action": self.action,
                "at": timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M:%S")}
        lines = [where, "  " + self.reason]
        if self.stored or self.computed:
            lines += ["  " + _("存储的值：%(value)s") % {"value": self.stored or "—"},
                      "  " + _("应有的值：%(value)s") % {"value": self.computed or "—"}]
        return lines


# The case's counters of the acts that decide its department's figures, and the event
# each one counts: a counter the events do not add up to names a deleted (or added) event,
# the last one too.
COUNTED_ACTS = {"return_count": "return_to_dispatcher", "extension_count": "extend",
                "reopen_count": "reopen", "visit_count": "record_return_visit"}
CASE_FIELDS = ("state", "escalation_step", *COUNTED_ACTS)
# Where each is read from an event's case (the step is in the case's schedule row).
CASE_PATHS = {name: f"case__{name}" for name in CASE_FIELDS} | {
    "escalation_step": "case__schedule__escalation_step"}


def first_break(case, events: list) -> Break | None:
    """Where the chain of one case breaks first. `case`: its pk, number, state and
    counters (COUNTED_ACTS), read in the same snapshot as `events`: all of them, in key
    order."""
    on_case = dict(case_id=case.pk, case_number=case.number, event_id=None, action="",
                   at=None)
    if not events:
        return Break(**on_case, reason=_("案件没有任何记录（登记记录也没有）：记录被删除。"))
    expected = GENESIS
    for index, event in enumerate(events):
        where = dict(case_id=case.pk, case_number=case.number, event_id=event.pk,
                     action=event.action, at=event.at)
        if not event.hash:
            return Break(**where, reason=_("本条记录没有校验值：它未经系统写入，或写入后被清除。"))
        computed = digest(event, event.previous_hash)
        if computed != event.hash:
            return Break(**where, reason=_("记录内容与其校验值不符：本条记录在写入后被改动。"),
                         stored=event.hash, computed=computed)
        if event.previous_hash != expected:
            reason = (_("首条记录所存的前序值不是链的起点：在它之前的记录被删除。") if index == 0
                      else _("本条所存的前序值与上一条记录（#%(id)s）的校验值不符：其间有记录被"
                             "删除或插入，或上一条记录被改动后重算了校验值。")
                      % {"id": events[index - 1].pk})
            return Break(**where, reason=reason, stored=event.previous_hash, computed=expected)
        expected = event.hash
    last = events[-1]
    if last.to_state and last.to_state != case.state:
        return Break(**where, reason=_(
            "末条记录的新状态是「%(event)s」，案件却是「%(case)s」：其后的记录被删除，或状态未经"
            "记录被改动。") % {"event": _state_label(last.to_state),
                               "case": _state_label(case.state)})
    found = Counter(event.action for event in events)
    for counter, action in COUNTED_ACTS.items():
        if found[action] != getattr(case, counter):
            return Break(**on_case, reason=_(
                "案件记有 %(counted)s 次「%(label)s」，记录中却有 %(found)s 条：记录被删除或插入，"
                "或计数未经记录被改动。") % {"counted": getattr(case, counter),
                                           "label": _action_label(action),
                                           "found": found[action]})
    # The sweep sets a case's step only with the step's event.
    step = case.escalation_step and f"escalation_{case.escalation_step}"
    if step and not found[step]:
        return Break(**on_case, reason=_(
            "案件已到「%(step)s」，记录中却没有这一步：记录被删除，或期限步骤未经记录被改动。")
            % {"step": _action_label(step)})
    return None


def _state_label(value: str) -> str:
    from .models import State

    return str(State(value).label) if value in State.values else value


def _action_label(action: str) -> str:
    from .models import action_labels

    return str(action_labels().get(action, action))


@dataclass
class Verification:
    cases: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)


def verify(*, cases=None, batch_size: int = 500,
           on_break: Callable[[Break], None] | None = None) -> Verification:
    """Walk the chain of every case (or of these, a Case queryset), a batch of cases at a
    time, and name the first broken link of each broken one (`on_break` hears of each as
    it is found)."""
    from .models import Case, CaseEvent

    tally = Verification()
    cases = (Case.objects.all() if cases is None else cases).order_by("pk")
    last_pk = 0
    while batch := dict(cases.filter(pk__gt=last_pk).values_list("pk", "number")[:batch_size]):
        last_pk = max(batch)
        # The case's state and counters come in the events' own statement: one snapshot,
        # so an act committing meanwhile cannot pass for a deleted event.
        rows = (CaseEvent.objects.filter(case_id__in=list(batch)).order_by("case_id", "pk")
                .annotate(**{f"case_{name}": F(CASE_PATHS[name]) for name in CASE_FIELDS}))
        by_case: dict[int, list] = {pk: [] for pk in batch}
        for event in rows.iterator(chunk_size=2000):
            by_case[event.case_id].append(event)
        for pk, number in batch.items():
            events = by_case[pk]
            tally.cases += 1
            tally.events += len(events)
            seen = {name: getattr(events[-1], f"case_{name}") if events else None
                    for name in CASE_FIELDS}
            broken = first_break(SimpleNamespace(pk=pk, number=number, **seen), events)
            if broken is not None:
                tally.breaks.append(broken)
                if on_break is not None:
                    on_break(broken)
    return tally


def intact(case_ids: Iterable[int]) -> list[int]:
    """Those of these cases whose chain holds."""
    from .models import Case

    case_ids = list(case_ids)
    tally = verify(cases=Case.objects.filter(pk__in=case_ids))
    broken = {found.case_id for found in tally.breaks}
    return [pk for pk in case_ids if pk not in broken]
