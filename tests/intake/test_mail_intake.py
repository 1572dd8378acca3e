"""E-mail intake against a real IMAP server (Dovecot on loopback, started by scripts/test):
messages are put in the mailbox with IMAP APPEND, then the mailbox is polled."""

import base64
import logging
import os
import socket
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core import mail as outbox
from django.core.management import call_command
from django.urls import reverse

from cases.models import Attachment, Case, CaseEvent, Channel, Delivery, Notification, State
from intake import mail, services, tasks
from intake.models import InboundMessage, InboundState

from ..factories import build_world, drive_to, run_together
from .helpers import PDF_BYTES, PNG_BYTES

IMAP_URL = os.environ.get("TEST_IMAP_URL", "")
needs_imap = pytest.mark.skipif(
    not IMAP_URL, reason="needs an IMAP server: set TEST_IMAP_URL (scripts/test starts Dovecot)")
pytestmark = needs_imap

PETITIONER = "张敏 <zhang.min@example.org>"


class Mailbox:
    """A folder of its own on the test server, for one test (tests run in parallel)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.parts = parts
        self.folder = f"t{uuid.uuid4().hex[:12]}"
        self.url = urlunsplit(parts._replace(path=f"/{self.folder}"))
        with self.box() as box:
            box.folder.create(self.folder)

    def box(self):
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted(self.parts.hostname, self.parts.port).login(
            self.parts.username, self.parts.password, initial_folder=None)

    def append(self, *messages) -> None:
        with self.box() as box:
            for message in messages:
                box.append(message if isinstance(message, bytes) else message.as_bytes(),
                           self.folder)

    def seen(self, folder: str | None = None) -> list[bool]:
        """Whether each message of the folder is marked \\Seen."""
        with self.box() as box:
            box.folder.set(folder or self.folder)
            return ["\\Seen" in message.flags
                    for message in box.fetch(mark_seen=False, headers_only=True)]

    def remove(self) -> None:
        with self.box() as box:
            for folder in box.folder.list():
                if folder.name.startswith(self.folder):
                    box.folder.delete(folder.name)


@pytest.fixture
def mailbox(settings):
    box = Mailbox(IMAP_URL)
    settings.INTAKE_IMAP_URL = box.url
    settings.INTAKE_IMAP_DONE_FOLDER = ""
    settings.DEFAULT_FROM_EMAIL = "信访办 <xinfang@office.example>"
    yield box
    box.remove()


def letter(*, subject="小区楼道灯坏了一个月", body="和平里3号楼2单元楼道灯坏了一个月，晚上老人上下楼很危险。",
           sender=PETITIONER, message_id=True, headers=None, attachments=()) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "xinfang@office.example"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    if message_id:
        message["Message-ID"] = make_msgid(domain="example.org") if message_id is True \
            else message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, content, content_type in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def poll():
    return mail.poll_mailbox()


def only_case() -> Case:
    (case,) = Case.objects.all()
    return case


# ---------------------------------------------------------------- a new message
def test_a_new_message_is_a_received_case_with_the_sender_as_petitioner(world, mailbox):
    first = letter(attachments=[("楼道照片.pdf", PDF_BYTES, "application/pdf")])
    mailbox.append(first)
    result = poll()
    assert (result.registered, result.failed, result.error) == (1, 0, "")
    case = only_case()
    assert case.channel == Channel.EMAIL and case.state == State.RECEIVED
    assert case.registered_by is None
    assert (case.petitioner.email, case.petitioner.name) == ("zhang.min@example.org", "张敏")
    assert case.summary == "小区楼道灯坏了一个月"
    assert "老人上下楼很危险" in case.content
    (attachment,) = Attachment.objects.filter(case=case)
    assert (attachment.original_name, attachment.content_type) == ("楼道照片.pdf",
                                                                    "application/pdf")
    inbound = InboundMessage.objects.get()
    assert inbound.message_id == first["Message-ID"]
    assert (inbound.state, inbound.case, inbound.sender) == (
        InboundState.REGISTERED, case, "zhang.min@example.org")
    # The petitioner gets the case number and query code, like the portal's.
    assert Delivery.objects.filter(case=case, to="zhang.min@example.org").exists()
    assert mailbox.seen() == [True]
    assert poll().registered == 0  # seen and claimed: never twice


def test_a_case_from_the_mailbox_gets_triage_like_every_door(world, mailbox):
    mailbox.append(letter(subject="楼道里闻到燃气味", body="3号楼楼道里闻到燃气味，请赶快派人。"))
    poll()
    case = only_case()
    assert case.tier.code == "T1"  # the safety phrases, as for the portal and the API
    assert "safety" in case.events.get(action="register").data


def test_an_html_message_is_read_as_its_text(world, mailbox):
    message = EmailMessage()
    message["From"], message["Subject"] = PETITIONER, "噪音扰民"
    message["Message-ID"] = make_msgid()
    message.set_content("<html><head><style>p{color:red}</style></head><body><p>工地夜间施工"
                        "&amp;噪音</p><script>alert(1)</script><p>已持续两周</p></body></html>",
                        subtype="html")
    mailbox.append(message)
    poll()
    content = only_case().content
    assert "工地夜间施工&噪音" in content and "已持续两周" in content
    assert "<" not in content and "alert" not in content and "color" not in content


def test_nul_bytes_and_undecodable_bytes_are_stripped(world, mailbox):
    body = "楼道\x00灯坏了".encode() + b"\xed\xa0\x80\xff" + "请修理".encode()
    raw = (b"From: zhang.min@example.org\r\nSubject: =?utf-8?b?"
           + base64.b64encode("灯\x00坏了".encode()) + b"?=\r\nMessage-ID: <nul-1@example.org>"
           b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(body))
    mailbox.append(raw)
    assert poll().registered == 1
    case = only_case()
    assert "\x00" not in case.content and "\x00" not in case.summary
    assert case.content.startswith("楼道灯坏了") and case.content.endswith("请修理")
    assert case.summary == "灯坏了"


def test_a_long_body_is_cut_to_the_forms_length_and_said_so(world, mailbox, settings):
    settings.CASE_CONTENT_MAX_CHARS = 300
    mailbox.append(letter(subject="长" * 400, body="很长的来信。" * 200))
    poll()
    case = only_case()
    assert len(case.content) <= 300 and len(case.summary) <= 200
    assert "已截取" in InboundMessage.objects.get().error


def test_a_message_without_message_id_is_taken_once_by_a_stable_id(world, mailbox):
    raw = letter(message_id=False).as_bytes()
    mailbox.append(raw, raw)  # the same message delivered twice
    result = poll()
    assert (result.registered, result.skipped) == (1, 1)
    inbound = InboundMessage.objects.get()
    assert inbound.message_id.endswith("@synthetic.invalid>")
    assert Case.objects.count() == 1
    assert mailbox.seen() == [True, True]


# ---------------------------------------------------------------- attachments
def test_a_disguised_attachment_is_refused_and_noted_never_a_crash(world, mailbox):
    page = b"<!doctype html><html><body><script>steal()</script></body></html>"
    mailbox.append(letter(attachments=[("材料.pdf", page, "application/pdf"),
                                       ("现场.png", PNG_BYTES, "image/png")]))
    assert poll().registered == 1
    case = only_case()
    assert list(case.attachments.values_list("original_name", flat=True)) == ["现场.png"]
    inbound = InboundMessage.objects.get()
    assert "材料.pdf" in inbound.error and "按文件内容判断" in inbound.error
    event = case.events.get(action="email_attachment_refused")
    assert "材料.pdf" in event.note


def test_more_files_than_the_portal_allows_are_refused_by_name(world, mailbox, settings):
    settings.PUBLIC_ATTACHMENT_MAX_FILES = 1
    mailbox.append(letter(attachments=[("一.png", PNG_BYTES, "image/png"),
                                       ("二.png", PNG_BYTES, "image/png")]))
    poll()
    assert only_case().attachments.count() == 1
    assert "二.png" in InboundMessage.objects.get().error


# ---------------------------------------------------------------- replies in a thread
def test_a_reply_in_the_thread_is_added_to_its_case(world, mailbox):
    first = letter()
    mailbox.append(first)
    poll()
    case = only_case()
    reply = letter(subject="Re: 小区楼道灯坏了一个月", body=(
        "补充一下：4号楼的灯也坏了。\n\n在 2026年12月1日 张敏 写道：\n> 和平里3号楼2单元楼道灯坏了"),
        headers={"In-Reply-To": first["Message-ID"], "References": first["Message-ID"]},
        attachments=[("四号楼.png", PNG_BYTES, "image/png")])
    mailbox.append(reply)
    result = poll()
    assert (result.added, result.registered) == (1, 0)
    assert Case.objects.count() == 1
    event = case.events.get(action="email_received")
    assert "4号楼的灯也坏了" in event.note and "写道" not in event.note
    assert event.actor is None and event.data["from"] == "zhang.min@example.org"
    assert case.attachments.filter(original_name="四号楼.png").exists()
    inbound = InboundMessage.objects.get(message_id=reply["Message-ID"])
    assert (inbound.state, inbound.case) == (InboundState.ADDED, case)
    # The office hears of it (the dispatchers, while the case waits to be dispatched).
    assert Notification.objects.filter(recipient=world.dispatcher, case=case,
                                       kind="email_received").exists()


def test_a_reply_to_the_offices_own_e_mail_is_added_to_its_case(world, mailbox):
    mailbox.append(letter())
    poll()
    case = only_case()
    sent = Delivery.objects.get(case=case, to="zhang.min@example.org")  # the query code
    mailbox.append(letter(subject="回复：已登记您的信访事项", body="谢谢，另外物业电话打不通。",
                          headers={"In-Reply-To": sent.message_id}))
    assert poll().added == 1
    assert Case.objects.count() == 1
    assert "物业电话打不通" in case.events.get(action="email_received").note


def test_the_case_number_in_the_subject_adds_to_the_case_of_that_petitioner_only(world,
                                                                                mailbox):
    mailbox.append(letter())
    poll()
    case = only_case()
    mailbox.append(letter(subject=f"【案件编号 {case.number}】补充材料", body="补充：灯是声控的。"))
    assert poll().added == 1
    assert case.events.filter(action="email_received").count() == 1
    # Anyone can type a number: from someone else it is a new matter, not a note.
    mailbox.append(letter(subject=f"【案件编号 {case.number}】", body="我家楼道也一样。",
                          sender="王强 <wang@example.net>"))
    assert poll().registered == 1
    assert Case.objects.count() == 2
    assert case.events.filter(action="email_received").count() == 1


def test_a_reply_to_an_archived_case_is_a_new_case_linked_to_it(world, mailbox):
    world.petitioner.email = "zhang.min@example.org"
    world.petitioner.save(update_fields=["email"])
    archived = drive_to(world, State.ARCHIVED)
    mailbox.append(letter(subject=f"Re: {archived.number}", body="灯又坏了。"))
    assert poll().registered == 1
    case = Case.objects.exclude(pk=archived.pk).get()
    assert case.earlier_case == archived and case.is_repeat
    assert archived.number in InboundMessage.objects.get().error


# ---------------------------------------------------------------- no case
@pytest.mark.parametrize("sender, headers", [
    (PETITIONER, {"Auto-Submitted": "auto-replied"}),
    (PETITIONER, {"X-Autoreply": "yes"}),
    ("Mail Delivery System <MAILER-DAEMON@example.org>", {}),
    (PETITIONER, {"Precedence": "bulk"}),
    ("信访办 <xinfang@office.example>", {}),  # our own address
], ids=["auto-submitted", "x-autoreply", "bounce", "bulk", "own-address"])
def test_automatic_mail_and_our_own_make_no_case(world, mailbox, sender, headers):
    mailbox.append(letter(sender=sender, headers=headers))
    result = poll()
    assert (result.rejected, result.registered) == (1, 0)
    assert not Case.objects.exists()
    inbound = InboundMessage.objects.get()
    assert inbound.state == InboundState.REJECTED and inbound.error
    assert mailbox.seen() == [True]


def test_a_failing_message_is_recorded_once_and_the_others_are_taken(world, mailbox,
                                                                     monkeypatch):
    register = services.register_case

    def fragile(**arguments):
        if "坏邮件" in arguments["summary"]:
            raise RuntimeError("数据库之外的意外")
        return register(**arguments)

    monkeypatch.setattr(services, "register_case", fragile)
    mailbox.append(letter(subject="坏邮件"), letter())
    result = poll()
    assert (result.failed, result.registered) == (1, 1)
    failed = InboundMessage.objects.get(state=InboundState.FAILED)
    assert "RuntimeError" in failed.error and failed.case is None
    assert Case.objects.count() == 1
    assert mailbox.seen() == [True, True]
    # Not tried again, even when it shows up unseen once more.
    with mailbox.box() as box:
        box.folder.set(mailbox.folder)
        box.flag(box.uids(), "\\Seen", False)
    assert poll().as_data() | {"enabled": True} == {
        "enabled": True, "registered": 0, "added": 0, "rejected": 0, "failed": 0,
        "skipped": 2, "error": ""}


def test_taken_messages_move_to_the_done_folder_when_one_is_named(world, mailbox, settings):
    settings.INTAKE_IMAP_DONE_FOLDER = f"{mailbox.folder}_done"
    mailbox.append(letter())
    poll()
    assert mailbox.seen() == []
    assert mailbox.seen(settings.INTAKE_IMAP_DONE_FOLDER) == [True]


# ---------------------------------------------------------------- exactly once
@pytest.mark.postgres
def test_two_pollers_at_once_take_each_message_once(committed_db, postgres_only, mailbox):
    build_world()
    mailbox.append(*[letter(subject=f"第{n}封来信：路灯不亮", body=f"第{n}条路的路灯不亮。")
                     for n in range(20)])
    outcomes = run_together(poll, poll)
    assert all(isinstance(outcome, mail.PollResult) for outcome in outcomes), outcomes
    assert sum(outcome.registered for outcome in outcomes) == 20
    assert Case.objects.count() == 20 and InboundMessage.objects.count() == 20
    assert len(set(Case.objects.values_list("summary", flat=True))) == 20
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {
        InboundState.REGISTERED}


# ---------------------------------------------------------------- the server and settings
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_down_is_logged_and_the_run_ends(db, settings, caplog):
    settings.INTAKE_IMAP_URL = f"imap://intake:x@127.0.0.1:{_closed_port()}/INBOX"
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        result = tasks.poll_mailbox.delay().get()  # the beat's task: no exception
    assert result["error"] and result["registered"] == 0
    assert "unreachable" in caplog.text


def test_a_wrong_password_is_logged_and_the_run_ends(db, settings, caplog):
    parts = urlsplit(IMAP_URL)
    settings.INTAKE_IMAP_URL = urlunsplit(parts._replace(
        netloc=f"{parts.username}:wrong@{parts.hostname}:{parts.port}"))
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        assert mail.poll_mailbox().error
    assert "unreachable or failing" in caplog.text


def test_no_mailbox_configured_means_no_e_mail_intake(db, settings):
    settings.INTAKE_IMAP_URL = ""
    assert tasks.poll_mailbox.delay().get()["enabled"] is False


@pytest.mark.parametrize("url, reason", [
    ("imap://u:p@mail.example.org/INBOX", "loopback"),
    ("pop3://u:p@127.0.0.1/", "must start with"),
    ("imap+ssl://mail.example.org/INBOX", "needs a user"),
])
def test_a_mailbox_address_that_cannot_be_used_is_named(url, reason):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=reason):
        mail.MailboxConfig.from_url(url)


def test_the_mailbox_address_is_read_with_its_folder_and_escapes():
    config = mail.MailboxConfig.from_url("imap+ssl://xf%40office.example:p%2Fw@imap.example/"
                                         "%E6%9D%A5%E4%BF%A1")
    assert (config.user, config.password, config.port, config.folder) == (
        "xf@office.example", "p/w", 993, "来信")
    assert "p/w" not in repr(config) and config.label == "xf@office.example@imap.example/来信"


# ---------------------------------------------------------------- by hand, and the admin
def test_the_command_polls_by_hand(world, mailbox, capsys):
    mailbox.append(letter())
    call_command("poll_mailbox")
    assert "新登记 1 件" in capsys.readouterr().out
    assert Case.objects.count() == 1


def test_the_admin_lists_messages_read_only_with_their_case(world, mailbox, client):
    mailbox.append(letter(), letter(headers={"Auto-Submitted": "auto-replied"}))
    poll()
    client.force_login(world.admin)
    url = reverse("admin:intake_inboundmessage_changelist")
    page = client.get(url, {"state__exact": InboundState.REGISTERED})
    assert page.status_code == 200
    assert only_case().number in page.content.decode()
    assert client.get(url, {"q": "zhang.min"}).status_code == 200
    inbound = InboundMessage.objects.get(state=InboundState.REJECTED)
    assert client.post(reverse("admin:intake_inboundmessage_change", args=[inbound.pk]),
                       {"state": InboundState.REGISTERED}).status_code == 403
    assert not CaseEvent.objects.filter(action="email_received").exists()
