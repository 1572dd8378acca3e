"""The counter's pages: every channel and outcome, bad input field by field, documents."""

import re
import subprocess

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from cases.models import Case, CaseEvent, Petitioner, State
from tests.factories import drive_to, register

from .helpers import PNG_BYTES, fake_pdf, pdf, token

from django.core.files.uploadedfile import SimpleUploadedFile


def form_data(world, **overrides):
    data = {
        "submission_token": str(token()), "channel": "visit", "name": "孙丽华",
        "phone": "139 1111 2222", "gender": "female", "summary": "楼下餐馆油烟直排",
        "content": "和平里小区底商餐馆油烟未经净化直排，住户无法开窗。",
        "category": str(world.category.pk), "outcome": "accept",
    }
    data.update(overrides)
    return data


@pytest.fixture
def clerk_client(client, world):
    client.force_login(world.clerk)
    return client


def post(client, data):
    return client.post(reverse("intake:register"), data)


@pytest.mark.parametrize("channel", ["visit", "phone", "letter", "email", "web", "hotline_12345"])
def test_each_channel_is_registered_and_accepted(clerk_client, world, channel):
    extra = {"external_reference": "12345-0099", "platform_due_at": "2030-01-01T12:00"} \
        if channel == "hotline_12345" else {}
    response = post(clerk_client, form_data(world, channel=channel, **extra))
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:detail",
                                                                   args=[case.number])
    assert (case.channel, case.state) == (channel, State.ACCEPTED)
    assert list(case.events.values_list("action", flat=True)) == ["register", "accept"]
    assert case.petitioner.phone == "13911112222"
    if channel == "hotline_12345":
        assert case.external_reference == "12345-0099" and case.platform_due_at is not None


@pytest.mark.parametrize(
    ("outcome", "extra", "state"),
    [
        ("leave", {}, State.RECEIVED),
        ("accept", {"tier": "T2"}, State.ACCEPTED),
        ("answer", {"answer": "可到政务服务中心办理"}, State.ANSWERED),
        ("refuse", {"refusal_reason": "属诉讼事项", "refusal_guidance": "请向法院起诉"},
         State.REFUSED),
    ],
)
def test_each_outcome_through_the_page(clerk_client, world, outcome, extra, state):
    post(clerk_client, form_data(world, outcome=outcome, **extra))
    case = Case.objects.get()
    assert case.state == state
    if outcome == "accept":
        assert case.tier.code == "T2"


def test_merging_through_the_page(clerk_client, world):
    earlier = register(world)
    post(clerk_client, form_data(world, outcome="merge", merge_into=earlier.number))
    assert Case.objects.exclude(pk=earlier.pk).get().merged_into == earlier


def test_a_collective_visit_with_representatives(clerk_client, world):
    post(clerk_client, form_data(world, is_collective="on", head_count="12",
                                 representatives="张三 13800000001\n李四 13800000002"))
    case = Case.objects.get()
    assert case.is_collective and case.head_count == 12
    assert list(case.representatives.values_list("name", flat=True)) == ["张三", "李四"]


def test_attachments_are_uploaded_with_the_form(clerk_client, world):
    png = SimpleUploadedFile("现场照片.png", PNG_BYTES, content_type="image/png")
    post(clerk_client, form_data(world, attachments=[pdf(), png]))
    case = Case.objects.get()
    assert sorted(case.attachments.values_list("content_type", flat=True)) == [
        "application/pdf", "image/png"]
    attachment = case.attachments.get(content_type="image/png")
    download = clerk_client.get(reverse("cases:attachment", args=[case.number, attachment.pk]))
    assert b"".join(download.streaming_content) == PNG_BYTES


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"phone": ""}, "phone", "该字段是必填项"),
        ({"phone": "12345"}, "phone", "电话号码格式不正确"),
        ({"content": ""}, "content", "该字段是必填项"),
        ({"content": "长" * 5001}, "content", "5000"),
        ({"category": "99999"}, "category", "选择一个有效的选项"),
        ({"id_number": "110105194912310021"}, "id_number", "校验位"),
        ({"outcome": "answer"}, "answer", "即办答复须填写答复内容"),
        ({"is_collective": "on"}, "head_count", "来访人数"),
        ({"earlier_case": "XF-1999-000001"}, "earlier_case", "没有编号为"),
    ],
)
def test_bad_input_is_answered_field_by_field_and_nothing_is_written(
    clerk_client, world, overrides, field, message
):
    response = post(clerk_client, form_data(world, **overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_a_file_that_is_not_pdf_jpeg_or_png_by_content_is_refused(clerk_client, world):
    response = post(clerk_client, form_data(world, attachments=[fake_pdf()]))
    assert response.status_code == 400
    assert "按文件内容判断" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists() and not Petitioner.objects.filter(name="孙丽华").exists()


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_a_file_over_the_size_limit_is_refused(clerk_client, world):
    response = post(clerk_client, form_data(world, attachments=[pdf()]))
    assert response.status_code == 400
    assert "大小限制" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists()


def test_a_double_submitted_form_makes_one_case(clerk_client, world):
    data = form_data(world)
    first = post(clerk_client, data)
    second = post(clerk_client, data)
    assert Case.objects.count() == 1
    assert first.url == second.url


def test_checking_for_repeats_shows_earlier_cases_and_saves_nothing(clerk_client, world):
    earlier = register(world, petitioner=world.petitioner)
    response = post(clerk_client, form_data(world, phone=world.petitioner.phone, check="1"))
    assert response.status_code == 200
    assert earlier.number in response.content.decode()
    assert Case.objects.count() == 1


def test_the_lookup_brings_up_the_known_petitioner(clerk_client, world):
    register(world)
    assert clerk_client.get(reverse("intake:lookup"), {"phone": "13800138001"}).status_code == 405
    data = clerk_client.post(reverse("intake:lookup"), {"phone": "13800138001"}).json()
    assert data["petitioners"][0]["name"] == "刘建国"
    assert data["similar"][0]["same_petitioner"] is True


def test_a_handler_cannot_register(client, world):
    client.force_login(world.handler)
    assert client.get(reverse("intake:register")).status_code == 403


def test_the_queue_shows_the_received_cases_and_searches(clerk_client, world):
    mine = register(world)
    accepted = drive_to(world, State.ACCEPTED)
    page = clerk_client.get(reverse("intake:queue")).content.decode()
    assert mine.number in page and accepted.number in page  # waiting; registered today
    for search in (mine.number, "13800138001", "夜市"):
        response = clerk_client.post(reverse("intake:queue"), {"q": search})
        assert response.status_code == 302 and search not in response.url  # ?s=<id>
        found = clerk_client.get(response.url).context["results"]
        assert mine in list(found)


def test_a_search_id_belongs_to_the_session_that_made_it(clerk_client, world):
    register(world)
    url = clerk_client.post(reverse("intake:queue"), {"q": "13800138001"}).url
    other = Client()
    other.force_login(world.dispatcher)
    assert "results" not in other.get(url).context


def test_the_registration_shows_the_query_code_once_and_the_notice_prints_it(
        clerk_client, world):
    client = Client()
    response = clerk_client.post(reverse("intake:register"), form_data(world), follow=True)
    case = Case.objects.get()
    message = next(str(m) for m in response.context["messages"])
    code = re.search(r"查询码：([A-Z0-9]{4}-[A-Z0-9]{4})", message).group(1)
    notice = clerk_client.get(reverse("intake:document", args=[case.number, "acceptance_notice"]))
    assert code in pdf_text(notice.content).replace(" ", "")
    assert client.post(reverse("intake:public_track"),
                       {"number": case.number, "code": code}).status_code == 200
    # Another login prints the notice without it: only the hash is kept.
    client.force_login(world.dispatcher)
    other = client.get(reverse("intake:document", args=[case.number, "acceptance_notice"]))
    assert code not in pdf_text(other.content).replace(" ", "")
    assert "补发" in pdf_text(other.content)


def test_a_lost_query_code_is_reissued_at_the_counter(clerk_client, world):
    client = Client()
    case = register(world)
    old = case.query_code
    response = clerk_client.post(reverse("intake:reissue_query_code"), {"number": case.number},
                                 follow=True)
    message = next(str(m) for m in response.context["messages"])
    new = re.search(r"新查询码：([A-Z0-9]{4}-[A-Z0-9]{4})", message).group(1)
    track = reverse("intake:public_track")
    assert client.post(track, {"number": case.number, "code": old}).status_code == 404
    assert client.post(track, {"number": case.number, "code": new}).status_code == 200
    assert case.events.filter(action="query_code_reissued").exists()


def test_the_queue_reads_in_a_fixed_number_of_queries(clerk_client, world,
                                                     django_assert_max_num_queries):
    for _ in range(6):
        register(world)
    with django_assert_max_num_queries(10):
        clerk_client.get(reverse("intake:queue"))


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


@pytest.mark.parametrize(
    ("outcome", "extra", "kind", "phrase"),
    [
        ("accept", {}, "registration_form", "信访登记表"),
        ("accept", {}, "acceptance_notice", "依法受理"),
        ("refuse", {"refusal_reason": "属诉讼事项", "refusal_guidance": "请向人民法院起诉"},
         "refusal_notice", "请向人民法院起诉"),
    ],
)
def test_each_document_holds_the_number_and_the_summary(clerk_client, world, outcome, extra,
                                                        kind, phrase):
    post(clerk_client, form_data(world, outcome=outcome, **extra))
    case = Case.objects.get()
    response = clerk_client.get(reverse("intake:document", args=[case.number, kind]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert case.number in text and "楼下餐馆油烟直排" in text and phrase in text


def test_a_notice_that_does_not_apply_is_not_there(clerk_client, world):
    post(clerk_client, form_data(world, outcome="leave"))
    case = Case.objects.get()
    assert clerk_client.get(reverse("intake:document",
                                    args=[case.number, "acceptance_notice"])).status_code == 404


def test_a_confidential_identity_stays_off_the_form_for_the_department(client, world):
    case = drive_to(world, State.DISPATCHED)
    case.petitioner.wants_confidentiality = True
    case.petitioner.save()
    Case.objects.filter(pk=case.pk).update(is_confidential=True)
    client.force_login(world.handler)
    text = pdf_text(client.get(reverse("intake:document",
                                       args=[case.number, "registration_form"])).content)
    assert "刘建国" not in text and "13800138001" not in text and "要求保密" in text
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "刘建国" not in page


def test_another_department_cannot_reach_the_case_by_any_door(client, world):
    case = drive_to(world, State.DISPATCHED)  # to department A
    client.force_login(world.handler_b)
    assert client.get(reverse("cases:detail", args=[case.number])).status_code == 404
    assert client.get(reverse("intake:document",
                              args=[case.number, "registration_form"])).status_code == 404


def test_supervisors_read_the_alert_in_the_app(client, world):
    client.force_login(world.clerk)
    post(client, form_data(world, is_abnormal="on"))
    client.force_login(world.supervisor)
    home = client.get(reverse("home")).content.decode()
    assert 'id="unread-count">1<' in home
    page = client.get(reverse("cases:notifications")).content.decode()
    assert "异常访" in page and Case.objects.get().number in page
    client.post(reverse("cases:notifications"))
    assert 'id="unread-count"' not in client.get(reverse("home")).content.decode()


def test_the_case_page_counts_the_petitioner_s_cases(clerk_client, world):
    register(world)
    post(clerk_client, form_data(world, phone=world.petitioner.phone, name="刘建国",
                                 petitioner_id=str(world.petitioner.pk)))
    case = Case.objects.latest("pk")
    page = clerk_client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "该信访人共反映 2 件" in page


def test_the_registration_form_of_a_web_submission(clerk_client, world):
    from intake import services

    case = services.submit_online(submission_token=token(),
                                  petitioner={"name": "周明", "phone": "13622223333"},
                                  matter={"summary": "路灯不亮", "content": "小区路灯坏了"})
    response = clerk_client.get(reverse("intake:document", args=[case.number, "registration_form"]))
    assert "网上信访（公众提交）" in pdf_text(response.content)
