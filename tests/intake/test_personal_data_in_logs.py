"""No phone, ID number or e-mail of a petitioner in a URL or a log line: a scripted
session through every door that handles them, with every logger listening at DEBUG."""

import html
import logging
import re
from smtplib import SMTPRecipientsRefused

import pytest
from django.core.signals import request_started
from django.test import Client
from django.urls import reverse

from cases import services as case_services
from cases.log_redaction import redact
from cases.models import Case, Delivery, State
from dispatch import services as dispatch_acts

from .helpers import token

PHONE = "13912345678"
PHONE_ALT = "01062345678"
ID_NUMBER = "110105199003070017"
EMAIL = "sun.lihua@example.org"
PUBLIC_PHONE = "13722334455"
PUBLIC_EMAIL = "zhou.ming@example.net"
SECRETS = (PHONE, "139 1234 5678", "1391234", PHONE_ALT, "62345678", ID_NUMBER, EMAIL,
           "sun.lihua", PUBLIC_PHONE, PUBLIC_EMAIL, "zhou.ming")
LOGGERS = ("", "django", "django.request", "django.server", "django.security",
           "django.db.backends", "celery", "cases", "intake", "dispatch", "feedback",
           "oversight")


@pytest.fixture
def listening(caplog):
    """Every log record at DEBUG, and every URL the session requests."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    urls = []

    def record(sender, environ=None, **kwargs):
        query = environ.get("QUERY_STRING", "")
        urls.append(environ["PATH_INFO"] + (f"?{query}" if query else "")
                    + " " + environ.get("HTTP_REFERER", ""))

    request_started.connect(record)
    yield caplog, urls
    request_started.disconnect(record)


def log_lines(caplog) -> list[str]:
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.getMessage()}")
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return lines


def leaks(texts) -> list[tuple[str, str]]:
    return [(secret, text) for text in texts for secret in SECRETS
            if secret.lower() in text.lower()]


def test_a_whole_session_leaves_no_personal_data_in_urls_or_logs(
        listening, world, django_capture_on_commit_callbacks, mailoutbox):
    caplog, urls = listening
    clerk = Client()
    clerk.force_login(world.clerk)

    # The counter: the known-petitioner lookup, a check for repeats, the registration.
    assert clerk.get(reverse("intake:register")).status_code == 200
    assert clerk.post(reverse("intake:lookup"),
                      {"phone": PHONE, "id_number": ID_NUMBER}).status_code == 200
    data = {"submission_token": str(token()), "channel": "visit", "name": "孙丽华",
            "phone": PHONE, "phone_alt": PHONE_ALT, "id_number": ID_NUMBER, "email": EMAIL,
            "gender": "female", "summary": "楼下餐馆油烟直排",
            "content": "和平里小区底商餐馆油烟未经净化直排，住户无法开窗。",
            "category": str(world.category.pk), "outcome": "accept"}
    assert clerk.post(reverse("intake:register"), {**data, "check": "1"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(reverse("intake:register"), data, follow=True)
    case = Case.objects.get(petitioner__name="孙丽华")
    code = re.search(r"查询码：([A-Z0-9]{4}-[A-Z0-9]{4})",
                     " ".join(str(m) for m in response.context["messages"])).group(1)
    assert clerk.get(reverse("intake:document",
                             args=[case.number, "acceptance_notice"])).status_code == 200
    assert clerk.post(reverse("intake:lookup"), {"phone": "123"}).status_code == 200
    assert clerk.post(reverse("intake:lookup"), {"id_number": ID_NUMBER}).status_code == 200

    # The 待受理 queue: searched by phone, by ID-less words and by number.
    for term in (PHONE, "油烟", case.number):
        found = clerk.post(reverse("intake:queue"), {"q": term}, follow=True)
        assert case in list(found.context["results"])

    # The public portal: a submission with a phone and an e-mail, then tracking.
    public = Client()
    with django_capture_on_commit_callbacks(execute=True):
        submitted = public.post(reverse("intake:public_submit"), {
            "submission_token": str(token()), "name": "周明", "phone": PUBLIC_PHONE,
            "email": PUBLIC_EMAIL, "summary": "阳光花园垃圾站三天未清运",
            "content": "垃圾站三天没有清运，异味严重。"})
    web_case = submitted.context["case"]
    public.get(reverse("intake:public_track") + f"?number={web_case.number}")
    assert public.post(reverse("intake:public_track"), {
        "number": web_case.number, "code": submitted.context["query_code"]}).status_code == 200
    assert public.post(reverse("intake:public_track"),
                       {"number": web_case.number, "code": PUBLIC_PHONE}).status_code == 404

    # The case is handled and replied by e-mail; the petitioner tracks it and rates it.
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="油烟直排属实",
                                opinion="责令安装净化器", result="已安装", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    office = Client()
    office.force_login(world.dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        replied = office.post(reverse("feedback:reply", args=[case.number]),
                              {"channel": "email", "content": "已责令安装油烟净化器。"})
    assert replied.status_code == 302
    assert office.get(reverse("cases:detail", args=[case.number])).status_code == 200
    page = public.post(reverse("intake:public_track"),
                       {"number": case.number, "code": code}).content.decode()
    link = html.unescape(re.search(r'href="(/public/rate/\?t=[^"]+)"', page).group(1))
    form = public.get(link)
    assert public.post(reverse("feedback:public_rate"), {
        "token": form.context["form"].initial["token"], "is_solved": "yes",
        "satisfaction": "satisfied", "comments": "谢谢"}).status_code == 200
    assert Case.objects.get(pk=case.pk).state == State.VISITED
    assert {m.to[0] for m in mailoutbox} >= {EMAIL, PUBLIC_EMAIL}  # the mail did go

    assert urls and not leaks(urls), leaks(urls)
    assert caplog.records  # the listening works (404s, the rate page, ...)
    assert not leaks(log_lines(caplog)), leaks(log_lines(caplog))


def test_a_failed_delivery_is_logged_by_its_id_not_its_address(caplog, world, monkeypatch):
    caplog.set_level(logging.DEBUG)
    case_services.queue_deliveries([Delivery(to=EMAIL, subject="s", body="b")])

    def refuse(self, messages):
        raise SMTPRecipientsRefused({EMAIL: (550, b"no such user " + EMAIL.encode())})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    case_services.send_deliveries()
    assert Delivery.objects.get().attempts == 1
    assert any("delivery" in line for line in log_lines(caplog))
    assert not leaks(log_lines(caplog)), leaks(log_lines(caplog))


@pytest.mark.parametrize(("text", "masked"), [
    ("GET /public/track/?phone=13800138001 HTTP/1.1", "GET /public/track/?… HTTP/1.1"),
    ("to liu@example.org failed", "to ***@*** failed"),
    ("id 110105199003070017", "id 110105********0017"),
    ("call 138 0013 8001 or +86-13800138001", "call 138****8001 or 138****8001"),
    ("desk 010-62345678", "desk 010-****5678"),
    ("case XF-2026-000123, delivery 42", "case XF-2026-000123, delivery 42"),
])
def test_the_log_filter_masks_what_a_library_might_log(text, masked):
    assert redact(text) == masked
