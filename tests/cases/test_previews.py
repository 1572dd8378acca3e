"""Attachment previews (issue 18, item 5): a small image of a picture or of a PDF's first
page beside the file's name, through the same door as the file."""

import io

from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from cases.documents import render_pdf
from cases.models import Attachment, AttachmentKind, PersonalDataAccess, State
from tests.factories import drive_to


def attach(case, name, content, content_type):
    return Attachment.objects.create(case=case, kind=AttachmentKind.INTAKE,
                                     file=ContentFile(content, name=name), original_name=name,
                                     content_type=content_type, size=len(content))


def picture(width=1600, height=1200):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_picture_and_a_pdf_show_a_small_image(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    case = drive_to(world, State.IN_HANDLING)
    photo = attach(case, "现场照片.png", picture(), "image/png")
    letter = attach(case, "来信.pdf", render_pdf("intake/documents/registration_form.html", {
        "case": case, "title": "来信", "person": None, "show_identity": False,
        "text_mask": None}), "application/pdf")
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    for item in (photo, letter):
        url = reverse("cases:attachment_preview", args=[case.number, item.pk])
        assert f'src="{url}"' in page
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        shown = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert shown.width <= 240 and shown.height > 0
    # The PDF's page is drawn in its proportions (A4 stands upright).
    page_image = Image.open(io.BytesIO(b"".join(client.get(reverse(
        "cases:attachment_preview", args=[case.number, letter.pk])).streaming_content)))
    assert page_image.height > page_image.width
    # Seeing a preview is seeing the file: recorded as the file is.
    assert PersonalDataAccess.objects.filter(detail="现场照片.png（预览）").exists()


def test_no_preview_for_what_cannot_be_drawn_or_seen(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    case = drive_to(world, State.IN_HANDLING)
    broken = attach(case, "坏文件.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")
    words = attach(case, "说明.docx", b"PK\x03\x04", "application/vnd.openxmlformats")
    client.force_login(world.dispatcher)
    for item in (broken, words):
        response = client.get(reverse("cases:attachment_preview", args=[case.number, item.pk]))
        assert response.status_code == 404
    # Department B sees neither the case nor its files' previews.
    photo = attach(case, "照片.png", picture(200, 100), "image/png")
    client.force_login(world.handler_b)
    assert client.get(reverse("cases:attachment_preview",
                              args=[case.number, photo.pk])).status_code == 404
