"""The public portal, no login: submit online, track a case by its number and query code."""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from cases.forms import attach_errors

from . import query_codes, selectors, services
from .forms import PublicSubmissionForm, TrackingForm


def ratelimited(request, exception, *, per_case: bool = False):
    """django-ratelimit's answer: a readable page with 429, not a bare 403 (also when one
    case number met too many wrong query codes)."""
    return render(request, "intake/public/ratelimited.html", {"per_case": per_case},
                  status=429)


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.PUBLIC_SUBMIT_RATE, method="POST",
           block=True)
def submit(request):
    if request.method == "POST":
        form = PublicSubmissionForm(request.POST, request.FILES)
        if form.is_spam():
            return render(request, "intake/public/refused.html", status=400)
        if form.is_valid():
            try:
                case = services.submit_online(
                    submission_token=form.cleaned_data["submission_token"],
                    petitioner=form.petitioner_details(), matter=form.matter(),
                    attachments=form.cleaned_data["attachments"],
                )
            except ValidationError as error:
                attach_errors(form, error)
            else:
                return render(request, "intake/public/submitted.html", {
                    "case": case, "query_code": query_codes.display(case.query_code)})
        return render(request, "intake/public/submit.html", {"form": form}, status=400)
    return render(request, "intake/public/submit.html", {"form": PublicSubmissionForm()})


def tracking_context(case):
    return {
        "case": case,
        "timeline": selectors.public_timeline(case),
    }


def _failure_key(number: str) -> str:
    return f"public-track-failures:{number}"


def _too_many_failures(number: str) -> bool:
    return (cache.get(_failure_key(number)) or 0) >= settings.PUBLIC_TRACK_FAILURES_PER_CASE


def _count_failure(number: str) -> None:
    """One more wrong pair for this case number, whatever the address it came from."""
    key = _failure_key(number)
    cache.add(key, 0, timeout=settings.PUBLIC_TRACK_FAILURE_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.PUBLIC_TRACK_FAILURE_WINDOW)


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.PUBLIC_TRACK_RATE, method="POST",
           block=True)
def track(request):
    """Number plus query code, by POST, shows the case; a wrong code and an unknown
    number answer the same. Wrong pairs are limited per number as well as per address."""
    if request.method != "POST":
        form = TrackingForm(initial={"number": request.GET.get("number", "")[:24]})
        return render(request, "intake/public/track.html", {"form": form})
    form = TrackingForm(request.POST)
    if not form.is_valid():
        return render(request, "intake/public/track.html", {"form": form}, status=400)
    number = form.cleaned_data["number"]
    if _too_many_failures(number):
        return ratelimited(request, None, per_case=True)
    case = selectors.track_case(number=number, code=form.cleaned_data["code"])
    if case is None:
        _count_failure(number)
        return render(request, "intake/public/track.html",
                      {"form": TrackingForm(initial={"number": number}), "not_found": True},
                      status=404)
    context = {"form": TrackingForm(initial={"number": number})}
    context.update(tracking_context(case))
    return render(request, "intake/public/track.html", context)
