"""The counter form for fast hands: files kept across a failed submit, fields in error
marked, the category starred and typeable by pinyin, 登记下一件 after saving."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Attachment, Case
from intake.models import StagedUpload

from .helpers import PDF_BYTES, pdf
from .test_views import form_data


@pytest.fixture
def clerk_client(client, world):
    client.force_login(world.clerk)
    return client


def post(client, data):
    return client.post(reverse("intake:register"), data)


def test_a_scan_sent_with_a_form_in_error_is_kept_and_the_saved_case_gets_it(
        clerk_client, world):
    data = form_data(world, summary="")
    response = post(clerk_client, {**data, "attachments": [pdf("来信扫描件.pdf")]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "已附：来信扫描件.pdf" in page and "重新提交时保留" in page
    staged = StagedUpload.objects.get()
    assert staged.uploaded_by == world.clerk and str(staged.token) == data["submission_token"]

    response = post(clerk_client, {**data, "summary": "楼下餐馆油烟直排"})
    assert response.status_code == 302
    case = Case.objects.get()
    attachment = case.attachments.get()
    assert attachment.original_name == "来信扫描件.pdf"
    assert attachment.file.read() == PDF_BYTES
    assert not StagedUpload.objects.exists()


def test_a_staged_scan_the_clerk_removes_is_not_attached(clerk_client, world):
    data = form_data(world, summary="")
    post(clerk_client, {**data, "attachments": [pdf()]})
    staged = StagedUpload.objects.get()
    response = post(clerk_client, {**data, "drop_staged": [str(staged.pk)]})
    assert response.status_code == 400 and "已附：" not in response.content.decode()
    assert not StagedUpload.objects.exists()
    post(clerk_client, {**data, "summary": "楼下餐馆油烟直排"})
    assert not Attachment.objects.exists()


def test_only_the_clerk_who_uploaded_a_staged_scan_can_use_it(clerk_client, world):
    from cases.roles import Role
    from tests.factories import UserFactory

    data = form_data(world, summary="")
    post(clerk_client, {**data, "attachments": [pdf("身份证复印件.pdf")]})
    other = UserFactory(username="clerk2", roles=[Role.CLERK])
    client = Client()
    client.force_login(other)
    response = post(client, data)  # the same token, another clerk
    assert "身份证复印件" not in response.content.decode()
    post(client, {**data, "summary": "楼下餐馆油烟直排"})
    assert not Attachment.objects.exists()
    assert StagedUpload.objects.get().uploaded_by == world.clerk


def test_a_refused_file_is_not_kept_and_says_why(clerk_client, world):
    from .helpers import fake_pdf

    response = post(clerk_client, {**form_data(world, summary=""), "attachments": [fake_pdf()]})
    assert "按文件内容判断" in " ".join(response.context["form"].errors["attachments"])
    assert not StagedUpload.objects.exists()


def test_bad_staged_ids_and_tokens_are_answered_not_failed(clerk_client, world):
    response = post(clerk_client, {**form_data(world, summary="", submission_token="x"),
                                   "drop_staged": ["abc", "-1", "9" * 40],
                                   "attachments": [pdf()]})
    assert response.status_code == 400
    assert not StagedUpload.objects.exists()


def test_every_field_in_error_is_marked_and_the_first_gets_the_cursor(clerk_client, world):
    response = post(clerk_client, form_data(world, name="", phone="12345", summary=""))
    page = response.content.decode()
    for name in ("name", "phone", "summary"):
        assert re.search(rf'class="field has-error[^"]*" id="field-{name}"', page)
        assert re.search(rf'<input[^>]*name="{name}"[^>]*aria-invalid="true"', page)
    # The page shows phone before name before summary: the cursor goes to the phone.
    phone = re.search(r'<input[^>]*name="phone"[^>]*>', page).group(0)
    assert "autofocus" in phone
    assert "autofocus" not in re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)


def test_the_category_is_starred_as_required_for_acceptance(clerk_client, world):
    page = clerk_client.get(reverse("intake:register")).content.decode()
    label = re.search(r'<label for="id_category">(.*?)</label>', page).group(1)
    assert 'class="req"' in label


def test_the_categories_carry_their_pinyin_initials(clerk_client, world):
    page = clerk_client.get(reverse("intake:register")).content.decode()
    option = re.search(rf'<option value="{world.category.pk}"[^>]*>', page).group(0)
    assert 'data-initials="zdjy"' in option and 'data-pinyin="zhandaojingying"' in option


def test_the_save_button_comes_before_the_check_so_enter_saves(clerk_client, world):
    page = clerk_client.get(reverse("intake:register")).content.decode()
    form = page[page.index('id="registration"'):page.index("</form>", page.index('id="registration"'))]
    buttons = re.findall(r'<button type="submit"[^>]*>', form)
    assert 'id="save-registration"' in buttons[0] and 'name="check"' in buttons[1]


def test_the_12345_fields_are_in_the_page_not_a_closed_section(clerk_client, world):
    page = clerk_client.get(reverse("intake:register")).content.decode()
    details = re.findall(r"<details.*?</details>", page, re.S)
    assert 'data-for-channel="hotline_12345"' in page
    assert not any("external_reference" in section for section in details)


def test_after_saving_the_clerk_is_offered_the_next_registration(clerk_client, world):
    response = clerk_client.post(reverse("intake:register"), form_data(world, channel="phone"),
                                 follow=True)
    page = response.content.decode()
    link = re.search(r'<a class="button primary" id="register-next" href="([^"]+)"', page)
    assert link and link.group(1) == reverse("intake:register") + "?channel=phone"
    assert "登记下一件" in page
    again = clerk_client.get(link.group(1))
    assert again.context["form"]["channel"].value() == "phone"


def test_a_channel_that_does_not_exist_is_not_preselected(clerk_client, world):
    response = clerk_client.get(reverse("intake:register") + "?channel=<b>")
    assert response.status_code == 200
    assert response.context["form"]["channel"].value() == "visit"


def test_a_repeated_token_does_not_attach_twice(clerk_client, world):
    data = form_data(world, summary="")
    post(clerk_client, {**data, "attachments": [pdf()]})
    good = {**data, "summary": "楼下餐馆油烟直排"}
    post(clerk_client, good)
    post(clerk_client, good)
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1
