"""Results pushed back to the platform that sent a case (issue 16, item 4).

Each act the platform must hear of (acceptance, refusal, dispatch, extension, reply,
return-visit verdict, reopening, archiving, ...) writes one outbox row (cases.Delivery on
the `platform` channel, `to` the platform's code) in the act's own transaction, through
the listener on every case event. The row's body is the JSON the platform receives; its
`message_id` is the idempotency key (the same for every attempt, made from the event, so
that the receiver can discard a repeat).

A worker (intake.tasks.send_callbacks, after the commit and on the beat's sweep) leases
due rows in a short transaction, posts them outside any transaction with a timeout,
signed with HMAC-SHA256 under the platform's secret, logs every attempt
(intake.CallbackAttempt) and retries with backoff. Rows of one case leave in the order
they were written: a row waits while an earlier row of its case is unsent (pending or
failed), so no two workers ever post two events of one case at once, and a receiver
that is down holds its cases' later events back until it answers.

Signature: ``X-Petitions-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Petitions-Timestamp`` the Unix time of the attempt; the README shows how to
verify it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import reference
from cases.models import Case, CaseEvent, Channel, Delivery, DeliveryChannel, DeliveryState

from .models import CallbackAttempt, Platform, PlatformCase

logger = logging.getLogger(__name__)

# Case event action -> the event name the platform receives.
EVENTS = {
    "accept": "accepted",
    "answer_on_the_spot": "answered_on_the_spot",
    "refuse": "refused",
    "merge": "merged",
    "withdraw": "withdrawn",
    "dispatch": "dispatched",
    "handle_directly": "dispatched",
    "change_lead_department": "dispatched",
    "extend": "extended",
    "reply_to_petitioner": "replied",
    "record_return_visit": "visited",
    "visit_unreached": "visit_unreached",
    "reopen": "reopened",
    "archive": "archived",
    "change_tier": "deadline_changed",
    # A case merged into another: the main case's answer relayed to its petitioner, and
    # their own verdict on it (feedback.merged).
    "merged_reply": "replied",
    "record_merged_visit": "visited",
}

EVENT_LABELS = {
    "accepted": gettext_lazy("受理"), "answered_on_the_spot": gettext_lazy("当场答复"),
    "refused": gettext_lazy("不予受理"), "merged": gettext_lazy("合并"),
    "withdrawn": gettext_lazy("撤回"), "dispatched": gettext_lazy("交办"),
    "extended": gettext_lazy("延期"), "replied": gettext_lazy("答复"),
    "visited": gettext_lazy("回访"), "visit_unreached": gettext_lazy("回访未联系上"),
    "reopened": gettext_lazy("重办"), "archived": gettext_lazy("归档"),
    "deadline_changed": gettext_lazy("期限调整"),
}


# ---------------------------------------------------------------- which platform hears
def _platforms() -> dict:
    """Every platform by pk, and the 12345 platform for the office's own transfers (the
    first active one whose channel is 12345平台转办, by id)."""
    def load():
        rows = sorted(Platform.objects.all(), key=lambda p: p.pk)
        return {"by_pk": {p.pk: p for p in rows},
                "hotline": next((p for p in rows if p.is_active
                                 and p.channel == Channel.HOTLINE_12345), None)}
    return reference.held("callback-platforms", load)


def platform_of_case(case: Case) -> Platform | None:
    """The platform that hears of this case: the one that sent it (its ticket), else —
    for a 12345 transfer registered by the office with the platform's ticket — the 12345
    platform. Whether it has a callback address yet does not matter: its rows wait for
    one (the sender holds them), so that nothing done meanwhile is lost."""
    held = _platforms()
    if not held["by_pk"]:
        return None  # no platform at all: nothing to look up
    platform_id = (PlatformCase.objects.filter(case_id=case.pk)
                   .values_list("platform_id", flat=True).first())
    if platform_id is not None:
        return held["by_pk"].get(platform_id) or Platform.objects.filter(pk=platform_id).first()
    if case.channel == Channel.HOTLINE_12345 and case.external_reference:
        return held["hotline"]
    return None


def event_name(event: CaseEvent) -> str | None:
    name = EVENTS.get(event.action)
    if event.action == "record_merged_visit" and not (event.data or {}).get("reached"):
        return "visit_unreached"
    return name


def idempotency_key(platform: Platform, event: CaseEvent) -> str:
    return f"{platform.code}-{event.case_id}-{event.pk}"


def _iso(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _data(case: Case, event: CaseEvent, name: str) -> dict:
    """What the platform needs to know of the act: the words told to the petitioner,
    deadlines and the department that answers, never a handler's name nor the office's
    internal notes."""
    data = event.data or {}
    if event.action == "merged_reply":
        from feedback.models import Reply

        reply = Reply.objects.filter(pk=data.get("reply")).first()
        return {"text": reply.content if reply else "",
                "next_steps": reply.next_steps if reply else "",
                "channel": data.get("channel", ""), "stage": "merged",
                "replied_at": _iso(event.at), "final_due_at": None}
    if event.action == "record_merged_visit":
        return ({"reached": True, "is_solved": data.get("is_solved"),
                 "satisfaction": data.get("satisfaction", "")} if data.get("reached")
                else {"reached": False, "attempt": None})
    if name == "deadline_changed":
        return {"due_at": _iso(case.due_at), "tier": case.tier.code if case.tier_id else None,
                "reason": event.note}
    if name == "accepted":
        return {"due_at": _iso(case.due_at), "tier": case.tier.code if case.tier_id else None,
                "category": case.category.name if case.category_id else None}
    if name == "refused":
        return {"reason": event.note, "guidance": data.get("guidance", "")}
    if name in ("answered_on_the_spot", "withdrawn"):
        return {"text": event.note}
    if name == "merged":
        return {"into_case_number": data.get("into")}
    if name == "dispatched":
        return {"department": case.lead_department.name if case.lead_department_id else None,
                "due_at": _iso(case.due_at)}
    if name == "extended":
        original = data.get("from")
        return {"due_at": _iso(case.due_at),
                "original_due_at": _iso(datetime.fromisoformat(original)) if original else None,
                "reason": event.note}
    if name == "replied":
        return {"text": event.note, "next_steps": data.get("next_steps", ""),
                "channel": data.get("channel", ""),
                "stage": data.get("stage", ""), "replied_at": _iso(event.at),
                "final_due_at": _iso(case.final_due_at) if data.get("stage") == "next_steps"
                else None}
    if name == "visited":
        return {"reached": True, "is_solved": data.get("is_solved"),
                "satisfaction": data.get("satisfaction", "")}
    if name == "visit_unreached":
        return {"reached": False, "attempt": data.get("attempt")}
    if name == "reopened":
        return {"due_at": _iso(case.due_at),
                "by_return_visit": bool(data.get("by_return_visit"))}
    if name == "archived":
        return {"archived_at": _iso(case.archived_at)}
    return {}


def payload(platform: Platform, case: Case, event: CaseEvent, sequence: int) -> dict:
    name = event_name(event)
    link = PlatformCase.objects.filter(case_id=case.pk).values_list("ticket", flat=True).first()
    return {
        "id": idempotency_key(platform, event),
        "event": name,
        "sequence": sequence,
        "ticket": link or case.external_reference,
        "case_number": case.number,
        "state": case.state,
        "round": case.reopen_count + 1,
        "occurred_at": _iso(event.at),
        "data": _data(case, event, name),
    }


def _row(platform: Platform, case: Case, event: CaseEvent) -> Delivery | None:
    key = idempotency_key(platform, event)
    # One row per event, whichever platform it went to.
    if Delivery.objects.filter(case=case, channel=DeliveryChannel.PLATFORM,
                               message_id__endswith=f"-{case.pk}-{event.pk}").exists():
        return None
    sequence = Delivery.objects.filter(case=case, channel=DeliveryChannel.PLATFORM).count() + 1
    body = payload(platform, case, event, sequence)
    return Delivery(
        channel=DeliveryChannel.PLATFORM, to=platform.code, case=case, message_id=key,
        subject=_("%(platform)s：%(event)s %(number)s（工单 %(ticket)s）") % {
            "platform": platform.name, "event": EVENT_LABELS[body["event"]],
            "number": case.number, "ticket": body["ticket"]},
        body=json.dumps(body, ensure_ascii=False, sort_keys=True))


def after_event(case: Case, event: CaseEvent) -> None:
    """The case-event listener: an act the platform hears of writes its outbox row in the
    act's transaction (the case row is locked by the act, so the sequence is sound)."""
    if event_name(event) is None:
        return
    platform = platform_of_case(case)
    if platform is None:
        return
    row = _row(platform, case, event)
    if row is not None:
        _queue([row])


def catch_up(case: Case) -> int:
    """After a platform's ticket is linked to a case made in the same request (register
    and accept at once), the events recorded before the link get their rows."""
    platform = platform_of_case(case)
    if platform is None:
        return 0
    rows = []
    for event in case.events.filter(action__in=list(EVENTS)).order_by("pk"):
        row = _row(platform, case, event)
        if row is not None:
            row.save(force_insert=True)  # one by one: each sequence counts the one before
            rows.append(row)
    if rows:
        transaction.on_commit(publish)
    return len(rows)


def _queue(rows: list[Delivery]) -> None:
    Delivery.objects.bulk_create(rows)
    transaction.on_commit(publish)


def publish() -> None:
    """Ask a worker to send now; the beat's sweep sends it anyway if the broker is away."""
    from .tasks import send_callbacks as task

    try:
        task.delay()
    except Exception:  # noqa: BLE001 - any broker failure; the sweep sends it later
        logger.warning("callback publish failed; the callback sweep will send it",
                       exc_info=True)


# ---------------------------------------------------------------- the sender
def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that did not take the event: retried, never followed
    (a POST followed as a GET would lose the body)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _build_opener() -> urllib.request.OpenerDirector:
    """HTTP and HTTPS only (no ftp:, file: or data:), proxies from the environment, no
    redirects followed."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(),
                    urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), _NoRedirects()):
        opener.add_handler(handler)
    return opener


_opener = _build_opener()


class Outcome:
    def __init__(self, status: int | None = None, error: str = "", unreachable: bool = False):
        self.status, self.error, self.unreachable = status, error, unreachable

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(platform: Platform, row: Delivery) -> Outcome:
    """One attempt: the row's body, signed now, with the row's idempotency key."""
    body = row.body.encode()
    timestamp = str(int(time.time()))
    try:
        event = json.loads(row.body).get("event", "")
    except ValueError:
        event = ""
    request = urllib.request.Request(platform.callback_url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "petitions-callback/1",
        "Idempotency-Key": row.message_id,
        "X-Petitions-Event": event,
        "X-Petitions-Timestamp": timestamp,
        "X-Petitions-Signature": sign(platform.callback_secret, timestamp, body),
    })
    try:
        with _opener.open(request, timeout=settings.PLATFORM_CALLBACK_TIMEOUT) as answer:
            answer.read(65536)
            return Outcome(answer.status)
    except urllib.error.HTTPError as error:
        # A little of the answer, for the admin's log (never to the application log).
        text = error.read(200).decode("utf-8", "replace") if error.fp else ""
        return Outcome(error.code, f"HTTP {error.code}: {text}".strip())
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            OSError) as error:
        reason = getattr(error, "reason", error)
        return Outcome(None, f"{type(reason).__name__}: {reason}", unreachable=True)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed answer (BadStatusLine, ...)
        return Outcome(None, f"{type(error).__name__}: {error}"[:500], unreachable=True)


def _claim(*, now, limit: int) -> list[Delivery]:
    """Lease due platform rows whose case has no earlier unsent row (order per case)."""
    from cases.services import lease_deliveries

    earlier = Delivery.objects.filter(
        channel=DeliveryChannel.PLATFORM, case_id=OuterRef("case_id"),
        pk__lt=OuterRef("pk")).exclude(state=DeliveryState.SENT)
    return lease_deliveries(channel=DeliveryChannel.PLATFORM, now=now, limit=limit,
                            condition=~Exists(earlier))


def _failed(row: Delivery, error: str) -> bool:
    """A failed attempt: retried with backoff, failed for good after
    PLATFORM_CALLBACK_MAX_ATTEMPTS. Answers whether it failed for good."""
    from cases.services import _backoff

    attempts = row.attempts + 1
    final = attempts >= settings.PLATFORM_CALLBACK_MAX_ATTEMPTS
    updated = Delivery.objects.filter(pk=row.pk, leased_until=row.leased_until).update(
        state=DeliveryState.FAILED if final else DeliveryState.PENDING, attempts=attempts,
        leased_until=None, next_attempt_at=timezone.now() + _backoff(attempts),
        last_error=error[:2000])
    # The status or the kind of error only: an answer's text may echo personal data.
    logger.warning("callback %s to %s failed (attempt %s): %s", row.pk, row.to, attempts,
                   error.split(":", 1)[0][:80])
    return final and updated == 1


def _hold(row: Delivery, reason: str) -> None:
    """A platform without a callback address (or inactive): the row waits, no attempt
    counted; saving the platform with an address sends it (see `platform_saved`)."""
    Delivery.objects.filter(pk=row.pk, leased_until=row.leased_until).update(
        leased_until=None, last_error=reason,
        next_attempt_at=timezone.now() + timedelta(seconds=settings.PLATFORM_HOLD_SECONDS))


def platform_saved(sender, instance: Platform, **_kwargs) -> None:
    """A platform given an address (or made active again): its waiting rows are due now."""
    if instance.is_active and instance.callback_url and instance.callback_secret:
        count = Delivery.objects.filter(channel=DeliveryChannel.PLATFORM, to=instance.code,
                                        state=DeliveryState.PENDING).update(
            next_attempt_at=timezone.now())
        if count:
            transaction.on_commit(publish)


def _tell_of_failures(rows: list[Delivery]) -> None:
    from cases.notifications import Message, notify_many, people_with_role
    from cases.roles import Role

    people = list(people_with_role(Role.SUPERVISOR).values_list("pk", flat=True))
    people += list(people_with_role(Role.ADMINISTRATOR).values_list("pk", flat=True))
    with transaction.atomic():
        notify_many([Message(people, "delivery_failed",
                             _("平台推送失败：%(subject)s") % {"subject": row.subject},
                             _("已尝试 %(n)s 次仍未送达，该案件之后的推送暂停。请在管理后台"
                               "“待发消息”中查看推送记录，问题解决后选择“再次发送”。")
                             % {"n": settings.PLATFORM_CALLBACK_MAX_ATTEMPTS}, row.case)
                     for row in rows], email=False)


def send_callbacks(*, limit: int | None = None) -> int:
    """Post every due platform row; answers how many the platforms took.

    A platform that cannot be reached (refused, timed out) fails the row in hand and
    gives its other rows of the batch back untried; the other platforms' rows go on.
    """
    from cases.services import _release, _stamp_sent

    limit = limit or settings.DELIVERY_BATCH_SIZE
    margin = timedelta(seconds=min(2 * settings.PLATFORM_CALLBACK_TIMEOUT + 5,
                                   settings.DELIVERY_LEASE_SECONDS / 2))
    # A run ends well inside the task's time limit (a slow receiver times each POST out
    # one by one): what is left is given back for the next run.
    ends = time.monotonic() + settings.PLATFORM_CALLBACK_RUN_SECONDS
    sent = 0
    while time.monotonic() < ends:
        batch = _claim(now=timezone.now(), limit=limit)
        if not batch:
            return sent
        sent_before = sent
        platforms = {p.code: p for p in Platform.objects.filter(
            code__in={row.to for row in batch})}
        unreachable: set[str] = set()
        unsent: list[Delivery] = []
        failed: list[Delivery] = []
        for row in batch:
            if (row.to in unreachable or timezone.now() + margin > row.leased_until
                    or time.monotonic() > ends):
                unsent.append(row)
                continue
            platform = platforms.get(row.to)
            if platform is None or not platform.is_active or not platform.callback_url:
                _hold(row, _("平台不存在、已停用或未设置回调地址：推送暂存，设置后发送。"))
                continue
            if not platform.callback_secret:
                _hold(row, _("平台未设置回调签名密钥：推送暂存，设置后发送。"))
                continue
            started = time.monotonic()
            outcome = post(platform, row)
            duration = int((time.monotonic() - started) * 1000)
            if outcome.ok:
                sent += _stamp_sent(row)  # first: the platform has it
                CallbackAttempt.objects.create(delivery=row, status_code=outcome.status,
                                               duration_ms=duration)
                continue
            CallbackAttempt.objects.create(
                delivery=row, status_code=outcome.status, error=outcome.error[:2000],
                duration_ms=duration)
            if _failed(row, outcome.error or f"HTTP {outcome.status}"):
                failed.append(row)
            if outcome.unreachable:
                unreachable.add(row.to)
        for lease in {row.leased_until for row in unsent}:
            _release([row for row in unsent if row.leased_until == lease])
        if failed:
            _tell_of_failures(failed)
        # A row sent may free the next event of its case: claim again until a batch
        # sends nothing new.
        if unsent or (len(batch) < limit and sent == sent_before):
            return sent
    return sent
