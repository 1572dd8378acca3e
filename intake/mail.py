"""E-mail intake: the office's mailbox, polled over IMAP (INTAKE_IMAP_URL).

Each new message is taken once, by its Message-ID, however many workers poll at the same
time: the `InboundMessage` row is inserted first, in the transaction that makes the case,
so a second poller waits on the unique index and then skips the message.

- A message in a thread of a case (In-Reply-To / References naming a message the office
  sent to the petitioner or received for the case), or from the case's petitioner with the
  case number in its subject, is added to that case as an event the office sees.
- Any other message is a received case from the public, registered by the same service
  as every other door (`services.register_case`: triage, acceptance clock, query code
  e-mailed back to the sender); the sender is the petitioner.
- Automatic mail (auto-replies, bounces, lists) and the office's own messages make no
  case; they are recorded as rejected.
- Attachments are judged by content like the portal's uploads; a file refused is named,
  with the reason, on the message's record and on the case.
- A message whose processing fails is recorded as failed, with the error, and is not
  tried again; the next messages are taken all the same.
"""

from __future__ import annotations

import email
import hashlib
import imaplib
import ipaddress
import logging
import re
import ssl
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email import policy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.attachments import check_public_uploads
from cases.models import Case, Channel, Delivery, DeliveryChannel, Petitioner, State
from cases.notifications import lead_workers, people_with_roles, tell
from cases.roles import Role

from . import services
from .models import InboundMessage, InboundState

logger = logging.getLogger(__name__)

# The lengths the registration forms allow (intake.forms) and the model's fields.
SUMMARY_MAX = 200
NAME_MAX = 50
SUBJECT_MAX = 250
SENDER_MAX = 254
MESSAGE_ID_MAX = 255
MAILBOX_MAX = 100
ATTACHMENT_NAME_MAX = 200
# Automatic senders: bounces and the mail system's own messages.
DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*)+", re.I)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
# Where a reply's quotation of the earlier message begins (mail clients in Chinese and
# English).
QUOTE_START_RE = re.compile(
    r"^\s*(-{2,}\s*(original message|原始邮件|原始郵件|转发的邮件)\s*-{2,}"
    r"|on .{4,200} wrote:|在.{2,200}写道\s*[:：]?|发件人\s*[:：].*|from:\s.*)\s*$", re.I)


# ---------------------------------------------------------------- the mailbox's address
@dataclass(frozen=True)
class MailboxConfig:
    """INTAKE_IMAP_URL read: imap+ssl://user:password@host:993/INBOX, imap+starttls://…,
    or imap://… (no encryption: only to a server on loopback)."""

    scheme: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str

    SCHEMES = {"imap+ssl": 993, "imaps": 993, "imap+starttls": 143, "imap": 143}

    @classmethod
    def from_url(cls, url: str) -> "MailboxConfig":
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in cls.SCHEMES:
            raise ImproperlyConfigured(
                "INTAKE_IMAP_URL must start with imap+ssl://, imap+starttls:// or imap://")
        if not parts.hostname or not parts.username:
            raise ImproperlyConfigured(
                "INTAKE_IMAP_URL needs a user and a host: imap+ssl://user:password@host/INBOX")
        try:
            port = parts.port or cls.SCHEMES[scheme]
        except ValueError as error:
            raise ImproperlyConfigured(f"INTAKE_IMAP_URL: {error}") from None
        if scheme == "imap" and not _is_loopback(parts.hostname):
            raise ImproperlyConfigured(
                "INTAKE_IMAP_URL: plain imap:// sends the password unencrypted and is only "
                "for a server on loopback; use imap+ssl:// or imap+starttls://")
        return cls(scheme=scheme, host=parts.hostname, port=port,
                   user=unquote(parts.username), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX")

    @property
    def label(self) -> str:
        """How the records name the mailbox (no password)."""
        return f"{self.user}@{self.host}/{self.folder}"[:MAILBOX_MAX]

    def connect(self):
        """A logged-in imap-tools mailbox on the folder; every socket operation gives up
        after INTAKE_IMAP_TIMEOUT seconds."""
        from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

        timeout = settings.INTAKE_IMAP_TIMEOUT
        if self.scheme in ("imap+ssl", "imaps"):
            box = MailBox(self.host, self.port, timeout=timeout,
                          ssl_context=ssl.create_default_context())
        elif self.scheme == "imap+starttls":
            box = MailBoxStartTls(self.host, self.port, timeout=timeout,
                                  ssl_context=ssl.create_default_context())
        else:
            box = MailBoxUnencrypted(self.host, self.port, timeout=timeout)
        try:
            return box.login(self.user, self.password, initial_folder=self.folder)
        except BaseException:
            _close(box)
            raise


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _close(box) -> None:
    try:
        box.logout()
    except Exception:  # noqa: BLE001 - a dead connection is closed already
        try:
            box.client.shutdown()
        except Exception:  # noqa: BLE001
            pass


# ---------------------------------------------------------------- a message, as read
@dataclass
class Attached:
    name: str
    content: bytes
    content_type: str


@dataclass
class Incoming:
    """What intake needs of one message, decoded and cleaned (no NUL, no surrogates)."""

    message_id: str
    sender: str
    name: str
    subject: str
    text: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    attachments: list[Attached]
    automatic: str  # why it is automatic mail, or ""


def parse_message(raw: bytes) -> Incoming:
    """Read a raw RFC 5322 message (as the IMAP server holds it)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    name, sender = _from(message)
    body_part = _body_part(message)
    text = _part_text(body_part) if body_part is not None else ""
    if body_part is not None and body_part.get_content_type() == "text/html":
        text = html_to_text(text)
    return Incoming(
        message_id=_message_id(_header(message, "Message-ID"), raw),
        sender=sender, name=name,
        subject=" ".join(clean_text(_header(message, "Subject")).split()),
        text=normalise_text(text),
        date=_date(_header(message, "Date")),
        in_reply_to=MESSAGE_ID_RE.findall(_header(message, "In-Reply-To")),
        references=MESSAGE_ID_RE.findall(_header(message, "References")),
        attachments=list(_attachments(message, body_part)),
        automatic=_automatic(message, sender),
    )


def _header(message, name: str) -> str:
    """A header's decoded value ("" when absent); a header the parser cannot read is
    taken as it came."""
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - malformed header: read it raw below
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()),
                     None)
    return clean_text(str(value)) if value is not None else ""


def _from(message) -> tuple[str, str]:
    """(display name, address) of the sender, the address in lower case."""
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        if addresses:
            return (clean_text(addresses[0].display_name or ""),
                    clean_text(addresses[0].addr_spec or "").strip().lower())
    except Exception:  # noqa: BLE001 - fall back to the plain parser
        pass
    found = getaddresses([_header(message, "From")])
    name, address = found[0] if found else ("", "")
    return clean_text(name), clean_text(address).strip().lower()


def _message_id(value: str, raw: bytes) -> str:
    """The Message-ID as `<...>`; a message without one gets a stable id made from its
    bytes (the same message polled twice has the same id); an id too long for the record
    is replaced by its hash."""
    found = MESSAGE_ID_RE.search(value)
    message_id = found.group(0) if found else (f"<{value.strip()}>" if value.strip() else "")
    if not message_id:
        return f"<{hashlib.sha256(raw).hexdigest()}@synthetic.invalid>"
    if len(message_id) > MESSAGE_ID_MAX:
        return f"<{hashlib.sha256(message_id.encode()).hexdigest()}@long-id.invalid>"
    return message_id


def _date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.utc)
    return moment


def _body_part(message):
    try:
        return message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a broken structure has no readable body
        return None


# Chinese mail often says gb2312 and uses characters only its supersets have.
CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                     "cp936": "gb18030", "ascii": "utf-8", "us-ascii": "utf-8"}


def _part_text(part) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = (part.get_content_charset() or "utf-8").lower()
    charset = CHARSET_SUPERSETS.get(charset, charset)
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset: most likely UTF-8
        return payload.decode("utf-8", errors="replace")


def _attachments(message, body_part):
    """Every leaf part that is a file: a name, or disposition attachment."""
    for number, part in enumerate(message.walk(), start=1):
        if part.is_multipart() or part is body_part:
            continue
        try:
            filename = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001 - an unreadable header names no file
            filename, disposition = None, None
        if not filename and disposition != "attachment":
            continue
        content = part.get_payload(decode=True) or b""
        yield Attached(name=_file_name(filename, number), content=content,
                       content_type=part.get_content_type())


def _file_name(filename: str | None, number: int) -> str:
    name = clean_text(filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = " ".join(name.split())[:ATTACHMENT_NAME_MAX]
    return name or _("附件%(n)s") % {"n": number}


def _automatic(message, sender: str) -> str:
    """Why this message was sent by a machine (no one to answer), or ""."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return _("自动发送的邮件（Auto-Submitted: %(value)s）") % {"value": auto_submitted}
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if _header(message, name):
            return _("自动回复邮件（%(header)s）") % {"header": name}
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return _("群发或自动邮件（Precedence: %(value)s）") % {"value": precedence}
    if sender.split("@", 1)[0] in DAEMONS:
        return _("邮件系统的退信或通知（%(sender)s）") % {"sender": sender}
    if _header(message, "Return-Path").strip() == "<>":
        return _("退信（空的退信地址）")
    if message.get_content_type() == "multipart/report":
        return _("退信或回执（multipart/report）")
    return ""


# ---------------------------------------------------------------- text
def clean_text(value: str) -> str:
    """Without what PostgreSQL cannot store or a page should not show: NUL and other
    control characters (tabs and line breaks stay), lone surrogates, and the escapes of
    undecodable bytes."""
    return "".join(
        character for character in value or ""
        if character in "\n\t" or not (
            unicodedata.category(character) in ("Cc", "Cs") or character == "\ufeff"))


def normalise_text(value: str) -> str:
    """Line breaks as \\n, trailing spaces off, at most one empty line in a row."""
    lines = [line.rstrip() for line in clean_text(value.replace("\r\n", "\n")
                                                  .replace("\r", "\n")).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()


class _TextOfHTML(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
              "blockquote", "pre", "hr", "section", "article", "header", "footer"}
    HIDDEN = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The text a reader of an HTML mail sees: no tags, scripts or styles; paragraphs and
    line breaks kept."""
    parser = _TextOfHTML()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - broken markup: what was read so far
        pass
    # Entities were decoded by the parser (convert_charrefs): not once more.
    return "\n".join(" ".join(line.split()) for line in "".join(parser.parts).split("\n"))


def capped(text: str, limit: int) -> tuple[str, bool]:
    """The text within `limit` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    marker = _("……（邮件过长，以下内容未录入）")
    return text[:limit - len(marker)].rstrip() + marker, True


def reply_text(text: str) -> str:
    """A reply without its quotation of the earlier messages (when something is left)."""
    kept = []
    for line in text.split("\n"):
        if QUOTE_START_RE.match(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    own = normalise_text("\n".join(kept))
    return own or text


# ---------------------------------------------------------------- taking one message
@dataclass
class PollResult:
    enabled: bool = True
    registered: int = 0
    added: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: int = 0
    error: str = ""

    def count(self, inbound: InboundMessage | None) -> None:
        if inbound is None:
            self.skipped += 1
            return
        attribute = {InboundState.REGISTERED: "registered", InboundState.ADDED: "added",
                     InboundState.REJECTED: "rejected"}.get(inbound.state, "failed")
        setattr(self, attribute, getattr(self, attribute) + 1)

    def as_data(self) -> dict:
        return asdict(self)


def take_message(*, raw: bytes, mailbox: str) -> InboundMessage | None:
    """Take one raw message: register it, add it to its case, or reject it. Answers its
    record, or None when another poller has taken it. Never raises for the message's own
    faults: those are recorded as failed (and the message is not tried again)."""
    try:
        incoming = parse_message(raw)
    except (SoftTimeLimitExceeded, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - any message the parser cannot read
        logger.exception("mailbox %s: a message could not be read", mailbox)
        incoming = Incoming(
            message_id=f"<{hashlib.sha256(raw).hexdigest()}@unreadable.invalid>", sender="",
            name="", subject="", text="", date=None, in_reply_to=[], references=[],
            attachments=[], automatic="")
        return _record_failure(incoming, mailbox, error)
    try:
        return _take(incoming, mailbox)
    except (SoftTimeLimitExceeded, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - recorded below, not retried forever
        logger.exception("mailbox %s: message %s failed", mailbox, incoming.message_id)
        return _record_failure(incoming, mailbox, error)


def _record(incoming: Incoming, mailbox: str, **fields) -> InboundMessage:
    return InboundMessage(
        message_id=incoming.message_id, mailbox=mailbox[:MAILBOX_MAX],
        sender=incoming.sender[:SENDER_MAX], subject=incoming.subject[:SUBJECT_MAX],
        received_at=incoming.date, taken_at=timezone.now(), **fields)


def _record_failure(incoming: Incoming, mailbox: str, error: Exception) -> InboundMessage | None:
    """The failure, recorded in a transaction of its own (the message's was rolled back);
    None when another poller took the message meanwhile."""
    reason = clean_text(f"{type(error).__name__}: {error}")[:2000]
    try:
        with transaction.atomic():
            inbound = _record(incoming, mailbox, state=InboundState.FAILED, error=reason)
            inbound.save(force_insert=True)
            return inbound
    except IntegrityError:
        return None


@case_services.act_transaction
def _take(incoming: Incoming, mailbox: str) -> InboundMessage | None:
    """One transaction: the claim first (a second poller waits here, then skips), then
    the case or the note, then the record's outcome."""
    inbound = _record(incoming, mailbox, state=InboundState.FAILED)
    try:
        with transaction.atomic():
            inbound.save(force_insert=True)
    except IntegrityError:
        return None
    refusal = _refusal(incoming)
    if refusal:
        inbound.state, inbound.error = InboundState.REJECTED, refusal
    else:
        case = _thread_case(incoming)
        notes: list[str] = []
        if case is not None and case.state == State.ARCHIVED:
            notes.append(_("原案件 %(number)s 已归档，本邮件登记为新案件（关联前案）。") % {
                "number": case.number})
            case = _register(incoming, notes, earlier_case=case)
            inbound.state = InboundState.REGISTERED
        elif case is not None:
            _add_to_case(case, incoming, notes)
            inbound.state = InboundState.ADDED
        else:
            case = _register(incoming, notes)
            inbound.state = InboundState.REGISTERED
        inbound.case, inbound.error = case, "\n".join(notes)
    inbound.save(update_fields=["state", "error", "case"])
    return inbound


def own_addresses() -> set[str]:
    """The addresses the office sends from: its mail to itself is never a petition."""
    found = {parseaddr(value)[1].strip().lower()
             for value in (settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL) if value}
    if settings.INTAKE_IMAP_URL:
        try:
            user = MailboxConfig.from_url(settings.INTAKE_IMAP_URL).user.lower()
        except ImproperlyConfigured:
            user = ""
        if "@" in user:
            found.add(user)
    return found - {""}


def _refusal(incoming: Incoming) -> str:
    """Why this message makes no case (automatic, the office's own, no sender, nothing
    in it), or ""."""
    if incoming.automatic:
        return incoming.automatic
    if not incoming.sender:
        return _("邮件没有发件人地址。")
    if incoming.sender in own_addresses():
        return _("本办自己发出的邮件（%(sender)s）。") % {"sender": incoming.sender}
    try:
        validate_email(incoming.sender)
    except ValidationError:
        return _("发件人地址无效：%(sender)s") % {"sender": incoming.sender[:SENDER_MAX]}
    if len(incoming.sender) > SENDER_MAX:
        return _("发件人地址过长。")
    if not incoming.text and not _subject(incoming) and not incoming.attachments:
        return _("邮件没有主题、正文和附件。")
    return ""


def _subject(incoming: Incoming) -> str:
    return REPLY_PREFIX_RE.sub("", incoming.subject).strip()


# ---------------------------------------------------------------- which case it answers
def _thread_case(incoming: Incoming) -> Case | None:
    """The case this message answers: the newest message it replies to that the office
    sent to the petitioner or received for a case; else the case whose number its subject
    names, when the sender is that case's petitioner."""
    mentioned = list(dict.fromkeys([*reversed(incoming.in_reply_to),
                                    *reversed(incoming.references)]))
    if mentioned:
        # The office's messages to petitioners only: a staff member answering a
        # notification e-mail is not a petitioner writing.
        known = dict(Delivery.objects.filter(
            message_id__in=mentioned, case__isnull=False, notification__isnull=True,
            channel=DeliveryChannel.EMAIL).values_list("message_id", "case_id"))
        known.update((message_id, case_id) for message_id, case_id in
                     InboundMessage.objects.filter(message_id__in=mentioned,
                                                   case__isnull=False)
                     .values_list("message_id", "case_id") if message_id not in known)
        for message_id in mentioned:
            if message_id in known:
                return _followed(known[message_id])
    pattern = re.compile(rf"{re.escape(settings.CASE_NUMBER_PREFIX)}-\d{{4}}-\d{{6,9}}", re.I)
    for number in pattern.findall(incoming.subject):
        case = Case.objects.filter(number=number.upper(),
                                   petitioner__email__iexact=incoming.sender).first()
        if case is not None:
            return _followed(case.pk)
    return None


def _followed(case_id: int) -> Case:
    """The case, or the case it was merged into (locked)."""
    case = case_services.lock_case(case_id)
    seen = {case.pk}
    while case.state == State.MERGED and case.merged_into_id and case.merged_into_id not in seen:
        case = case_services.lock_case(case.merged_into_id)
        seen.add(case.pk)
    return case


# ---------------------------------------------------------------- the case
def _register(incoming: Incoming, notes: list[str], *, earlier_case: Case | None = None) -> Case:
    """A received case from the public, by the registration service of every door."""
    subject = _subject(incoming)
    content, cut = capped(incoming.text or subject or _("（邮件无正文，见附件）"),
                          settings.CASE_CONTENT_MAX_CHARS)
    if cut:
        notes.append(_("邮件正文超过 %(n)s 字，已截取。") % {"n": settings.CASE_CONTENT_MAX_CHARS})
    first_line = next((line.strip() for line in content.split("\n") if line.strip()), "")
    summary = " ".join((subject or first_line).split())[:SUMMARY_MAX]
    name = " ".join(incoming.name.split()) or incoming.sender.split("@", 1)[0]
    person = Petitioner(name=name[:NAME_MAX], email=incoming.sender)
    person.full_clean(exclude=["phone"])  # an e-mail gives an address, not a phone
    person.save()
    case = services.register_case(
        actor=None, channel=Channel.EMAIL, petitioner=person, summary=summary,
        content=content, earlier_case=earlier_case)
    _keep_attachments(case, incoming, notes)
    return case


def _add_to_case(case: Case, incoming: Incoming, notes: list[str]) -> None:
    """The petitioner's message, on the (locked) case: an event with its text, its files
    kept, and whoever holds the case told."""
    text, cut = capped(reply_text(incoming.text), settings.CASE_CONTENT_MAX_CHARS)
    if cut:
        notes.append(_("邮件正文超过 %(n)s 字，已截取。") % {"n": settings.CASE_CONTENT_MAX_CHARS})
    kept = _keep_attachments(case, incoming, notes, event=False)
    lines = [_("主题：%(subject)s") % {"subject": incoming.subject}] if incoming.subject else []
    lines.append(text or _("（邮件无正文）"))
    if kept:
        lines.append(_("附件：%(names)s") % {"names": "、".join(kept)})
    lines.extend(notes)
    case_services.record_event(
        case, actor=None, action="email_received", note="\n".join(lines),
        data={"message_id": incoming.message_id, "from": incoming.sender,
              "attachments": kept})
    notes.insert(0, _("已追加到案件 %(number)s。") % {"number": case.number})
    holders = (lead_workers(case) if case.state in (State.DISPATCHED, State.IN_HANDLING)
               else people_with_roles(Role.DISPATCHER))
    tell(holders, kind="email_received", case=case,
         title=_("信访人来信补充：%(number)s") % {"number": case.number}, body=case.summary)


def _keep_attachments(case: Case, incoming: Incoming, notes: list[str], *,
                      event: bool = True) -> list[str]:
    """Judge each file as the portal judges uploads (type by content, a name that agrees,
    size, the case's quota); keep the good ones, name each refused one with its reason in
    `notes` (and, with `event`, in an event on the case). Answers the names kept."""
    kept, refused = [], []
    for attached in incoming.attachments:
        upload = SimpleUploadedFile(attached.name, attached.content,
                                    content_type=attached.content_type)
        try:
            if len(kept) >= settings.PUBLIC_ATTACHMENT_MAX_FILES:
                raise ValidationError(_("每封邮件最多收 %(n)s 个附件。") % {
                    "n": settings.PUBLIC_ATTACHMENT_MAX_FILES})
            with transaction.atomic():
                check_public_uploads([upload])
                case_services.add_attachments(actor=None, case=case, uploads=[upload])
        except ValidationError as error:
            refused.append(_("附件「%(name)s」未收：%(reason)s") % {
                "name": attached.name, "reason": "".join(error.messages)})
            continue
        kept.append(attached.name)
    notes.extend(refused)
    if refused and event:
        case_services.record_event(case, actor=None, action="email_attachment_refused",
                                   note="\n".join(refused),
                                   data={"message_id": incoming.message_id})
    return kept


# ---------------------------------------------------------------- polling
def poll_mailbox(*, url: str | None = None, batch: int | None = None) -> PollResult:
    """Take the mailbox's unseen messages (at most INTAKE_IMAP_BATCH), oldest first; each
    taken one is marked seen (and moved to INTAKE_IMAP_DONE_FOLDER when set). A server
    that cannot be reached, or a connection lost midway, is logged and the run ends: the
    rest waits for the next run."""
    url = settings.INTAKE_IMAP_URL if url is None else url
    result = PollResult(enabled=bool(url))
    if not url:
        return result
    try:
        config = MailboxConfig.from_url(url)
    except ImproperlyConfigured as error:
        logger.error("e-mail intake is off: %s", error)
        result.error = str(error)
        return result
    from imap_tools.errors import ImapToolsError

    box = None
    try:
        box = config.connect()
        done_folder = _done_folder(box)
        uids = sorted(box.uids("UNSEEN"), key=int)[:batch or settings.INTAKE_IMAP_BATCH]
        for uid in uids:
            raw = _fetch(box, uid)
            if raw is None:  # expunged by someone else meanwhile
                continue
            result.count(take_message(raw=raw, mailbox=config.label))
            _mark_done(box, uid, done_folder)
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        logger.warning("mailbox %s unreachable or failing: %s: %s", config.label,
                       type(error).__name__, error)
        result.error = f"{type(error).__name__}: {error}"
    finally:
        if box is not None:
            _close(box)
    if result.registered or result.added or result.rejected or result.failed:
        logger.info("mailbox %s: %s", config.label, result.as_data())
    return result


def _done_folder(box) -> str:
    folder = settings.INTAKE_IMAP_DONE_FOLDER
    if folder and not box.folder.exists(folder):
        box.folder.create(folder)
    return folder


def _fetch(box, uid: str) -> bytes | None:
    """The message's bytes, without marking it seen (BODY.PEEK)."""
    status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH {uid}: {status} {data!r}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _mark_done(box, uid: str, folder: str) -> None:
    from imap_tools import MailMessageFlags

    box.flag(uid, MailMessageFlags.SEEN, True)
    if folder:
        box.move(uid, folder)
