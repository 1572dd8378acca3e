"""Attachment previews: a small PNG of a picture, or of a PDF's first page, shown beside
the file's name on the case and handling pages.

Made on first request and kept under MEDIA_ROOT/previews/ (named by the attachment and
its stored file, so a replaced file gets a new one). A picture is scaled with Pillow; a
PDF's first page is drawn by poppler's pdftoppm, in a subprocess with a time limit. A file
that cannot be drawn (damaged, encrypted, too large) has no preview: the page shows the
name only, never an error.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

WIDTH = 240  # pixels: twice the 120 px the page shows, for sharp screens
PDF_SECONDS = 20
MAX_PIXELS = 60_000_000  # a picture larger than this is not decoded (a decompression bomb)


def preview_path(attachment) -> Path:
    digest = hashlib.sha256(f"{attachment.pk}:{attachment.file.name}".encode()).hexdigest()[:24]
    return Path(settings.MEDIA_ROOT) / "previews" / digest[:2] / f"{digest}.png"


def preview_of(attachment) -> Path | None:
    """The preview's file, made now if need be; None if this file has none."""
    if not attachment.has_preview:
        return None
    target = preview_path(attachment)
    failed = target.with_suffix(".none")
    if target.exists():
        return target
    if failed.exists():  # tried before and could not be drawn: not again on every view
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with attachment.file.open("rb") as source:
            data = source.read()
        made = _from_pdf(data) if attachment.content_type == "application/pdf" else _from_image(data)
        if made is None:
            failed.touch()
            return None
        # Written aside and moved into place: two requests at once never read half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(made)
        os.replace(temporary, target)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return target


def _from_image(data: bytes) -> bytes | None:
    import io

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as picture:
            if picture.width * picture.height > MAX_PIXELS:
                return None  # not decoded at all (Pillow only warns below twice the cap)
            picture.thumbnail((WIDTH, WIDTH * 2))
            out = io.BytesIO()
            picture.convert("RGB").save(out, format="PNG", optimize=True)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - a damaged picture of any kind has no preview
        return None


def _from_pdf(data: bytes) -> bytes | None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        done = subprocess.run(
            ["pdftoppm", "-png", "-f", "1", "-l", "1", "-scale-to", str(WIDTH * 2),
             "-singlefile", str(source), str(Path(folder) / "page")],
            capture_output=True, timeout=PDF_SECONDS, check=False)
        page = Path(folder) / "page.png"
        if done.returncode != 0 or not page.exists():
            return None
        return _from_image(page.read_bytes())
