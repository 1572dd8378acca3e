"""Case numbers: <prefix>-<year>-<6 digits>, in order and gapless per year."""

from datetime import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from cases.models import Case
from cases.numbering import format_case_number
from tests.factories import build_world, register, run_together


def test_the_number_has_prefix_year_and_six_digits(world):
    assert register(world).number == f"XF-{timezone.localdate().year}-000001"
    assert register(world).number == f"XF-{timezone.localdate().year}-000002"
    assert format_case_number("XF", 2026, 123) == "XF-2026-000123"


def test_the_year_is_the_office_s_local_year(world, travel):
    travel.to(timezone.make_aware(datetime(2026, 12, 31, 23, 55)))  # 15:55 UTC
    assert register(world).number == "XF-2026-000001"
    travel.to(timezone.make_aware(datetime(2027, 1, 1, 0, 5)))  # still 2026 in UTC
    assert register(world).number == "XF-2027-000001"


def test_a_registration_that_rolls_back_gives_its_number_back(world):
    register(world)
    with pytest.raises(RuntimeError), transaction.atomic():
        register(world)
        raise RuntimeError("the clerk's upload failed")
    assert register(world).number.endswith("-000002")


def test_fifty_concurrent_registrations_get_fifty_consecutive_numbers(
    committed_db, postgres_only
):
    world = build_world()
    outcomes = run_together(*[lambda: register(world).number] * 50)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    year = timezone.localdate().year
    assert sorted(outcomes) == [format_case_number("XF", year, n) for n in range(1, 51)]
    assert Case.objects.count() == 50


def test_the_number_is_taken_last_and_the_stand_in_is_left_nowhere(world, settings):
    """A registration accepted at once, with an emergency phrase (alerts) and an e-mail
    address (the query code's e-mail): the year's row is locked only by the act's last
    statements, and no row keeps the provisional number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import CaseEvent, Delivery, Notification
    from intake import services
    from intake.services import Outcome
    from tests.intake.helpers import matter, petitioner_details, token

    details = {**petitioner_details(), "email": "liu@example.org"}
    with CaptureQueriesContext(connection) as queries:
        case = services.register_intake(
            actor=world.clerk, submission_token=token(), petitioner=details,
            matter=matter(world, summary="闻到煤气味", content="楼道里煤气味很重，怕爆炸"),
            outcome=Outcome.ACCEPT)
    statements = [query["sql"] for query in queries.captured_queries]
    locks = [i for i, sql in enumerate(statements)
             if "casenumbersequence" in sql and ("FOR UPDATE" in sql or "UPDATE" in sql)]
    assert locks  # (two for the year's first case: the row is made, then locked)
    accepted = max(i for i, sql in enumerate(statements)
                   if "INSERT" in sql and "cases_caseevent" in sql)
    assert locks[0] > accepted  # after the acceptance's event
    assert len(statements) - locks[0] <= 12  # the number, its replacements, the commit
    case.refresh_from_db()
    assert case.number == f"XF-{timezone.localdate().year}-000001" and case.state == "accepted"
    texts = [*Notification.objects.values_list("title", "body"),
             *Delivery.objects.values_list("subject", "body"),
             *CaseEvent.objects.values_list("note", "data"),
             *Case.history.values_list("number", flat=True)]
    assert "~" not in repr(texts)
    assert any(case.number in str(text) for text in texts)


def test_a_registration_undone_inside_an_act_takes_no_number(world):
    from cases.services import act_transaction

    first = register(world)

    @act_transaction
    def outer():
        try:
            with transaction.atomic():
                register(world)  # joins the outer act, then is rolled back
                raise RuntimeError
        except RuntimeError:
            pass
        return register(world)

    second = outer()
    assert second.number[-6:] == f"{int(first.number[-6:]) + 1:06d}"
    assert Case.objects.get(pk=second.pk).number == second.number


def test_on_postgresql_the_number_is_the_act_s_last_statement_and_the_case_has_one_version(
        world, postgres_only):
    """The year's row is locked by one statement that also puts the number in the case,
    its notifications, its e-mails and its one version in the history; nothing follows it
    but the commit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import Delivery, Notification
    from intake import services
    from intake.services import Outcome
    from tests.intake.helpers import matter, petitioner_details, token

    register(world)  # the year's row exists
    details = {**petitioner_details(), "email": "liu@example.org"}
    with CaptureQueriesContext(connection) as queries:
        case = services.register_intake(
            actor=world.clerk, submission_token=token(), petitioner=details,
            matter=matter(world, summary="闻到煤气味", content="楼道里煤气味很重，怕爆炸"),
            outcome=Outcome.ACCEPT)
    statements = [query["sql"] for query in queries.captured_queries]
    numbering = [i for i, sql in enumerate(statements) if "casenumbersequence" in sql]
    closing = statements[numbering[0] + 1:]
    assert len(numbering) == 1
    assert all(sql.startswith(("RELEASE SAVEPOINT", "COMMIT")) for sql in closing), closing
    assert case.number == f"XF-{timezone.localdate().year}-000002"
    versions = list(Case.history.filter(id=case.pk).values_list("number", "state",
                                                                "history_type"))
    assert versions == [(case.number, "accepted", "+")]
    assert Notification.objects.filter(case=case, title__contains=case.number).exists()
    assert Delivery.objects.filter(case=case, body__contains=case.number).exists()
    assert not Delivery.objects.filter(body__contains="~").exists()
