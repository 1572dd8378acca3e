"""The petitioner's rating of the reply, from the tracking page; it is the return visit."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from cases.exceptions import CaseError
from cases.forms import error_message
from intake import selectors as intake_selectors
from intake.forms import RatingForm, TrackingForm
from intake.public import tracking_context

from . import services


@require_POST
@ratelimit(key="ip", rate=lambda group, request: settings.PUBLIC_TRACK_RATE, block=True)
def rate(request):
    form = RatingForm(request.POST)
    case = None
    if form.is_valid():
        case = intake_selectors.track_case(number=form.cleaned_data["number"],
                                           phone=form.cleaned_data["phone"])
    if case is None:
        return render(request, "intake/public/track.html",
                      {"form": TrackingForm(request.POST), "not_found": True}, status=404)
    context = {"form": TrackingForm(initial=form.cleaned_data), "rating_form": form}
    try:
        case = services.rate_reply(case=case, is_solved=form.cleaned_data["is_solved"],
                                   satisfaction=form.cleaned_data["satisfaction"],
                                   comments=form.cleaned_data["comments"])
    except (CaseError, ValidationError) as error:
        form.add_error(None, error_message(error))
    else:
        context["rated"] = True
    context.update(tracking_context(case))
    return render(request, "intake/public/track.html", context,
                  status=200 if not form.errors else 400)
