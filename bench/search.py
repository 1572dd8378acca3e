"""Repeat detection and the counter's search by words over millions of cases (issue 17).

Generates, in PostgreSQL with set-based SQL, RECENT cases in the last 90 days (the window
repeat detection reads) and OLDER ones over the three years before, each worded from the
shipped corpus (intake/corpus) and placed at one of ~700 000 made-up places (a
2-character name of 400 characters and a kind: 小区, 花园, 路, …), so that a place is as
rare as in a city. Then times, over repeated runs:
- similar_cases(): a re-told matter (another caller's words for a case of the window),
  the index's shortlist re-ranked by the triage similarity; and how often the re-told
  case's original comes first;
- search_cases() by words as the counter types them: 2 and 4 Chinese characters, a place;
each with its goal and the ratio, and the plans (EXPLAIN) of both.

    bench/run search --recent 3000000 --older 1000000
"""

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

setup_django()

import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, Category, Petitioner, State, TierPolicy  # noqa: E402
from intake import search_indexes, selectors  # noqa: E402

NAME_CHARS = ("锦华苑桃源枫林金桂滨江幸福和平阳光新华兴业恒瑞顺达东方明珠翠湖碧水蓝天"
              "绿洲春晓秋实夏荷冬梅嘉禾丰泽瑞祥安康泰宁福寿康乐长青永安广厦华庭雅居"
              "丽景怡园静安馨苑君悦御景龙湾凤凰麒麟锦绣世纪时代中央国际花溪柳岸清泉"
              "石桥白沙黄河长江珠江太湖西湖南湖北湖东湖月湖星河银河天河云山青山红山"
              "松柏梧桐樱花桂花梨花杏花桃花荷花菊花兰花紫荆紫薇玫瑰茉莉海棠牡丹芙蓉"
              "向阳朝阳红星红旗胜利解放建设人民友谊团结光明前进振兴复兴繁荣昌盛富强"
              "文化教育科技工业农业商业金融贸易物流港口码头车站机场广场公园体育医院")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
KINDS = ["小区", "花园", "家园", "新村", "路", "街", "苑", "公寓"]
DISTRICTS = ["城东区", "城西区", "城南区", "城北区", "高新区", "经开区", "江北区", "滨江区"]
STATES = [State.ARCHIVED] * 6 + [State.IN_HANDLING, State.RECEIVED]


def corpus() -> list[dict]:
    rows = []
    for path in sorted((Path(__file__).resolve().parents[1] / "intake" / "corpus").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    return rows


def generate(recent: int, older: int) -> None:
    made = Case.objects.filter(number__startswith="SB-").count()
    if made >= recent + older:
        print(f"data: {made} cases already there")
        return
    started = time.perf_counter()
    tier = TierPolicy.objects.get(code="T3")
    category = Category.objects.create(name="检索基准", default_tier=tier)
    people = max((recent + older) // 3, 1)
    Petitioner.objects.bulk_create([Petitioner(name="模板", phone="13000000000")])
    first_person = Petitioner.objects.get(name="模板").pk
    template = Case.objects.bulk_create([Case(
        number="SB-TEMPLATE", channel="phone", petitioner_id=first_person, summary="模板",
        content="模板", category=category, tier=tier, state=State.ARCHIVED)])[0]
    columns = [f.column for f in Case._meta.concrete_fields if f.column != "id"]
    made_here = {"number", "petitioner_id", "summary", "content", "place", "received_at",
                 "state"}
    kept = ", ".join(f't."{c}"' for c in columns if c not in made_here)
    listed = ", ".join(f'"{c}"' for c in columns if c not in made_here)
    rows = corpus()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_corpus (k int, summary text, content text)")
        cursor.executemany("INSERT INTO bench_corpus VALUES (%s, %s, %s)",
                           [(i, r["summary"], r["content"][:400]) for i, r in enumerate(rows)])
        person_columns = [f.column for f in Petitioner._meta.concrete_fields
                          if f.column not in ("id", "phone")]
        cursor.execute(
            "INSERT INTO cases_petitioner (phone, {0}) SELECT '13' || lpad(g::text, 9, '0'), "
            "{1} FROM cases_petitioner p, generate_series(1, %s) g WHERE p.id = %s".format(
                ", ".join(f'"{c}"' for c in person_columns),
                ", ".join(f'p."{c}"' for c in person_columns)),
            [people, first_person])
        # People's names: a surname and one or two given characters, as many as a city
        # has (about one in 300 people shares a full name with another).
        cursor.execute(
            "UPDATE cases_petitioner SET name = substr(%(surnames)s::text, (1 + id %% %(s)s)::int, 1) "
            "|| substr(%(chars)s::text, (1 + (id * 7919) %% %(n)s)::int, 1) "
            "|| CASE WHEN id %% 3 = 0 THEN '' "
            "ELSE substr(%(chars)s::text, (1 + (id * 104729) %% %(n)s)::int, 1) END "
            "WHERE id > %(first)s",
            {"surnames": SURNAMES, "s": len(SURNAMES), "chars": NAME_CHARS,
             "n": len(NAME_CHARS), "first": first_person})
        # The two search indexes are built after the load (as one would for a bulk load);
        # the case table's other indexes are kept up by the inserts.
        cursor.execute("DROP INDEX IF EXISTS case_words_trgm_idx")
        for name in search_indexes.present():
            cursor.execute(f'DROP INDEX "{name}"')
        print(f"data: set-up in {time.perf_counter() - started:.0f} s", flush=True)
        chunk = 500_000
        for start in range(0, recent + older, chunk):
            stop = min(start + chunk, recent + older)
            step = time.perf_counter()
            cursor.execute(f"""
                INSERT INTO cases_case (number, petitioner_id, summary, content, place,
                                        received_at, state, {listed})
                SELECT 'SB-' || extract(year FROM at)::int || '-' || lpad(g::text, 8, '0'),
                       %(first)s + 1 + (g * 7919) %% %(people)s,
                       left(name || kind || c.summary, 200), name || kind || c.content,
                       district || name || kind || (1 + g %% 40) || '号',
                       at, (%(states)s::text[])[1 + (g * 31) %% 8], {kept}
                FROM generate_series(%(start)s::bigint, %(stop)s - 1) g
                CROSS JOIN LATERAL (SELECT
                    CASE WHEN g < %(recent)s
                         THEN now() - (g::float / %(recent)s) * interval '89 days'
                         ELSE now() - interval '91 days'
                              - ((g - %(recent)s)::float / greatest(%(older)s, 1))
                                * interval '3 years' END AS at,
                    substr(%(chars)s::text, (1 + (g * 104729) %% %(n)s)::int, 1)
                    || substr(%(chars)s::text, (1 + (g * 15485863 / 7) %% %(n)s)::int, 1) AS name,
                    (%(kinds)s::text[])[1 + (g / 3) %% 8] AS kind,
                    (%(districts)s::text[])[1 + (g / 5) %% 8] AS district) AS made
                JOIN bench_corpus c ON c.k = (g * 613) %% %(corpus)s
                CROSS JOIN cases_case t WHERE t.id = %(template)s
            """, {"first": first_person, "people": people, "states": [str(s) for s in STATES],
                  "start": start, "stop": stop, "recent": recent, "older": older,
                  "chars": NAME_CHARS, "n": len(NAME_CHARS), "kinds": KINDS,
                  "districts": DISTRICTS, "corpus": len(rows), "template": template.pk})
            print(f"data: cases {start}-{stop} in {time.perf_counter() - step:.0f} s",
                  flush=True)
        Case.objects.filter(pk=template.pk).delete()
        step = time.perf_counter()
        made = search_indexes.keep()["made"]
        print(f"data: the words' and the trigrams' indexes by quarter ({len(made)}) built in "
              f"{time.perf_counter() - step:.0f} s", flush=True)
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("ANALYZE cases_petitioner")
    print(f"data: {recent} cases in the last 90 days and {older} older, made in "
          f"{time.perf_counter() - started:.0f} s", flush=True)


def timings(action, inputs) -> list[float]:
    samples = []
    for item in inputs:
        start = time.perf_counter()
        action(item)
        samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)


def report(label: str, samples: list[float], goal_ms: float) -> None:
    p50 = statistics.median(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  goal p95 < {goal_ms:.0f} ms  "
          f"ratio {p95 / goal_ms:.2f}  (n={len(samples)})", flush=True)


def plan_lines(queryset) -> str:
    plan = queryset.explain(analyze=True)
    keep = ("Scan", "Index Cond", "Recheck", "Heap Blocks", "Execution", "Sort", "Limit")
    return "\n    ".join(line.rstrip() for line in plan.splitlines()
                         if any(word in line for word in keep))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recent", type=int, default=3_000_000)
    parser.add_argument("--older", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    options = parser.parse_args()
    generate(options.recent, options.older)
    measure(options.runs, prefix="SB-")


def measure(runs: int, *, prefix: str) -> None:
    """The repeat check and the search by words over the cases numbered `prefix`…"""
    rng = random.Random(17)

    clerk, _ = get_user_model().objects.get_or_create(username="bench-clerk")
    clerk.groups.add(Group.objects.get(name="clerk"))
    window = timezone.now() - timedelta(days=89)
    last = Case.objects.filter(number__startswith=prefix).order_by("-pk").values_list(
        "pk", flat=True).first()
    first = Case.objects.filter(number__startswith=prefix).order_by("pk").values_list(
        "pk", flat=True).first()
    picks = []
    while len(picks) < runs:
        case = Case.objects.filter(pk=rng.randint(first, last), received_at__gte=window).only(
            "pk", "number", "petitioner_id", "summary", "content", "place",
            "received_at").first()
        if case:
            picks.append(case)
    ages = sorted((timezone.now() - case.received_at).days for case in picks)
    print(f"re-told cases: {len(picks)}, their originals {ages[0]}-{ages[-1]} days old "
          f"(median {statistics.median(ages):.0f})")

    def retold(case):
        return {"text": f"再次反映{case.summary}，{case.content[:60]}还是没人管", "place": case.place}

    found_first = found = 0

    def check(case):
        nonlocal found_first, found
        answer = [s.case.pk for s in selectors.similar_cases(**retold(case))]
        found += case.pk in answer
        found_first += bool(answer) and answer[0] == case.pk

    report("repeat check (similar_cases, 90-day window)", timings(check, picks), 100)
    print(f"    the original among the answers in {found}/{len(picks)}, first in "
          f"{found_first}/{len(picks)} (ties: the corpus repeats each wording)")
    places = [re.sub(r"\d+号$", "", case.place[3:]) for case in picks]  # 阳光花园
    terms = ["停水", "油烟", "噪声", "欠薪", "物业管理", "燃气泄漏", "占道经营"]
    inputs = [terms[i % len(terms)] for i in range(runs)]
    # The counter's result page: its first page of search_page (newest first, by stretches).
    report("search by words: 2-4 characters", timings(
        lambda term: selectors.search_page(clerk, term), inputs), 20)
    report("search by words: a place (4-5 characters)", timings(
        lambda term: selectors.search_page(clerk, term), places), 20)
    report("search by words: 2 characters, rare (a name)", timings(
        lambda term: selectors.search_page(clerk, term),
        [place[:2] for place in places]), 20)

    # 找案件 by a petitioner's name (the office): the kind told apart as typed (is anyone
    # so called?), then the person's cases, newest first.
    names = list(Petitioner.objects.filter(pk__in=[c.petitioner_id for c in picks]).values_list(
        "name", flat=True))
    names = [names[i % len(names)] for i in range(runs)]

    def by_name(name):
        kind = selectors.search_kind(clerk, name)
        return selectors.search_page(clerk, name, kind=kind)

    report("search by a petitioner's name (auto)", timings(by_name, names), 20)
    report("search by a case number (auto)", timings(
        lambda case: selectors.search_page(clerk, case.number,
                                           kind=selectors.search_kind(clerk, case.number)),
        picks), 20)

    case = picks[0]
    recent = Case.objects.filter(received_at__gte=timezone.now() - timedelta(
        days=90)).exclude(state=State.MERGED)
    words = retold(case)
    print("plan of the repeat check's shortlist, the place first:\n    " + plan_lines(
        recent.filter(place=words["place"]).order_by("-received_at").values_list(
            "pk", flat=True)[:selectors.REPEAT_PLACE_ROWS]))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                       [str(selectors.REPEAT_NEAR_THRESHOLD)])
        print("then the words (a place given):\n    " + plan_lines(
            selectors.nearest_by_words(recent.filter(
                received_at__gte=search_indexes.quarter_start(timezone.now()),
                received_at__lt=search_indexes.next_quarter(search_indexes.quarter_start(
                    timezone.now()))), **words).values_list("pk")[:selectors.REPEAT_SHORTLIST]))
    for term in ("停水", places[0][:2]):
        print(f"plan of the search by words ({term}):\n    "
              + plan_lines(selectors.search_cases(clerk, term)[:50]))


if __name__ == "__main__":
    main()
