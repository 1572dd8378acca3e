"""Supervision orders (督办单): the list, the department's answer in its own time, the
reminder when that time passes, closing at the reply, the PDF and the dossier."""

import subprocess
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.exceptions import CaseTransitionError
from cases.models import CaseEvent, Notification, State
from oversight import services
from oversight.models import SupervisionOrder
from oversight.services import sweep_deadlines
from tests.factories import drive_to, reply_from_handling


@pytest.fixture
def overdue_order(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    return SupervisionOrder.objects.get(case=case, level=1)


def test_the_answer_time_is_the_tiers_own(world, travel):
    case = drive_to(world, State.IN_HANDLING)
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    order = SupervisionOrder.objects.get(case=case)
    assert order.answer_due_at - order.opened_at == timedelta(
        hours=case.tier.supervision_answer_hours)
    assert case.tier.code == "T3" and case.tier.supervision_answer_hours == 24


def test_the_supervisor_sees_open_orders_with_their_age(client, world, travel, overdue_order):
    travel.shift(hours=5)
    client.force_login(world.supervisor)
    page = client.get(reverse("oversight:orders")).content.decode()
    assert overdue_order.case.number in page
    assert "5" in page and "小时" in page  # its age
    assert "未反馈" in page
    closed = client.get(reverse("oversight:orders") + "?status=closed").content.decode()
    assert overdue_order.case.number not in closed


def test_each_department_sees_only_its_own_orders(client, world, overdue_order):
    client.force_login(world.head_b)
    assert overdue_order.case.number not in client.get(reverse("oversight:orders")).content.decode()
    assert client.get(reverse("oversight:order", args=[overdue_order.pk])).status_code == 404
    client.force_login(world.head)
    page = client.get(reverse("oversight:orders")).content.decode()
    assert overdue_order.case.number in page
    assert 'id="orders-waiting">1<' in page  # the navigation counts what waits for them


def test_the_department_answers_through_the_page(client, world, overdue_order):
    client.force_login(world.head)
    url = reverse("oversight:order", args=[overdue_order.pk])
    empty = client.post(url, {"answer": "  "})
    assert "请填写反馈内容" in empty.content.decode()
    overdue_order.refresh_from_db()
    assert overdue_order.answered_at is None
    response = client.post(url, {"answer": "已约谈摊主，本周五前答复信访人。"})
    assert response.status_code == 302
    overdue_order.refresh_from_db()
    assert overdue_order.answer.startswith("已约谈") and overdue_order.answered_by == world.head
    event = CaseEvent.objects.get(case=overdue_order.case, action="supervision_answer")
    assert event.actor == world.head and event.data["late"] is False
    assert Notification.objects.filter(recipient=world.supervisor,
                                       kind="supervision_answer").count() == 1
    # Answered once: the form is gone, and the service refuses a second answer.
    assert "提交反馈" not in client.get(url).content.decode()
    with pytest.raises(CaseTransitionError, match="已于"):
        services.answer_order(actor=world.head, order_id=overdue_order.pk, answer="再次反馈")


def test_only_the_lead_department_may_answer(world, overdue_order):
    with pytest.raises(PermissionDenied):
        services.answer_order(actor=world.head_b, order_id=overdue_order.pk, answer="不是我们")
    with pytest.raises(PermissionDenied):
        services.answer_order(actor=world.supervisor, order_id=overdue_order.pk, answer="代答")
    with pytest.raises(ValidationError) as error:
        services.answer_order(actor=world.handler, order_id=overdue_order.pk, answer="")
    assert "answer" in error.value.message_dict


def test_a_late_answer_is_reminded_once(world, travel, overdue_order):
    travel.to(overdue_order.answer_due_at + timedelta(minutes=1))
    sweep_deadlines()
    sweep_deadlines()
    late = Notification.objects.filter(kind="supervision_late")
    assert sorted(late.values_list("recipient__username", flat=True)) == [
        "handler", "head", "supervisor"]
    overdue_order.refresh_from_db()
    assert overdue_order.answer_is_late()
    services.answer_order(actor=world.handler, order_id=overdue_order.pk, answer="迟到的反馈")
    assert CaseEvent.objects.get(action="supervision_answer").data["late"] is True


def test_a_person_told_of_several_late_answers_gets_one_message_listing_them(world, travel):
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(3)]
    travel.to(max(case.due_at for case in cases) + timedelta(minutes=1))
    sweep_deadlines()
    orders = SupervisionOrder.objects.filter(level=1)
    assert orders.count() == 3
    travel.to(max(order.answer_due_at for order in orders) + timedelta(minutes=1))
    sweep_deadlines()
    sweep_deadlines()
    late = Notification.objects.filter(kind="supervision_late")
    assert sorted(late.values_list("recipient__username", flat=True)) == [
        "handler", "head", "supervisor"]
    for notification in late:
        assert notification.case is None and "3" in notification.title
        assert all(case.number in notification.body for case in cases)
    assert not SupervisionOrder.objects.filter(late_reminded_at__isnull=True).exists()


def test_the_reply_closes_the_order_at_once(world, overdue_order):
    case = overdue_order.case
    reply_from_handling(world, case)
    overdue_order.refresh_from_db()  # no sweep has run since
    assert overdue_order.closed_at is not None
    with pytest.raises(CaseTransitionError, match="已办结"):
        services.answer_order(actor=world.head, order_id=overdue_order.pk, answer="晚了")


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content,
                          capture_output=True, check=True).stdout.decode()


def test_the_order_prints_as_a_pdf(client, world, overdue_order):
    client.force_login(world.supervisor)
    response = client.get(reverse("oversight:order_pdf", args=[overdue_order.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("督办单", overdue_order.case.number, "一级督办", "城市管理局",
                     "小区门口夜市占道经营", "尚未反馈"):
        assert expected in text, expected


def test_the_dossier_holds_the_supervision_orders(client, world, overdue_order):
    from feedback.documents import dossier

    services.answer_order(actor=world.head, order_id=overdue_order.pk, answer="已约谈摊主")
    _, pdf = dossier(overdue_order.case, world.supervisor)
    text = pdf_text(pdf)
    assert "督办单" in text and "已约谈摊主" in text


def test_the_notification_centre_filters_and_marks_read(client, world, overdue_order):
    client.force_login(world.supervisor)
    unread = Notification.objects.filter(recipient=world.supervisor, read_at__isnull=True)
    assert unread.exists()
    page = client.get(reverse("cases:notifications") + "?show=unread&kind=overdue")
    text = page.content.decode()
    assert f"超期督办：{overdue_order.case.number}" in text
    assert 'id="unread-count"' in text
    other_kind = client.get(reverse("cases:notifications") + "?kind=digest").content.decode()
    assert "没有通知" in other_kind
    one = unread.get(kind="overdue")
    response = client.get(reverse("cases:open_notification", args=[one.pk]))
    assert response.url == reverse("cases:detail", args=[overdue_order.case.number])
    one.refresh_from_db()
    assert one.read_at is not None
    # Someone else's notification is not found.
    client.force_login(world.head_b)
    assert client.get(reverse("cases:open_notification", args=[one.pk])).status_code == 404


def test_the_order_list_exports_to_excel(client, world, overdue_order):
    import io

    from openpyxl import load_workbook

    client.force_login(world.supervisor)
    response = client.get(reverse("oversight:orders") + "?status=open&export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[3]][:2] == ["案件", "摘要"]
    assert sheet["A4"].value == overdue_order.case.number


def test_withdrawing_an_overdue_case_closes_its_order(world, overdue_order):
    from intake import services as intake_services

    intake_services.withdraw_case(actor=world.clerk, case_id=overdue_order.case_id,
                                  reason="信访人撤回")
    overdue_order.refresh_from_db()
    assert overdue_order.closed_at is not None


def test_the_answering_acts_name_their_consequence():
    from cases.acts import consequences_of
    from oversight.services import close_orders_of

    for transition in ("reply_to_petitioner", "withdraw", "refuse", "answer_on_the_spot",
                       "merge"):
        assert close_orders_of in consequences_of(transition)
