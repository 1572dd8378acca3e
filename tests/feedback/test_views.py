import subprocess

from django.urls import reverse

from cases.models import Case, State
from feedback.models import ReturnVisit
from dispatch import services as dispatch_acts
from tests.factories import drive_to


def approved(world):
    from dispatch import services as dispatch_services

    case = drive_to(world, State.IN_HANDLING)
    dispatch_services.submit_result(actor=world.handler, case_id=case.pk,
                                    findings="现场核查，摊位占道属实", opinion="责令撤离",
                                    result="摊位已撤离", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    return case


def test_the_reply_page_drafts_from_the_approved_result_and_sends(client, world):
    case = approved(world)
    client.force_login(world.dispatcher)
    assert case.number in client.get(reverse("feedback:desk")).content.decode()
    draft = client.get(reverse("feedback:reply", args=[case.number])).context["form"].initial
    assert "城市管理局" in draft["content"] and "摊位已撤离" in draft["content"]
    response = client.post(reverse("feedback:reply", args=[case.number]),
                           {"channel": "letter", "content": draft["content"]})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == State.REPLIED
    letter = client.get(reverse("feedback:reply_letter", args=[case.number]))
    text = subprocess.run(["pdftotext", "-", "-"], input=letter.content, capture_output=True,
                          check=True).stdout.decode()
    assert "答复意见书" in text and case.number in text and "摊位已撤离" in text


def test_a_reply_with_no_content_is_named_on_the_field(client, world):
    case = approved(world)
    client.force_login(world.dispatcher)
    response = client.post(reverse("feedback:reply", args=[case.number]),
                           {"channel": "phone", "content": "   "})
    assert response.status_code == 400 and "content" in response.context["form"].errors
    assert Case.objects.get(pk=case.pk).state == State.RESULT_SUBMITTED


def test_a_reached_visit_needs_its_verdict(client, world):
    case = drive_to(world, State.REPLIED)
    client.force_login(world.clerk)
    response = client.post(reverse("feedback:visit", args=[case.number]),
                           {"method": "phone", "reached": "yes"})
    assert response.status_code == 400
    assert {"is_solved", "satisfaction"} <= set(response.context["form"].errors)
    assert not ReturnVisit.objects.exists()
    client.post(reverse("feedback:visit", args=[case.number]),
                {"method": "phone", "reached": "yes", "is_solved": "yes",
                 "satisfaction": "satisfied"})
    assert Case.objects.get(pk=case.pk).state == State.VISITED


def test_an_unreached_attempt_is_recorded(client, world):
    case = drive_to(world, State.REPLIED)
    client.force_login(world.clerk)
    client.post(reverse("feedback:visit", args=[case.number]),
                {"method": "phone", "reached": "no", "comments": "无人接听"})
    case.refresh_from_db()
    assert case.state == State.REPLIED and case.unreached_visits == 1


def test_a_visit_on_a_case_not_yet_replied_is_refused_readably(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.clerk)
    response = client.post(reverse("feedback:visit", args=[case.number]),
                           {"method": "phone", "reached": "yes", "is_solved": "yes",
                            "satisfaction": "satisfied"})
    assert response.status_code == 400 and "不能" in " ".join(response.context["form"].non_field_errors())


def test_departments_have_no_feedback_desk(client, world):
    client.force_login(world.handler)
    assert client.get(reverse("feedback:desk")).status_code == 403
