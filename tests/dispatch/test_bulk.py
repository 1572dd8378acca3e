"""Bulk acts on the queues: 批量交办 on the dispatcher's desk and 批量分派承办人 on a
department's inbox. Each ticked case goes through the single-case act in its own
transaction; a case the act refuses is named with its reason and the rest go through."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cases.models import Case, CaseEvent, Notification, State
from cases.roles import Role
from dispatch import services as dispatch_acts
from dispatch.desk import apply_each
from dispatch.selectors import chosen_cases
from tests.factories import UserFactory, build_world, drive_to, run_together


def signed_in(client, person):
    client.force_login(person)
    return client


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def moves_of(case) -> list[tuple]:
    """What a dispatch wrote on the case: its events after acceptance, as the office reads
    them, and whom it told."""
    events = list(CaseEvent.objects.filter(case=case).exclude(
        action__in=["register", "accept"]).order_by("at", "pk").values_list(
            "action", "from_state", "to_state", "note", "holder", "holder_department"))
    told = sorted(Notification.objects.filter(case=case).values_list("recipient", "kind"))
    return [events, told]


def bulk_dispatch(client, cases, **fields):
    data = {"cases": [case.pk for case in cases], **fields}
    return client.post(reverse("dispatch:desk"), data)


# ---------------------------------------------------------------- 批量交办
def test_bulk_dispatch_writes_what_dispatching_one_by_one_writes(client, world):
    one, *several = [drive_to(world, State.ACCEPTED) for _ in range(4)]
    signed_in(client, world.dispatcher)
    client.post(reverse("dispatch:dispatch", args=[one.number]), {
        "category": world.category.pk, "tier": "T3", "mode": "assigned",
        "lead_department": world.a.pk, "assisting_departments": [world.b.pk],
        "note": "请尽快办理"})
    response = bulk_dispatch(client, several, lead_department=world.a.pk,
                             assisting_departments=[world.b.pk], note="请尽快办理")
    assert response.status_code == 302
    assert said(response)[-1] == "已交办 3 件：" + "、".join(c.number for c in several)
    for case in several:
        case.refresh_from_db()
        assert case.state == State.DISPATCHED and case.lead_department == world.a
        assert list(case.assisting_departments.all()) == [world.b]
        assert moves_of(case) == moves_of(one)
    assert moves_of(one)[0]  # there is something to compare


def test_a_case_the_act_refuses_is_named_and_the_others_go_through(client, world):
    first, second = drive_to(world, State.ACCEPTED), drive_to(world, State.ACCEPTED)
    taken = drive_to(world, State.DISPATCHED)  # another dispatcher was quicker
    response = bulk_dispatch(signed_in(client, world.dispatcher), [first, taken, second],
                             lead_department=world.b.pk)
    assert response.status_code == 302
    messages = said(response)
    assert f"已交办 2 件：{first.number}、{second.number}" in messages
    (refusal,) = [m for m in messages if taken.number in m]
    assert refusal.startswith(f"{taken.number} 未交办：") and "已交办" in refusal
    assert Case.objects.get(pk=taken.pk).lead_department == world.a  # untouched
    assert taken.events.filter(action="dispatch").count() == 1
    assert {c.lead_department_id for c in Case.objects.filter(pk__in=[first.pk, second.pk])} \
        == {world.b.pk}


def test_the_desk_offers_a_tick_per_row_to_dispatch(client, world):
    case = drive_to(world, State.ACCEPTED)
    returned = drive_to(world, State.RETURNED)
    page = signed_in(client, world.dispatcher).get(reverse("dispatch:desk")).content.decode()
    assert f'name="cases" value="{case.pk}" form="bulk-dispatch"' in page
    assert f'value="{returned.pk}" form=' not in page  # only the 待交办 list is ticked
    assert 'id="bulk-dispatch"' in page and "交办所选案件" in page


@pytest.mark.parametrize("who", ["clerk", "handler", "head", "supervisor"])
def test_only_a_dispatcher_bulk_dispatches(client, world, who):
    case = drive_to(world, State.ACCEPTED)
    response = bulk_dispatch(signed_in(client, getattr(world, who)), [case],
                             lead_department=world.a.pk)
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


@pytest.mark.parametrize("fields, named", [
    ({"lead_department": "A"}, "所选案件：请至少勾选一件案件。"),
    ({"cases": ["12abc"], "lead_department": "A"}, "所选案件：所选案件无效"),
    ({"cases": ["999999999"], "lead_department": "A"}, "所选案件：所选案件中有 1 件不存在或您无权办理"),
    ({"cases": "CASE", "lead_department": ""}, "主办部门：请选择主办部门。"),
    ({"cases": "CASE", "lead_department": "424242"}, "主办部门：主办部门不存在。"),
    ({"cases": "CASE", "lead_department": "OFFICE"}, "主办部门：主办部门不存在。"),
    ({"cases": "CASE", "lead_department": "A", "assisting_departments": ["x"]},
     "协办部门：协办部门不存在。"),
])
def test_bad_input_is_named_and_nothing_is_dispatched(client, world, fields, named):
    case = drive_to(world, State.ACCEPTED)
    values = {"A": world.a.pk, "OFFICE": world.office.pk, "CASE": case.pk}
    data = {key: ([values.get(v, v) for v in value] if isinstance(value, list)
                  else values.get(value, value)) for key, value in fields.items()}
    response = signed_in(client, world.dispatcher).post(reverse("dispatch:desk"), data)
    assert response.status_code == 400
    assert any(error.startswith(named) for error in response.context["bulk_errors"])
    assert named.split("：", 1)[1][:6] in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_a_case_out_of_sight_stops_the_whole_act(client, world):
    """A head's case list is not the dispatcher's; an archived case is no one's to see
    here: a forged selection is answered, nothing is done."""
    archived = drive_to(world, State.ARCHIVED)
    case = drive_to(world, State.ACCEPTED)
    response = bulk_dispatch(signed_in(client, world.dispatcher), [case, archived],
                             lead_department=world.a.pk)
    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_at_most_the_limit_of_cases_at_once(client, world, settings):
    assert settings.BULK_ACT_MAX_CASES == 100
    response = signed_in(client, world.dispatcher).post(reverse("dispatch:desk"), {
        "cases": list(range(1, 102)), "lead_department": world.a.pk})
    assert response.status_code == 400
    assert response.context["bulk_errors"] == ["所选案件：一次最多处理 100 件案件，您勾选了 101 件。"]
    settings.BULK_ACT_MAX_CASES = 2
    cases = [drive_to(world, State.ACCEPTED) for _ in range(3)]
    assert bulk_dispatch(client, cases, lead_department=world.a.pk).status_code == 400
    assert not Case.objects.filter(state=State.DISPATCHED).exists()
    assert bulk_dispatch(client, cases[:2], lead_department=world.a.pk).status_code == 302
    assert Case.objects.filter(state=State.DISPATCHED).count() == 2


def test_ticked_rows_stay_ticked_when_the_form_is_sent_back(client, world):
    case = drive_to(world, State.ACCEPTED)
    response = bulk_dispatch(signed_in(client, world.dispatcher), [case], lead_department="")
    assert f'value="{case.pk}" form="bulk-dispatch" checked' in response.content.decode()


def test_overlapping_bulk_dispatches_at_once_dispatch_each_case_once(committed_db,
                                                                     postgres_only):
    world = build_world()
    other = UserFactory(username="dispatcher2", roles=[Role.DISPATCHER])
    cases = [drive_to(world, State.ACCEPTED) for _ in range(6)]

    def bulk(actor, selection, department):
        chosen, unseen = chosen_cases(actor, [case.pk for case in selection])
        assert unseen == 0
        return apply_each(chosen, lambda case: dispatch_acts.dispatch(
            actor=actor, case_id=case.pk, mode="assigned", lead_department=department.pk))

    first, second = run_together(
        lambda: bulk(world.dispatcher, cases[:5], world.a),
        lambda: bulk(other, cases[1:], world.b))
    assert not isinstance(first, Exception) and not isinstance(second, Exception), \
        (first, second)
    assert sorted(first.done + second.done) == sorted(c.number for c in cases)
    failed = first.failed + second.failed
    assert len(failed) == 4  # each of the four cases in both selections
    assert all("已交办" in reason for _number, reason in failed)
    for case in cases:
        assert case.events.filter(action="dispatch").count() == 1
        dispatched = Case.objects.get(pk=case.pk)
        assert dispatched.state == State.DISPATCHED
        winner = world.a if case.number in first.done else world.b
        assert dispatched.lead_department == winner


# ---------------------------------------------------------------- 批量分派承办人
@pytest.fixture
def second_handler(world):
    person = UserFactory(username="handler2", roles=[Role.HANDLER])
    world.a.members.add(person)
    return person


def bulk_assign(client, cases, handler, department):
    return client.post(reverse("dispatch:inbox") + f"?department={department.pk}", {
        "department": department.pk, "cases": [case.pk for case in cases],
        "handler": handler.pk})


def test_a_head_assigns_several_cases_to_a_handler_at_once(client, world, second_handler):
    cases = [drive_to(world, State.DISPATCHED) for _ in range(3)]
    response = bulk_assign(signed_in(client, world.head), cases, second_handler, world.a)
    assert response.status_code == 302
    assert response["Location"] == reverse("dispatch:inbox") + f"?department={world.a.pk}"
    assert said(response) == ["已分派 3 件：" + "、".join(c.number for c in cases)]
    for case in cases:
        assert Case.objects.get(pk=case.pk).handler == second_handler
        assert case.events.filter(action="assign_handler").get().data == {
            "handler": second_handler.pk}
    assert Notification.objects.filter(recipient=second_handler, kind="dispatched",
                                       title__startswith="分派给您承办").count() == 3


def test_the_inbox_offers_ticks_to_a_head_only(client, world):
    case = drive_to(world, State.DISPATCHED)
    page = signed_in(client, world.head).get(reverse("dispatch:inbox")).content.decode()
    assert f'name="cases" value="{case.pk}" form="bulk-assign"' in page
    assert "分派所选案件" in page
    page = signed_in(client, world.handler).get(reverse("dispatch:inbox")).content.decode()
    assert 'form="bulk-assign"' not in page and "分派所选案件" not in page


def test_a_handler_cannot_bulk_assign(client, world):
    case = drive_to(world, State.DISPATCHED)
    response = bulk_assign(signed_in(client, world.handler), [case], world.handler, world.a)
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).handler is None


def test_a_head_cannot_assign_another_department_s_cases(client, world):
    ours = drive_to(world, State.DISPATCHED)
    theirs = dispatch_acts.dispatch_case(actor=world.dispatcher,
                                         case_id=drive_to(world, State.ACCEPTED).pk,
                                         lead_department_id=world.b.pk)
    signed_in(client, world.head)
    response = bulk_assign(client, [ours, theirs], world.handler, world.a)
    assert response.status_code == 400
    assert any(e.startswith("所选案件：所选案件中有 1 件不存在或您无权办理")
               for e in response.context["bulk_errors"])
    response = bulk_assign(client, [theirs], world.handler_b, world.b)  # not their head
    assert response.status_code == 400
    assert "部门：只能为您负责的部门分派承办人。" in response.context["bulk_errors"]
    assert Case.objects.get(pk=ours.pk).handler is None
    assert Case.objects.get(pk=theirs.pk).handler is None


def test_a_head_cannot_assign_to_someone_outside_the_department(client, world):
    case = drive_to(world, State.DISPATCHED)
    response = bulk_assign(signed_in(client, world.head), [case], world.handler_b, world.a)
    assert response.status_code == 400
    assert "承办人：承办人须是本部门的在岗人员。" in response.context["bulk_errors"]
    assert Case.objects.get(pk=case.pk).handler is None


def test_a_case_that_can_no_longer_be_assigned_is_named(client, world, second_handler):
    open_case = drive_to(world, State.DISPATCHED)
    returned = drive_to(world, State.DISPATCHED)
    dispatch_acts.return_case(actor=world.handler, case_id=returned.pk, reason="不属本部门职责")
    # Returned: no longer in the inbox (a stale page still shows it), and the head still
    # sees it as the department's: the act refuses it, the other case is assigned.
    response = bulk_assign(signed_in(client, world.head), [open_case, returned],
                           second_handler, world.a)
    assert response.status_code == 302
    messages = said(response)
    assert f"已分派 1 件：{open_case.number}" in messages
    assert any(m.startswith(f"{returned.number} 未分派：") for m in messages)
    assert Case.objects.get(pk=returned.pk).handler is None


def test_bulk_assign_limit_and_empty_selection(client, world, settings):
    signed_in(client, world.head)
    response = client.post(reverse("dispatch:inbox"), {
        "department": world.a.pk, "cases": list(range(1, 102)), "handler": world.handler.pk})
    assert response.status_code == 400
    assert "所选案件：一次最多处理 100 件案件，您勾选了 101 件。" in response.context["bulk_errors"]
    response = client.post(reverse("dispatch:inbox"), {
        "department": world.a.pk, "handler": world.handler.pk})
    assert "所选案件：请至少勾选一件案件。" in response.context["bulk_errors"]
