"""The 办理 page: notes, contacts, extension, result and its review, through the pages."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from cases.models import Case, State
from dispatch.models import HandlingNote
from tests.factories import drive_to


def test_a_handler_logs_a_contact_and_submits_the_result(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    assert "尚未联系信访人" in client.get(reverse("dispatch:handle", args=[case.number])).content.decode()
    client.post(reverse("dispatch:note", args=[case.number]), {
        "kind": "contact", "text": "电话联系信访人，约定现场查看", "contact_method": "phone",
        "reached": "yes"})
    assert Case.objects.get(pk=case.pk).responded_at is not None
    response = client.post(reverse("dispatch:result", args=[case.number]), {
        "findings": "", "opinion": "限期整改", "result": "已整改", "is_solved": "yes"})
    assert response.status_code == 400 and "findings" in response.context["result_form"].errors
    client.post(reverse("dispatch:result", args=[case.number]), {
        "findings": "现场核查属实", "opinion": "限期整改", "result": "已整改", "is_solved": "yes"})
    assert Case.objects.get(pk=case.pk).state == State.RESULT_SUBMITTED


def test_a_contact_without_its_method_is_marked_on_the_field(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    response = client.post(reverse("dispatch:note", args=[case.number]),
                           {"kind": "contact", "text": "联系"})
    assert response.status_code == 400
    assert "contact_method" in response.context["note_form"].errors
    assert not HandlingNote.objects.exists()


def review(client, user, case, decision, note=""):
    client.force_login(user)
    return client.post(reverse("dispatch:review", args=[case.number]),
                       {"decision": decision, "note": note})


def test_the_review_chain_through_the_pages(client, world):
    case = drive_to(world, State.RESULT_SUBMITTED, sensitive=True)
    client.force_login(world.head)
    assert case.number in client.get(reverse("dispatch:reviews")).content.decode()
    review(client, world.head, case, "approve")
    review(client, world.dispatcher, case, "approve")
    client.force_login(world.supervisor)
    assert case.number in client.get(reverse("dispatch:reviews")).content.decode()
    review(client, world.supervisor, case, "approve")
    assert Case.objects.get(pk=case.pk).review_stage == "approved"


def test_a_send_back_needs_a_note_and_returns_to_handling(client, world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    response = review(client, world.head, case, "send_back")
    assert response.status_code == 400 and "note" in response.context["review_form"].errors
    review(client, world.head, case, "send_back", "请补充现场照片")
    assert Case.objects.get(pk=case.pk).state == State.IN_HANDLING


def test_the_wrong_reviewer_is_refused_readably(client, world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    response = review(client, world.dispatcher, case, "approve")  # the head comes first
    assert response.status_code == 400
    assert "无权" in " ".join(response.context["review_form"].non_field_errors())
    assert Case.objects.get(pk=case.pk).review_stage == "head"


def test_an_extension_is_asked_through_the_page(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    later = timezone.localtime(case.due_at + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("dispatch:extension", args=[case.number]),
                {"reason": "等待鉴定结果", "requested_due_at": later})
    assert case.extension_requests.get().reason == "等待鉴定结果"


def test_another_department_cannot_open_the_handling_page(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler_b)
    assert client.get(reverse("dispatch:handle", args=[case.number])).status_code == 404


def test_handling_material_is_uploaded_and_judged_by_content(client, world):
    from tests.intake.helpers import fake_pdf, pdf

    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    response = client.post(reverse("dispatch:attach", args=[case.number]), {"files": [fake_pdf()]})
    assert response.status_code == 400
    assert "按文件内容判断" in " ".join(response.context["attachment_form"].errors["files"])
    client.post(reverse("dispatch:attach", args=[case.number]), {"files": [pdf("整改通知书.pdf")]})
    assert list(case.attachments.values_list("kind", "original_name")) == [
        ("handling", "整改通知书.pdf")]


def test_an_assisting_department_sees_the_matter_but_not_the_person(client, world):
    from dispatch import services

    case = drive_to(world, State.ACCEPTED)
    services.dispatch(actor=world.dispatcher, case_id=case.pk, mode="assigned",
                      lead_department=world.a.pk, assisting_departments=[world.b.pk])
    client.force_login(world.handler_b)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert case.summary in page and "刘建国" not in page and "13800138001" not in page
    client.force_login(world.handler)
    assert "刘建国" in client.get(reverse("cases:detail", args=[case.number])).content.decode()


def test_another_department_cannot_download_the_slip(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler_b)
    assert client.get(reverse("dispatch:slip", args=[case.number])).status_code == 404
