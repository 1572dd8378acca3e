"""Suggestions for every case that arrives: the responsibility list outranks the model,
the safety floor outranks everything, a case without a category gets the suggested one
applied and marked, and the dispatcher confirms or changes it with a reason."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import State
from dispatch import services as dispatch_acts
from dispatch.models import ResponsibilityEntry, TriageRecord
from intake import triage
from tests.factories import build_world


@pytest.fixture
def world(db):
    return build_world()


@dataclass
class FakePrediction:
    categories: list = field(default_factory=list)
    departments: list = field(default_factory=list)
    tiers: list = field(default_factory=list)
    label: str = "测试模型"


@pytest.fixture
def model(monkeypatch):
    """A learned model that says whatever the test wants."""
    prediction = FakePrediction()
    monkeypatch.setattr(triage, "_learned", lambda text: prediction)
    return prediction


def api_case(client, world, **fields):
    client.force_login(world.clerk)
    body = {"channel": "hotline_12345", "summary": "小区门口夜市占道",
            "content": "每天晚上摊贩占满人行道", "outcome": "accept",
            "petitioner": {"name": "钱七", "phone": "13700002222"}, **fields}
    response = client.post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_case_without_a_category_gets_the_suggestion_applied_and_marked(world, client):
    ResponsibilityEntry.objects.create(matter="占道经营", keywords="摊贩 占道", category=world.category,
                                       department=world.a, version="2026年版")
    answer = api_case(client, world)
    assert answer["suggestion"]["categories"][0]["name"].endswith("占道经营")
    assert answer["suggestion"]["departments"][0]["source"] == "list"
    record = TriageRecord.objects.get(case__number=answer["number"])
    assert record.category == world.category and record.status == "suggested"
    assert record.case.category == world.category and answer["tier"] == "T3"


def test_the_list_outranks_the_model_and_says_so(world, model):
    model.departments = [(world.b.pk, 0.99)]
    ResponsibilityEntry.objects.create(matter="夜市占道", keywords="夜市", department=world.a,
                                       version="2026年版")
    found = triage.suggest(summary="夜市占道", content="夜市摊位")
    assert [o.value for o in found.departments][:2] == [world.a, world.b]
    assert found.department.reason == "权责清单（2026年版）：夜市占道"
    assert found.departments[1].source == "model"


def test_an_entry_out_of_force_is_not_used(world):
    today = timezone.localdate()
    ResponsibilityEntry.objects.create(matter="旧清单", keywords="夜市", department=world.b,
                                       effective_from=today - timedelta(days=400),
                                       effective_to=today - timedelta(days=1))
    ResponsibilityEntry.objects.create(matter="新清单", keywords="夜市", department=world.a,
                                       effective_from=today + timedelta(days=1))
    assert not [o for o in triage.suggest(content="夜市").departments if o.source == "list"]


def test_no_model_lowers_what_a_safety_phrase_raised(world, model):
    model.tiers = [("T3", 0.99), ("T1", 0.01)]
    found = triage.suggest(content="地下室里燃气味很重")
    assert [o.value for o in found.tiers] == ["T1"]
    assert found.tier.source == "rule" and "燃气味" in found.tier.reason


def test_the_model_fills_in_a_category_and_tier(world, model):
    from cases.models import TierPolicy

    world.category.default_tier = TierPolicy.objects.get(code="T3")
    world.category.save()
    model.categories = [(world.category.pk, 0.9)]
    model.tiers = [("T3", 0.8)]
    found = triage.suggest(content="门口有人摆摊卖烧烤")
    assert found.category.value == world.category and found.category.source == "model"
    assert found.tier.value == "T3"


def dispatch(world, case, **fields):
    return dispatch_acts.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                                  lead_department=world.a.pk, **fields)


def test_the_dispatcher_confirms_or_changes_the_suggestion_with_a_reason(world, client):
    from django.core.exceptions import ValidationError

    from cases.models import Case, Category

    ResponsibilityEntry.objects.create(matter="占道经营", keywords="摊贩", category=world.category,
                                       department=world.a)
    first = Case.objects.get(number=api_case(client, world)["number"])
    dispatch(world, first, category=world.category.pk)
    assert TriageRecord.objects.get(case=first).status == "confirmed"
    second = Case.objects.get(number=api_case(client, world)["number"])
    other = Category.objects.create(name="环境卫生", default_department=world.a)
    with pytest.raises(ValidationError) as refused:
        dispatch(world, second, category=other.pk)
    assert "note" in refused.value.message_dict
    dispatch(world, second, category=other.pk, note="实为垃圾堆放")
    record = TriageRecord.objects.get(case=second)
    assert (record.status, record.reason, record.decided_by) == ("changed", "实为垃圾堆放",
                                                                 world.dispatcher)
    assert Case.objects.get(pk=second.pk).state == State.DISPATCHED


def test_the_dispatch_page_shows_the_top_three_with_their_sources(world, client):
    from tests.factories import drive_to

    ResponsibilityEntry.objects.create(matter="夜市占道", keywords="夜市", department=world.b)
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.dispatcher)
    page = client.get(f"/dispatch/cases/{case.number}/").content.decode()
    assert "分诊建议" in page and "权责清单" in page and "分类默认" in page


def test_the_counter_form_asks_for_suggestions_by_post(world, client):
    ResponsibilityEntry.objects.create(matter="燃气安全", keywords="燃气", department=world.a)
    client.force_login(world.clerk)
    assert client.get("/intake/suggest/").status_code == 405
    answer = client.post("/intake/suggest/", {"summary": "地下室燃气味", "content": "很浓"}).json()
    assert answer["safety"]["floor"] == "T1" and answer["tiers"][0]["code"] == "T1"
    assert answer["departments"][0]["id"] == world.a.pk
    assert client.post("/intake/suggest/", {}).json()["categories"] == []
    page = client.get("/intake/register/").content.decode()
    assert 'data-suggest="/intake/suggest/"' in page and 'id="triage-suggestion"' in page
    client.force_login(world.handler)
    assert client.post("/intake/suggest/", {"summary": "x"}).status_code in (302, 403)


def test_the_queue_shows_the_applied_suggestion_and_an_emergency(world, client):
    from intake import services
    import uuid

    ResponsibilityEntry.objects.create(matter="占道经营", keywords="摊贩", category=world.category,
                                       department=world.a)
    services.submit_online(submission_token=uuid.uuid4(), attachments=(),
                           petitioner={"name": "赵六", "phone": "13700001111"},
                           matter={"summary": "摊贩占道", "content": "楼下摊贩天天占道",
                                   "category": None})
    services.submit_online(submission_token=uuid.uuid4(), attachments=(),
                           petitioner={"name": "钱七", "phone": "13700002222"},
                           matter={"summary": "楼道起火", "content": "三楼着火了", "category": None})
    client.force_login(world.clerk)
    page = client.get("/intake/queue/").content.decode()
    assert "系统建议" in page and "占道经营" in page and 'tag alert">T1' in page


def test_the_dispatch_page_says_the_category_was_the_systems(world, client):
    ResponsibilityEntry.objects.create(matter="占道经营", keywords="摊贩", category=world.category,
                                       department=world.a)
    number = api_case(client, world)["number"]
    client.force_login(world.dispatcher)
    page = client.get(f"/dispatch/cases/{number}/").content.decode()
    assert "系统已按建议设为" in page and "系统建议）" in page
    client.cookies["django_language"] = "en"
    page = client.get(f"/dispatch/cases/{number}/").content.decode()
    assert "This case arrived without a category" in page and "Suggested by the system" in page
