"""The dossier (案卷): the whole file in one PDF, with a table of contents; and what the
reply letter (答复意见书) prints of a reply."""

import re

from django.conf import settings
from django.utils import timezone

from cases import chain
from cases.acts import dossier_parts
from cases.models import Case
from cases.identity import identity_context
from cases.documents import render_pdf
from dispatch.documents import return_window_words

from .models import ArchiveFile

# The opening the office's draft starts a reply with (feedback.selectors.draft_reply), in
# either of the date formats it has been written in: the letter prints its own opening,
# so the reply's is left out (with the "已交…办理。" that follows it).
DRAFT_OPENING = re.compile(
    r"\A\s*您于[^，。“\n]{0,40}?反映的“[^\n]*?”一事(?:，已交[^，。\n]{1,60}?办理。|，|。)?")


def letter_body(content: str) -> str:
    """The reply as the letter prints it, after the letter's own opening sentence."""
    match = DRAFT_OPENING.match(content)
    rest = content[match.end():].lstrip() if match else content
    return rest or content


def dossier(case: Case, user) -> tuple[str, bytes]:
    dispatch_events = list(case.events.filter(action__in=["dispatch", "handle_directly"])
                           .select_related("actor").order_by("at", "pk"))
    context = {
        "case": case, "office_name": settings.OFFICE_NAME, "printed_at": timezone.localtime(),
        "title": "信访案卷", **identity_context(user, case, document=True),
        "attachments": list(case.attachments.all()),
        "assisting": list(case.assisting_departments.all()),
        "dispatch_events": dispatch_events,
        "notes": list(case.handling_notes.select_related("author", "department")),
        "extensions": list(case.extension_requests.order_by("requested_at")),
        "results": list(case.handling_results.select_related("submitted_by").order_by(
            "submitted_at")),
        "replies": list(case.replies.select_related("sent_by").order_by("sent_at")),
        "visits": list(case.return_visits.select_related("visited_by")),
        "events": list(case.events.select_related("actor")),
        "return_window": return_window_words(case),
        # A case archived before archive numbers has its file from the data migration
        # (feedback 0006); one missing still prints, its cover saying the number is owed.
        "archive_file": ArchiveFile.objects.filter(case=case).first(),
    }
    sections = [("registration", "信访登记表")]
    if case.accepted_at:
        sections.append(("acceptance", "受理告知书"))
    if case.refusal_reason:
        sections.append(("refusal", "不予受理告知书"))
    for number, _ in enumerate(dispatch_events, start=1):
        sections.append((f"dispatch-{number}", "交办单" + (f"（第{number}次）"
                                                        if len(dispatch_events) > 1 else "")))
    for key, title in (("notes", "办理记录"), ("extensions", "延期申请"), ("results", "办理结果")):
        if context[key]:
            sections.append((key, title))
    for number, _ in enumerate(context["replies"], start=1):
        sections.append((f"reply-{number}", "答复意见书" + (f"（第{number}次）"
                                                         if len(context["replies"]) > 1 else "")))
    if context["visits"]:
        sections.append(("visits", "回访记录"))
    # The chain's head, and whether the chain held when this copy was printed.
    by_key = sorted(context["events"], key=lambda event: event.pk)
    context["chain_head"] = chain.head_of(by_key)
    context["chain_break"] = chain.first_break(case, by_key)
    context["extra_parts"] = dossier_parts(case)
    sections += [(key, title) for key, title, _ in context["extra_parts"]]
    sections.append(("history", "案件全部记录"))
    context["sections"] = sections
    return f"{case.number}-案卷.pdf", render_pdf("feedback/documents/dossier.html", context)
