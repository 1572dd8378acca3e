"""The reception counter: register, the intake queue, lookups and documents."""


from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.crypto import get_random_string
from django.views.decorators.http import require_POST

from cases.audit import record_access
from cases.models import AccessKind, Channel
from cases.documents import pdf_response
from cases.acts import act_url, available_acts
from cases.exceptions import CaseError, RecordConflict
from cases.forms import attach_errors
from cases.roles import OFFICE_ROLES, role_required
from cases.selectors import visible_cases

from . import query_codes, selectors, services
from .documents import document_pdf
from .forms import (CaseSearchForm, LookupForm, QueueSearchForm, RegistrationForm,
                    ReissueQueryCodeForm)

# The query codes this session issued, by case number, so that the acceptance notice
# printed in the same session carries the code (the code is never stored elsewhere).
SESSION_CODES = "intake_query_codes"
SESSION_CODES_KEPT = 20
# The queue's searches, by a short random id: the term stays out of the URL.
SESSION_SEARCHES = "intake_queue_searches"
SESSION_SEARCHES_KEPT = 20


def _remember_code(request, case) -> str:
    """Keep the code just issued for this session's printouts; answers it for display."""
    codes = {number: code for number, code in request.session.get(SESSION_CODES, {}).items()
             if number != case.number}
    codes[case.number] = case.query_code
    request.session[SESSION_CODES] = dict(list(codes.items())[-SESSION_CODES_KEPT:])
    return query_codes.display(case.query_code)


@role_required(*OFFICE_ROLES)
def register(request):
    """One form for every channel; "检查重复" shows earlier and similar cases first. Files
    sent with a form that comes back with errors are kept for its next submission."""
    if request.method != "POST":
        channel = request.GET.get("channel", "")  # 登记下一件: the same channel again
        initial = {"channel": channel} if channel in Channel.values else {}
        return render(request, "intake/register.html", {
            "form": RegistrationForm(initial=initial), "staged": []})
    form = RegistrationForm(request.POST, request.FILES)
    checking = "check" in request.POST
    dropped = [int(value) for value in request.POST.getlist("drop_staged")
               if value.isdigit() and len(value) < 12]
    if form.is_valid() and not checking:
        data = form.cleaned_data
        try:
            case = services.register_at_the_counter(
                actor=request.user,
                submission_token=data["submission_token"],
                dropped_staged=dropped,
                petitioner_id=data.get("petitioner_id"),
                petitioner=form.petitioner_details(),
                matter=form.matter(),
                representatives=data["representatives"],
                attachments=data["attachments"],
                **services.outcome_arguments(data),
            )
        except ValidationError as error:
            attach_errors(form, error)
        except RecordConflict as conflict:
            attach_errors(form, ValidationError(conflict.errors))
        except CaseError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, format_html(
                "{} <a class=\"button primary\" id=\"register-next\" href=\"{}?channel={}\" "
                "accesskey=\"n\" aria-keyshortcuts=\"Alt+N\">{} <kbd class=\"key\">Alt+N</kbd></a>",
                _("已登记：%(number)s（%(state)s）。查询码：%(code)s——请告知信访人（只显示这一次，"
                  "本次登录中打印的受理告知书上也有）。") % {
                    "number": case.number, "state": case.get_state_display(),
                    "code": _remember_code(request, case)},
                reverse("intake:register"), data["channel"], _("登记下一件")))
            return redirect("cases:detail", number=case.number)
    staged, refused = services.keep_uploads_for_resubmission(
        actor=request.user, submission_token=form.submitted_token(),
        uploads=request.FILES.getlist("attachments"), dropped=dropped)
    told = {message for error in form.errors.as_data().get("attachments", [])
            for message in error.messages}  # the service may have refused it already
    for reason in refused:
        if reason not in told:
            form.add_error("attachments", reason)
    similar = selectors.similar_cases(
        phone=request.POST.get("phone", ""), id_number=request.POST.get("id_number", ""),
        text=f"{request.POST.get('summary', '')} {request.POST.get('content', '')}",
    )
    if checking:
        form.errors.clear()  # a check is not a save: only a refused file is told
        if refused:
            form.add_error("attachments", refused)
    form.focus_first_error()
    status = 400 if form.errors else 200
    return render(request, "intake/register.html",
                  {"form": form, "similar": similar, "checked": checking, "staged": staged},
                  status=status)


@require_POST
@role_required(*OFFICE_ROLES)
def lookup(request):
    """Petitioners known by this phone or ID number, and their earlier cases (JSON). By
    POST: phones and ID numbers never travel in a URL."""
    form = LookupForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    phone, id_number = form.cleaned_data["phone"], form.cleaned_data["id_number"]
    people = list(selectors.find_petitioners(phone=phone, id_number=id_number))
    for person in people:  # the stored records are shown to the clerk: recorded
        record_access(request, None, AccessKind.LOOKUP, detail=f"petitioner {person.pk}",
                      level="full")
    similar = selectors.similar_cases(phone=phone, id_number=id_number,
                                      text=form.cleaned_data["text"])
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


CASE_SEARCHES = "case_searches"


@login_required
def search(request):
    """找案件 for every staff role: a number, a 12345 ticket, a petitioner's name or phone
    (the office only), or words; only the cases the person may see, each petitioner as the
    identity policy shows them to this person. Sent by POST and kept in the session under
    a short random id (?s=…), so the result page reloads without a name in its URL."""
    from cases.identity import may_know_persons_cases, person_for
    from cases.roles import primary_role

    if primary_role(request.user) is None:
        raise PermissionDenied
    identity = may_know_persons_cases(request.user)
    if request.method == "POST":
        form = CaseSearchForm(request.POST, identity=identity)
        if not form.is_valid():
            return render(request, "intake/search.html", {
                "form": form, "expired": False, "search": ""}, status=400)
        searches = dict(list(request.session.get(CASE_SEARCHES, {}).items())
                        [-(SESSION_SEARCHES_KEPT - 1):])
        search_id = get_random_string(8)
        searches[search_id] = {"q": form.cleaned_data["q"], "kind": form.cleaned_data["kind"]}
        request.session[CASE_SEARCHES] = searches
        return redirect(f"{reverse('intake:search')}?s={search_id}")
    search_id = request.GET.get("s", "")
    searches = request.session.get(CASE_SEARCHES, {})
    asked = searches.get(search_id) if isinstance(searches, dict) else None
    if not isinstance(asked, dict) or not isinstance(asked.get("q"), str) or not asked["q"]:
        return render(request, "intake/search.html", {
            "form": CaseSearchForm(identity=identity), "expired": bool(search_id),
            "search": ""})
    term, chosen = asked["q"], str(asked.get("kind") or "auto")
    kind = selectors.search_kind(request.user, term, chosen)
    found = selectors.search_page(request.user, term, kind=kind,
                                         after=request.GET.get("after", ""))
    rows = found.rows
    if identity:
        for case in rows:
            case.person = person_for(request.user, case)
            if kind in selectors.IDENTITY_KINDS:
                # One person's cases listed by their name or phone: recorded, as the
                # counter's look-up of a known petitioner is (the term itself is not kept).
                record_access(request, case, AccessKind.LOOKUP, detail=f"search:{kind}",
                              level="masked")
    else:
        rows = selectors.as_shown_to(request.user, rows, term=term, kind=kind)
    return render(request, "intake/search.html", {
        "form": CaseSearchForm(initial={"q": term, "kind": chosen}, identity=identity),
        "search": term, "expired": False, "rows": rows,
        "kind_label": selectors.SEARCH_KINDS.get(kind, ""), "kind": kind,
        "refused": kind in selectors.IDENTITY_KINDS and not identity,
        "search_id": search_id, "found": found, "identity": identity,
        "search_days": settings.SEARCH_TEXT_DAYS})


@role_required(*OFFICE_ROLES)
def queue(request):
    """待受理: every received case of every channel, with its outcomes as buttons; a search
    box over numbers, phones and words; the clerk's own registrations of today.

    The search is sent by POST and kept in the session under a short random id, so the
    result page can be reloaded and bookmarked (?s=<id>) without a phone in its URL."""
    if request.method == "POST":
        form = QueueSearchForm(request.POST)
        term = form.cleaned_data["q"].strip() if form.is_valid() else ""
        if not term:
            return redirect("intake:queue")
        searches = dict(list(request.session.get(SESSION_SEARCHES, {}).items())
                        [-(SESSION_SEARCHES_KEPT - 1):])
        search_id = get_random_string(8)
        searches[search_id] = term
        request.session[SESSION_SEARCHES] = searches
        return redirect(f"{reverse('intake:queue')}?s={search_id}")
    search_id = request.GET.get("s", "")
    search = request.session.get(SESSION_SEARCHES, {}).get(search_id, "")
    if search:
        found = selectors.search_page(request.user, search, after=request.GET.get("after", ""),
                                      kind=selectors.search_kind(request.user, search))
        return render(request, "intake/queue.html", {
            "form": QueueSearchForm(initial={"q": search}), "search": search,
            "search_id": search_id, "found": found, "results": found.rows,
            "search_days": settings.SEARCH_TEXT_DAYS})
    form = QueueSearchForm()
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
        "reissue_form": ReissueQueryCodeForm(),
    })


@require_POST
@role_required(*OFFICE_ROLES)
def reissue_query_code(request):
    """补发查询码: a new code for a petitioner who lost theirs (the old one stops working);
    shown once here and printed on the acceptance notice in this session."""
    form = ReissueQueryCodeForm(request.POST)
    if form.is_valid():
        try:
            case = services.reissue_query_code(actor=request.user,
                                               number=form.cleaned_data["number"])
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, _(
                "%(number)s 的新查询码：%(code)s——请告知信访人，原查询码已失效。") % {
                "number": case.number, "code": _remember_code(request, case)})
    else:
        messages.error(request, _("请填写案件编号。"))
    return redirect("intake:queue")


def document(request, number: str, kind: str):
    """A PDF of the case, for anyone who may see the case."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    case = get_object_or_404(visible_cases(request.user).select_related(
        "petitioner", "category", "category__parent", "tier", "registered_by"), number=number)
    filename, pdf = document_pdf(kind, case, request.user,
                                 query_code=request.session.get(SESSION_CODES, {}).get(case.number, ""))
    record_access(request, case, AccessKind.DOCUMENT, detail=kind)
    return pdf_response(filename, pdf)


@require_POST
@role_required(*OFFICE_ROLES)
def suggest(request):
    """分诊建议 for the counter form as the clerk types (JSON): category, tier and lead
    department with their confidence, source and reason. By POST, like the lookup."""
    from . import triage

    text = {key: (request.POST.get(key) or "")[:5000]
            for key in ("summary", "content", "place", "demands")}
    if not any(value.strip() for value in text.values()):
        return JsonResponse({"categories": [], "tiers": [], "departments": [], "safety": None})
    return JsonResponse(triage.suggest(**text).as_data())
