"""The dispatcher's desk: classify and dispatch, rule on returns."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.exceptions import CaseError
from cases.forms import attach_errors, error_message
from cases.identity import text_mask_for
from cases.acts import allowed_names, ensure_allowed, get_act
from cases.models import HandlingMode, State
from cases.roles import Role, role_required
from cases.selectors import visible_cases
from intake.triage import suggest_for_case

from . import selectors, services
from .forms import BulkDispatchForm, DispatchForm, ReasonForm
from .models import TriageRecord


@role_required(Role.DISPATCHER)
def desk(request):
    """The desk; a POST is 批量交办 of the ticked rows of 待交办."""
    form = BulkDispatchForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        cases = chosen_or_error(request.user, form)
        if cases is not None:
            data = form.cleaned_data
            outcome = apply_each(cases, lambda case: services.dispatch(
                actor=request.user, case_id=case.pk, mode=HandlingMode.ASSIGNED,
                lead_department=data["lead_department"],
                assisting_departments=data["assisting_departments"], note=data["note"]))
            report(request, outcome, done=_("已交办 %(count)s 件：%(numbers)s"),
                   failed=_("%(number)s 未交办：%(reason)s"))
            return redirect("dispatch:desk")
        status = 400
    return render(request, "dispatch/desk.html", {
        **selectors.dispatcher_queues(request.user),
        "extensions": selectors.pending_extensions(request.user)[:100],
        "returns": selectors.return_counts(since=timezone.now() - timedelta(days=90)),
        "bulk_form": form, "bulk_errors": form_errors(form) if form.is_bound else [],
        "ticked": request.POST.getlist("cases"), "bulk_limit": settings.BULK_ACT_MAX_CASES,
    }, status=status)


# ---------------------------------------------------------------- bulk acts
@dataclass
class BulkOutcome:
    done: list[str] = field(default_factory=list)  # case numbers
    failed: list[tuple[str, str]] = field(default_factory=list)  # (number, why)


def apply_each(cases: Iterable, act: Callable) -> BulkOutcome:
    """Make one act on each case, each in its own transaction (the act's own, with its
    lock, rules, event and notices): a case the act refuses, or one held by someone else
    past the lock timeout, is set aside with the reason and the others go through.
    Call outside any transaction."""
    from cases.middleware import CONTENTION_MESSAGE, is_contention

    outcome = BulkOutcome()
    for case in cases:
        try:
            act(case)
        except (CaseError, PermissionDenied, ValidationError) as error:
            outcome.failed.append((case.number, error_message(error)))
        except OperationalError as error:
            if not is_contention(error):
                raise
            outcome.failed.append((case.number, str(CONTENTION_MESSAGE)))
        else:
            outcome.done.append(case.number)
    return outcome


def chosen_or_error(user, form) -> list | None:
    """The ticked cases of a valid bulk form, else None with the form's errors set: a
    case the person may not see (or an id of none) stops the whole act, nothing done."""
    if not form.is_valid():
        return None
    cases, unseen = selectors.chosen_cases(user, form.cleaned_data["cases"])
    if unseen:
        form.add_error("cases", _("所选案件中有 %(count)s 件不存在或您无权办理，未作任何处理，"
                                  "请刷新页面后重新勾选。") % {"count": unseen})
        return None
    return cases


def report(request, outcome: BulkOutcome, *, done: str, failed: str) -> None:
    """One message for the cases done, one for each case refused with its reason."""
    if outcome.done:
        messages.success(request, done % {"count": len(outcome.done),
                                          "numbers": "、".join(outcome.done)})
    for number, reason in outcome.failed:
        messages.error(request, failed % {"number": number, "reason": reason})


def form_errors(form) -> list[str]:
    """Each error of a bulk form with the name of its field, for the page's error box."""
    return [f"{form.fields[name].label}：{message}" if name in form.fields else message
            for name, errors in form.errors.items() for message in errors]


def _initial(case, suggestion) -> dict:
    """The form's starting values: the case's own, else the first suggestion; never the
    department that has just returned the case."""
    returned_by = case.lead_department_id if case.state == State.RETURNED else None
    suggested = [option.value.pk for option in suggestion.departments
                 if option.value.pk != returned_by]
    category = case.category_id or (suggestion.category.value.pk if suggestion.category
                                    else None)
    tier = case.tier.code if case.tier_id else (suggestion.tier.value if suggestion.tier
                                                else "T3")
    return {"category": category, "tier": tier, "mode": "assigned",
            "lead_department": suggested[0] if suggested else None}


# Each handling mode is made by one act of the table.
MODE_ACTS = {HandlingMode.ASSIGNED: "dispatch", HandlingMode.DIRECT: "handle_directly",
             HandlingMode.ESCALATED: "escalate"}


@role_required(Role.DISPATCHER)
def dispatch_case(request, number):
    """Classify and dispatch one case (also re-dispatch a returned one), in the modes the
    table of acts allows now; a case that can be sent nowhere says why."""
    case = get_object_or_404(visible_cases(request.user).select_related(
        "category", "tier", "lead_department", "petitioner"), number=number)
    may = allowed_names(request.user, case, only=(*MODE_ACTS.values(), "refuse_return"))
    modes = [mode for mode, name in MODE_ACTS.items() if name in may]
    if not may:
        try:  # the table's own words for why, e.g. 等待领导批示
            ensure_allowed("dispatch", request.user, case)
        except (CaseError, PermissionDenied) as error:
            return render(request, "cases/act.html", {
                "case": case, "act": get_act("dispatch"), "form": None,
                "refusal": error_message(error),
                "text_mask": text_mask_for(request.user, case)}, status=409)
    if request.method == "POST":
        form = DispatchForm(request.POST, modes=modes)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.dispatch(actor=request.user, case_id=case.pk, **data)
            except ValidationError as error:
                attach_errors(form, error)
            except (CaseError, PermissionDenied) as error:
                form.add_error(None, error_message(error))
            else:
                messages.success(request, _("%(number)s：%(state)s") % {
                    "number": case.number, "state": case.get_state_display()})
                return redirect("dispatch:desk")
        status = 400
    # Worked out for the page only (a dispatch that succeeds has redirected already).
    suggestion = suggest_for_case(case)
    if request.method != "POST":
        form, status = DispatchForm(initial=_initial(case, suggestion), modes=modes), 200
    return render(request, "dispatch/dispatch.html", {
        "modes": modes, "may": may,
        "case": case, "form": form, "suggestion": suggestion,
        "triage": TriageRecord.objects.filter(case=case).select_related("category").first(),
        "returned": selectors.last_return(case) if case.state == State.RETURNED else None,
        "reason_form": ReasonForm(),
        "text_mask": text_mask_for(request.user, case),
    }, status=status)


@require_POST
@role_required(Role.DISPATCHER)
def refuse_return(request, number):
    """驳回退单: the department keeps the case."""
    case = get_object_or_404(visible_cases(request.user), number=number)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"reason": _("请说明驳回退单的理由。")})
        services.refuse_return(actor=request.user, case_id=case.pk,
                                    reason=form.cleaned_data["reason"])
    except (CaseError, ValidationError) as error:
        messages.error(request, error_message(error))
        return redirect("dispatch:dispatch", number=number)
    messages.success(request, _("已驳回退单，%(number)s 仍由原部门办理") % {"number": case.number})
    return redirect("dispatch:desk")
