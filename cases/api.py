"""API plumbing shared by every app (errors) and the reference data."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .exceptions import CaseConflictError, CaseError
from .models import Category, Department


def api_exception_handler(exc, context):
    """Domain errors become readable JSON: field errors 400, refused moves 409."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, CaseError):
        return Response({"detail": exc.message, "conflict": isinstance(exc, CaseConflictError)},
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
