"""The public portal, no login: submit online, track a case by number and phone, rate."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from cases.forms import attach_errors

from cases.models import State

from . import selectors, services
from .forms import PublicSubmissionForm, RatingForm, TrackingForm


def ratelimited(request, exception):
    """django-ratelimit's answer: a readable page with 429, not a bare 403."""
    return render(request, "intake/public/ratelimited.html", status=429)


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
                return render(request, "intake/public/submitted.html", {"case": case})
        return render(request, "intake/public/submit.html", {"form": form}, status=400)
    return render(request, "intake/public/submit.html", {"form": PublicSubmissionForm()})


def tracking_context(case):
    return {
        "case": case,
        "timeline": selectors.public_timeline(case),
        "can_rate": case.state == State.REPLIED,
    }


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.PUBLIC_TRACK_RATE, block=True)
def track(request):
    """Number plus phone shows the case; anything else shows only that nothing matches."""
    form = TrackingForm(request.GET if "number" in request.GET else None)
    context = {"form": form}
    if form.is_bound and form.is_valid():
        case = selectors.track_case(**form.cleaned_data)
        if case is None:
            context["not_found"] = True
        else:
            context.update(tracking_context(case))
            context["rating_form"] = RatingForm(initial=form.cleaned_data)
    return render(request, "intake/public/track.html", context,
                  status=404 if context.get("not_found") else 200)
