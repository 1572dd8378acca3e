"""The sweep's set-based writes: the same rows whether PostgreSQL's unnest statements or
the ORM's bulk methods (the SQLite demo's path) write them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases import bulk
from cases.models import Case, State
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
    rows = [(cases[0].pk, "warning", later), (cases[1].pk, "overdue", None)]
    assert bulk.update_rows(Case, "id", ["escalation_step", "next_action_at"], rows) == 2
    got = dict(Case.objects.values_list("pk", "escalation_step"))
    assert got[cases[0].pk] == "warning" and got[cases[1].pk] == "overdue"
    assert got[cases[2].pk] == ""  # untouched
    assert Case.objects.get(pk=cases[1].pk).next_action_at is None
    assert abs(Case.objects.get(pk=cases[0].pk).next_action_at - later) < timedelta(seconds=1)


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
