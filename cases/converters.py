"""The path converter for a case number: `<case:number>` in the URL configurations.

A case number is letters, digits and hyphens (`XF-2026-000123`); any other text in that
place of a path is not a case, and the URL does not match (404) before a lookup is made.
"""

from django.urls import register_converter


class CaseNumberConverter:
    regex = r"[A-Za-z0-9][A-Za-z0-9-]{0,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(CaseNumberConverter, "case")
