"""Uploads: only PDF, JPEG and PNG, judged by their content and by a name that agrees
with it, within a size limit per file and a quota per case (settings, read as data)."""

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

ALLOWED_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
# The names each type may carry: a PDF named .html, or a PNG named .jpg, is refused.
EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"),
              "image/png": (".png",)}
# Markup a browser would run, looked for in the first kilobyte of every file: a file that
# begins like an HTML page is one, whatever its first bytes claim.
MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg")
MEGABYTE = 1024 * 1024


def check_upload(upload, *, field: str = "attachments") -> str:
    """The file's real type, or a ValidationError naming the field and the file."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError({field: _("文件「%(name)s」超过 %(limit)s 的大小限制。") % {
            "name": upload.name, "limit": filesizeformat(limit)}})
    if upload.size == 0:
        raise ValidationError({field: _("文件「%(name)s」是空文件。") % {"name": upload.name}})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(max(upload.size - 1024, 0))
    tail = upload.read(1024)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES or not _is_whole(kind.mime, head, tail):
        raise ValidationError({field: _(
            "文件「%(name)s」不是 PDF、JPEG 或 PNG 文件（按文件内容判断，而不是文件名）。"
        ) % {"name": upload.name}})
    if not upload.name.lower().endswith(EXTENSIONS[kind.mime]):
        raise ValidationError({field: _(
            "文件「%(name)s」的内容是 %(type)s，文件名的扩展名应为 %(extensions)s。"
        ) % {"name": upload.name, "type": ALLOWED_TYPES[kind.mime],
             "extensions": "、".join(EXTENSIONS[kind.mime])}})
    return kind.mime


def _is_whole(mime: str, head: bytes, tail: bytes) -> bool:
    """Enough of the format to be what it claims, and no page disguised as it: a PDF
    begins with its header and ends with %%EOF; no file opens with markup."""
    if any(marker in head[:1024].lower() for marker in MARKUP):
        return False
    if mime == "application/pdf":
        return head.startswith(b"%PDF-") and b"%%EOF" in tail
    return True


def check_case_quota(case, uploads, *, field: str = "attachments") -> None:
    """The case's files, with these, stay within ATTACHMENT_CASE_MAX_FILES and
    ATTACHMENT_CASE_MAX_MB. Call with the case locked (or new in this transaction)."""
    from .models import Attachment

    held = Attachment.objects.filter(case=case).aggregate(files=Count("pk"), size=Sum("size"))
    files = held["files"] + len(uploads)
    size = (held["size"] or 0) + sum(upload.size for upload in uploads)
    if files > settings.ATTACHMENT_CASE_MAX_FILES:
        raise ValidationError({field: _(
            "一件案件最多 %(n)s 个附件，本案已有 %(held)s 个。") % {
                "n": settings.ATTACHMENT_CASE_MAX_FILES, "held": held["files"]}})
    if size > settings.ATTACHMENT_CASE_MAX_MB * MEGABYTE:
        raise ValidationError({field: _(
            "一件案件的附件合计不超过 %(limit)s，本案已有 %(held)s。") % {
                "limit": filesizeformat(settings.ATTACHMENT_CASE_MAX_MB * MEGABYTE),
                "held": filesizeformat(held["size"] or 0)}})


def check_public_uploads(uploads, *, field: str = "attachments") -> None:
    """The anonymous portal's smaller limits: PUBLIC_ATTACHMENT_MAX_FILES files, each at
    most PUBLIC_ATTACHMENT_MAX_MB."""
    if len(uploads) > settings.PUBLIC_ATTACHMENT_MAX_FILES:
        raise ValidationError({field: _("网上信访最多上传 %(n)s 个文件。") % {
            "n": settings.PUBLIC_ATTACHMENT_MAX_FILES}})
    limit = settings.PUBLIC_ATTACHMENT_MAX_MB * MEGABYTE
    for upload in uploads:
        if upload.size > limit:
            raise ValidationError({field: _("文件「%(name)s」超过 %(limit)s 的大小限制。") % {
                "name": upload.name, "limit": filesizeformat(limit)}})
