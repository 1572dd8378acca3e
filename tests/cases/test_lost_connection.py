"""The database ends a request's session in the middle of an act (a restart; a session
the server timed out while the process was starved of CPU): the person is told to look
and try again (503), by the page and by the API, and nothing of the act is kept."""

import time

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, State
from intake import services as intake_acts
from tests.factories import build_world


@pytest.fixture
def session_ended_in_accept(monkeypatch):
    """The acceptance, with its case locked, lets PostgreSQL end the session as idle in
    its transaction (100 ms), as a process starved of CPU would."""
    from intake import services

    original = services.compute_due_at

    def starved(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = '100ms'")
        time.sleep(0.6)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "compute_due_at", starved)


def received(world):
    return intake_acts.register_case(actor=world.clerk, channel="visit",
                                     petitioner=world.petitioner, summary="占道",
                                     content="夜市占道")


def test_a_session_ended_mid_act_answers_503_on_the_page(committed_db, postgres_only, client,
                                                         session_ended_in_accept):
    world = build_world()
    case = received(world)
    client.force_login(world.clerk)
    response = client.post(reverse("cases:act", args=[case.number, "accept"]), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "数据库连接中断" in response.content.decode()
    # Nothing of the act was kept, and the next request works on a new session.
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED
    assert not CaseEvent.objects.filter(case=case, action="accept").exists()
    assert client.get(reverse("cases:detail", args=[case.number])).status_code == 200


def test_a_session_ended_mid_act_answers_503_by_the_api(committed_db, postgres_only,
                                                        session_ended_in_accept):
    world = build_world()
    case = received(world)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.clerk).key}")
    response = api.post(reverse("api-transition", args=[case.number, "accept"]), {},
                        format="json")
    assert response.status_code == 503, response.content
    assert "数据库连接中断" in response.json()["detail"]
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


def test_an_error_the_server_answered_is_not_taken_for_a_lost_session(committed_db,
                                                                      postgres_only):
    from django.db import OperationalError, transaction

    from cases.middleware import is_connection_lost

    with pytest.raises(OperationalError) as raised, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '10ms'")
            cursor.execute("SELECT pg_sleep(1)")
    assert not is_connection_lost(raised.value)  # 57014: the session lives on
