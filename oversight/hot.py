"""Hot topics (未诉先办): what rises week over week, and who keeps coming back, so that
the office acts before the next complaint.

Weeks are the last seven local days up to today and the seven before. Categories come
from the summary table; places and phrases from the cases of those two weeks (phrases by
jieba word segmentation of the summaries); repeat petitioners from the cases of the last
`HOT_REPEAT_DAYS` days. The result is cached for a few minutes.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time, timedelta

import jieba
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone

from cases.identity import mask_phone
from cases.models import Case, Category, Petitioner

from .figures import VALID
from .models import DailyFigures

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

# Words that say nothing about the matter.
STOP_WORDS = frozenset("""
的 了 在 是 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那
问题 反映 要求 情况 希望 相关 部门 处理 解决 进行 没有 存在 请求 关于 已经 多次 长期 一直
我们 他们 小区 居民 群众 市民 投诉 举报 咨询 协调 落实 尽快 严重 影响 造成 导致 因为 由于
""".split())


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def weeks(today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    this = (today - timedelta(days=6), today)
    last = (today - timedelta(days=13), today - timedelta(days=7))
    return this, last


def rising(this: Counter, last: Counter, *, limit: int = 10, least: int = 2) -> list[dict]:
    """Items with at least `least` cases this week that grew, biggest growth first."""
    rows = []
    for key, now in this.items():
        before = last.get(key, 0)
        if now >= least and now > before:
            rows.append({"key": key, "this_week": now, "last_week": before,
                         "change": now - before,
                         "growth": None if not before else round(100 * (now - before) / before)})
    rows.sort(key=lambda row: (-row["change"], -row["this_week"], str(row["key"])))
    return rows[:limit]


def hot_topics(today: date | None = None) -> dict:
    today = today or timezone.localdate()
    key = f"oversight:hot:{today.isoformat()}"
    cached = cache.get(key)
    if cached is None:
        cached = _compute(today)
        cache.set(key, cached, settings.HOT_TOPICS_CACHE_SECONDS)
    return cached


def _compute(today: date) -> dict:
    (this_start, this_end), (last_start, last_end) = weeks(today)
    categories = _category_weeks(this_start, this_end, last_start, last_end)
    cases = Case.objects.filter(VALID, received_at__gte=_start(last_start),
                                received_at__lt=_start(this_end + timedelta(days=1)))
    boundary = _start(this_start)
    places_this, places_last = Counter(), Counter()
    phrases_this, phrases_last = Counter(), Counter()
    for received_at, place, summary in cases.values_list("received_at", "place", "summary"):
        in_this_week = received_at >= boundary
        place = " ".join((place or "").split())
        if place:
            (places_this if in_this_week else places_last)[place] += 1
        words = set(_words(summary))
        (phrases_this if in_this_week else phrases_last).update(words)
    return {
        "this_week": (this_start, this_end), "last_week": (last_start, last_end),
        "categories": categories,
        "places": rising(places_this, places_last),
        "phrases": rising(phrases_this, phrases_last, limit=15),
        "repeaters": repeat_petitioners(today),
        "repeat_window": repeat_window(today),
    }


def _category_weeks(this_start, this_end, last_start, last_end) -> list[dict]:
    """Subcategories (from the summary table): this week against the last."""
    rows = DailyFigures.objects.filter(day__gte=last_start, day__lte=this_end,
                                       category_id_value__gt=0)
    this = Counter(dict(rows.filter(day__gte=this_start).values_list("category_id_value")
                        .annotate(n=Sum("received")).order_by()))
    last = Counter(dict(rows.filter(day__lte=last_end).values_list("category_id_value")
                        .annotate(n=Sum("received")).order_by()))
    result = rising(this, last)
    names = {category.pk: str(category) for category in Category.objects.filter(
        pk__in=[row["key"] for row in result]).select_related("parent")}
    for row in result:
        row["label"] = names.get(row["key"], "—")
    return result


def _words(text: str) -> list[str]:
    return [word for word in jieba.lcut(text or "")
            if len(word) >= 2 and word not in STOP_WORDS and not word.isdigit()
            and not word.isascii()]


def repeat_window(today: date) -> tuple[date, date]:
    """The days the repeat petitioners are counted over (not the weeks of the rest of the
    page): from HOT_REPEAT_DAYS days ago to today, both included."""
    return today - timedelta(days=settings.HOT_REPEAT_DAYS), today


def repeat_petitioners(today: date, *, limit: int = 20) -> list[dict]:
    """People with several valid cases in `repeat_window(today)`, most first."""
    since = _start(repeat_window(today)[0])
    rows = list(Case.objects.filter(VALID, received_at__gte=since)
                .values("petitioner_id").annotate(cases=Count("pk"), last=Max("received_at"))
                .filter(cases__gte=settings.HOT_REPEAT_MIN_CASES)
                .order_by("-cases", "-last")[:limit])
    people = Petitioner.objects.in_bulk([row["petitioner_id"] for row in rows])
    for row in rows:
        person = people.get(row["petitioner_id"])
        row["name"] = person.name if person else "—"
        # The office's list, masked like every page of it (the case page reveals).
        row["phone"] = mask_phone(person.phone) if person else ""
        row["confidential"] = bool(person and person.wants_confidentiality)
    return rows
