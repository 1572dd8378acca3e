"""Safety first, as data: an emergency phrase is never below T1 and alerts the office at
once; an outage is at least T2; a category changed at dispatch brings its tier."""

import uuid

import pytest

from cases.models import Notification, State
from dispatch import services as dispatch_acts
from intake import services, triage
from intake.models import SafetyPhrase
from tests.factories import build_world, drive_to, register


@pytest.fixture
def world(db):
    return build_world()


@pytest.mark.parametrize("text", [
    "地下室一股很重的燃气味，大家都不敢开灯", "楼道里有人持刀追砍", "我老妈被困在电梯里半小时了",
    "小区门口的路面塌陷了一个大坑", "孩子走丢了两个小时", "他说再不给钱就跳楼",
    "配电箱电线裸露，小孩天天在旁边玩", "隔壁厨房着火了！",
])
def test_an_emergency_phrase_is_never_below_t1(world, text):
    case = register(world, summary="来电反映", content=text, category=None)
    assert case.tier.code == "T1"
    case = services.accept_case(actor=world.clerk, case_id=case.pk, tier_code="T3")
    assert case.tier.code == "T1"  # no choice at acceptance goes below the phrase
    assert case.events.get(action="accept").data["safety"]["floor"] == "T1"


def test_an_emergency_alerts_the_dispatchers_and_supervisors_at_once(world):
    case = register(world, summary="燃气味很浓", content="单元门口闻到燃气", category=None)
    told = set(Notification.objects.filter(case=case, kind="emergency")
               .values_list("recipient__username", flat=True))
    assert {"dispatcher", "supervisor"} <= told


def test_an_outage_is_at_least_t2_and_never_lowers_an_emergency(world):
    case = register(world, summary="整栋楼停水", content="早上六点到现在一直没水", category=None)
    assert case.tier.code == "T2"
    case = register(world, summary="停电了", content="停电后有人被困在电梯里", category=None)
    assert case.tier.code == "T1"
    assert not Notification.objects.filter(case__summary="整栋楼停水", kind="emergency").exists()


def test_plain_complaints_keep_their_category_tier(world):
    case = register(world)  # 占道经营, no phrase
    assert case.tier is None
    case = services.accept_case(actor=world.clerk, case_id=case.pk)
    assert case.tier.code == "T3"


def test_the_phrases_are_data(world):
    SafetyPhrase.objects.create(phrase="井盖丢失", kind="emergency")
    assert triage.safety_match("路口的 井盖丢失 了").floor == "T1"
    SafetyPhrase.objects.filter(phrase="燃气味").update(is_active=False)
    assert triage.safety_match("有燃气味") is None or "燃气味" not in triage.safety_match(
        "有燃气味").phrases


def test_a_category_changed_at_dispatch_brings_its_default_tier(world):
    from cases.models import Category, TierPolicy

    urgent = Category.objects.create(name="停水", default_department=world.a,
                                     default_tier=TierPolicy.objects.get(code="T2"))
    case = drive_to(world, State.ACCEPTED)
    assert case.tier.code == "T3"
    case = dispatch_acts.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                                  category=urgent.pk, tier="T3",  # the form's prefilled value
                                  lead_department=world.a.pk)
    case.refresh_from_db()
    assert case.tier.code == "T2"
    change = case.events.get(action="change_tier")
    assert "停水" in change.note and change.data["to"] == "T2"


def test_a_reason_keeps_the_dispatchers_tier(world):
    from cases.models import Category, TierPolicy

    urgent = Category.objects.create(name="停水", default_department=world.a,
                                     default_tier=TierPolicy.objects.get(code="T2"))
    case = drive_to(world, State.ACCEPTED)
    dispatch_acts.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                           category=urgent.pk, tier="T3", tier_change_reason="仅咨询停水通知",
                           lead_department=world.a.pk)
    case.refresh_from_db()
    assert case.tier.code == "T3"


def test_the_api_and_the_portal_get_the_floor_too(world, client):
    case = services.submit_online(
        submission_token=uuid.uuid4(), attachments=(),
        petitioner={"name": "赵六", "phone": "13700001111"},
        matter={"summary": "楼道起火", "content": "三楼楼道起火冒烟", "category": None})
    assert case.tier.code == "T1"
    client.force_login(world.clerk)
    answer = client.post("/api/v1/cases/", {
        "channel": "hotline_12345", "summary": "停电", "content": "整个小区停电四个小时",
        "petitioner": {"name": "钱七", "phone": "13700002222"}, "outcome": "accept"},
        content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["tier"] == "T2"
