"""Uploads: the type by content and by a name that agrees with it (no polyglots), a quota
per case at every door, smaller limits on the anonymous portal; a refusal is a form error
on the field and leaves nothing behind."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.attachments import check_upload
from cases.models import Attachment, Case, State
from tests.factories import drive_to
from tests.intake.helpers import PDF_BYTES, PNG_BYTES

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
    b"\x00" * 64 + b"\xff\xd9"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/cases/')</script></body></html>\n"


def upload(name, content):
    return SimpleUploadedFile(name, content)


def padded_pdf(name, size):
    """A PDF of about `size` bytes."""
    return upload(name, PDF_BYTES[:-6] + b"%" + b"0" * size + b"\n%%EOF\n")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media):
    return [path for path in media.rglob("*") if path.is_file()]


@pytest.mark.parametrize(("name", "content", "mime"), [
    ("来信.pdf", PDF_BYTES, "application/pdf"),
    ("来信.PDF", PDF_BYTES, "application/pdf"),
    ("现场.png", PNG_BYTES, "image/png"),
    ("现场.jpg", JPEG_BYTES, "image/jpeg"),
    ("现场.JPEG", JPEG_BYTES, "image/jpeg"),
])
def test_pdf_jpeg_and_png_with_names_that_agree_are_kept(name, content, mime):
    assert check_upload(upload(name, content)) == mime


@pytest.mark.parametrize(("name", "content", "words"), [
    # A PDF header on a page a browser would run, under either name.
    ("report.html", b"%PDF-1.4\n" + HTML + b"%%EOF\n", "按文件内容判断"),
    ("report.pdf", b"%PDF-1.4\n" + HTML + b"%%EOF\n", "按文件内容判断"),
    # A real PDF under a name that says something else.
    ("report.html", PDF_BYTES, "扩展名应为 .pdf"),
    ("report", PDF_BYTES, "扩展名应为 .pdf"),
    # Only a header: not a PDF that ends.
    ("report.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\n", "按文件内容判断"),
    # A PNG named .jpg, a JPEG named .png.
    ("photo.jpg", PNG_BYTES, "扩展名应为 .png"),
    ("photo.png", JPEG_BYTES, "扩展名应为 .jpg、.jpeg"),
    ("page.pdf", HTML, "按文件内容判断"),
])
def test_a_file_whose_content_and_name_disagree_is_refused(name, content, words):
    with pytest.raises(ValidationError) as error:
        check_upload(upload(name, content))
    assert words in error.value.message_dict["attachments"][0]
    assert name in error.value.message_dict["attachments"][0]


def test_a_case_holds_at_most_the_quota_of_files(world, settings, media):
    settings.ATTACHMENT_CASE_MAX_FILES = 2
    case = drive_to(world, State.ACCEPTED)
    services.add_attachments(actor=world.clerk, case=case,
                             uploads=[upload("1.pdf", PDF_BYTES), upload("2.png", PNG_BYTES)])
    with pytest.raises(ValidationError) as error:
        services.add_attachment(actor=world.clerk, case=case, upload=upload("3.pdf", PDF_BYTES))
    assert "最多 2 个附件，本案已有 2 个" in error.value.message_dict["attachments"][0]
    assert case.attachments.count() == 2 and len(stored_files(media)) == 2


def test_a_case_holds_at_most_the_quota_of_megabytes(world, settings, media):
    settings.ATTACHMENT_CASE_MAX_MB = 1
    case = drive_to(world, State.ACCEPTED)
    services.add_attachment(actor=world.clerk, case=case,
                            upload=padded_pdf("1.pdf", 600 * 1024))
    with pytest.raises(ValidationError) as error:
        services.add_attachment(actor=world.clerk, case=case,
                                upload=padded_pdf("2.pdf", 600 * 1024))
    assert "合计不超过 1.0\xa0MB" in error.value.message_dict["attachments"][0]
    assert case.attachments.count() == 1 and len(stored_files(media)) == 1


def _registration(world, files):
    return {"submission_token": str(uuid.uuid4()), "channel": "visit", "name": "孙丽华",
            "phone": "13911112222", "gender": "female", "summary": "楼下餐馆油烟直排",
            "content": "油烟直排。", "category": str(world.category.pk), "outcome": "accept",
            "attachments": files}


def test_the_counter_refuses_a_registration_over_the_quota_and_writes_nothing(
        client, world, settings, media):
    settings.ATTACHMENT_CASE_MAX_FILES = 2
    client.force_login(world.clerk)
    files = [upload(f"{n}.pdf", PDF_BYTES) for n in range(3)]
    response = client.post(reverse("intake:register"), _registration(world, files))
    assert response.status_code == 400
    assert "最多 2 个附件" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists() and not stored_files(media)


def test_a_polyglot_among_good_files_refuses_the_registration_and_writes_nothing(
        client, world, media):
    client.force_login(world.clerk)
    files = [upload("来信.pdf", PDF_BYTES), upload("扫描.pdf", b"%PDF-1.4\n" + HTML + b"%%EOF")]
    response = client.post(reverse("intake:register"), _registration(world, files))
    assert response.status_code == 400
    assert "扫描.pdf" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not stored_files(media)


def test_a_department_cannot_upload_past_the_case_quota(client, world, settings, media):
    settings.ATTACHMENT_CASE_MAX_FILES = 1
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    url = reverse("dispatch:attach", args=[case.number])
    assert client.post(url, {"files": [upload("整改通知书.pdf", PDF_BYTES)]}).status_code == 302
    response = client.post(url, {"files": [upload("现场.png", PNG_BYTES)]})
    assert response.status_code == 400
    assert "最多 1 个附件" in " ".join(response.context["attachment_form"].errors["files"])
    assert case.attachments.count() == 1 and len(stored_files(media)) == 1


def _public(files):
    return {"submission_token": str(uuid.uuid4()), "name": "周明", "phone": "13622223333",
            "summary": "垃圾站未清运", "content": "异味严重。", "attachments": files}


def test_the_public_portal_takes_at_most_three_files(client, world, media):
    files = [upload(f"{n}.png", PNG_BYTES) for n in range(4)]
    response = client.post(reverse("intake:public_submit"), _public(files))
    assert response.status_code == 400
    assert "最多上传 3 个文件" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists() and not stored_files(media)
    files = [upload(f"{n}.png", PNG_BYTES) for n in range(3)]
    response = client.post(reverse("intake:public_submit"), _public(files))
    assert response.status_code == 200 and Case.objects.get().attachments.count() == 3


def test_the_public_portal_takes_smaller_files_than_the_counter(client, world, settings,
                                                                 media):
    settings.PUBLIC_ATTACHMENT_MAX_MB = 1
    big = padded_pdf("材料.pdf", 1100 * 1024)
    response = client.post(reverse("intake:public_submit"), _public([big]))
    assert response.status_code == 400
    assert "材料.pdf" in " ".join(response.context["form"].errors["attachments"])
    assert not Case.objects.exists() and not stored_files(media)
    client.force_login(world.clerk)  # the counter's limit is the larger one
    big.seek(0)
    assert client.post(reverse("intake:register"),
                       _registration(world, [big])).status_code == 302


def test_the_public_form_tells_its_limits(client, world):
    page = client.get(reverse("intake:public_submit")).content.decode()
    assert "最多 3 个，每个不超过 5 MB" in page


def test_the_limits_are_told_in_english_too(client, world, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("intake:public_submit")).content.decode()
    assert "at most 3 files of up to 5 MB each" in page
    files = [upload(f"{n}.png", PNG_BYTES) for n in range(4)]
    response = client.post(reverse("intake:public_submit"), _public(files))
    assert "at most 3 files" in " ".join(response.context["form"].errors["attachments"])
