"""What the counter and the public may look up."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rapidfuzz import fuzz, process

from cases.crypto import lookup_hash
from cases.models import Case, CaseEvent, Petitioner, State
from cases.numbering import format_case_number
from cases.paging import cursor_of, position_of
from cases.selectors import visible_cases
from cases.validators import normalize_phone
from django.utils.translation import gettext_lazy as _

from . import query_codes, search_indexes


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


# How many of the window's cases each part of the shortlist gives (below) to be scored on
# TF-IDF: on the corpus every original of a re-told matter is among the 10 nearest.
REPEAT_SHORTLIST = 20
REPEAT_FUZZY_SHORTLIST = 50  # the SQLite demo's rapidfuzz ranks more loosely
# The shortlist has two parts (PostgreSQL):
# - the place first: the window's cases registered at the same place (the place as
#   stored; case_place_received_idx, intake migration 0009), the newest REPEAT_PLACE_ROWS
#   of them, nearest by words first. On the corpus every re-told matter (73 of 73) gives
#   its original's place, and a re-telling's wording is near its original's mostly
#   through that place: without it only 10 % of them reach word_similarity 0.2 (with it,
#   89 %).
# - then the words: pg_trgm's word_similarity of the new case's words (its first
#   REPEAT_QUERY_CHARS characters and its place) with an earlier case's summary and place
#   (an index per quarter, intake.search_indexes), nearest first. Without a place, among
#   the cases reaching REPEAT_WORD_THRESHOLD: on the corpus an original scores 0.16 or
#   more against its re-telling in 95 of 100 (median 0.28), a different matter of the
#   same kind less than 0.094 in 99 of 100. With a place (its cases are in already),
#   among those reaching REPEAT_NEAR_THRESHOLD: nearly the same words, written down at
#   a place spelt otherwise. The higher threshold keeps the index's work small over a
#   city's window: it reads its rarest lists only, and few rows pass (500 000 cases in
#   the window: about 5 000 rows rechecked at 0.15 for a re-told case, 800 at 0.5).
#   Without a place the window is asked at REPEAT_CLOSE_THRESHOLD first: a common
#   wording (噪音扰民 at a numbered address) reaches 0.15 with a tenth of a city's window,
#   whose every row the index hands back to be rechecked (110 000 rows, 2.9 s, in one
#   quarter at 20 M cases), while the quarter's nearest REPEAT_SHORTLIST are all far above
#   it. A quarter giving its REPEAT_SHORTLIST there is done (its nearest at 0.15 are the
#   same rows); the others are asked again at REPEAT_WORD_THRESHOLD, in one more
#   statement. The answer is the same as asking at 0.15 at once.
REPEAT_QUERY_CHARS = 30
REPEAT_WORD_THRESHOLD = 0.15
REPEAT_CLOSE_THRESHOLD = 0.5
REPEAT_NEAR_THRESHOLD = 0.7
REPEAT_PLACE_ROWS = 200


def similar_cases(*, phone: str = "", id_number: str = "", text: str = "", place: str = "",
                  name: str = "", petitioner: Petitioner | None = None,
                  exclude_id: int | None = None, limit: int = 10) -> list[SimilarCase]:
    """Earlier cases that may be the same matter, highest score first: the same
    petitioner's (always listed), and cases of the last REPEAT_WINDOW_DAYS scoring at
    least REPEAT_MIN_SIMILARITY.

    The score (intake.learning.repeat_score) is the triage model's TF-IDF cosine of the
    wording, the place's, and the petitioner (same phone or ID number, else same name).
    A shortlist is found first, and only it is vectorised: the window's cases at the
    same place, and those nearest by the wording alone (on PostgreSQL through the
    indexes over the whole window, below; elsewhere, the SQLite demo, among the newest
    REPEAT_CANDIDATES by rapidfuzz).
    """
    scored = _scored(phone=phone, id_number=id_number, text=text, place=place, name=name,
                     petitioner=petitioner, exclude_id=exclude_id, limit=limit)
    cases = Case.objects.select_related("petitioner", "category").in_bulk(
        [row.pk for row in scored])
    return [SimilarCase(case=cases[row.pk], score=row.score,
                        same_petitioner=row.same_petitioner)
            for row in scored if row.pk in cases]


@dataclass(frozen=True)
class _Scored:
    score: int
    same_petitioner: bool
    received_at: object
    pk: int
    number: str


def _scored(*, phone: str, id_number: str, text: str, place: str, name: str,
            petitioner: Petitioner | None, exclude_id: int | None,
            limit: int) -> list[_Scored]:
    """similar_cases' answer as plain rows, best first (what registration keeps)."""
    from . import learning

    text = (text or "").strip()
    place = (place or "").strip()
    name = (name or "").strip()
    people = petitioners_with(phone=phone, id_number=id_number)
    if petitioner is not None and petitioner.pk:
        condition = Q(pk=petitioner.pk)
        if petitioner.phone:
            condition |= Q(phone=petitioner.phone) | Q(phone_alt=petitioner.phone)
        if petitioner.id_number_hash:
            condition |= Q(id_number_hash=petitioner.id_number_hash)
        people = Petitioner.objects.filter(condition)
        name = name or petitioner.name
    petitioners = set(people.order_by("-created_at").values_list("pk", flat=True)[:10])
    since = timezone.now() - timedelta(days=settings.REPEAT_WINDOW_DAYS)
    own = Case.objects.filter(petitioner__in=petitioners) if petitioners else Case.objects.none()
    recent = Case.objects.filter(received_at__gte=since).exclude(state=State.MERGED)
    if exclude_id:
        own, recent = own.exclude(pk=exclude_id), recent.exclude(pk=exclude_id)
    picked = list(own.order_by("-received_at").values_list("pk", flat=True)[:limit]) \
        if petitioners else []
    if text:
        picked += _nearest_in_window(recent, text=text, place=place)
    if not picked:
        return []
    # Scored on the few columns the score reads.
    rows = list(Case.objects.filter(pk__in=set(picked)).values_list(
        "pk", "summary", Substr("content", 1, 500), "place", "petitioner_id",
        "petitioner__name", "received_at", "number"))
    wording, places = learning.similarities_of(
        (text, [f"{row[1]} {row[2]}" for row in rows]), (place, [row[3] for row in rows]))
    scored = []
    for row, text_cosine, place_cosine in zip(rows, wording, places):
        same_petitioner = row[4] in petitioners
        score = learning.repeat_score(
            text_cosine, place_cosine, same_petitioner=same_petitioner,
            same_name=bool(name) and row[5] == name) if text else 0
        if same_petitioner or score >= settings.REPEAT_MIN_SIMILARITY:
            scored.append(_Scored(score, same_petitioner, row[6], row[0], row[7]))
    scored.sort(key=lambda row: (row.score, row.same_petitioner, row.received_at, row.pk),
                reverse=True)
    return scored[:limit]


def _nearest_in_window(recent: QuerySet[Case], *, text: str, place: str) -> list[int]:
    """The ids of `recent` to score: the same place's (up to REPEAT_SHORTLIST, nearest by
    words first), then up to REPEAT_SHORTLIST whose wording is nearest to the text's."""
    postgres = connection.vendor == "postgresql"
    picked = []
    if place:
        at_place = recent.filter(place=place).order_by("-received_at")
        if postgres:
            newest = at_place.values("pk")[:REPEAT_PLACE_ROWS]
            picked = list(_by_words(Case.objects.filter(pk__in=newest), text=text,
                                    place=place).values_list("pk", flat=True)[:REPEAT_SHORTLIST])
        else:
            picked = list(at_place.values_list("pk", flat=True)[:REPEAT_SHORTLIST])
    if not postgres:
        rows = recent.order_by("-received_at").values_list(
            "pk", "summary", Substr("content", 1, 200))[: settings.REPEAT_CANDIDATES]
        choices = {pk: f"{summary} {head}" for pk, summary, head in rows}
        nearest = [pk for _, _, pk in process.extract(
            text, choices, scorer=fuzz.ratio, limit=REPEAT_FUZZY_SHORTLIST)]
    else:
        # The thresholds of %> to ask at, highest first (inside an act: its own
        # transaction, no savepoint).
        thresholds = [REPEAT_NEAR_THRESHOLD] if place else \
            [REPEAT_CLOSE_THRESHOLD, REPEAT_WORD_THRESHOLD]
        with transaction.atomic(savepoint=False):
            nearest = _nearest_by_quarter(recent, text=text, place=place,
                                          thresholds=thresholds)
    return list(dict.fromkeys(picked + nearest))


def _nearest_by_quarter(recent: QuerySet[Case], *, text: str, place: str,
                        thresholds: list[float]) -> list[int]:
    """PostgreSQL: `nearest_by_words` over the window a quarter at a time, each part with
    its quarter's bounds as constants (its own trigram index serves it, intake.
    search_indexes), the parts' nearest merged: up to REPEAT_SHORTLIST ids. The parts are
    asked in one statement (UNION ALL) at each threshold in turn, highest first; a part
    that gave its REPEAT_SHORTLIST at a threshold is not asked again (its nearest at a
    lower one are the same rows), so the answer is that of the last threshold alone."""
    now = timezone.now()
    since = now - timedelta(days=settings.REPEAT_WINDOW_DAYS)
    bounds = search_indexes.quarter_parts(since, None, now=now)
    found: list[tuple[int, float, object]] = []
    asking = list(range(len(bounds)))
    for step, threshold in enumerate(thresholds):
        last = step == len(thresholds) - 1
        with connection.cursor() as cursor:  # for this transaction only
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                           [str(threshold)])
        parts = []
        for index in asking:
            low, high = bounds[index]
            part = recent.filter(received_at__gte=low)
            if high is not None:
                part = part.filter(received_at__lt=high)
            parts.append(nearest_by_words(part, text=text, place=place).annotate(
                part=Value(index)).values_list(
                "pk", "nearness", "received_at", "part")[:REPEAT_SHORTLIST])
        # One statement: each part's own nearest (its own index).
        rows = list(parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0])
        given = Counter(row[3] for row in rows)
        short = [index for index in asking if not last and given[index] < REPEAT_SHORTLIST]
        found += [row[:3] for row in rows if row[3] not in short]
        asking = short
        if not asking:
            break
    found.sort(key=lambda row: (row[1], row[2]), reverse=True)
    return [pk for pk, _nearness, _at in found[:REPEAT_SHORTLIST]]


def nearest_by_words(cases: QuerySet[Case], *, text: str, place: str = "") -> QuerySet:
    """PostgreSQL: `cases` reaching pg_trgm.word_similarity_threshold by the text's first
    REPEAT_QUERY_CHARS characters and the place, nearest first (`nearness`)."""
    return _by_words(cases.filter(RawSQL(f"{_WORDS} %%> %s", [_words(text, place)],
                                         output_field=BooleanField())), text=text, place=place)


def _words(text: str, place: str) -> str:
    return " ".join(part for part in (text[:REPEAT_QUERY_CHARS], place) if part)


def _by_words(cases: QuerySet[Case], *, text: str, place: str) -> QuerySet:
    """PostgreSQL: `cases` nearest by word_similarity (`nearness`) first."""
    return (cases.annotate(nearness=RawSQL(f"word_similarity(%s, {_WORDS})",
                                           [_words(text, place)]))
            .order_by("-nearness", "-received_at"))


# The indexed expressions of intake migration 0008, as its indexes spell them.
_TABLE = Case._meta.db_table
_WORDS = f"""("{_TABLE}"."summary" || ' ' || "{_TABLE}"."place")"""
_BIGRAMS = f"""intake_bigrams("{_TABLE}"."summary", "{_TABLE}"."place")"""


def repeat_candidates(case: Case, *, limit: int = 3) -> list[dict]:
    """What registration keeps and answers: the earlier cases scoring at least
    REPEAT_MIN_SIMILARITY for this (unsaved or saved) case, best first."""
    found = _scored(text=f"{case.summary} {case.content}", place=case.place, phone="",
                    id_number="", name="", petitioner=case.petitioner, exclude_id=case.pk,
                    limit=limit + 10)
    return [{"number": row.number, "score": row.score, "same_petitioner": row.same_petitioner}
            for row in found if row.score >= settings.REPEAT_MIN_SIMILARITY][:limit]


# A case number as typed: any width (past 999 999 cases a year it has seven digits), and
# the leading zeros may be left out (XF-2026-19 is XF-2026-000019).
CASE_NUMBER_RE = re.compile(r"^([A-Z]{1,10})-(\d{4})-(\d{1,9})$")


# What a search may look for (the search page's 查找方式); "auto" tells them apart as
# typed. A name and a phone find one person's cases: only the office may list those
# (cases.identity.may_know_persons_cases), never a department.
SEARCH_KINDS = {
    "auto": _("自动识别"), "number": _("案件编号"), "ticket": _("12345工单号"),
    "name": _("信访人姓名"), "phone": _("电话"), "words": _("内容或地点"),
}
IDENTITY_KINDS = ("name", "phone")
# A person's name as typed at the counter: two to five Chinese characters (a middle dot
# for minority and foreign names), or a Latin name.
NAME_RE = re.compile(r"^(?:[\u4e00-\u9fff·]{2,12}|[A-Za-z][A-Za-z .'-]{1,49})$")


def search_kind(user, term: str, kind: str = "auto") -> str:
    """The kind of search `term` asks for: `kind` when one was chosen; else a number or a
    phone by their form, a 12345 ticket the person may see, a petitioner's name when the
    person may look people up and someone has that name, and words otherwise."""
    from cases.identity import may_know_persons_cases

    term = term.strip()
    if kind in SEARCH_KINDS and kind != "auto":
        return kind
    found = _term_kind(term)[0]
    if found == "number":
        return found
    # A 12345 ticket may be all digits: a ticket the person may see goes before a phone.
    if term and visible_cases(user).filter(external_reference=term).exists():
        return "ticket"
    if found != "words":
        return found
    if (may_know_persons_cases(user) and NAME_RE.match(term)
            and visible_cases(user).filter(petitioner__name=term).exists()):
        return "name"
    return "words"


def search_cases(user, term: str, kind: str = "") -> QuerySet[Case]:
    """Find cases as the counter types: a case number, a 12345 ticket, a petitioner's
    name, a phone, or words; newest first. `kind` is one of SEARCH_KINDS (resolved by
    `search_kind`); without one, a number or a phone by its form, else words.

    Each kind of term has its own indexed path; words are looked for in the summary and
    place of the last SEARCH_TEXT_DAYS. On PostgreSQL a term of two characters or more
    is first looked up by its character pairs (what a 2-character Chinese term needs,
    pg_trgm has no trigram for it; an index per quarter, intake.search_indexes), then
    confirmed by ILIKE; a single character and SQLite read the window. A page of it is
    read by `search_page`, a quarter at a time. A name or a phone finds nothing for a
    person who may not list one person's cases.
    """
    from cases.identity import may_know_persons_cases

    term = term.strip()
    cases = visible_cases(user).select_related("petitioner", "category", "category__parent",
                                               "lead_department", "tier")
    guessed, value = _term_kind(term)
    kind = kind if kind in SEARCH_KINDS and kind != "auto" else guessed
    if kind in IDENTITY_KINDS and not may_know_persons_cases(user):
        return cases.none()
    if kind == "number":
        return cases.filter(number=value) if guessed == "number" else cases.none()
    if kind == "ticket":
        return cases.filter(external_reference=term).order_by("-received_at", "-pk")
    if kind == "name":
        people = Petitioner.objects.filter(name=term).values("pk")
        return cases.filter(petitioner__in=people).order_by("-received_at", "-pk")
    if kind == "phone":
        phone = normalize_phone(term)
        if not phone.replace("-", "").isdigit():
            return cases.none()
        people = petitioners_with(phone=phone).values("pk")
        return cases.filter(petitioner__in=people).order_by("-received_at", "-pk")
    cases = cases.filter(Q(summary__icontains=term) | Q(place__icontains=term),
                         received_at__gte=search_since())
    if connection.vendor == "postgresql" and len(term) >= 2:
        cases = cases.filter(RawSQL(f"{_BIGRAMS} @> intake_bigrams(%s)", [term],
                                    output_field=BooleanField()))
    return cases.order_by("-received_at", "-pk")


def as_shown_to(user, rows: list[Case], *, term: str, kind: str) -> list[Case]:
    """Search results for a person outside the office: each summary and place as the case
    page shows them (masked where they carry a confidential petitioner's identity), no
    petitioner, and a row found by words only through what the mask hides dropped, so that
    a guessed name confirms nothing."""
    from cases.identity import text_mask_for

    shown = []
    for case in rows:
        mask = text_mask_for(user, case)
        if mask:
            case.summary, case.place = mask(case.summary), mask(case.place)
            if kind == "words" and term not in f"{case.summary} {case.place}":
                continue
        case.person = None
        shown.append(case)
    return shown


def _term_kind(term: str) -> tuple[str, str]:
    """("number", the case number), ("phone", the phone) or ("words", the term)."""
    number = CASE_NUMBER_RE.match(term.upper())
    if number:
        prefix, year, value = number.groups()
        return "number", format_case_number(prefix, int(year), int(value))
    phone = normalize_phone(term)
    if phone.replace("-", "").isdigit() and len(phone) >= 7:
        return "phone", phone
    return "words", term


def search_since(now=None):
    """How far back a search by words looks."""
    return (now or timezone.now()) - timedelta(days=settings.SEARCH_TEXT_DAYS)


SEARCH_PAGE = 50
# A search by words reads the newest stretch of time first and an older one only while the
# page is not full: the last day, then the week, the month, the quarter. A common word
# fills its page from the last day's cases, a rare one has few matches in each stretch.
# A page reaches back at most the last stretch (SEARCH_REACH) from where it starts; the
# next page goes on from there, to SEARCH_TEXT_DAYS.
SEARCH_STRETCHES = (timedelta(days=1), timedelta(days=7), timedelta(days=30),
                    timedelta(days=90))
SEARCH_REACH = SEARCH_STRETCHES[-1]


@dataclass
class SearchPage:
    rows: list[Case]
    # More results may come: the next page starts here (cases.paging), after the last row
    # of a full page, or, for words, where this page stopped looking.
    next_cursor: str | None
    # Words: the page holds every match from `reached` to where it started, and the search
    # looks back to `since` (SEARCH_TEXT_DAYS). None for a number or a phone.
    reached: datetime | None = None
    since: datetime | None = None

    @property
    def is_full(self) -> bool:
        return self.next_cursor is not None and self.reached is None


def search_page(user, term: str, *, after: str = "", size: int = SEARCH_PAGE,
                kind: str = "") -> SearchPage:
    """A page of `search_cases`, newest first, from the position `after` (a cursor of the
    previous page): the same rows in the same order as the search sliced, but words are
    read a stretch of time at a time (SEARCH_STRETCHES), newest first, until the page is
    full, SEARCH_REACH back at most. The character pairs' bitmap then meets a stretch's
    cases, not a year's: a common word over a city's year is tens of thousands of rows to
    fetch and sort for a page of 50. The stretches ask for ids; the page's cases are
    read once, at the end."""
    cases = search_cases(user, term, kind)
    kind = kind if kind in SEARCH_KINDS and kind != "auto" else _term_kind(term.strip())[0]
    position = position_of(after) if after else None
    moment = position[0] if position else None
    if moment is not None:
        cases = cases.filter(Q(received_at__lt=moment) | Q(received_at=moment,
                                                            pk__lt=position[1]))
    if kind != "words":
        rows = list(cases[:size + 1])
        last = rows[size - 1] if len(rows) > size else None
        return SearchPage(rows[:size], cursor_of(last.received_at, last.pk) if last else None)
    now = timezone.now()
    since = search_since(now)
    top = min(moment, now) if moment else now
    keys = cases.values_list("pk", "received_at")
    found: list[tuple] = []
    # Where the first stretch ends: just after the cursor, or nowhere (a case stamped in
    # the future is found too: see quarter_parts).
    upper = search_indexes.search_upper_bound(now)
    high = moment + timedelta(microseconds=1) if moment and moment < upper else None
    for stretch in SEARCH_STRETCHES:
        low = max(top - stretch, since)
        # A quarter at a time, its bounds constants: its own index serves it.
        for part_low, part_high in search_indexes.quarter_parts(low, high, now=now):
            part = keys.filter(received_at__gte=part_low)
            if part_high is not None:
                part = part.filter(received_at__lt=part_high)
            found += list(part[:size + 1 - len(found)])
            if len(found) > size:
                break
        high = low
        if len(found) > size or low <= since:
            break
    by_pk = {case.pk: case for case in cases.filter(pk__in=[pk for pk, _at in found])}
    rows = [by_pk[pk] for pk, _at in found if pk in by_pk]
    if len(found) > size:
        pk, at = found[size - 1]
        return SearchPage(rows[:size], cursor_of(at, pk), since=since)
    # Every match from `high` on is here; older ones, if the window goes further, on the
    # next page (a cursor at `high` with no id: strictly older).
    return SearchPage(rows, cursor_of(high, 0) if high > since else None, reached=high,
                      since=since)


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
                                        "triage", "schedule")
                .order_by(F("accept_by").asc(nulls_last=True), "pk")[:QUEUE_PAGE + 1])
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    _attach_repeats(rows)
    last = rows[-1] if more and rows else None
    return IntakeQueue(rows, counts, channel, cursor_of(last.accept_by, last.pk) if last else None)


def _attach_repeats(rows: list[Case]) -> None:
    """Each row's best repeat candidate as registration found it (`case.repeat`: number
    and score, or None), from the register events' data in one query."""

    best = {case_id: (data or {}).get("repeats") for case_id, data in
            CaseEvent.objects.filter(case__in=[case.pk for case in rows], action="register")
            .values_list("case_id", "data")}
    for case in rows:
        repeats = best.get(case.pk) or []
        case.repeat = next((r for r in repeats
                            if r.get("score", 0) >= settings.REPEAT_MIN_SIMILARITY), None)


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
    "merged_reply": _("已答复（与同一事项合并办理）"),
    "record_merged_visit": _("已回访"),
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
