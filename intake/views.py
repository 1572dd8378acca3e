"""The reception counter: register, the intake queue, lookups and documents."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.documents import pdf_response
from cases.acts import act_url, available_acts
from cases.exceptions import CaseError
from cases.forms import attach_errors
from cases.roles import OFFICE_ROLES, role_required
from cases.selectors import visible_cases

from . import selectors, services
from .documents import document_pdf
from .forms import QueueSearchForm, RegistrationForm


@role_required(*OFFICE_ROLES)
def register(request):
    """One form for every channel; "检查重复" shows earlier and similar cases first."""
    similar = None
    if request.method == "POST":
        form = RegistrationForm(request.POST, request.FILES)
        checking = "check" in request.POST
        if form.is_valid() and not checking:
            data = form.cleaned_data
            try:
                case = services.register_intake(
                    actor=request.user,
                    submission_token=data["submission_token"],
                    petitioner_id=data.get("petitioner_id"),
                    petitioner=form.petitioner_details(),
                    matter=form.matter(),
                    representatives=data["representatives"],
                    attachments=data["attachments"],
                    **services.outcome_arguments(data),
                )
            except ValidationError as error:
                attach_errors(form, error)
            except CaseError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("已登记：%(number)s（%(state)s）") % {
                    "number": case.number, "state": case.get_state_display()})
                return redirect("cases:detail", number=case.number)
        similar = selectors.similar_cases(
            phone=request.POST.get("phone", ""), id_number=request.POST.get("id_number", ""),
            text=f"{request.POST.get('summary', '')} {request.POST.get('content', '')}",
        )
        status = 200 if checking and not form.errors else 400 if form.errors else 200
        if checking:
            form.errors.clear()
        return render(request, "intake/register.html",
                      {"form": form, "similar": similar, "checked": checking}, status=status)
    return render(request, "intake/register.html", {"form": RegistrationForm()})


@require_GET
@role_required(*OFFICE_ROLES)
def lookup(request):
    """Petitioners known by this phone or ID number, and their earlier cases (JSON)."""
    phone = request.GET.get("phone", "")
    id_number = request.GET.get("id_number", "")
    people = selectors.find_petitioners(phone=phone, id_number=id_number)
    similar = selectors.similar_cases(phone=phone, id_number=id_number,
                                      text=request.GET.get("text", ""))
    return JsonResponse({
        "petitioners": [
            {"id": p.pk, "name": p.name, "phone": p.phone, "phone_alt": p.phone_alt,
             "id_number": p.id_number, "gender": p.gender, "age": p.age,
             "occupation": p.occupation, "address": p.address, "email": p.email,
             "wants_confidentiality": p.wants_confidentiality}
            for p in people
        ],
        "similar": [
            {"number": s.case.number, "summary": s.case.summary, "state": s.case.get_state_display(),
             "received_at": s.case.received_at.isoformat(), "score": s.score,
             "same_petitioner": s.same_petitioner}
            for s in similar
        ],
    })


# The acts an intake-queue row offers.
ROW_ACTS = ("accept", "answer_on_the_spot", "refuse", "merge", "withdraw")


@role_required(*OFFICE_ROLES)
def queue(request):
    """待受理: every received case of every channel, with its outcomes as buttons; a search
    box over numbers, phones and words; the clerk's own registrations of today."""
    form = QueueSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    if search:
        return render(request, "intake/queue.html", {
            "form": form, "search": search,
            "results": selectors.search_cases(request.user, search)[:50]})
    waiting = selectors.received_queue(request.user, channel=request.GET.get("channel", ""),
                                       after=request.GET.get("after", ""))
    for case in waiting.rows:
        case.row_acts = [(act, act_url(case, act))
                         for act in available_acts(request.user, case, only=ROW_ACTS)]
    return render(request, "intake/queue.html", {
        "form": form, "queue": waiting, "channels": [
            (key, label, waiting.counts[key]) for key, (label, _q) in
            selectors.QUEUE_CHANNELS.items()],
        "today": selectors.registered_today(request.user),
        "here": request.get_full_path(),
    })


def document(request, number: str, kind: str):
    """A PDF of the case, for anyone who may see the case."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    case = get_object_or_404(visible_cases(request.user).select_related(
        "petitioner", "category", "category__parent", "tier", "registered_by"), number=number)
    filename, pdf = document_pdf(kind, case, request.user)
    return pdf_response(filename, pdf)
