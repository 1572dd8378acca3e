"""The sweep's set-based writes: the same rows whether PostgreSQL's unnest statements or
the ORM's bulk methods (the SQLite demo's path) write them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases import bulk
from cases.services import SWEPT_EVENT_FIELDS
from cases.models import CaseEvent, CaseSchedule, State
from oversight.models import Escalation, SupervisionOrder
from tests.factories import drive_to


@pytest.fixture(params=["postgresql", "orm"])
def path(request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(connection, "vendor", "sqlite")  # the demo's path
    elif connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    return request.param


def test_update_rows_sets_each_row_its_own_values(world, path):
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(3)]
    later = timezone.now() + timedelta(days=1)
    untouched = CaseSchedule.objects.get(case=cases[2])
    rows = [(cases[0].pk, "warning", later), (cases[1].pk, "overdue", None)]
    assert bulk.update_rows(CaseSchedule, "case", ["escalation_step", "next_action_at"],
                            rows) == 2
    got = {row.case_id: row for row in CaseSchedule.objects.all()}
    assert got[cases[0].pk].escalation_step == "warning"
    assert got[cases[1].pk].escalation_step == "overdue"
    assert got[cases[1].pk].next_action_at is None
    assert abs(got[cases[0].pk].next_action_at - later) < timedelta(seconds=1)
    assert (got[cases[2].pk].escalation_step, got[cases[2].pk].next_action_at) == (
        untouched.escalation_step, untouched.next_action_at)


def test_insert_rows_writes_json_and_keeps_the_rows_order(world, path):
    case = drive_to(world, State.IN_HANDLING)
    now = timezone.now()
    fields = SWEPT_EVENT_FIELDS  # every column: the model's defaults are not the table's
    rows = [(case.pk, None, now, f"note_{i}", case.state, case.state, "",
             {"i": i, "text": "说明"}, "", None, None, 1, "", "") for i in range(5)]
    assert bulk.insert_rows(CaseEvent, fields, rows) == 5
    written = list(CaseEvent.objects.filter(case=case, action__startswith="note_")
                   .order_by("pk").values_list("action", "data"))
    assert written == [(f"note_{i}", {"i": i, "text": "说明"}) for i in range(5)]


def test_insert_rows_writes_foreign_keys_and_skips_conflicts(world, path):
    case = drive_to(world, State.IN_HANDLING)
    now = timezone.now()
    fields = ["case", "level", "round", "opened_at", "answer_due_at", "answer"]
    row = (case.pk, 1, 0, now, now + timedelta(hours=2), "")
    bulk.insert_rows(SupervisionOrder, fields, [row], ignore_conflicts=True)
    bulk.insert_rows(SupervisionOrder, fields, [row], ignore_conflicts=True)  # again
    assert SupervisionOrder.objects.filter(case=case).count() == 1
    bulk.insert_rows(Escalation, ["case", "step", "round", "happened_at", "due_at"],
                     [(case.pk, "overdue", 0, now, case.due_at)])
    assert Escalation.objects.get(case=case).step == "overdue"
    assert bulk.insert_rows(Escalation, ["case"], []) == 0


AWKWARD_TEXTS = ['say "no"', "back\\slash", "a,b", "{braces}", "NULL", "", " spaced ",
                 "line\nbreak", "说明（一）", "'quote'", "\\\"both\\\""]


def test_insert_rows_keeps_awkward_texts_json_and_nulls_as_written(world, path):
    """Each column travels as one array literal: quotes, backslashes, commas, braces and
    the word NULL are texts, a None is NULL, a time keeps its microseconds."""
    case = drive_to(world, State.IN_HANDLING)
    now = timezone.now().replace(microsecond=123456)
    rows = [(case.pk, None, now + timedelta(seconds=i), f"awkward_{i}", case.state,
             case.state, text, {"text": text, "list": [text, None], "n": i}, text, None,
             None if i % 2 else now, i, text, text)
            for i, text in enumerate(AWKWARD_TEXTS)]
    assert bulk.insert_rows(CaseEvent, SWEPT_EVENT_FIELDS, rows) == len(rows)
    written = list(CaseEvent.objects.filter(case=case, action__startswith="awkward_")
                   .order_by("pk").values_list("note", "data", "holder", "hash", "at",
                                               "deadline", "holder_department"))
    assert written == [
        (text, {"text": text, "list": [text, None], "n": i}, text, text,
         now + timedelta(seconds=i), None if i % 2 else now, None)
        for i, text in enumerate(AWKWARD_TEXTS)]


def test_update_rows_sets_awkward_texts_and_nulls(world, path):
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(3)]
    rows = [(case.pk, text, None) for case, text in zip(cases, ['"', "NULL", "a,\\b}"])]
    assert bulk.update_rows(CaseSchedule, "case", ["escalation_step", "next_action_at"],
                            rows) == 3
    got = dict(CaseSchedule.objects.filter(case__in=cases)
               .values_list("case_id", "escalation_step"))
    assert got == {pk: text for pk, text, _ in rows}
    assert not CaseSchedule.objects.filter(case__in=cases, next_action_at__isnull=False)


def test_in_batch_finds_what_in_finds(world, path):
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(3)]
    keys = [cases[0].pk, cases[2].pk, 10 ** 12]  # one key matches nothing
    assert (sorted(CaseEvent.objects.filter(case_id__in_batch=keys).values_list("pk", flat=True))
            == sorted(CaseEvent.objects.filter(case_id__in=keys).values_list("pk", flat=True)))
    assert set(CaseSchedule.objects.filter(case__in_batch=keys)
               .values_list("case_id", flat=True)) == {cases[0].pk, cases[2].pk}
    assert not CaseSchedule.objects.filter(pk__in_batch=[]).exists()
