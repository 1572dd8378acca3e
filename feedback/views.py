"""The office closes the loop: reply, return visit."""


from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.audit import record_access, record_case_view
from cases.identity import identity_context, person_for
from cases.models import AccessKind
from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.models import ReviewStage, State
from cases.roles import OFFICE_ROLES, Role, role_required
from cases.selectors import visible_cases
from cases.documents import pdf_response, render_pdf

from . import selectors, services
from .forms import ArchivePageForm, ArchiveSearchForm, ReplyForm, VisitForm


@role_required(*OFFICE_ROLES)
def desk(request):
    return render(request, "feedback/desk.html", selectors.feedback_queues(request.user))


def _case(request, number):
    return get_object_or_404(visible_cases(request.user).select_related(
        "lead_department", "tier", "petitioner"), number=number)


@role_required(*OFFICE_ROLES)
def reply(request, number):
    case = _case(request, number)
    if request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                services.send_reply(actor=request.user, case_id=case.pk, **form.cleaned_data)
            except ValidationError as error:
                attach_errors(form, _renamed(error))
            except (CaseError, PermissionDenied) as error:
                form.add_error(None, error_message(error))
            else:
                messages.success(request, _("已答复 %(number)s") % {"number": case.number})
                return redirect("feedback:desk")
        status = 400
    else:
        ready = case.state == State.RESULT_SUBMITTED and case.review_stage == ReviewStage.APPROVED
        form = ReplyForm(initial={"channel": "phone",
                                  "content": selectors.draft_reply(case) if ready else ""})
        status = 200
    from cases.views import revealed_in_session
    from dispatch.handling import dispatch_note

    from .phrases import REPLY_USES, phrases_for

    revealed = revealed_in_session(request, case)
    shown = identity_context(request.user, case, revealed=revealed)
    record_case_view(request, case, shown["person"])  # the contact card shows who
    return render(request, "feedback/reply.html", {
        "case": case, "form": form, "dispatch_note": dispatch_note(case),
        "phrases": phrases_for(request.user, case, uses=REPLY_USES, revealed=revealed),
        **shown,
    }, status=status)


def _renamed(error: ValidationError) -> ValidationError:
    """The case service names the reply `reply`; the form calls it `content`."""
    if hasattr(error, "error_dict"):
        return ValidationError({("content" if k == "reply" else k): v
                                for k, v in error.message_dict.items()})
    return error


@role_required(*OFFICE_ROLES)
def visit(request, number):
    case = _case(request, number)
    if request.method == "POST":
        form = VisitForm(request.POST)
        if form.is_valid():
            try:
                services.record_visit(actor=request.user, case_id=case.pk, **form.cleaned_data)
            except ValidationError as error:
                attach_errors(form, error)
            except (CaseError, PermissionDenied) as error:
                form.add_error(None, error_message(error))
            else:
                messages.success(request, _("已记录回访 %(number)s") % {"number": case.number})
                return redirect("feedback:desk")
        status = 400
    else:
        form, status = VisitForm(initial={"method": "phone"}), 200
    # The return visit is a phone call: the office's visitor sees the numbers in full,
    # and that is recorded.
    person = person_for(request.user, case, revealed=True)
    if request.method == "GET" and not person.withheld:
        record_access(request, case, AccessKind.CASE, detail="return_visit", level="full")
    return render(request, "feedback/visit.html", {
        "case": case, "person": person,
        "form": form, "visits": case.return_visits.select_related("visited_by"),
        "reply": case.replies.first(),
        "max_attempts": settings.VISIT_MAX_ATTEMPTS,
    }, status=status)


def reply_letter(request, number):
    """答复意见书 PDF of the latest reply."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    case = _case(request, number)
    latest = case.replies.select_related("sent_by").first()
    if latest is None:
        raise Http404
    pdf = render_pdf("feedback/documents/reply_letter.html", {
        "case": case, "reply": latest, "title": "答复意见书", "office_name": settings.OFFICE_NAME,
        "printed_at": timezone.localtime(),
        **identity_context(request.user, case, document=True)})
    record_access(request, case, AccessKind.DOCUMENT, detail="reply_letter")
    return pdf_response(case.number + '-答复意见书.pdf', pdf)


@role_required(*OFFICE_ROLES)
def archive(request, number):
    """归档, with an invalid-case reason where one applies, after a confirmation. A case
    already archived (or not ready) shows where it stands, with no form to send."""
    from django_fsm import can_proceed

    case = _case(request, number)
    if not can_proceed(case.archive):
        return render(request, "feedback/archive.html", {"case": case, "form": None})
    if request.method == "POST":
        form = ArchivePageForm(request.POST)
        if form.is_valid():
            try:
                services.archive_case(actor=request.user, case_id=case.pk,
                                      **form.cleaned_act_data())
            except ValidationError as error:
                attach_errors(form, error)
            except (CaseError, PermissionDenied) as error:
                form.add_error(None, error_message(error))
            else:
                messages.success(request, _("已归档 %(number)s") % {"number": case.number})
                return redirect("feedback:desk")
        status = 400
    else:
        form, status = ArchivePageForm(), 200
    return render(request, "feedback/archive.html", {"case": case, "form": form}, status=status)


@role_required(Role.CLERK, Role.SUPERVISOR, Role.ADMINISTRATOR)
def archive_browser(request):
    """档案: supervisors browse every archived file, clerks the ones they registered
    (dispatchers work on open cases only, as DESIGN gives them)."""
    from cases.models import Category

    form = ArchiveSearchForm(request.GET or None, years=selectors.archive_years(),
                             categories=Category.objects.filter(parent__isnull=True))
    if form.is_bound and not form.is_valid():
        rows, cursor = [], None  # the form shows what is wrong with the filter
    else:
        data = form.cleaned_data if form.is_bound else {}
        rows, cursor = selectors.browse_archive(
            request.user, year=data.get("year"), category=data.get("category"),
            search=data.get("q", ""), after=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "feedback/archive_browser.html", {
        "form": form, "rows": rows, "cursor": cursor, "query": query.urlencode()})


def dossier(request, number):
    """案卷 PDF: every document, record and event of the case."""
    from .documents import dossier as build

    if not request.user.is_authenticated:
        raise PermissionDenied
    case = _case(request, number)
    filename, pdf = build(case, request.user)
    record_access(request, case, AccessKind.DOCUMENT, detail="dossier")
    return pdf_response(filename, pdf)
