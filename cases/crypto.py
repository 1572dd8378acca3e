"""Personal data protected at rest (PIPL Art. 28/51): ID numbers are stored encrypted
(Fernet: AES-128-CBC with HMAC-SHA256) under a key from the environment
(`PERSONAL_DATA_KEY`), and found by a keyed hash (HMAC-SHA256 under a second key derived
from the same secret), so that equality lookups work and the database alone reveals
nothing. Without PERSONAL_DATA_KEY the key is derived from SECRET_KEY (the demo);
`manage.py check --deploy` warns (cases.W002).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(b"petitions personal data\0" + secret.encode()).digest()
    encryption = hmac.new(root, b"encryption", hashlib.sha256).digest()
    lookup = hmac.new(root, b"lookup", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(encryption), lookup


def _secret() -> str:
    return getattr(settings, "PERSONAL_DATA_KEY", "") or settings.SECRET_KEY


def encrypt(text: str) -> str:
    from cryptography.fernet import Fernet

    if not text:
        return ""
    return PREFIX + Fernet(_keys(_secret())[0]).encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    """The plain text; a value written before encryption is answered as it is."""
    from cryptography.fernet import Fernet

    if not stored or not stored.startswith(PREFIX):
        return stored or ""
    return Fernet(_keys(_secret())[0]).decrypt(stored[len(PREFIX):].encode()).decode()


def lookup_hash(value: str) -> str:
    """The keyed hash an ID number is found by (upper case, no spaces)."""
    value = (value or "").strip().upper()
    if not value:
        return ""
    return hmac.new(_keys(_secret())[1], value.encode(), hashlib.sha256).hexdigest()


class EncryptedCharField(models.TextField):
    """A short text kept encrypted in the database and plain in Python. Equality lookups
    on it cannot work (each value is encrypted with its own IV): look rows up by a keyed
    hash kept beside it."""

    def __init__(self, *args, max_length=None, **kwargs):
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.plain_max_length is not None:
            kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else (value or "")

    def to_python(self, value):
        return "" if value is None else str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or str(value).startswith(PREFIX):
            return value
        return encrypt(str(value))

    def formfield(self, **kwargs):
        from django import forms

        return forms.CharField(max_length=self.plain_max_length, required=not self.blank,
                               label=self.verbose_name, help_text=self.help_text,
                               validators=self.validators)
