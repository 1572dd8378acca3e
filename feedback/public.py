"""The petitioner's rating of the reply, through the signed single-use link sent with it
(in the reply e-mail, and on the tracking page once the query code was given); the
rating is the return visit."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from cases.exceptions import CaseError
from cases.forms import error_message

from . import selectors, services
from .forms import PublicRatingForm


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.PUBLIC_TRACK_RATE, block=True)
def rate(request):
    """GET ?t=<token> shows the form; the POST carries the token in its body."""
    token = request.POST.get("token", "") if request.method == "POST" else request.GET.get("t", "")
    link = selectors.rating_link(token)
    context = {"link": link}
    if request.method == "POST" and not link.problem:
        form = PublicRatingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.rate_by_link(token=data["token"], is_solved=data["is_solved"],
                                      satisfaction=data["satisfaction"],
                                      comments=data["comments"])
            except (CaseError, ValidationError) as error:
                form.add_error(None, error_message(error))
            else:
                return render(request, "feedback/public/rate.html", {**context, "rated": True})
        context["form"] = form
        return render(request, "feedback/public/rate.html", context, status=400)
    if not link.problem:
        context["form"] = PublicRatingForm(initial={"token": token})
    return render(request, "feedback/public/rate.html", context,
                  status=404 if link.case is None else 200)
