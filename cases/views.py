from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors
from .calendar import missing_calendar_years
from .roles import Role, primary_role


@login_required
def home(request):
    """Each role lands on its own page: what waits for this person now."""
    role = primary_role(request.user)
    context = {"role": role, "role_label": Role(role).label if role else ""}
    if role is not None:
        context["figures"] = selectors.landing_figures(request.user)
        context["recent_cases"] = selectors.recent_cases(request.user)
    if role == Role.ADMINISTRATOR:
        context["missing_calendar_years"] = missing_calendar_years()
    template = f"cases/landing/{role}.html" if role else "cases/landing/no_role.html"
    return render(request, template, context)
