"""The dispatch slip (交办单): what the department must do, and by when."""

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from cases.clock import timedelta_words
from cases.models import Case
from cases.identity import department_identity_context
from cases.documents import render_pdf


def dispatch_slip(case: Case, user) -> tuple[str, bytes]:
    if case.dispatched_at is None and case.handling_mode != "direct":
        raise Http404
    dispatch_event = case.events.filter(action__in=["dispatch", "handle_directly"]).select_related(
        "actor").order_by("-at").first()
    context = {
        "case": case, "title": "交办单", "office_name": settings.OFFICE_NAME,
        # The slip travels to the department: it carries what the lead department may
        # see, whoever prints it (nothing of a confidential petitioner).
        **department_identity_context(case),
        "assisting": list(case.assisting_departments.all()),
        "dispatch_event": dispatch_event, "printed_at": timezone.localtime(),
        "return_window": return_window_words(case),
    }
    return f"{case.number}-交办单.pdf", render_pdf("dispatch/documents/dispatch_slip.html", context)


def return_window_words(case: Case) -> str:
    """The time the department has to sign for the case or return it, in words
    (1 天, 2 小时): the window is counted on the calendar (cases.models.within_return_window)."""
    if case.tier is None:
        return ""
    return timedelta_words(timedelta(minutes=case.tier.return_window_minutes))


def extension_notice(case: Case, user, *, request_id: int) -> tuple[str, bytes]:
    """延期告知书: to the petitioner, for an approved extension (the office prints it for a
    petitioner told by letter). Carries the petitioner as the identity policy gives them
    to the printing person, and the reason the office chose to tell, never its note."""
    from cases.identity import identity_context

    from .models import ExtensionState

    request = (case.extension_requests.filter(pk=request_id, state=ExtensionState.APPROVED)
               .first())
    if request is None:
        raise Http404
    context = {
        "case": case, "request": request, "title": "延期告知书",
        "office_name": settings.OFFICE_NAME, "printed_at": timezone.localtime(),
        **identity_context(user, case, document=True),
    }
    return (f"{case.number}-延期告知书.pdf",
            render_pdf("dispatch/documents/extension_notice.html", context))
