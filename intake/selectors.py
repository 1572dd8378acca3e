"""What the counter and the public may look up."""

from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rapidfuzz import fuzz, process

from cases.crypto import lookup_hash
from cases.models import Case, Petitioner, State
from cases.paging import cursor_of, position_of
from cases.selectors import visible_cases
from cases.validators import normalize_phone
from django.utils.translation import gettext_lazy as _

from . import query_codes


def petitioners_with(*, phone: str = "", id_number: str = "") -> QuerySet[Petitioner]:
    """Petitioners with this phone (either number) or ID number."""
    phone = normalize_phone(phone)
    id_number = (id_number or "").strip().upper()
    condition = Q(pk__in=[])
    if phone:
        condition |= Q(phone=phone) | Q(phone_alt=phone)
    if id_number:
        condition |= Q(id_number_hash=lookup_hash(id_number))  # stored encrypted
    return Petitioner.objects.filter(condition)


def find_petitioners(*, phone: str = "", id_number: str = "") -> QuerySet[Petitioner]:
    """The most recent of them, for the counter to pick from."""
    return petitioners_with(phone=phone, id_number=id_number).order_by("-created_at")[:10]


@dataclass
class SimilarCase:
    case: Case
    score: int  # 0-100
    same_petitioner: bool


def similar_cases(*, phone: str = "", id_number: str = "", text: str = "",
                  exclude_id: int | None = None, limit: int = 10) -> list[SimilarCase]:
    """Earlier cases the clerk should see before saving: the same petitioner's, and cases
    with similar wording in the last REPEAT_WINDOW_DAYS, most similar first.

    Text similarity is character-based (rapidfuzz), which suits Chinese without word
    splitting; only recent cases are compared, and only their summary and first lines.
    """
    text = (text or "").strip()
    petitioners = list(find_petitioners(phone=phone, id_number=id_number).values_list(
        "pk", flat=True))
    since = timezone.now() - timedelta(days=settings.REPEAT_WINDOW_DAYS)
    own = Case.objects.filter(petitioner__in=petitioners) if petitioners else Case.objects.none()
    recent = Case.objects.filter(received_at__gte=since).exclude(state=State.MERGED)
    if exclude_id:
        own, recent = own.exclude(pk=exclude_id), recent.exclude(pk=exclude_id)
    found: dict[int, SimilarCase] = {}
    for case in own.select_related("petitioner", "category").order_by("-received_at")[:limit]:
        score = _score(text, case) if text else 0
        found[case.pk] = SimilarCase(case=case, score=score, same_petitioner=True)
    if text:
        rows = recent.order_by("-received_at").values_list(
            "pk", "summary", Substr("content", 1, 200))[: settings.REPEAT_CANDIDATES]
        choices = {pk: f"{summary} {head}" for pk, summary, head in rows}
        matches = process.extract(text, choices, scorer=fuzz.ratio,
                                  score_cutoff=settings.REPEAT_MIN_SIMILARITY, limit=limit)
        cases = Case.objects.select_related("petitioner", "category").in_bulk(
            [pk for _, _, pk in matches]
        )
        for _, score, pk in matches:
            if pk in found:
                found[pk].score = max(found[pk].score, round(score))
            elif pk in cases:
                found[pk] = SimilarCase(case=cases[pk], score=round(score),
                                        same_petitioner=False)
    ranked = sorted(found.values(), key=lambda s: (s.same_petitioner, s.score), reverse=True)
    return ranked[:limit]


def _score(text: str, case: Case) -> int:
    return round(fuzz.ratio(text, f"{case.summary} {case.content[:200]}"))


CASE_NUMBER_RE = re.compile(r"^[A-Z]{1,10}-\d{4}-\d{6}$")


def search_cases(user, term: str) -> QuerySet[Case]:
    """Find cases as the counter types: a case number, a phone, or words.

    Each kind of term has its own indexed path; words are looked for in the summary and
    place of the last SEARCH_TEXT_DAYS, newest first.
    """
    term = term.strip()
    cases = visible_cases(user).select_related("petitioner", "category", "category__parent")
    if CASE_NUMBER_RE.match(term.upper()):
        return cases.filter(number=term.upper())
    phone = normalize_phone(term)
    if phone.replace("-", "").isdigit() and len(phone) >= 7:
        people = petitioners_with(phone=phone).values("pk")
        return cases.filter(petitioner__in=people).order_by("-received_at")
    since = timezone.now() - timedelta(days=settings.SEARCH_TEXT_DAYS)
    return cases.filter(Q(summary__icontains=term) | Q(place__icontains=term),
                        received_at__gte=since).order_by("-received_at")


# The queue's channel tabs: key → (label, filter). 暂存 is what a clerk registered at the
# counter (visit, phone, letter) and left for later.
QUEUE_CHANNELS = {
    "web": (_("网上信访"), Q(channel="web")),
    "hotline_12345": (_("12345平台转办"), Q(channel="hotline_12345")),
    "email": (_("电子邮件"), Q(channel="email")),
    "counter": (_("暂存（来访、来电、来信）"), Q(channel__in=["visit", "phone", "letter"])),
}
QUEUE_PAGE = 50


@dataclass
class IntakeQueue:
    rows: list
    counts: dict
    channel: str
    next_cursor: str | None


def received_queue(user, *, channel: str = "", after: str = "") -> IntakeQueue:
    """待受理: every received case of every channel, the one whose acceptance time runs out
    first at the top (a 12345 transfer received at 15:00 may come before a web case of
    09:00), a page at a time by key (acceptance deadline, id) on the received cases'
    index, with each channel's count and the overdue count in one query."""
    now = timezone.now()
    received = visible_cases(user).filter(state=State.RECEIVED)
    counts = received.aggregate(
        all=Count("pk"), overdue=Count("pk", filter=Q(accept_by__lt=now)),
        **{key: Count("pk", filter=condition)
           for key, (_label, condition) in QUEUE_CHANNELS.items()})
    if channel in QUEUE_CHANNELS:
        received = received.filter(QUEUE_CHANNELS[channel][1])
    else:
        channel = ""
    position = position_of(after) if after else None
    if position:
        moment, pk = position
        if moment is None:  # past every case with a deadline, among those without one
            received = received.filter(accept_by__isnull=True, pk__gt=pk)
        else:
            received = received.filter(
                Q(accept_by__gt=moment) | Q(accept_by=moment, pk__gt=pk)
                | Q(accept_by__isnull=True))
    rows = list(received.select_related("petitioner", "category", "category__parent", "tier",
                                        "triage")
                .order_by(F("accept_by").asc(nulls_last=True), "pk")[:QUEUE_PAGE + 1])
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    last = rows[-1] if more and rows else None
    return IntakeQueue(rows, counts, channel, cursor_of(last.accept_by, last.pk) if last else None)


def registered_today(user) -> QuerySet[Case]:
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return (visible_cases(user).filter(registered_by=user, received_at__gte=today)
            .select_related("petitioner", "category", "category__parent")
            .order_by("-received_at")[:100])


def track_case(*, number: str, code: str) -> Case | None:
    """The case with this number and this query code; else nothing at all (a wrong code
    and an unknown number look the same)."""
    number = (number or "").strip().upper()
    if not number or not code:
        return None
    case = (Case.objects.select_related("petitioner", "query_code_record")
            .filter(number=number).first())
    record = getattr(case, "query_code_record", None) if case else None
    if case is None or not query_codes.matches(record, case.pk, code):
        return None
    return case


# What the public reads of each event: plain words, no internal notes or names.
PUBLIC_EVENT_TEXT = {
    "register": _("您的诉求已登记"),
    "accept": _("已受理，正在安排办理"),
    "answer_on_the_spot": _("已当场答复"),
    "refuse": _("不予受理，并已告知您可以反映的途径"),
    "merge": _("与您此前反映的同一事项合并办理"),
    "withdraw": _("已按您的意愿撤回"),
    "dispatch": _("已转交承办单位办理"),
    "handle_directly": _("由信访办直接调查办理"),
    "department_accept": _("承办单位已接收，正在办理"),
    "submit_result": _("办理完毕，正在审核办理结果"),
    "reply_to_petitioner": _("已答复"),
    "record_return_visit": _("已回访"),
    "reopen": _("根据您的意见重新办理"),
    "archive": _("已办结归档"),
}


def public_timeline(case: Case) -> list[dict]:
    """The case's history as the petitioner may read it."""
    seen = []
    for event in case.events.order_by("at", "pk").only("at", "action", "note", "data"):
        if event.action == "extend":
            until = parse_datetime((event.data or {}).get("to") or "")
            seen.append({"at": event.at, "text": str(_("经批准延期至 %(until)s，理由：%(reason)s") % {
                "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M") if until else "",
                "reason": event.note})})
            continue
        text = PUBLIC_EVENT_TEXT.get(event.action)
        if text and not (seen and seen[-1]["text"] == str(text)):
            seen.append({"at": event.at, "text": str(text)})
    return seen
