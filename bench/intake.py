"""The counter at scale: repeat detection, the queue search and registration.

Generates CASES cases over three years (RECENT of them in the last 90 days, the window
repeat detection reads), then times, over repeated runs:
- similar_cases(): the earlier cases of a phone and similar wording (what 检查重复 shows);
- the counter's search by number, phone and text, and the 待受理 queue's first page;
- register_intake(): one registration with acceptance (numbering, events, deadline).
Prints p50 and p95 in milliseconds.

    bench/run intake --cases 1000000 --recent 60000
"""

import argparse
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, timed  # noqa: E402

setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, Category, Petitioner, State, TierPolicy  # noqa: E402
from intake import search_indexes, selectors, services  # noqa: E402

PLACES = ["幸福路", "和平里", "阳光花园", "滨河小区", "东四胡同", "建设街", "人民路", "高新区"]
PROBLEMS = ["占道经营", "油烟直排", "垃圾清运不及时", "路灯不亮", "噪声扰民", "停水", "拖欠工资",
            "违章搭建", "井盖缺失", "物业不作为", "电梯故障", "供暖不热"]


def text(rng):
    place, problem = rng.choice(PLACES), rng.choice(PROBLEMS)
    summary = f"{place}{rng.randint(1, 40)}号院{problem}"
    content = (f"{place}{rng.randint(1, 40)}号院附近长期存在{problem}问题，"
               f"已经持续{rng.randint(2, 30)}天，多次反映未解决，影响居民生活，请尽快处理。")
    return summary, content


def generate(cases: int, recent: int, rng) -> None:
    if Case.objects.count() >= cases:
        print(f"data: {Case.objects.count()} cases already there")
        return
    tier = TierPolicy.objects.get(code="T3")
    category = Category.objects.create(name="基准分类", default_tier=tier)
    sub = Category.objects.create(name="基准子类", parent=category, default_tier=tier)
    now = timezone.now()
    people = Petitioner.objects.bulk_create(
        Petitioner(name=f"居民{i}", phone=f"13{i:09d}") for i in range(max(cases // 4, 1)))
    batch, made = [], 0
    started = time.perf_counter()
    for i in range(cases):
        if i < recent:
            received = now - timedelta(minutes=rng.randint(1, 89 * 24 * 60))
        else:
            received = now - timedelta(days=rng.randint(91, 3 * 365))
        summary, content = text(rng)
        batch.append(Case(
            number=f"BN-{received.year}-{i:07d}", channel="phone", petitioner=rng.choice(people),
            summary=summary, content=content, category=sub, tier=tier, received_at=received,
            state=rng.choice([State.ARCHIVED] * 6 + [State.IN_HANDLING, State.RECEIVED]),
        ))
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            made += len(batch)
            batch = []
    Case.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"data: {cases} cases ({recent} in the last 90 days) made in "
          f"{time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--recent", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--plans", action="store_true", help="print the searches' plans")
    parser.add_argument("--profile", action="store_true",
                        help="print where the repeat check and a registration spend their time")
    options = parser.parse_args()
    rng = random.Random(2026)
    generate(options.cases, options.recent, rng)

    clerk, _ = get_user_model().objects.get_or_create(username="bench-clerk")
    clerk.groups.add(Group.objects.get(name="clerk"))
    sample = Case.objects.filter(received_at__gte=timezone.now() - timedelta(days=30)).select_related(
        "petitioner").first()
    query = "我家附近" + sample.summary + "的问题一直没人管，每天都是这样"

    timed("similar_cases (phone + text, 90-day window)",
          lambda: selectors.similar_cases(phone=sample.petitioner.phone, text=query),
          options.runs)
    timed("similar_cases (text only)", lambda: selectors.similar_cases(text=query), options.runs)
    timed("queue search by number",
          lambda: list(selectors.search_cases(clerk, sample.number)[:50]),
          options.runs)
    timed("queue search by phone",
          lambda: list(selectors.search_cases(clerk, sample.petitioner.phone)[:50]),
          options.runs)
    timed("queue search by text",
          lambda: list(selectors.search_cases(clerk, "阳光花园3号院")[:50]),
          options.runs)
    timed("待受理 first page (with the channel counts)",
          lambda: selectors.received_queue(clerk).rows, options.runs)
    timed("the clerk's registrations of today",
          lambda: list(selectors.registered_today(clerk)), options.runs)
    if options.plans:
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                           [str(selectors.REPEAT_WORD_THRESHOLD)])
            # The window's newest part: its quarter (the window is read a quarter at a time).
            quarter = search_indexes.quarter_start(timezone.now())
            recent = Case.objects.filter(
                received_at__gte=max(quarter, timezone.now() - timedelta(days=90)),
                received_at__lt=search_indexes.next_quarter(quarter))
            shortlist = selectors.nearest_by_words(recent, text=query).values_list("pk")[:50]
            print("plan of the repeat shortlist:\n" + shortlist.explain(analyze=True))
        for label, term in (("number", sample.number), ("phone", sample.petitioner.phone),
                            ("text", "阳光花园3号院")):
            plan = selectors.search_cases(clerk, term)[:50].explain()
            scans = [line.strip() for line in plan.splitlines() if "Scan" in line]
            print(f"plan of the search by {label}: " + " | ".join(scans))
    category = Category.objects.get(name="基准子类")
    if options.profile:
        import cProfile
        import pstats

        def register():
            services.register_intake(
                actor=clerk, submission_token=uuid.uuid4(),
                petitioner={"name": "基准", "phone": "13900000000"},
                matter={"channel": "visit", "summary": sample.summary,
                        "content": query, "category": category}, outcome="accept")

        for label, action in (("similar_cases", lambda: selectors.similar_cases(text=query)),
                              ("register_intake", register)):
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(10):
                action()
            profile.disable()
            print(f"---- {label} x10")
            pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    timed("register_intake with acceptance",
          lambda: services.register_intake(
              actor=clerk, submission_token=uuid.uuid4(),
              petitioner={"name": "基准", "phone": "13900000000"},
              matter={"channel": "visit", "summary": "基准登记", "content": "基准登记内容",
                      "category": category},
              outcome="accept"),
          options.runs)


if __name__ == "__main__":
    main()
