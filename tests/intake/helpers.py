"""Building blocks for the intake tests."""

import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
             b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
             b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def pdf(name="来信扫描件.pdf", content=PDF_BYTES):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def fake_pdf(name="伪装.pdf"):
    """A text file wearing a .pdf name."""
    return SimpleUploadedFile(name, "这不是PDF文件".encode(), content_type="application/pdf")


def petitioner_details(**overrides):
    details = {"name": "孙丽华", "phone": "13911112222", "gender": "female", "age": 42}
    details.update(overrides)
    return details


def matter(world, **overrides):
    values = {"channel": "visit", "summary": "楼下餐馆油烟直排",
              "content": "和平里小区底商餐馆油烟未经净化直排，住户无法开窗。",
              "category": world.category}
    values.update(overrides)
    return values


def token():
    return uuid.uuid4()
