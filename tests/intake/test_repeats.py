"""Repeats found from any door (issue 14, item 6): the triage model's text
representation with the petitioner and the place; the candidates come back from the API
and stand on the intake queue."""

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, Channel
from cases.roles import Role
from intake import learning, selectors, services
from tests.factories import UserFactory

from .helpers import matter, petitioner_details, token

ORIGINAL = {"summary": "锦华苑北门烧烤摊油烟扰民",
            "content": "锦华苑北门每天晚上六点后有三四个烧烤摊，油烟直往三号楼飘，一直到凌晨一点，"
                       "窗户都不能开，老人孩子咳嗽。",
            "place": "城东区锦华苑北门"}
RETOLD = {"summary": "再次反映锦华苑北门烧烤油烟",
          "content": "上个月反映过锦华苑北门晚上烧烤摊的事，到现在还在摆，油烟飘进三号楼，"
                     "半夜一点还有人，开不了窗。",
          "place": "城东区锦华苑北门"}
SAME_TOPIC = {"summary": "幸福里菜场门口早市占道",
              "content": "幸福里菜场门口每天清晨有菜贩把筐摆在机动车道上，上班高峰堵车。",
              "place": "城西区幸福里菜场"}


def intake(world, what, **petitioner):
    return services.register_intake(
        actor=world.clerk, submission_token=token(),
        petitioner=petitioner_details(**petitioner),
        matter=matter(world, channel="phone", **what))


def test_the_corpus_repeats_rank_first_and_different_matters_stay_below(db):
    figures = learning.repeat_figures()
    assert figures["repeats"] >= 50
    assert figures["first_rank"] >= 0.90
    assert figures["false_alarm"] <= 0.10


def test_the_score_needs_the_wording_the_place_or_person_alone_is_not_enough():
    threshold = settings.REPEAT_MIN_SIMILARITY
    assert learning.repeat_score(0.0, 1.0, same_petitioner=True) < threshold + 20
    assert learning.repeat_score(0.0, 1.0) < threshold
    assert learning.repeat_score(0.3, 1.0) > learning.repeat_score(0.3, 0.0)
    assert (learning.repeat_score(0.2, same_petitioner=True)
            > learning.repeat_score(0.2, same_name=True) > learning.repeat_score(0.2))


def test_text_similarity_uses_the_tfidf_representation(db):
    retold = learning.text_similarity(ORIGINAL["content"], RETOLD["content"])
    other = learning.text_similarity(ORIGINAL["content"], SAME_TOPIC["content"])
    assert 0 <= other < retold <= 1
    assert learning.text_similarity("", RETOLD["content"]) == 0


def test_a_retold_matter_from_another_phone_ranks_first_and_another_matter_is_not_shown(
        world):
    original = intake(world, ORIGINAL, phone="13700000001", name="赵强")
    other = intake(world, SAME_TOPIC, phone="13700000002", name="钱敏")
    found = selectors.similar_cases(text=f"{RETOLD['summary']} {RETOLD['content']}",
                                    place=RETOLD["place"], phone="13700000009")
    assert found and found[0].case == original and not found[0].same_petitioner
    assert found[0].score >= settings.REPEAT_MIN_SIMILARITY
    assert other not in [s.case for s in found]


def test_the_same_petitioner_raises_the_score(world):
    intake(world, ORIGINAL, phone="13700000001", name="赵强")
    text = f"{RETOLD['summary']} {RETOLD['content']}"
    stranger = selectors.similar_cases(text=text, place=RETOLD["place"])[0].score
    by_name = selectors.similar_cases(text=text, place=RETOLD["place"], name="赵强")[0].score
    by_phone = selectors.similar_cases(text=text, place=RETOLD["place"],
                                       phone="13700000001")[0]
    assert by_phone.same_petitioner and by_phone.score > by_name > stranger


def test_registration_keeps_the_candidates_in_the_register_event(world):
    original = intake(world, ORIGINAL, phone="13700000001")
    intake(world, SAME_TOPIC, phone="13700000002")
    retold = intake(world, RETOLD, phone="13700000003")
    assert retold.repeat_candidates[0]["number"] == original.number
    data = retold.events.get(action="register").data
    assert data["repeats"][0]["number"] == original.number
    assert data["repeats"][0]["score"] >= settings.REPEAT_MIN_SIMILARITY
    first = original.events.get(action="register").data
    assert "repeats" not in first


@pytest.fixture
def platform(world):
    user = UserFactory(username="platform-12345", roles=[Role.CLERK])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def test_the_api_answers_the_candidates(platform, world):
    original = intake(world, ORIGINAL, phone="13700000001", name="赵强")
    response = platform.post(reverse("api-cases"), {
        "channel": "hotline_12345", "summary": RETOLD["summary"],
        "content": RETOLD["content"], "place": RETOLD["place"],
        "petitioner": {"name": "赵强", "phone": "13700000001"}, "outcome": "leave"},
        format="json")
    assert response.status_code == 201, response.json()
    repeats = response.json()["repeats"]
    assert repeats[0]["number"] == original.number and repeats[0]["same_petitioner"]
    assert set(repeats[0]) == {"number", "score", "same_petitioner"}
    fresh = platform.post(reverse("api-cases"), {
        "channel": "hotline_12345", "summary": "路灯不亮", "content": "和平路路灯坏了一周",
        "petitioner": {"name": "李四", "phone": "13700000008"}, "outcome": "leave"},
        format="json")
    assert fresh.status_code == 201 and fresh.json()["repeats"] == []


def test_the_queue_shows_the_suspected_repeat(client, world):
    original = intake(world, ORIGINAL, phone="13700000001")
    other = intake(world, SAME_TOPIC, phone="13700000002")
    retold = services.submit_online(
        submission_token=token(), petitioner={"name": "周明", "phone": "13622223333"},
        matter=RETOLD)
    assert retold.channel == Channel.WEB
    client.force_login(world.clerk)
    page = client.get(reverse("intake:queue"))
    rows = {case.pk: case for case in page.context["queue"].rows}
    assert rows[retold.pk].repeat["number"] == original.number
    assert rows[other.pk].repeat is None
    html = page.content.decode()
    assert f"疑似重复：{original.number}" in html
    assert reverse("cases:detail", args=[original.number]) in html
    assert Case.objects.count() == 3
