"""The office's side of the fault suite (test_faults.py): each command is one process
doing what people and acts do, against the suite's own PostgreSQL (DATABASE_URL), so
that it can be killed, stopped or left waiting while the workers run.

    python -m tests.cases.fault_driver setup
    python -m tests.cases.fault_driver mail 200 --chunk 10
    python -m tests.cases.fault_driver mail-then-die 30
    python -m tests.cases.fault_driver due 5
    python -m tests.cases.fault_driver hold 3
    python -m tests.cases.fault_driver pairs 120
    python -m tests.cases.fault_driver platform 10 --url http://127.0.0.1:9000/ --secret s

Each prints one JSON line with what it made.
"""

import argparse
import json
import os
import signal
import sys
import threading
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

# Pages are rendered from the source's static files (no collectstatic in the suite).
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, CaseSchedule, Petitioner, State  # noqa: E402
from cases.notifications import Message, notify_many  # noqa: E402
from oversight.models import SupervisionOrder  # noqa: E402

PEOPLE = ["handler", "head", "dispatcher", "supervisor", "handler_b", "head_b"]


def say(**facts) -> None:
    print(json.dumps(facts), flush=True)


def world():
    from types import SimpleNamespace

    from cases.models import Category, Department

    users = {user.username: user for user in get_user_model().objects.all()}
    return SimpleNamespace(
        **users, office=Department.objects.get(code="OFFICE"),
        a=Department.objects.get(code="A"), b=Department.objects.get(code="B"),
        category=Category.objects.get(name="占道经营"),
        petitioner=Petitioner.objects.get(name="刘建国"))


def setup(_args) -> None:
    from django.core.management import call_command

    from tests.factories import build_world

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        made = build_world()
        for name in PEOPLE:
            user = getattr(made, name)
            user.email = f"{name}@office.example"
            user.save(update_fields=["email"])
        made.petitioner.email = "liu@example.org"
        made.petitioner.save(update_fields=["email"])
    say(ready=True)


def _messages(count: int) -> list[Message]:
    people = list(get_user_model().objects.filter(username__in=PEOPLE)
                  .values_list("pk", flat=True))
    # Every message goes to two people, so one person's e-mails are spread over many
    # transactions and many tasks at once.
    return [Message([people[i % len(people)], people[(i + 1) % len(people)]], "handling",
                    f"故障演练 {timezone.now():%H%M%S} #{i}", "请处理", None)
            for i in range(count)]


def mail(args) -> None:
    """`count` messages, `chunk` per transaction (each commit publishes a send)."""
    messages = _messages(args.count)
    for start in range(0, len(messages), args.chunk):
        with transaction.atomic():
            notify_many(messages[start:start + args.chunk])
    say(messages=len(messages))


def mail_then_die(args) -> None:
    """An act commits its messages and its process is killed before it can publish:
    nothing but the beat's sweep knows the rows are there."""
    with transaction.atomic():
        # Registered first, so it runs after the commit and before the publish.
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        notify_many(_messages(args.count))
    say(survived=True)  # never printed


def _dispatched_case(w):
    from tests.factories import drive_to

    return drive_to(w, State.DISPATCHED)


def due(args) -> None:
    """Cases whose department's time ran out a minute ago: the sweep must escalate them."""
    w = world()
    now = timezone.now()
    ids = []
    for _ in range(args.count):
        case = _dispatched_case(w)
        Case.objects.filter(pk=case.pk).update(
            accepted_at=now - timedelta(days=3), due_at=now - timedelta(minutes=1))
        CaseSchedule.objects.update_or_create(
            case_id=case.pk, defaults={"next_action_at": now - timedelta(minutes=1)})
        ids.append(case.pk)
    say(cases=ids)


def hold(args) -> None:
    """A worker child that locked a batch of due cases and then stopped (SIGSTOP): its
    transaction stays open until PostgreSQL's idle_in_transaction timeout ends it."""
    w = world()
    ids = [_dispatched_case(w).pk for _ in range(args.count)]
    # Due two seconds from now, and locked at once: the sweep finds them due and locked.
    now = timezone.now()
    Case.objects.filter(pk__in=ids).update(
        accepted_at=now - timedelta(days=3), due_at=now + timedelta(seconds=2))
    for pk in ids:
        CaseSchedule.objects.update_or_create(
            case_id=pk, defaults={"next_action_at": now + timedelta(seconds=2)})
    transaction.set_autocommit(False)
    list(Case.objects.select_for_update().filter(pk__in=ids))
    say(held=ids)
    os.kill(os.getpid(), signal.SIGSTOP)


def pairs(args) -> None:
    """`count` cases each with an open supervision order and an approved result; for each,
    the department answers the order while the office replies by e-mail, at once. Answers
    every HTTP status seen."""
    from dispatch import services as dispatch_acts
    from tests.factories import drive_to

    w = world()
    numbers = []
    for _ in range(args.count):
        case = drive_to(w, State.IN_HANDLING)
        dispatch_acts.submit_result(actor=w.handler, case_id=case.pk, findings="已整改",
                                    opinion="已整改", result="已整改", is_solved=True)
        dispatch_acts.approve_result(actor=w.head, case_id=case.pk)
        dispatch_acts.approve_result(actor=w.dispatcher, case_id=case.pk)
        SupervisionOrder.objects.create(case=case, level=1,
                                        answer_due_at=timezone.now() + timedelta(days=1))
        numbers.append(case.number)
    connection.close()
    statuses: dict[str, list[int]] = {"answer": [], "reply": []}
    lock = threading.Lock()
    errors: list[str] = []
    start = threading.Barrier(2 * len(numbers))

    def post(kind, user, number, data):
        try:
            client = Client(raise_request_exception=False)  # a 500 is a status here
            client.force_login(user)
            url = reverse("cases:act", args=[number, kind])
            start.wait()
            response = client.post(url, data)
            status = response.status_code
            if status == 500 and getattr(response, "exc_info", None):
                with lock:
                    errors.append(repr(response.exc_info[1])[:500])
        except Exception as error:  # noqa: BLE001 - reported, not hidden
            status = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        with lock:
            statuses["answer" if kind == "answer_supervision" else "reply"].append(status)

    threads = []
    for number in numbers:
        threads.append(threading.Thread(target=post, args=(
            "answer_supervision", w.handler, number, {"answer": "已派人整改，三日内答复"})))
        threads.append(threading.Thread(target=post, args=(
            "reply", w.dispatcher, number, {"channel": "email", "content": "经核查已整改"})))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    say(cases=numbers, statuses=statuses, errors=errors[:5])


def platform(args) -> None:
    """`count` 12345 transfers with the platform's ticket, accepted and dispatched (two
    callbacks each) for a platform whose callback address is `--url`."""
    from cases.models import Channel
    from dispatch import services as dispatch_acts
    from intake import services as intake_acts
    from intake.models import Platform
    from tests.factories import register

    w = world()
    Platform.objects.update_or_create(code="bj12345", defaults={
        "name": "12345平台", "channel": Channel.HOTLINE_12345, "callback_url": args.url,
        "callback_secret": args.secret})
    numbers = []
    for i in range(args.count):
        case = register(w, channel=Channel.HOTLINE_12345,
                        external_reference=f"FT-{timezone.now():%H%M%S}-{i}")
        intake_acts.accept_case(actor=w.clerk, case_id=case.pk)
        dispatch_acts.dispatch_case(actor=w.dispatcher, case_id=case.pk,
                                    lead_department_id=w.a.pk)
        numbers.append(case.number)
    say(cases=numbers)


def main(argv) -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(required=True)
    commands.add_parser("setup").set_defaults(run=setup)
    for name, run in [("mail", mail), ("mail-then-die", mail_then_die), ("due", due),
                      ("hold", hold), ("pairs", pairs)]:
        command = commands.add_parser(name)
        command.add_argument("count", type=int)
        command.add_argument("--chunk", type=int, default=10)
        command.set_defaults(run=run)
    command = commands.add_parser("platform")
    command.add_argument("count", type=int)
    command.add_argument("--url", required=True)
    command.add_argument("--secret", required=True)
    command.set_defaults(run=platform)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
