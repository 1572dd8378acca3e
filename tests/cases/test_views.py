"""Signing in, the landing page of each role, and the admin."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, State
from cases.roles import Role
from tests.factories import PASSWORD, UserFactory, drive_to


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def test_a_visitor_is_sent_to_the_login_page(client, db):
    # The home page is the public's doors; a staff page sends a visitor to the login.
    assert client.get(reverse("home")).status_code == 200
    response = client.get(reverse("dispatch:inbox"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    page = client.get(reverse("login")).content.decode()
    assert "工作人员登录" in page and 'lang="zh-hans"' in page


@pytest.mark.parametrize(
    ("username", "title", "figure"),
    [
        ("clerk", "接待登记工作台", "我今天登记的"),
        ("dispatcher", "派单工作台", "待交办"),
        ("handler", "承办工作台", "待签收"),
        ("head", "部门负责人工作台", "结果审核中"),
        ("supervisor", "督办工作台", "在办案件"),
        ("admin", "系统管理", "节假日与调休"),
    ],
)
def test_each_role_lands_on_its_own_page(client, world, username, title, figure):
    sign_in(client, getattr(world, username))
    page = client.get(reverse("home")).content.decode()
    assert f"<h1>{title}</h1>" in page
    assert figure in page


def desk_figure(response, label):
    return next(f["value"] for f in response.context["desk"]["figures"] if f["label"] == label)


def test_the_handler_landing_counts_only_the_department_cases(client, world):
    drive_to(world, State.DISPATCHED)  # to department A
    client.force_login(world.handler_b)
    response = client.get(reverse("home"))
    assert desk_figure(response, "待签收") == 0
    client.force_login(world.handler)
    response = client.get(reverse("home"))
    assert desk_figure(response, "待签收") == 1
    assert "小区门口夜市占道经营" in response.content.decode()


def test_the_landing_page_reads_in_a_fixed_number_of_queries(client, world,
                                                            django_assert_max_num_queries):
    for _ in range(5):
        drive_to(world, State.IN_HANDLING)
    client.force_login(world.supervisor)
    # + the calendar and tiers the clocks read, once per request
    with django_assert_max_num_queries(10):
        client.get(reverse("home"))


def test_a_person_without_a_role_is_told_to_ask_for_one(client, db):
    user = UserFactory(username="newcomer")
    sign_in(client, user)
    assert "尚未分配角色" in client.get(reverse("home")).content.decode()


def test_failed_logins_are_throttled(client, world):
    for _ in range(4):
        response = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
        assert response.status_code == 200
        assert "请输入一个正确的" in response.content.decode()
    response = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
    assert response.status_code == 429  # the fifth failure locks
    response = client.post(reverse("login"), {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.content.decode()


def test_administrators_see_the_missing_calendar_year_on_every_page(client, world, travel):
    travel.to(timezone.make_aware(timezone.datetime(2026, 12, 1, 9, 0)))
    client.force_login(world.admin)
    assert "2027 年的法定节假日尚未录入" in client.get(reverse("home")).content.decode()
    assert "2027 年的法定节假日尚未录入" in client.get(reverse("admin:index")).content.decode()
    client.force_login(world.clerk)
    assert "尚未录入" not in client.get(reverse("home")).content.decode()


def test_logout_is_a_post(client, world):
    client.force_login(world.clerk)
    assert client.post(reverse("logout")).status_code == 302
    # Signed out, the home page is the public's: its two doors and the staff login.
    page = client.get(reverse("home")).content.decode()
    assert "工作台" not in page
    for door in (reverse("intake:public_submit"), reverse("intake:public_track"),
                 reverse("login")):
        assert f'href="{door}"' in page


def test_an_approved_result_badges_as_waiting_for_the_reply(db):
    from cases.models import ReviewStage

    reviewing = Case(state=State.RESULT_SUBMITTED, review_stage=ReviewStage.OFFICE)
    assert reviewing.status_display == "结果待审核"
    approved = Case(state=State.RESULT_SUBMITTED, review_stage=ReviewStage.APPROVED)
    assert approved.status_display == "已审核，待答复"
    assert Case(state=State.REPLIED).status_display == "已答复"


ADMIN_PAGES = ["department", "tierpolicy", "category", "calendarday", "petitioner", "case",
               "caseevent", "casenumbersequence"]


@pytest.mark.parametrize("model", ADMIN_PAGES)
def test_every_model_has_a_working_admin_list(client, world, model):
    drive_to(world, State.DISPATCHED)
    client.force_login(world.admin)
    response = client.get(reverse(f"admin:cases_{model}_changelist"), {"q": "占道"})
    assert response.status_code == 200


def test_the_admin_shows_the_case_with_its_events_and_history(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert case.number in page and "department_accept" in page
    history = client.get(reverse("admin:cases_case_history", args=[case.pk]))
    assert history.status_code == 200


def test_the_admin_cannot_change_the_state_of_a_case(client, world):
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.admin)
    response = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    form = response.context["adminform"].form
    assert "state" not in form.fields and "due_at" not in form.fields
    assert "summary" in form.fields


def test_an_archived_case_is_read_only_in_the_admin(client, world):
    case = drive_to(world, State.ARCHIVED)
    client.force_login(world.admin)
    response = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert "summary" not in response.context["adminform"].form.fields


def test_the_roles_are_groups_with_permissions(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    clerk = Group.objects.get(name=Role.CLERK)
    assert clerk.permissions.filter(codename="add_case").exists()
    assert Group.objects.get(name=Role.ADMINISTRATOR).permissions.count() > 30


def test_the_interface_is_chinese_even_for_an_english_browser(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "工作人员登录" in page.content.decode()


def test_english_is_there_when_chosen_from_the_menu(client, world):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Staff sign-in" in client.get(reverse("login")).content.decode()
    client.force_login(world.dispatcher)
    page = client.get(reverse("home")).content.decode()
    assert "Dispatch desk" in page and "To dispatch" in page


def test_the_office_name_is_shown_on_every_page(client, world, settings):
    settings.OFFICE_NAME = "朝阳区信访办"
    assert "朝阳区信访办" in client.get(reverse("login")).content.decode()


CORRECTIONS = ("change_tier", "change_lead_department", "change_sensitive",
               "change_confidential")


@pytest.mark.parametrize("person, offered", [
    ("dispatcher", set(CORRECTIONS)),
    ("supervisor", {"change_tier", "change_sensitive", "change_confidential"}),
    ("admin", set(CORRECTIONS)),
    ("clerk", {"change_confidential"}),
    ("handler", set()),
    ("head", set()),
])
def test_the_case_page_offers_each_correction_to_its_people(client, world, person, offered):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(getattr(world, person))
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert {name for name in CORRECTIONS if f'data-act="{name}"' in page} == offered


def test_the_tier_is_corrected_from_the_act_page(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.dispatcher)
    url = reverse("cases:act", args=[case.number, "change_tier"])
    page = client.get(url).content.decode()
    assert "调整为" in page and "调整级别的理由" in page and "现为 T3" in page
    refused = client.post(url, {"tier_code": "T1", "reason": ""})
    assert refused.status_code == 400 and "reason" in refused.context["form"].errors
    response = client.post(url, {"tier_code": "T1", "reason": "涉及人身安全"})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).tier.code == "T1"


def test_a_case_is_redispatched_and_marked_from_the_act_page(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.dispatcher)
    url = reverse("cases:act", args=[case.number, "change_lead_department"])
    page = client.get(url).content.decode()
    assert "改派至" in page and "现由城市管理局主办" in page
    assert f'value="{world.a.pk}"' not in page  # only another department
    client.post(url, {"lead_department": world.b.pk, "reason": "经核实属住建部门职责"})
    client.post(reverse("cases:act", args=[case.number, "change_sensitive"]),
                {"is_sensitive": "yes", "reason": "媒体关注"})
    case.refresh_from_db()
    assert (case.lead_department, case.is_sensitive) == (world.b, True)
    client.force_login(world.handler)  # A's handler no longer sees the case
    assert client.get(reverse("cases:detail", args=[case.number])).status_code == 404


def test_a_clerk_keeps_the_web_case_they_took_in(client, world):
    from cases.models import Channel
    from intake import services as intake_services
    from tests.factories import register

    case = register(world, actor=None, channel=Channel.WEB)
    intake_services.accept_case(actor=world.clerk, case_id=case.pk)
    client.force_login(world.clerk)
    assert client.get(reverse("cases:detail", args=[case.number])).status_code == 200
    other = UserFactory(username="clerk2", roles=["clerk"])
    client.force_login(other)
    assert client.get(reverse("cases:detail", args=[case.number])).status_code == 404


def test_the_history_names_every_act_of_the_table(world):
    from cases.acts import all_acts
    from cases.models import action_labels

    labels = action_labels()
    for act in all_acts():
        assert labels[act.name] != act.name, act.name
