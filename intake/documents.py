"""Intake documents as PDF (WeasyPrint, Noto CJK): registration form, notices."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.documents import render_pdf
from cases.models import Case, State
from cases.identity import identity_context

from . import query_codes

# kind: (title, template, is it there for this case?)
DOCUMENTS = {
    "registration_form": (_("信访登记表"), "intake/documents/registration_form.html",
                          lambda case: True),
    "acceptance_notice": (_("受理告知书"), "intake/documents/acceptance_notice.html",
                          lambda case: case.accepted_at is not None),
    "refusal_notice": (_("不予受理告知书"), "intake/documents/refusal_notice.html",
                       lambda case: case.state == State.REFUSED or bool(case.refusal_reason)),
}


def document_pdf(kind: str, case: Case, user, *, query_code: str = "") -> tuple[str, bytes]:
    """The document's file name and bytes. The office prints them with the petitioner's
    details in full (a notice is addressed to the petitioner); a department gets what
    the identity policy gives it, and nothing of a confidential petitioner."""
    # `query_code`: the code issued in the printing person's session, if any; only its
    # hash is stored, so a later printout tells where to get a new one.
    if kind not in DOCUMENTS or not DOCUMENTS[kind][2](case):
        raise Http404
    title, template, _ = DOCUMENTS[kind]
    context = {
        "case": case,
        "title": title,
        "office_name": settings.OFFICE_NAME,
        **identity_context(user, case, document=True),
        "printed_at": timezone.localtime(),
        "query_code": query_codes.display(query_code),
        "attachments": list(case.attachments.all()),
        "events": list(case.events.select_related("actor")),
    }
    return f"{case.number}-{title}.pdf", render_pdf(template, context)
