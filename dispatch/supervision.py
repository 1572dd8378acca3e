"""Supervisors: decide extensions, instruct escalated cases."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.exceptions import CaseError
from cases.forms import error_message
from cases.models import Case, State
from cases.roles import Role, role_required

from . import selectors, services
from .forms import DecisionForm, InstructionForm
from .models import ExtensionRequest


@role_required(Role.SUPERVISOR)
def supervision(request):
    return render(request, "dispatch/supervision.html", {
        "extensions": selectors.pending_extensions(request.user),
        "escalated": Case.objects.filter(state=State.ACCEPTED, handling_mode="escalated",
                                         instruction="").order_by("due_at")[:100],
    })


def _done(request, action):
    try:
        action()
    except (CaseError, PermissionDenied, ValidationError) as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, _("已处理"))
    return redirect("dispatch:supervision")


@require_POST
@role_required(Role.SUPERVISOR)
def decide_extension(request, request_id):
    extension = get_object_or_404(ExtensionRequest, pk=request_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(
            f"{form.fields[name].label}：{' '.join(errors)}" if name in form.fields
            else " ".join(errors) for name, errors in form.errors.items()))
        return redirect("dispatch:supervision")
    note = form.cleaned_data["note"]
    if form.cleaned_data["decision"] == "approve":
        return _done(request, lambda: services.approve_extension(
            actor=request.user, request_id=extension.pk, note=note,
            told_reason=form.cleaned_data["told_reason"]))
    return _done(request, lambda: services.refuse_extension(
        actor=request.user, request_id=extension.pk, note=note))


@require_POST
@role_required(Role.SUPERVISOR)
def instruct(request, number):
    case = get_object_or_404(Case, number=number)
    form = InstructionForm(request.POST)
    return _done(request, lambda: services.instruct_case(
        actor=request.user, case_id=case.pk,
        instruction=form.cleaned_data["instruction"] if form.is_valid() else ""))
