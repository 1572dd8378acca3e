"""Extensions are bounded and told: at most the tier's number per round (beyond it only a
supervisor decides), and an approved one is told to the petitioner by their channel and
to the 12345 platform for its cases, in the act's transaction."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.acts import allowed_names
from cases.exceptions import CaseTransitionError
from cases.models import Case, Channel, Delivery, Notification, State, TierPolicy
from cases.services import send_deliveries
from dispatch import services
from dispatch.models import ExtensionRequest
from feedback import services as feedback_services
from intake import query_codes
from intake import services as intake_services
from tests.factories import drive_to, register


def in_handling(world, **registration):
    """A case registered as given, accepted, dispatched to A and taken on by its handler."""
    case = register(world, **registration)
    intake_services.accept_case(actor=world.clerk, case_id=case.pk)
    services.dispatch_case(actor=world.dispatcher, case_id=case.pk, lead_department_id=world.a.pk)
    return services.department_accept_case(actor=world.handler, case_id=case.pk)


def ask(world, case, *, days=2, reason="需等待房屋安全鉴定结果"):
    case.refresh_from_db()
    return services.request_extension(actor=world.handler, case_id=case.pk, reason=reason,
                                      requested_due_at=case.due_at + timedelta(days=days))


def limit(code, n):
    TierPolicy.objects.filter(code=code).update(max_extensions=n)


def test_the_limit_is_the_tiers_and_the_one_beyond_it_needs_a_supervisor(world):
    limit("T3", 2)
    case = drive_to(world, State.IN_HANDLING)
    for _ in range(2):
        request = ask(world, case)
        assert not request.beyond_limit
        services.approve_extension(actor=world.dispatcher, request_id=request.pk)
    third = ask(world, case)
    assert third.beyond_limit
    assert set(Notification.objects.filter(kind="extension_requested", title__contains="超出")
               .values_list("recipient__username", flat=True)) == {"supervisor"}
    with pytest.raises(PermissionDenied, match="须经督查人员批准"):
        services.approve_extension(actor=world.dispatcher, request_id=third.pk)
    services.approve_extension(actor=world.supervisor, request_id=third.pk)
    case.refresh_from_db()
    assert case.extension_count == 3


def test_a_dispatcher_cannot_decide_beyond_the_limit_and_is_told_why(client, world):
    limit("T3", 1)
    case = drive_to(world, State.IN_HANDLING)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk)
    second = ask(world, case)
    assert "decide_extension" not in allowed_names(world.dispatcher, case)
    assert "decide_extension" in allowed_names(world.supervisor, case)
    with pytest.raises(PermissionDenied, match="本轮已获批延期 1 次.*须经督查人员批准"):
        services.decide_extension(actor=world.dispatcher, case_id=case.pk, decision="refuse",
                                  note="不同意")
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:act", args=[case.number, "decide_extension"]))
    assert page.status_code == 403 and "须经督查人员批准" in page.content.decode()
    assert second.case.number not in client.get(reverse("dispatch:desk")).content.decode()
    client.force_login(world.supervisor)
    page = client.get(reverse("cases:act", args=[case.number, "decide_extension"])).content
    assert "超出可延期次数，须经督查人员批准" in page.decode()
    assert "超出可延期次数" in client.get(reverse("dispatch:supervision")).content.decode()
    services.decide_extension(actor=world.supervisor, case_id=case.pk, decision="approve")
    assert ExtensionRequest.objects.get(pk=second.pk).state == "approved"


def test_within_the_limit_the_office_decides_from_its_desk(client, world):
    case = drive_to(world, State.IN_HANDLING)
    ask(world, case)
    assert set(Notification.objects.filter(kind="extension_requested")
               .values_list("recipient__username", flat=True)) == {"dispatcher", "supervisor"}
    client.force_login(world.dispatcher)
    assert case.number in client.get(reverse("dispatch:desk")).content.decode()
    response = client.post(reverse("cases:act", args=[case.number, "decide_extension"]),
                           {"decision": "approve", "note": "同意", "told_reason": "需等待鉴定"})
    assert response.status_code == 302
    assert ExtensionRequest.objects.get().state == "approved"


def test_the_request_page_says_when_a_further_extension_needs_a_supervisor(client, world):
    limit("T3", 1)
    case = drive_to(world, State.IN_HANDLING)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk)
    client.force_login(world.handler)
    page = client.get(reverse("dispatch:handle", args=[case.number])).content.decode()
    assert "本轮已获批延期 1 次，本响应级别每轮可延期 1 次" in page
    assert "再申请延期将超出可延期次数，须经督查人员批准" in page
    case.refresh_from_db()
    until = timezone.localtime(case.due_at + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("dispatch:extension", args=[case.number]),
                           {"reason": "鉴定未完成", "requested_due_at": until}, follow=True)
    assert "须经督查人员批准" in response.content.decode()
    assert case.extension_requests.get(state="pending").beyond_limit


def test_a_second_request_while_one_is_pending_is_refused(world):
    case = drive_to(world, State.IN_HANDLING)
    ask(world, case)
    with pytest.raises(CaseTransitionError, match="已有一份延期申请在审批中"):
        ask(world, case)
    assert case.extension_requests.count() == 1


@pytest.mark.parametrize("shift, field", [
    (timedelta(0), "requested_due_at"),             # not after the deadline
    (timedelta(days=-3), "requested_due_at"),
    (timedelta(days=3650), "requested_due_at"),     # absurd: ten years on
])
def test_a_requested_time_that_is_no_extension_is_a_field_error(world, shift, field):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(ValidationError) as error:
        services.request_extension(actor=world.handler, case_id=case.pk, reason="鉴定",
                                   requested_due_at=case.due_at + shift)
    assert field in error.value.message_dict
    assert not case.extension_requests.exists()


@pytest.mark.parametrize("until", ["0001-01-01T00:00", "9999-12-31T23:59", "2026-13-45T99:99",
                                   "2099-01-01T00:00"])
def test_a_bad_date_on_the_request_page_is_named_on_its_field(client, world, until):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    response = client.post(reverse("dispatch:extension", args=[case.number]),
                           {"reason": "鉴定", "requested_due_at": until})
    assert response.status_code == 400
    assert 'id="field-requested_due_at"' in response.content.decode()
    assert 'class="field has-error" id="field-requested_due_at"' in response.content.decode()
    assert not case.extension_requests.exists()


@pytest.mark.parametrize("posted", [
    {"reason": "鉴定\x00未完成", "requested_due_at": "2031-01-01T10:00"},
    {"reason": "鉴定", "requested_due_at": "2031-01-01\x00"},
])
def test_a_nul_character_on_the_request_page_writes_nothing(client, world, posted):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    response = client.post(reverse("dispatch:extension", args=[case.number]), posted)
    assert response.status_code == 400  # refused at the edge or on its field, never a 500
    assert not case.extension_requests.exists()
    with pytest.raises(ValidationError) as error:
        services.request_extension(actor=world.handler, case_id=case.pk, reason="鉴定\x00",
                                   requested_due_at=case.due_at + timedelta(days=1))
    assert "reason" in error.value.message_dict


def test_a_nul_in_the_decision_is_refused_on_its_field(client, world):
    case = drive_to(world, State.IN_HANDLING)
    ask(world, case)
    with pytest.raises(ValidationError) as error:
        services.decide_extension(actor=world.supervisor, case_id=case.pk, decision="approve",
                                  told_reason="鉴定\x00")
    assert "told_reason" in error.value.message_dict
    client.force_login(world.dispatcher)
    response = client.post(reverse("cases:act", args=[case.number, "decide_extension"]),
                           {"decision": "approve", "note": "x\x00", "told_reason": ""})
    assert response.status_code == 400
    assert ExtensionRequest.objects.get().state == "pending"


# ---------------------------------------------------------------- told
def test_an_e_mail_petitioner_gets_one_e_mail_with_the_act(
        world, mailoutbox, django_capture_on_commit_callbacks):
    case = in_handling(world, channel=Channel.EMAIL)
    world.petitioner.email = "liu@example.org"  # given after registration: no code e-mail
    world.petitioner.save()
    request = ask(world, case)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.approve_extension(actor=world.dispatcher, request_id=request.pk,
                                   note="内部：部门上次已延期，下不为例",
                                   told_reason="需等待房屋安全鉴定结果")
        # Written in the act's transaction; nothing left before the commit.
        assert Delivery.objects.filter(to="liu@example.org").count() == 1
        assert not mailoutbox
    assert callbacks
    row = Delivery.objects.get(to="liu@example.org")
    assert row.channel == "email" and row.state == "sent" and row.case_id == case.pk
    assert [m.to for m in mailoutbox] == [["liu@example.org"]]
    message = mailoutbox[0]
    case.refresh_from_db()
    assert case.number in message.subject and "延期" in message.subject
    assert case.number in message.body and "需等待房屋安全鉴定结果" in message.body
    assert f"{timezone.localtime(case.due_at).day}日" in message.body
    assert "内部" not in message.body  # the office's note is its own
    assert ExtensionRequest.objects.get().told_channel == "email"
    assert send_deliveries() == 0 and len(mailoutbox) == 1


def _replied_by_sms_and_reopened(world):
    """Answered by SMS (the way chosen with the petitioner), found unsatisfied: reopened."""
    case = drive_to(world, State.RESULT_SUBMITTED)
    services.approve_result(actor=world.head, case_id=case.pk)
    services.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback_services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="sms",
                                 content="已整改")
    feedback_services.record_visit(actor=world.clerk, case_id=case.pk, method="phone",
                                   reached=True, is_solved=False, satisfaction="unsatisfied")
    case.refresh_from_db()
    assert case.state == State.IN_HANDLING and case.reply_channel == "sms"
    return case


def test_an_sms_petitioner_gets_an_sms_record_that_no_mail_server_takes(
        client, world, mailoutbox):
    case = _replied_by_sms_and_reopened(world)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk)
    row = Delivery.objects.get(channel="sms")
    assert row.to == "13800138001" and row.state == "pending" and row.case_id == case.pk
    assert case.number in row.body and "需等待房屋安全鉴定结果" in row.body
    mailoutbox.clear()
    assert send_deliveries() == 0 and not mailoutbox
    assert Delivery.objects.get(pk=row.pk).state == "pending"
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "待发送短信" in page and row.body in page
    assert "13800138001" not in page  # the office sees the number masked until revealed
    client.force_login(world.admin)
    listing = client.get(reverse("admin:cases_delivery_changelist") + "?channel=sms")
    assert "待发送短信" in listing.content.decode()
    client.post(reverse("admin:cases_delivery_changelist"),
                {"action": "mark_sms_sent", "_selected_action": [row.pk]})
    assert Delivery.objects.get(pk=row.pk).state == "sent"


def test_a_department_does_not_see_the_sms_record(client, world):
    case = _replied_by_sms_and_reopened(world)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk)
    client.force_login(world.handler)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "待发送短信" not in page


def test_a_12345_case_tells_the_platform_with_its_ticket(client, world, mailoutbox):
    from intake.models import Platform

    platform = Platform.objects.create(name="12345平台", code="bj12345",
                                       callback_url="https://12345.example.org/hook",
                                       callback_secret="secret")
    case = in_handling(world, channel=Channel.HOTLINE_12345,
                       external_reference="BJ12345-2026-000789")
    request = ask(world, case)
    mailoutbox.clear()
    request = services.approve_extension(actor=world.dispatcher, request_id=request.pk,
                                         told_reason="需现场复测")
    row = Delivery.objects.filter(channel="platform").latest("pk")
    assert request.platform_notice == row
    case.refresh_from_db()
    payload = json.loads(row.body)
    assert row.to == platform.code and row.state == "pending"
    assert payload["ticket"] == "BJ12345-2026-000789" and payload["event"] == "extended"
    assert payload["case_number"] == case.number
    assert payload["data"]["reason"] == "需现场复测"
    assert payload["data"]["due_at"].startswith(
        timezone.localtime(case.due_at).strftime("%Y-%m-%dT%H:%M"))
    assert send_deliveries() == 0 and not mailoutbox  # the callback sender takes it
    client.force_login(world.admin)
    listing = client.get(reverse("admin:cases_delivery_changelist") + "?channel=platform")
    assert "BJ12345-2026-000789" in listing.content.decode()


@pytest.mark.parametrize("channel", [Channel.LETTER, Channel.VISIT, Channel.WEB])
def test_a_letter_or_a_call_is_a_task_for_the_office(world, channel):
    case = in_handling(world, channel=channel)
    services.approve_extension(actor=world.supervisor, request_id=ask(world, case).pk)
    task = Notification.objects.filter(kind="extension_notice").first()
    # The dispatcher who dispatched the case, and the clerk who took it in.
    assert set(Notification.objects.filter(kind="extension_notice")
               .values_list("recipient__username", flat=True)) == {"dispatcher", "clerk"}
    assert task.title.startswith("请告知信访人延期") and case.number in task.title
    assert "需等待房屋安全鉴定结果" in task.body
    assert not Delivery.objects.filter(case=case).exclude(channel="email").exists()


def test_a_letter_petitioner_gets_a_printable_notice(client, world):
    world.petitioner.address = "朝阳区幸福里小区3号楼2单元101"
    world.petitioner.save()
    case = in_handling(world, channel=Channel.LETTER)
    request = ask(world, case)
    services.approve_extension(actor=world.dispatcher, request_id=request.pk,
                               told_reason="需等待房屋安全鉴定结果", note="内部意见")
    task = Notification.objects.filter(kind="extension_notice", recipient=world.dispatcher).get()
    assert "延期告知书" in task.body
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    url = reverse("dispatch:extension_notice", args=[case.number, request.pk])
    assert url in page and "延期告知书" in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_refused_or_rolled_back_approval_tells_nobody(world):
    limit("T3", 0)
    case = in_handling(world, channel=Channel.HOTLINE_12345, external_reference="BJ-1")
    world.petitioner.email = "liu@example.org"
    world.petitioner.save()
    request = ask(world, case)
    with pytest.raises(PermissionDenied):
        services.approve_extension(actor=world.dispatcher, request_id=request.pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.approve_extension(actor=world.supervisor, request_id=request.pk)
        raise RuntimeError("the act's transaction rolls back")
    assert not Delivery.objects.filter(case=case, to__in=["liu@example.org", "BJ-1"]).exists()
    assert not Notification.objects.filter(kind__in=["extension_notice",
                                                     "extension_approved"]).exists()
    assert ExtensionRequest.objects.get().state == "pending"
    services.refuse_extension(actor=world.supervisor, request_id=request.pk, note="请按期办结")
    assert not Delivery.objects.filter(case=case, to__in=["liu@example.org", "BJ-1"]).exists()
    assert set(Notification.objects.filter(kind="extension_refused")
               .values_list("recipient__username", flat=True)) == {"handler"}


def test_a_reopened_case_counts_its_extensions_again(world):
    limit("T3", 1)
    case = drive_to(world, State.IN_HANDLING)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk)
    services.submit_result(actor=world.handler, case_id=case.pk, findings="已核实",
                           opinion="整改", result="已整改", is_solved=True)
    services.approve_result(actor=world.head, case_id=case.pk)
    services.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback_services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone",
                                 content="已整改")
    feedback_services.record_visit(actor=world.clerk, case_id=case.pk, method="phone",
                                   reached=True, is_solved=False, satisfaction="unsatisfied")
    request = ask(world, case)
    assert not request.beyond_limit
    services.approve_extension(actor=world.dispatcher, request_id=request.pk)
    assert Case.objects.get(pk=case.pk).extension_count == 2
    assert ask(world, case).beyond_limit


def test_the_tracking_page_shows_the_new_deadline_and_the_reason_told(client, world):
    case = drive_to(world, State.IN_HANDLING)
    services.approve_extension(actor=world.dispatcher, request_id=ask(world, case).pk,
                               told_reason="需等待第三方检测报告", note="内部意见不外传")
    case.refresh_from_db()
    page = client.post(reverse("intake:public_track"),
                       {"number": case.number, "code": query_codes.issue(case)}).content.decode()
    assert "经批准延期至 " + timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M") in page
    assert "需等待第三方检测报告" in page and "内部意见不外传" not in page
