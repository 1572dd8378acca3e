"""Uploads: only PDF, JPEG and PNG, judged by their content, within a size limit."""

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

ALLOWED_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


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
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise ValidationError({field: _(
            "文件「%(name)s」不是 PDF、JPEG 或 PNG 文件（按文件内容判断，而不是文件名）。"
        ) % {"name": upload.name}})
    return kind.mime
