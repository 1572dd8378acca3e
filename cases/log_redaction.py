"""No personal data in the logs: e-mail addresses, mobile and landline numbers and ID
numbers are masked in every log line, and query strings are left out of request lines.

The code logs none of these on purpose (a delivery is named by its id, a request by its
path); this filter, on every handler (settings.LOGGING), is the second line for what a
library or an exception message carries. It imports nothing of Django's models, so the
logging configuration can load it before the apps.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![\dA-Za-z])")
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)")
# "GET /path?query HTTP/1.1" as the development server and many proxies write it.
REQUEST_QUERY = re.compile(r"(\"?[A-Z]{3,7} [^\s?\"]*)\?[^\s\"]*")


def redact(text: str) -> str:
    """The text with personal data masked (139****5678, 110105********002X, ***@***)."""
    text = REQUEST_QUERY.sub(r"\1?…", text)
    text = EMAIL.sub("***@***", text)
    text = ID_NUMBER.sub(r"\1********\2", text)
    text = MOBILE.sub(r"\1****\2", text)
    return LANDLINE.sub(r"\1-****\2", text)


class RedactPersonalData(logging.Filter):
    """Rewrites the record's message (and exception text) with personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logged as it is
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
