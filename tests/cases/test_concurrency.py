"""Two people acting on the same case at the same moment: exactly one move happens."""

import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition

from cases.exceptions import CaseTransitionError
from cases.models import Case, State
from dispatch import services as dispatch_acts
from intake import services as intake_acts
from tests.factories import build_world, drive_to, run_together


def test_two_clerks_accepting_the_same_case_make_one_move(committed_db, postgres_only):
    world = build_world()
    case = drive_to(world, State.RECEIVED)
    outcomes = run_together(
        lambda: intake_acts.accept_case(actor=world.clerk, case_id=case.pk),
        lambda: intake_acts.accept_case(actor=world.dispatcher, case_id=case.pk),
    )
    (loser,) = [o for o in outcomes if isinstance(o, Exception)]
    assert isinstance(loser, CaseTransitionError)
    assert "已受理" in str(loser)  # it says what state the winner left
    assert case.events.filter(action="accept").count() == 1


def test_a_return_and_an_acceptance_at_once_make_one_move(committed_db, postgres_only):
    world = build_world()
    case = drive_to(world, State.DISPATCHED)
    outcomes = run_together(
        lambda: dispatch_acts.return_case(actor=world.handler, case_id=case.pk, reason="不属本部门"),
        lambda: dispatch_acts.department_accept_case(actor=world.head, case_id=case.pk),
    )
    (loser,) = [o for o in outcomes if isinstance(o, Exception)]
    assert isinstance(loser, CaseTransitionError)
    case.refresh_from_db()
    moves = case.events.filter(action__in=["return_to_dispatcher", "department_accept"])
    assert moves.count() == 1
    assert case.state == moves.get().to_state


def test_a_stale_copy_can_never_overwrite_a_newer_state(world):
    case = drive_to(world, State.RECEIVED)
    stale = Case.objects.get(pk=case.pk)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    stale.answer_on_the_spot(at=stale.received_at, answer="已解答", by=None)
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_a_lock_held_too_long_answers_try_again_not_500(committed_db, postgres_only, client):
    """Someone holds the case's row longer than lock_timeout: the page says 请稍后重试
    (409) and nothing is written."""
    import threading

    from django.db import connection, transaction
    from django.urls import reverse

    world = build_world()
    case = intake_acts.register_case(actor=world.clerk, channel="visit",
                                     petitioner=world.petitioner, summary="占道",
                                     content="夜市占道")
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            Case.objects.select_for_update().get(pk=case.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        client.force_login(world.clerk)
        response = client.post(reverse("cases:act", args=[case.number, "accept"]), {})
        assert response.status_code == 409 and "请稍后重试" in response.content.decode()
    finally:
        release.set()
        holder.join()
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED
