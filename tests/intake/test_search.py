"""Searches with indexes (issue 17, item 5): repeat candidates from anywhere in the
repeat window, not only the newest REPEAT_CANDIDATES; the counter's search by words
through the character-pair index, a 2-character Chinese term included, within what the
searcher may see."""

from datetime import timedelta

from django.utils import timezone

from cases.models import Case
from intake import selectors

from .test_repeats import ORIGINAL, RETOLD, SAME_TOPIC, intake

OTHERS = [
    {"summary": "滨河小区路灯不亮", "content": "滨河小区三期的路灯坏了两周，晚上回家很黑。",
     "place": "城北区滨河小区"},
    {"summary": "建设街井盖缺失", "content": "建设街十字路口东侧的井盖丢了，有人差点掉下去。",
     "place": "城南区建设街"},
    {"summary": "人民路噪声扰民", "content": "人民路工地夜里十二点还在打桩，吵得睡不着。",
     "place": "城中区人民路"},
]


def test_a_repeat_older_than_the_newest_candidates_is_found_anywhere_in_the_window(
        world, settings, postgres_only):
    settings.REPEAT_CANDIDATES = 1  # the old path would read only the newest case
    original = intake(world, ORIGINAL, phone="13700000001")
    Case.objects.filter(pk=original.pk).update(
        received_at=timezone.now() - timedelta(days=settings.REPEAT_WINDOW_DAYS - 2))
    for i, other in enumerate(OTHERS + [SAME_TOPIC]):
        intake(world, other, phone=f"1370000002{i}")
    found = selectors.similar_cases(text=f"{RETOLD['summary']} {RETOLD['content']}",
                                    place=RETOLD["place"], phone="13700000009")
    assert found and found[0].case == original


def test_a_case_past_the_window_is_not_a_repeat_candidate(world, settings, postgres_only):
    original = intake(world, ORIGINAL, phone="13700000001")
    Case.objects.filter(pk=original.pk).update(
        received_at=timezone.now() - timedelta(days=settings.REPEAT_WINDOW_DAYS + 1))
    found = selectors.similar_cases(text=f"{RETOLD['summary']} {RETOLD['content']}",
                                    place=RETOLD["place"], phone="13700000009")
    assert original not in [s.case for s in found]


def test_two_chinese_characters_are_found_by_words(world):
    water = intake(world, {"summary": "桃源小区停水三天", "content": "桃源小区从周一起一直没水。",
                           "place": "城东区桃源小区"}, phone="13700000001")
    intake(world, OTHERS[0], phone="13700000002")
    assert list(selectors.search_cases(world.clerk, "停水")) == [water]
    assert list(selectors.search_cases(world.clerk, "桃源")) == [water]  # the place too
    assert list(selectors.search_cases(world.clerk, "小区停水")) == [water]
    assert list(selectors.search_cases(world.clerk, "水桃")) == []  # pairs, in their order


def test_words_are_found_newest_first_within_the_search_days(world, settings):
    older = intake(world, OTHERS[0], phone="13700000001")
    newer = intake(world, {**OTHERS[0], "summary": "滨河小区路灯又不亮了"}, phone="13700000002")
    gone = intake(world, {**OTHERS[0], "summary": "滨河小区路灯去年不亮"}, phone="13700000003")
    Case.objects.filter(pk=older.pk).update(received_at=timezone.now() - timedelta(days=3))
    Case.objects.filter(pk=gone.pk).update(
        received_at=timezone.now() - timedelta(days=settings.SEARCH_TEXT_DAYS + 1))
    assert list(selectors.search_cases(world.clerk, "路灯")) == [newer, older]


def test_words_answer_only_the_cases_the_searcher_may_see(world):
    intake(world, {"summary": "桃源小区停水三天", "content": "一直没水。"}, phone="13700000001")
    assert list(selectors.search_cases(world.handler, "停水")) == []
    assert len(selectors.search_cases(world.supervisor, "停水")) == 1


def test_a_single_character_is_still_found(world):
    water = intake(world, {"summary": "桃源小区停水三天", "content": "一直没水。"},
                   phone="13700000001")
    assert list(selectors.search_cases(world.clerk, "水")) == [water]
