"""常用答复口径 / 常用办理用语: filled from the case, scoped by category, offered on the
form they are written for, and never naming a petitioner a department may not know."""

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Category, State
from feedback.models import Phrase
from feedback.phrases import REPLY_USES, RESULT_USES, fill, phrases_for, values_for
from tests.factories import CategoryFactory, TopCategoryFactory, drive_to, register

from .test_views import approved

pytestmark = pytest.mark.django_db


def phrase(use="reply", category=None, text="您反映的问题已办理。", **extra):
    return Phrase.objects.create(title=extra.pop("title", text[:10]), use=use,
                                 category=category, text=text, **extra)


def page(client, user, name, case) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=[case.number]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_placeholders_are_filled_from_the_case(world):
    case = register(world, place="幸福路夜市")
    case = Case.objects.get(pk=case.pk)
    text = fill("{信访人}您好：{编号}于{登记日期}登记，{办理单位}办理，{发生地点}，{问题分类}",
                values_for(world.dispatcher, case))
    day = timezone.localtime(case.received_at)
    assert text == (f"刘建国您好：{case.number}于{day.year}年{day.month}月{day.day}日登记，"
                    f"信访办公室办理，幸福路夜市，占道经营")


def test_the_handling_unit_and_the_deadline_come_from_the_dispatch(world):
    case = Case.objects.get(pk=drive_to(world, State.IN_HANDLING).pk)
    due = timezone.localtime(case.due_at)
    assert fill("{办理单位}，{答复期限}前", values_for(world.handler, case)) == (
        f"城市管理局，{due.year}年{due.month}月{due.day}日 {due:%H:%M}前")


def test_the_admin_refuses_an_unknown_placeholder_and_names_it(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("admin:feedback_phrase_add"), {
        "title": "开头", "use": "reply", "text": "{姓名}您好，{编号}已办结。{电话}",
        "is_active": "on", "sort_order": "0"})
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["text"])
    assert "{姓名}" in errors and "{电话}" in errors and "{编号}" not in errors.split("。")[0]
    assert not Phrase.objects.exists()
    response = client.post(reverse("admin:feedback_phrase_add"), {
        "title": "开头", "use": "reply", "text": "{信访人}您好，{编号}已办结。",
        "is_active": "on", "sort_order": "0"})
    assert response.status_code == 302 and Phrase.objects.get().use == "reply"


def test_the_admin_lists_the_placeholders_in_its_help(client, world):
    client.force_login(world.admin)
    body = client.get(reverse("admin:feedback_phrase_add")).content.decode()
    assert "{信访人}" in body and "{答复期限}" in body
    assert client.get(reverse("admin:feedback_phrase_changelist"),
                      {"use": "reply", "is_active": "1", "q": "开头"}).status_code == 200


def test_a_case_gets_the_phrases_of_its_category_its_parent_and_every_category(world):
    case = register(world)
    own = phrase(category=world.category, title="本类")
    parent = phrase(category=world.category.parent, title="上级")
    everyone = phrase(title="通用")
    sibling = phrase(category=CategoryFactory(parent=world.category.parent), title="同级")
    other_top = phrase(category=TopCategoryFactory(), title="别类")
    offered = {p.pk for p in phrases_for(world.dispatcher, case, uses=REPLY_USES)}
    assert offered == {own.pk, parent.pk, everyone.pk}
    assert sibling.pk not in offered and other_top.pk not in offered


def test_a_case_without_a_category_gets_only_the_phrases_for_every_category(world):
    case = register(world, category=None)
    everyone = phrase(title="通用")
    phrase(category=world.category)
    assert [p.pk for p in phrases_for(world.dispatcher, case, uses=REPLY_USES)] == [everyone.pk]


def test_a_department_never_reads_a_confidential_petitioners_name(world):
    phrase(use="findings", text="已联系{信访人}核实。")
    case = drive_to(world, State.IN_HANDLING)
    [shown] = phrases_for(world.handler, case, uses=RESULT_USES)
    assert shown.text == "已联系刘建国核实。"
    Case.objects.filter(pk=case.pk).update(is_confidential=True)
    case = Case.objects.get(pk=case.pk)
    [shown] = phrases_for(world.handler, case, uses=RESULT_USES)
    assert shown.text == "已联系信访人核实。"
    # the office, which answers the petitioner, still writes the name
    [shown] = phrases_for(world.dispatcher, case, uses=RESULT_USES)
    assert shown.text == "已联系刘建国核实。"


def test_an_assisting_department_reads_no_name(world):
    case = drive_to(world, State.IN_HANDLING)
    case.assisting_departments.add(world.b)
    assert values_for(world.handler_b, case)["信访人"] == "信访人"


def test_the_reply_page_offers_the_reply_phrases_filled_without_script(client, world):
    case = approved(world)
    phrase(use="reply", text="{信访人}您好，编号{编号}已办结。", title="答复开头")
    phrase(use="findings", text="经现场核查属实。", title="核查")
    phrase(use="reply", text="停用的口径。", title="停用", is_active=False)
    body = page(client, world.dispatcher, "feedback:reply", case)
    assert f"刘建国您好，编号{case.number}已办结。" in body
    assert "答复开头" in body and "js/phrases.js" in body and "css/phrases.css" in body
    assert 'data-phrase-field="content"' in body
    assert "经现场核查属实。" not in body and "停用的口径。" not in body


def test_the_handling_page_offers_the_result_phrases_for_their_fields(client, world):
    case = drive_to(world, State.IN_HANDLING)
    phrase(use="findings", text="经现场核查，{发生地点}情况属实。", title="核查")
    phrase(use="opinion", text="责令限期整改。", title="意见")
    phrase(use="result", text="已整改完毕。", title="结果")
    phrase(use="reply", text="答复用的口径。", title="答复")
    phrase(use="result", text="停用的结果。", title="停用", is_active=False)
    body = page(client, world.handler, "dispatch:handle", case)
    for field in ("findings", "opinion", "result"):
        assert f'data-phrase-field="{field}"' in body
    assert "责令限期整改。" in body and "已整改完毕。" in body
    assert "答复用的口径。" not in body and "停用的结果。" not in body


def test_the_handling_page_of_a_confidential_case_fills_no_name(client, world):
    phrase(use="findings", text="已电话联系{信访人}。")
    case = drive_to(world, State.IN_HANDLING)
    Case.objects.filter(pk=case.pk).update(is_confidential=True)
    body = page(client, world.handler, "dispatch:handle", case)
    assert "已电话联系信访人。" in body and "刘建国" not in body


def test_a_page_with_no_phrases_shows_no_list(client, world):
    case = drive_to(world, State.IN_HANDLING)
    assert 'id="phrases"' not in page(client, world.handler, "dispatch:handle", case)


def test_the_demo_phrases_use_only_known_placeholders():
    from feedback.phrases import unknown_placeholders
    from oversight.management.commands.seed_demo import CATEGORIES, PHRASES

    for where, use, title, text in PHRASES:
        assert not unknown_placeholders(text), title
        assert use in {"reply", "result", "findings", "opinion"}
        if where is not None and where[1] is not None:
            assert where[1] in [sub for sub, _tier, _department in CATEGORIES[where[0]]]
