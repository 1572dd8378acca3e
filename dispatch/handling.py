"""The 办理 page of a case: notes and contacts, extension, the result, its review."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.audit import record_access, record_case_view
from cases.models import AccessKind
from cases.documents import pdf_response
from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.acts import allowed_names
from cases.selectors import visible_cases

from . import selectors, services
from .forms import AttachmentForm, ExtensionForm, NoteForm, ResultForm, ReviewForm


def _case(request, number):
    if not request.user.is_authenticated:
        raise PermissionDenied
    return get_object_or_404(visible_cases(request.user).select_related(
        "tier", "category", "lead_department", "handler"), number=number)


def handle(request, number, *, forms=None, status=200):
    from cases.identity import identity_context
    from cases.views import revealed_in_session

    case = _case(request, number)
    forms = forms or {}
    revealed = revealed_in_session(request, case)
    may = allowed_names(request.user, case)
    shown = identity_context(request.user, case, revealed=revealed)
    record_case_view(request, case, shown["person"])  # the contact card shows who
    return render(request, "dispatch/handle.html", {
        **shown,
        "revealed": revealed,
        "dispatch_note": dispatch_note(case),
        "case": case,
        "notes": case.handling_notes.select_related("author", "department"),
        "extensions": case.extension_requests.select_related("requested_by", "decided_by"),
        "results": case.handling_results.select_related("submitted_by"),
        "note_form": forms.get("note") or NoteForm(),
        "extension_form": forms.get("extension") or ExtensionForm(),
        "result_form": forms.get("result") or ResultForm(),
        "review_form": forms.get("review") or ReviewForm(),
        "attachment_form": forms.get("files") or AttachmentForm(),
        "attachments": case.attachments.filter(kind="handling"),
        "extension_allowance": selectors.extension_allowance(case),
        "may": may,
    }, status=status)


def dispatch_note(case) -> str:
    """The dispatcher's 交办意见 of the case's latest dispatch ("" if none was written)."""
    event = case.events.filter(action="dispatch").order_by("-at", "-pk").only("note").first()
    return event.note if event else ""


def _run(request, number, key, form, act, success):
    """Validate, run the act, and come back to the page: marked fields on failure."""
    case = _case(request, number)
    if form.is_valid():
        try:
            done = act(case, form.cleaned_data)
        except ValidationError as error:
            attach_errors(form, error)
        except (CaseError, PermissionDenied) as error:
            form.add_error(None, error_message(error))
        else:
            messages.success(request, success(done) if callable(success) else success)
            return redirect("dispatch:handle", number=number)
    return handle(request, number, forms={key: form}, status=400)


@require_POST
def add_note(request, number):
    return _run(request, number, "note", NoteForm(request.POST),
                lambda case, data: services.add_note(actor=request.user, case_id=case.pk, **data),
                _("已记录"))


@require_POST
def request_extension(request, number):
    return _run(request, number, "extension", ExtensionForm(request.POST),
                lambda case, data: services.request_extension(actor=request.user,
                                                              case_id=case.pk, **data),
                lambda extension: _("延期申请已提交。已超出可延期次数，须经督查人员批准")
                if extension.beyond_limit else _("延期申请已提交，等待信访办审批"))


@require_POST
def submit_result(request, number):
    return _run(request, number, "result", ResultForm(request.POST),
                lambda case, data: services.submit_result(actor=request.user, case_id=case.pk,
                                                          **data),
                _("办理结果已提交审核"))


@require_POST
def review(request, number):
    def act(case, data):
        if data["decision"] == "approve":
            services.approve_result(actor=request.user, case_id=case.pk, note=data["note"])
        else:
            services.send_back_result(actor=request.user, case_id=case.pk, note=data["note"])

    return _run(request, number, "review", ReviewForm(request.POST), act, _("已审核"))


def slip(request, number):
    """交办单 PDF."""
    from .documents import dispatch_slip

    case = _case(request, number)
    filename, pdf = dispatch_slip(case, request.user)
    record_access(request, case, AccessKind.DOCUMENT, detail="dispatch_slip")
    return pdf_response(filename, pdf)


@require_POST
def attach(request, number):
    return _run(request, number, "files", AttachmentForm(request.POST, request.FILES),
                lambda case, data: services.attach_files(actor=request.user, case_id=case.pk,
                                                         files=data["files"]),
                _("材料已上传"))


def extension_notice(request, number, request_id):
    """延期告知书 PDF: the letter that tells the petitioner of an approved extension."""
    from .documents import extension_notice as notice

    case = _case(request, number)
    filename, pdf = notice(case, request.user, request_id=request_id)
    record_access(request, case, AccessKind.DOCUMENT, detail="extension_notice")
    return pdf_response(filename, pdf)
