"""The triage model learned from the office's own closed cases: the department that
finally answered is the label, every model is kept with its held-out figures, and a
model that scores worse than the one in use is not taken."""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import learning, tasks
from intake import services as intake_acts
from intake.models import TriageModel, TriageSource
from tests.factories import CategoryFactory, build_world, register

STREET = ["夜市摊贩占道经营，每晚摆摊到凌晨", "烧烤摊占用人行道，油烟很大", "早市菜贩占满机动车道",
          "水果摊把人行道堵死了，推车过不去", "路口流动摊点乱摆乱放", "小吃摊占道经营，垃圾遍地"]
LIFT = ["电梯三天两头停运，物业不修", "楼里电梯异响，物业说没钱维修", "电梯年久失修，老人上不了楼",
        "物业擅自提高电梯费", "电梯按钮失灵，物业推脱", "单元电梯停用一个月没人管"]
PLACES = ["幸福路", "和平里", "阳光花园", "滨河小区", "东四胡同", "建设街", "人民路", "高新区"]


@pytest.fixture
def world(db, travel):
    # Case numbers, and so the held-out split, are the same on every run.
    travel.to(datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    world = build_world()
    world.lift = CategoryFactory(name="电梯运行", default_department=world.b)
    return world


@pytest.fixture(autouse=True)
def _no_model_in_this_process():
    learning.forget()
    yield
    learning.forget()


def closed_case(world, text: str, *, answered_by, first_sent_to=None, category=None):
    """A case replied by `answered_by`; sent first to `first_sent_to` (which returns it)
    when given."""
    handler = {world.a.pk: world.handler, world.b.pk: world.handler_b}
    head = {world.a.pk: world.head, world.b.pk: world.head_b}
    case = register(world, summary=text[:20], content=text, place=random.choice(PLACES),
                    category=category or world.category)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    if first_sent_to is not None:
        dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                    lead_department_id=first_sent_to.pk)
        dispatch_acts.return_case(actor=handler[first_sent_to.pk], case_id=case.pk,
                                  reason="不属本部门职责")
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=answered_by.pk)
    dispatch_acts.department_accept_case(actor=handler[answered_by.pk], case_id=case.pk)
    dispatch_acts.submit_result(actor=handler[answered_by.pk], case_id=case.pk,
                                findings="已处理", opinion="已处理", result="已处理",
                                is_solved=True)
    dispatch_acts.approve_result(actor=head[answered_by.pk], case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    return feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, content="已处理",
                                    channel="phone").case


def history(world, *, rounds: int = 2, lift_answered_by=None, lift_first_sent_to=None):
    random.seed(14)
    for _ in range(rounds):
        for text in STREET:
            closed_case(world, text, answered_by=world.a)
        for text in LIFT:
            closed_case(world, text, answered_by=lift_answered_by or world.b,
                        first_sent_to=lift_first_sent_to, category=world.lift)


def top_department(text: str) -> int:
    return learning.predict(text).departments[0][0]


def test_there_is_no_prediction_without_a_model(world):
    assert learning.predict("夜市摊贩占道经营") is None


def test_there_is_no_prediction_for_an_empty_text(world):
    history(world, rounds=1)
    learning.train()
    assert learning.predict("  ") is None


def test_a_model_trained_on_the_office_history_suggests_the_department_that_answered(world):
    history(world)
    model = learning.train()

    assert model.is_active and model.source == TriageSource.OWN
    assert model.own_cases == 24 and model.train_size + model.held_out_size == 24
    assert model.department_top1 is not None and model.tier_accuracy is not None
    prediction = learning.predict("小区门口夜市摊贩占道，天天到半夜")
    assert prediction.departments[0][0] == world.a.pk
    assert prediction.categories[0][0] == world.category.pk
    assert prediction.tiers[0][0] == "T3"
    assert len(prediction.departments) <= 3 and prediction.departments[0][1] > 0.5
    assert prediction.label == model.label and "24 件" in prediction.label
    assert top_department("电梯坏了好几天，物业一直不来修") == world.b.pk


def test_a_retrain_after_redispatches_changes_the_suggested_department(world):
    # Lift cases used to be answered by department A.
    history(world, rounds=1, lift_answered_by=world.a)
    first = learning.train()
    assert first.is_active
    assert top_department("电梯停了，物业不管") == world.a.pk

    # Now A returns them, the office upholds the return and B answers: B is learned.
    history(world, rounds=3, lift_first_sent_to=world.a)
    second = learning.train()

    assert second.is_active, second.kept_reason
    assert not TriageModel.objects.get(pk=first.pk).is_active
    assert top_department("电梯停了，物业不管") == world.b.pk
    assert top_department("夜市摊贩占道经营") == world.a.pk


def test_a_model_that_scores_worse_than_the_active_one_is_kept_inactive(world, monkeypatch):
    history(world)
    good = learning.train()
    assert top_department("夜市摊贩占道经营") == world.a.pk

    # A model that learned every department the wrong way round.
    swap = {world.a.pk: world.b.pk, world.b.pk: world.a.pk}
    fit = learning.fit
    monkeypatch.setattr(learning, "fit", lambda examples: fit([
        learning.Example(key=e.key, text=e.text, category=e.category,
                         department=swap.get(e.department), tier=e.tier)
        for e in examples]))
    worse = learning.train()

    assert not worse.is_active
    assert worse.compared_with_id == good.pk
    assert "部门首选准确率" in worse.kept_reason
    assert worse.department_top1 < worse.comparison["department_top1"]
    assert TriageModel.objects.get(is_active=True).pk == good.pk
    assert top_department("夜市摊贩占道经营") == world.a.pk
    assert TriageModel.objects.count() == 2  # the worse one is kept, for the record


def test_the_administrator_may_put_a_kept_model_back_in_use(world):
    history(world, rounds=1)
    first = learning.train()
    second = learning.train()  # the same data: not worse, so it is taken
    assert second.is_active

    learning.activate(model_id=first.pk)

    assert TriageModel.objects.get(is_active=True).pk == first.pk
    assert learning.predict("夜市摊贩占道经营").label == first.label


def test_below_the_minimum_the_corpus_completes_the_office_cases(world, settings):
    from cases.models import Category, Department

    settings.TRIAGE_MIN_OWN_CASES = 1000
    city = CategoryFactory(name="城市管理", parent=None, default_tier=None)
    CategoryFactory(name="占道经营", parent=city)
    Department.objects.create(name="城管", code="CGJ")
    history(world, rounds=1)
    rows = [{"id": "x1", "summary": "夜市占道", "content": "夜市摊贩占道", "place": "某路",
             "category": "城市管理", "subcategory": "占道经营", "tier": "T3",
             "department": "CGJ", "repeat_of": None},
            {"id": "x2", "summary": "同上", "content": "夜市摊贩还在占道", "place": "某路",
             "category": "城市管理", "subcategory": "占道经营", "tier": "T3",
             "department": "CGJ", "repeat_of": "x1"},
            {"id": "x3", "summary": "不认识的分类", "content": "……", "place": "",
             "category": "无此分类", "subcategory": "无", "tier": "T3", "department": "NONE",
             "repeat_of": None}]

    examples = learning.corpus_examples(rows)
    assert [e.key for e in examples] == ["corpus:x1", "corpus:x1"]  # a repeat: same side
    assert examples[0].category == Category.objects.get(name="占道经营", parent=city).pk

    model = learning.train()
    assert model.source == TriageSource.MIXED and model.own_cases == 12
    assert model.corpus_rows == len(learning.corpus_examples())
    assert "含随附语料" in model.label


def test_the_shipped_corpus_is_read(db):
    rows = learning.corpus_rows()
    assert rows and all({"id", "summary", "content", "subcategory", "tier", "department"}
                        <= row.keys() for row in rows)


def test_the_task_trains_and_is_routed_to_exports_and_scheduled_nightly(world):
    assert settings.CELERY_TASK_ROUTES["intake.tasks.retrain_triage"] == {"queue": "exports"}
    (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
                if entry["task"] == "intake.tasks.retrain_triage"]
    assert len(entry["schedule"].hour) == 1
    assert tasks.retrain_triage.delay().get() is None  # nothing to learn yet
    history(world, rounds=1)
    model_id = tasks.retrain_triage.delay().get()
    assert TriageModel.objects.get(pk=model_id).is_active


def test_the_admin_lists_the_models_with_their_figures_and_retrains(world, client,
                                                                    django_capture_on_commit_callbacks):
    history(world, rounds=1)
    model = learning.train()
    client.force_login(world.admin)
    url = reverse("admin:intake_triagemodel_changelist")

    page = client.get(url).content.decode()
    assert "立即重新训练" in page and "部门首选" in page
    assert f"{model.department_top1 * 100:.1f}%" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:intake_triagemodel_retrain"))
    assert response.status_code == 302
    assert TriageModel.objects.count() == 2

    kept = TriageModel.objects.exclude(pk=model.pk).get()
    client.post(url, {"action": "make_active", "_selected_action": [model.pk]})
    assert TriageModel.objects.get(is_active=True).pk == model.pk
    assert not TriageModel.objects.get(pk=kept.pk).is_active
    assert client.get(reverse("admin:intake_triagemodel_retrain")).status_code == 405


def test_old_models_keep_their_figures_but_not_their_bytes(world, settings):
    settings.TRIAGE_KEEP_FITTED = 1
    history(world, rounds=1)
    first = learning.train()
    learning.train()
    learning.train()

    old = TriageModel.objects.get(pk=first.pk)
    assert not old.fitted and old.department_top1 == first.department_top1
    with pytest.raises(ValidationError):
        learning.activate(model_id=first.pk)
