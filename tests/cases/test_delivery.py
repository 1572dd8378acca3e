"""The delivery outbox: every e-mail is a row written with the act, sent outside any
transaction, retried with backoff, shown when it finally fails, never sent twice by two
senders."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Delivery, DeliveryState, Notification
from cases.notifications import notify
from tests.factories import build_world, run_together


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP refused the connection")


@pytest.fixture
def addressed(world):
    world.handler.email = "handler@example.org"
    world.handler.save(update_fields=["email"])
    return world


def test_a_notification_writes_its_e_mail_as_an_outbox_row_with_the_act(addressed):
    notify([addressed.handler], kind="handling", title="新交办：XF-1")
    row = Delivery.objects.get()
    assert (row.to, row.subject, row.state) == ("handler@example.org", "新交办：XF-1", "pending")
    assert row.notification == Notification.objects.get()
    assert row.message_id.startswith("<") and row.message_id.endswith(">")


def test_an_act_that_rolls_back_leaves_no_message(addressed):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        notify([addressed.handler], kind="handling", title="新交办：XF-1")
        raise RuntimeError
    assert not Delivery.objects.exists()


def test_a_person_without_an_address_gets_no_row(world):
    notify([world.clerk], kind="handling", title="x")
    assert Notification.objects.count() == 1 and not Delivery.objects.exists()


def test_the_sender_sends_once_with_the_rows_message_id(addressed):
    notify([addressed.handler], kind="handling", title="新交办：XF-1", body="请处理")
    assert services.send_deliveries() == 1
    row = Delivery.objects.get()
    assert row.state == DeliveryState.SENT and row.sent_at and row.leased_until is None
    assert mail.outbox[0].extra_headers["Message-ID"] == row.message_id
    assert services.send_deliveries() == 0 and len(mail.outbox) == 1


def test_a_refusing_server_is_retried_with_backoff_then_marked_failed(addressed, settings,
                                                                      travel):
    settings.EMAIL_BACKEND = "tests.cases.test_delivery.RefusingBackend"
    settings.DELIVERY_MAX_ATTEMPTS = 3
    notify([addressed.handler], kind="handling", title="新交办：XF-1")
    assert services.send_deliveries() == 0
    row = Delivery.objects.get()
    assert row.state == "pending" and row.attempts == 1 and "refused" in row.last_error
    first_wait = row.next_attempt_at - timezone.now()
    assert timedelta(seconds=20) < first_wait <= timedelta(seconds=30)
    assert services.send_deliveries() == 0 and Delivery.objects.get().attempts == 1  # not due
    for _ in range(2):
        travel.to(Delivery.objects.get().next_attempt_at + timedelta(seconds=1))
        services.send_deliveries()
    row = Delivery.objects.get()
    assert row.state == DeliveryState.FAILED and row.attempts == 3
    told = Notification.objects.get(kind="delivery_failed")
    assert told.recipient == addressed.supervisor and "handler@example.org" in told.title
    assert not told.deliveries.exists()  # in the app only


def test_a_server_that_comes_back_gets_the_message(addressed, settings, travel):
    settings.EMAIL_BACKEND = "tests.cases.test_delivery.RefusingBackend"
    notify([addressed.handler], kind="handling", title="新交办：XF-1")
    services.send_deliveries()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    travel.to(Delivery.objects.get().next_attempt_at + timedelta(seconds=1))
    assert services.send_deliveries() == 1 and len(mail.outbox) == 1


def test_a_lost_publish_delays_the_message_but_never_fails_the_act(
        addressed, monkeypatch, django_capture_on_commit_callbacks):
    from cases import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr(tasks.send_deliveries, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        notify([addressed.handler], kind="handling", title="新交办：XF-1")
    assert Delivery.objects.get().state == "pending" and not mail.outbox
    assert services.send_deliveries() == 1  # the beat's sweep


def test_a_leased_batch_is_not_taken_again_until_its_lease_ends(addressed, travel, settings):
    notify([addressed.handler], kind="handling", title="新交办：XF-1")
    leased = services._claim_deliveries(now=timezone.now(), limit=10)
    assert len(leased) == 1
    assert services.send_deliveries() == 0 and not mail.outbox  # another sender waits
    travel.to(leased[0].leased_until + timedelta(seconds=1))  # the first one died
    assert services.send_deliveries() == 1 and len(mail.outbox) == 1


def test_the_admin_sends_a_failed_message_again(addressed, client, settings):
    notify([addressed.handler], kind="handling", title="新交办：XF-1")
    Delivery.objects.update(state=DeliveryState.FAILED, attempts=8, last_error="x")
    client.force_login(addressed.admin)
    response = client.post(reverse("admin:cases_delivery_changelist"),
                           {"action": "send_again",
                            "_selected_action": [Delivery.objects.get().pk]})
    assert response.status_code == 302
    row = Delivery.objects.get()
    assert (row.state, row.attempts, row.last_error) == ("pending", 0, "")


def test_every_smtp_connection_has_the_timeout(settings):
    from django.core.mail import get_connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = 7
    assert get_connection().timeout == 7


@pytest.mark.postgres
def test_two_senders_at_once_send_every_message_once(committed_db, postgres_only,
                                                     monkeypatch):
    monkeypatch.setattr(services, "publish_deliveries", lambda: None)  # only the two run
    world = build_world()
    world.handler.email = "handler@example.org"
    world.handler.save(update_fields=["email"])
    for n in range(30):
        notify([world.handler], kind="handling", title=f"第{n}件")
    outcomes = run_together(lambda: services.send_deliveries(limit=5),
                            lambda: services.send_deliveries(limit=5))
    assert sum(outcomes) == 30
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_a_server_that_is_down_fails_one_message_and_gives_the_rest_back(addressed, settings):
    """Refused, timed out, hung up: the message in hand counts an attempt, the rest of
    the batch is released untouched instead of waiting for the same timeout each."""
    settings.EMAIL_BACKEND = "tests.cases.test_delivery.RefusingBackend"
    for number in range(3):
        notify([addressed.handler], kind="handling", title=f"新交办：XF-{number}")
    assert services.send_deliveries() == 0
    rows = list(Delivery.objects.order_by("next_attempt_at", "pk"))
    tried = [row for row in rows if row.attempts]
    assert len(tried) == 1 and "refused" in tried[0].last_error
    assert tried[0].next_attempt_at > timezone.now()
    assert all(row.leased_until is None and row.state == DeliveryState.PENDING for row in rows)
    untried = [row for row in rows if not row.attempts]
    assert len(untried) == 2 and all(row.next_attempt_at <= timezone.now() for row in untried)


def test_retries_wait_from_the_configured_first_wait_doubling_to_an_hour(settings):
    settings.DELIVERY_RETRY_SECONDS = 5
    assert [services._backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert services._backoff(30) == timedelta(hours=1)
