"""Checks of the shapes of Chinese phone and ID numbers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A mobile number, or a landline with area code and optional extension.
# ASCII digits only: Python's \d also matches Arabic-Indic and full-width digits.
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$", re.ASCII)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
# China's country code before a mobile number (+86 138..., 0086-138...).
COUNTRY_PREFIX_RE = re.compile(r"^(\+|00)86-?(?=1)")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_DIGITS = "10X98765432"


def normalize_phone(value: str) -> str:
    """Spaces and brackets out, the country code off a mobile number: the number as dialled
    in China."""
    value = COUNTRY_PREFIX_RE.sub("", re.sub(r"[\s()（）]", "", value or "").replace("—", "-"))
    mobile = value.replace("-", "")
    return mobile if MOBILE_RE.match(mobile) else value


def validate_phone(value: str) -> None:
    if not PHONE_RE.match(normalize_phone(value)):
        raise ValidationError(
            _("电话号码格式不正确：请填写11位手机号，或带区号的固定电话（如 010-12345678）。"),
            code="invalid_phone",
        )


def validate_id_number(value: str) -> None:
    """An 18-character resident ID number with a correct check digit (GB 11643)."""
    value = (value or "").strip().upper()
    if not ID_NUMBER_RE.match(value):
        raise ValidationError(_("身份证号码应为18位，最后一位可以是数字或X。"), code="invalid_id")
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], ID_WEIGHTS))
    if ID_CHECK_DIGITS[total % 11] != value[17]:
        raise ValidationError(_("身份证号码校验位不正确，请核对。"), code="invalid_id_checksum")
