"""API plumbing shared by every app (errors, the case's summary), the transitions API
driven by the table of acts, and the reference data."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .acts import all_acts, available_acts, ensure_allowed, get_act
from .exceptions import CaseConflictError, CaseError, RecordConflict
from .models import Case, Category, Department
from .selectors import visible_cases


def api_exception_handler(exc, context):
    """Domain errors become readable JSON: field errors 400, refused moves 409."""
    if isinstance(exc, RecordConflict):
        return Response({**exc.errors, "conflict": True}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, CaseError):
        return Response({"detail": exc.message, "conflict": isinstance(exc, CaseConflictError)},
                        status=status.HTTP_409_CONFLICT)
    from .middleware import CONTENTION_MESSAGE, is_contention

    if is_contention(exc):
        return Response({"detail": CONTENTION_MESSAGE, "conflict": True},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionDenied) and exc.args:
        return Response({"detail": str(exc.args[0])}, status=status.HTTP_403_FORBIDDEN)
    return exception_handler(exc, context)


@api_view(["GET"])
def categories(request):
    rows = Category.objects.filter(is_active=True).select_related(
        "default_tier", "default_department").order_by("sort_order", "name")
    tops = [c for c in rows if c.parent_id is None]
    children: dict[int, list] = {}
    for category in rows:
        if category.parent_id:
            children.setdefault(category.parent_id, []).append({
                "id": category.pk, "name": category.name,
                "default_tier": category.default_tier.code if category.default_tier else None,
                "default_department": category.default_department_id,
            })
    return Response([{"id": top.pk, "name": top.name, "subcategories": children.get(top.pk, [])}
                     for top in tops])


@api_view(["GET"])
def departments(request):
    return Response([{"id": d.pk, "code": d.code, "name": d.name, "is_office": d.is_office}
                     for d in Department.objects.filter(is_active=True).order_by("code")])


def local(moment):
    """Times in the office's zone (Asia/Shanghai, +08:00), as the platform reads them."""
    return timezone.localtime(moment).isoformat() if moment else None


def case_summary(case: Case, user=None) -> dict:
    body = {"number": case.number, "state": case.state,
            "state_display": case.get_state_display(), "due_at": local(case.due_at),
            "tier": case.tier.code if case.tier_id else None}
    if user is not None:
        body["acts"] = [act.name for act in available_acts(user, case)]
    return body


@api_view(["POST"])
def transition(request, number: str, name: str):
    """POST /api/v1/cases/<number>/transitions/<name>/: make an act of the table.

    The same acts, forms, checks and errors as the pages: the case must be visible to the
    caller (else 404), a refused move answers 409, a wrong person 403, bad input 400 by
    field. The answer lists the acts the caller may make next.
    """
    case = get_object_or_404(visible_cases(request.user), number=number)
    act = get_act(name)
    if act is None:
        return Response({"detail": _("没有名为 %(name)s 的操作。") % {"name": name},
                         "transitions": [known.name for known in all_acts()]}, status=404)
    if not isinstance(request.data, dict):
        raise DjangoValidationError({"detail": _("请求体应为 JSON 对象。")})
    ensure_allowed(name, request.user, case)
    form = act.make_form(data=request.data, files=request.FILES, case=case, user=request.user)
    if not form.is_valid():
        return Response({field: [str(message) for message in messages]
                         for field, messages in form.errors.items()},
                        status=status.HTTP_400_BAD_REQUEST)
    act.perform(actor=request.user, case=case, data=form.cleaned_data)
    case.refresh_from_db()
    return Response(case_summary(case, request.user))
