"""The append-only record of personal-data reads (个人信息查阅记录).

Every door that shows a petitioner's identity in full or masked — the case page, a
reveal, a PDF, an attachment, an export, a lookup, the API — writes one row: who, when,
from which address, which case and door, never the values themselves.
"""

from __future__ import annotations

from .models import AccessKind, Case, PersonalDataAccess


def client_address(request) -> str | None:
    address = (request.META.get("REMOTE_ADDR") or "").strip() if request is not None else ""
    return address or None


def record_access(request, case: Case | None, kind: str, *, detail: str = "",
                  level: str = "", user=None) -> PersonalDataAccess:
    user = user if user is not None else getattr(request, "user", None)
    authenticated = getattr(user, "is_authenticated", False)
    return PersonalDataAccess.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        case=case, case_number=case.number if case is not None else "",
        kind=kind, detail=detail[:200], level=level, address=client_address(request))


def record_case_view(request, case: Case, person) -> None:
    """A page or answer showed this person's identity (in full or masked)."""
    if not person.withheld:
        record_access(request, case, AccessKind.CASE,
                      level="masked" if person.masked else "full")
