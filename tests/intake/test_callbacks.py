"""Results pushed back to the platforms (issue 16, item 4): an outbox row per act in the
act's transaction, signed JSON posted with retries, in order per case, never lost,
against a real HTTP receiver on loopback that is down, answers 500, answers slowly and
receives duplicates."""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Channel, Delivery, Notification, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from intake.callbacks import send_callbacks
from intake.models import CallbackAttempt, Platform
from tests.factories import register, run_together
from tests.intake import test_platforms as tp

SECRET = "s3cret-for-the-platform"


class Receiver:
    """A platform's callback endpoint on loopback. `script` is a list of what to do with
    the next requests ("500", "slow": take the event, then answer after the sender's
    timeout); then 200. It keeps every request, verifies each signature, and notes two
    events of one case in flight at once."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/petitions"
        self.received: list[dict] = []
        self.script: list[str] = []
        self.bad_signatures = 0
        self.overlaps = 0
        self.delay = 0.0
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(
                    SECRET.encode(), self.headers["X-Petitions-Timestamp"].encode() + b"." + body,
                    hashlib.sha256).hexdigest()
                event = json.loads(body)
                case = event["case_number"]
                with receiver._lock:
                    if not hmac.compare_digest(expected, self.headers["X-Petitions-Signature"]):
                        receiver.bad_signatures += 1
                    if case in receiver._in_flight:
                        receiver.overlaps += 1
                    receiver._in_flight.add(case)
                    step = receiver.script.pop(0) if receiver.script else "200"
                try:
                    if step == "garbage":  # not HTTP at all
                        self.wfile.write(b"garbage\r\n\r\n")
                        self.close_connection = True
                        return
                    if step == "500":
                        self.send_response(500)
                        self.end_headers()
                        self.wfile.write(b"database is down")
                        return
                    with receiver._lock:
                        receiver.received.append(
                            {"key": self.headers["Idempotency-Key"], **event})
                    time.sleep(receiver.delay + (2.5 if step == "slow" else 0))
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                finally:
                    with receiver._lock:
                        receiver._in_flight.discard(case)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def deduplicated(self) -> list[dict]:
        """What a receiver keeps when it discards repeats by key."""
        seen, kept = set(), []
        for event in self.received:
            if event["key"] not in seen:
                seen.add(event["key"])
                kept.append(event)
        return kept


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def platform(world, receiver):
    return tp.make_platform(callback_url=receiver.url, callback_secret=SECRET)


@pytest.fixture
def quick(settings):
    settings.PLATFORM_CALLBACK_TIMEOUT = 1
    settings.DELIVERY_BATCH_SIZE = 4
    return settings


def platform_case(world, platform, ticket):
    response = tp.post(tp.key_client(platform), tp.ticket_body(world, ticket=ticket))
    assert response.status_code == 201, response.json()
    return response.json()["number"]


def case_of(number):
    from cases.models import Case

    return Case.objects.get(number=number)


def the_whole_story(world, number):
    """Accepted, dispatched, extended, replied, one unreached visit, an unsatisfied
    verdict (reopened), as the office and the department would."""
    case = case_of(number)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk, note="请现场核实（内部意见）")
    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
    case.refresh_from_db()
    request = dispatch_acts.request_extension(actor=world.handler, case_id=case.pk,
                                              reason="需等待水质检测",
                                              requested_due_at=case.due_at + timedelta(days=2))
    dispatch_acts.approve_extension(actor=world.dispatcher, request_id=request.pk,
                                    told_reason="需等待水质检测结果")
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="已检修",
                                opinion="已检修", result="已检修管道", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk,
                             content="经检修，6号楼已恢复供水。", channel="phone")
    feedback_acts.record_visit(actor=world.clerk, method="phone", reached=False,
                               case_id=case.pk, comments="无人接听")
    feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True,
                               case_id=case.pk, is_solved=False, satisfaction="unsatisfied",
                               comments="水压仍然不足")
    return case_of(number)


STORY = ["accepted", "dispatched", "extended", "replied", "visit_unreached", "visited",
         "reopened"]


def rows_of(case):
    return list(Delivery.objects.filter(case=case, channel="platform").order_by("pk"))


def bodies(case):
    return [json.loads(row.body) for row in rows_of(case)]


def later(**_):
    """The clock moves past every retry's backoff."""
    Delivery.objects.filter(channel="platform", state="pending").update(
        next_attempt_at=timezone.now())


# ---------------------------------------------------------------- the outbox rows
def test_each_act_writes_its_event_in_order_with_what_the_platform_needs(world, platform):
    case = the_whole_story(world, platform_case(world, platform, "BJ-0001"))
    events = bodies(case)
    assert [e["event"] for e in events] == STORY
    assert [e["sequence"] for e in events] == list(range(1, len(STORY) + 1))
    assert {e["ticket"] for e in events} == {"BJ-0001"}
    assert {e["case_number"] for e in events} == {case.number}
    by_name = {e["event"]: e for e in events}
    assert by_name["dispatched"]["data"]["department"] == world.a.name
    assert by_name["extended"]["data"]["reason"] == "需等待水质检测结果"
    assert by_name["replied"]["data"]["text"] == "经检修，6号楼已恢复供水。"
    assert by_name["visit_unreached"]["data"]["reached"] is False
    assert by_name["visited"]["data"] == {"reached": True, "is_solved": False,
                                          "satisfaction": "unsatisfied"}
    assert by_name["reopened"]["round"] == 2 and case.state == State.IN_HANDLING
    # Never the office's internal words nor a person's name on the staff side.
    text = " ".join(row.body for row in rows_of(case))
    assert "内部意见" not in text and "handler" not in text and "水压仍然不足" not in text
    # The idempotency key is the row's, one per event.
    assert len({e["id"] for e in events}) == len(events)
    assert all(row.message_id == e["id"] for row, e in zip(rows_of(case), events))


def test_an_extension_request_records_the_platform_message(world, platform):
    case = case_of(platform_case(world, platform, "BJ-0002"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
    case.refresh_from_db()
    request = dispatch_acts.request_extension(actor=world.handler, case_id=case.pk,
                                              reason="需要检测",
                                              requested_due_at=case.due_at + timedelta(days=1))
    request = dispatch_acts.approve_extension(actor=world.dispatcher, request_id=request.pk)
    assert json.loads(request.platform_notice.body)["event"] == "extended"


def test_an_office_registered_12345_transfer_goes_to_the_12345_platform(world, platform):
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="BJ-9")
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    [row] = rows_of(case)
    assert row.to == platform.code and json.loads(row.body)["ticket"] == "BJ-9"


def test_counter_cases_write_nothing(world, platform):
    counter = register(world)
    intake_acts.accept_case(actor=world.clerk, case_id=counter.pk)
    assert not Delivery.objects.filter(channel="platform").exists()


def test_a_platform_without_an_address_yet_keeps_its_events_until_it_has_one(
        world, receiver):
    silent = tp.make_platform(code="silent")
    case = case_of(platform_case(world, silent, "S-1"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    [row] = rows_of(case)
    assert send_callbacks() == 0
    row.refresh_from_db()
    assert row.state == "pending" and row.attempts == 0 and "暂存" in row.last_error
    assert not CallbackAttempt.objects.exists()
    receiver.start()
    silent.callback_url, silent.callback_secret = receiver.url, SECRET
    silent.save()  # its waiting rows are due at once
    assert send_callbacks() == 1
    assert [e["event"] for e in receiver.received] == ["accepted"]


def test_a_merged_platform_case_hears_the_main_case_s_answer_and_its_own_verdict(
        world, platform):
    mine = case_of(platform_case(world, platform, "BJ-M1"))
    main = register(world)
    intake_acts.merge_case(actor=world.clerk, case_id=mine.pk, into_number=main.number)
    intake_acts.accept_case(actor=world.clerk, case_id=main.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=main.pk,
                                lead_department_id=world.a.pk)
    dispatch_acts.department_accept_case(actor=world.handler, case_id=main.pk)
    dispatch_acts.submit_result(actor=world.handler, case_id=main.pk, findings="已清理",
                                opinion="已清理", result="已清理", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=main.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=main.pk)
    feedback_acts.send_reply(actor=world.dispatcher, case_id=main.pk,
                             content="夜市摊位已清理。", channel="phone")
    events = bodies(mine)
    assert [e["event"] for e in events][:2] == ["merged", "replied"]
    assert events[1]["data"]["text"] == "夜市摊位已清理。"
    assert not Delivery.objects.filter(case=main, channel="platform").exists()


def test_a_garbled_answer_is_a_failed_attempt_not_a_stuck_row(world, platform, receiver):
    receiver.script = ["garbage"]
    receiver.start()
    case = case_of(platform_case(world, platform, "BJ-G1"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    assert send_callbacks() == 0
    [row] = rows_of(case)
    assert row.state == "pending" and row.attempts == 1 and row.leased_until is None
    [attempt] = CallbackAttempt.objects.all()
    assert attempt.status_code is None and attempt.error
    later()
    assert send_callbacks() == 1


def test_a_changed_tier_tells_the_platform_its_new_deadline(world, platform):
    case = case_of(platform_case(world, platform, "BJ-T1"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.change_tier(actor=world.dispatcher, case_id=case.pk, tier_code="T1",
                              reason="涉及群众安全")
    events = bodies(case)
    assert events[-1]["event"] == "deadline_changed"
    assert events[-1]["data"]["tier"] == "T1" and events[-1]["data"]["reason"] == "涉及群众安全"


def test_an_act_that_rolls_back_leaves_no_callback(world, platform):
    case = case_of(platform_case(world, platform, "BJ-0003"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    with pytest.raises(Exception):
        # A department that does not exist: the dispatch fails and takes its row with it.
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                    lead_department_id=999999)
    assert [e["event"] for e in bodies(case)] == ["accepted"]


def test_a_callback_address_needs_a_secret(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        Platform(name="x", code="x", callback_url="https://example.org/hook").full_clean()
    assert "callback_secret" in error.value.message_dict
    for address in ("ftp://example.org/hook", "https://user:pw@example.org/hook"):
        with pytest.raises(ValidationError) as error:
            Platform(name="x", code="x", callback_url=address,
                     callback_secret="s").full_clean()
        assert "callback_url" in error.value.message_dict


# ---------------------------------------------------------------- the sender
def test_a_callback_is_signed_and_carries_its_key(world, platform, receiver):
    receiver.start()
    case = case_of(platform_case(world, platform, "BJ-0004"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    assert send_callbacks() == 1
    [got] = receiver.received
    assert receiver.bad_signatures == 0
    assert got["key"] == rows_of(case)[0].message_id and got["event"] == "accepted"
    row = rows_of(case)[0]
    assert row.state == "sent" and row.attempts == 1
    [attempt] = CallbackAttempt.objects.filter(delivery=row)
    assert attempt.status_code == 200 and attempt.duration_ms is not None


def test_every_event_arrives_once_in_order_through_down_500_slow_and_repeats(
        world, platform, receiver, quick):
    numbers = [platform_case(world, platform, f"BJ-1{n}") for n in range(3)]
    cases = [the_whole_story(world, number) for number in numbers]
    total = Delivery.objects.filter(channel="platform").count()
    assert total == 3 * len(STORY)

    # Down: nothing listens. One attempt, and the rest of the batch is not even tried.
    assert send_callbacks() == 0
    assert CallbackAttempt.objects.count() == 1
    assert CallbackAttempt.objects.get().status_code is None
    assert not Delivery.objects.filter(channel="platform", state="sent").exists()

    # Back, but answering 500 twice, then once far too slowly (it takes the event, the
    # sender gives up and sends it again later: a repeat).
    receiver.start()
    receiver.script = ["500", "500", "slow"]
    for _round in range(30):
        later()
        send_callbacks()
        if Delivery.objects.filter(channel="platform", state="sent").count() == total:
            break
    assert Delivery.objects.filter(channel="platform", state="sent").count() == total
    assert receiver.bad_signatures == 0

    kept = receiver.deduplicated()
    assert len(receiver.received) > len(kept)  # the slow answer's event came twice
    assert len(kept) == total
    for case in cases:
        mine = [event for event in kept if event["case_number"] == case.number]
        assert [event["sequence"] for event in mine] == list(range(1, len(STORY) + 1))
        assert [event["event"] for event in mine] == STORY
    codes = list(CallbackAttempt.objects.values_list("status_code", flat=True))
    assert codes.count(500) == 2 and None in codes


def test_a_callback_that_keeps_failing_stops_its_case_and_tells_the_supervisors(
        world, platform, receiver, settings):
    settings.PLATFORM_CALLBACK_MAX_ATTEMPTS = 2
    receiver.start()
    receiver.script = ["500", "500"]
    case = case_of(platform_case(world, platform, "BJ-0005"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    send_callbacks()
    later()
    send_callbacks()
    first, second = rows_of(case)
    first.refresh_from_db()
    assert first.state == "failed" and first.attempts == 2
    assert second.state == "pending" and second.attempts == 0  # held back: order per case
    alert = Notification.objects.get(recipient=world.supervisor, kind="delivery_failed")
    assert "平台推送失败" in alert.title
    # Sent again from the admin: both leave, in order.
    from cases.services import resend_deliveries

    resend_deliveries(delivery_ids=[first.pk])
    assert send_callbacks() == 2
    assert [e["event"] for e in receiver.deduplicated()] == ["accepted", "dispatched"]


def test_the_admin_shows_each_attempt(client, world, platform, receiver):
    receiver.script = ["500"]
    receiver.start()
    case = case_of(platform_case(world, platform, "BJ-0006"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    send_callbacks()
    later()
    send_callbacks()
    row = rows_of(case)[0]
    client.force_login(world.admin)
    page = client.get(reverse("admin:cases_delivery_change", args=[row.pk])).content.decode()
    assert "推送记录" in page and "HTTP 500" in page and ">200<" in page
    listing = client.get(reverse("admin:cases_delivery_changelist") + "?channel=platform")
    assert "BJ-0006" in listing.content.decode()


def test_the_task_sends_them(world, platform, receiver):
    from intake.tasks import send_callbacks as task

    receiver.start()
    case = case_of(platform_case(world, platform, "BJ-0007"))
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    assert task.apply().get() == 1


@pytest.mark.usefixtures("committed_db")
def test_two_senders_at_once_send_each_event_once_and_never_two_of_a_case_together(
        world, platform, receiver, settings, monkeypatch):
    from intake import callbacks

    # The acts commit here: keep their after-commit publish from sending at once.
    monkeypatch.setattr(callbacks, "publish", lambda: None)
    settings.DELIVERY_BATCH_SIZE = 3
    receiver.delay = 0.03
    receiver.start()
    for n in range(4):
        case = case_of(platform_case(world, platform, f"BJ-2{n}"))
        intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                    lead_department_id=world.a.pk)
        dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
        dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="已处理",
                                    opinion="已处理", result="已处理", is_solved=True)
        dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
        dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
        feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, content="已处理",
                                 channel="phone")
    total = Delivery.objects.filter(channel="platform").count()
    assert total == 4 * 3

    def sender():
        sent = 0
        for _round in range(20):
            sent += send_callbacks()
            if not Delivery.objects.filter(channel="platform").exclude(state="sent").exists():
                break
            time.sleep(0.02)
        return sent

    first, second = run_together(sender, sender)
    assert first + second == total, (first, second)
    assert first and second  # both took part
    keys = [event["key"] for event in receiver.received]
    assert len(keys) == len(set(keys)) == total
    assert receiver.overlaps == 0
    for number in {event["case_number"] for event in receiver.received}:
        mine = [e["sequence"] for e in receiver.received if e["case_number"] == number]
        assert mine == [1, 2, 3]
