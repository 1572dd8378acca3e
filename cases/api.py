"""API plumbing shared by every app (the one error shape, the case's summary), the
transitions API driven by the table of acts, and the reference data."""

from collections.abc import Callable
from functools import lru_cache

from django.core.exceptions import PermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer,
                                   extend_schema, inline_serializer)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from .acts import all_acts, available_acts, ensure_allowed, get_act
from .exceptions import CaseConflictError, CaseError, RecordConflict
from .models import Case, Category, Department
from .selectors import visible_cases
from .serializers import ErrorSerializer, serializer_for_fields

NON_FIELD = "non_field_errors"


# ---------------------------------------------------------------- the one error shape
def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """{"petitioner": {"phone": [...]}} → {"petitioner.phone": [...]}; Django's "__all__"
    and DRF's non-field errors → "non_field_errors"."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            key = NON_FIELD if key in ("__all__", NON_FIELD) else str(key)
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(errors, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in errors):
            flat[prefix or NON_FIELD] = [str(item) for item in errors]
        else:
            for index, item in enumerate(errors):
                if item:
                    flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or NON_FIELD] = [str(errors)]
    return flat


def field_errors(errors, status_code: int = status.HTTP_400_BAD_REQUEST,
                 **extra) -> Response:
    """The answer for bad input: a sentence naming the first field, and every field."""
    flat = flatten_errors(errors)
    field, messages = next(iter(flat.items()), (NON_FIELD, [_("请求有误。")]))
    detail = messages[0] if field == NON_FIELD else f"{field}：{messages[0]}"
    return Response({"detail": detail, "errors": flat, **extra}, status=status_code)


def error_answer(detail, status_code: int, **extra) -> Response:
    return Response({"detail": str(detail), **extra}, status=status_code)


def api_exception_handler(exc, context):
    """Every error is JSON of one shape (cases.serializers.ErrorSerializer): bad input 400
    by field, refused moves 409, not yours 403, unknown 404, and DRF's own answers."""
    if isinstance(exc, RecordConflict):
        return field_errors(exc.errors, status.HTTP_409_CONFLICT, conflict=True)
    if isinstance(exc, DjangoValidationError):
        return field_errors(exc.message_dict if hasattr(exc, "error_dict")
                            else {NON_FIELD: exc.messages})
    if isinstance(exc, exceptions.ValidationError):
        return field_errors(exc.detail)
    if isinstance(exc, CaseError):
        return error_answer(exc.message, status.HTTP_409_CONFLICT,
                            conflict=isinstance(exc, CaseConflictError))
    if isinstance(exc, RequestDataTooBig):
        return error_answer(_("请求体过大。"), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    from .middleware import (
        CONNECTION_LOST_MESSAGE,
        CONTENTION_MESSAGE,
        drop_lost_connections,
        is_connection_lost,
        is_contention,
    )

    if is_contention(exc):
        return error_answer(CONTENTION_MESSAGE, status.HTTP_409_CONFLICT, conflict=True)
    if is_connection_lost(exc):
        drop_lost_connections()
        answer = error_answer(CONNECTION_LOST_MESSAGE, status.HTTP_503_SERVICE_UNAVAILABLE)
        answer["Retry-After"] = "5"
        return answer
    if isinstance(exc, PermissionDenied) and exc.args:
        return error_answer(exc.args[0], status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("未找到。"))
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: JSON, not the site's HTML page."""
    return JsonResponse({"detail": _("没有这个接口。")}, status=404,
                        json_dumps_params={"ensure_ascii": False})


def errors(*codes: int) -> dict:
    """The error answers of an operation, for the schema."""
    descriptions = {400: "bad input, by field", 401: "no valid key or token",
                    403: "not this caller's to do", 404: "no such case (or not visible)",
                    409: "refused in the case's state, or a conflicting request",
                    413: "body too large", 415: "not JSON", 429: "too many requests",
                    503: "the database connection was lost: look, then try again"}
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code])
            for code in codes}


COMMON_ERRORS = (401, 403, 429)


# ---------------------------------------------------------------- what the answers carry
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


class CaseSummarySerializer(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    tier = serializers.CharField(allow_null=True)
    acts = serializers.ListField(child=serializers.CharField(),
                                 help_text="the acts this caller may make now")


# Sections of the case detail contributed by later stages (the handling result, the return
# visits), registered by the composition root so that cases imports no app.
_detail_sections: dict[str, tuple[Callable, serializers.Field]] = {}


def register_detail_section(name: str, build: Callable, field: serializers.Field) -> None:
    """`build(user, case)` answers the section's JSON; `field` describes it in the schema."""
    _detail_sections[name] = (build, field)


def detail_sections(user, case: Case) -> dict:
    return {name: build(user, case) for name, (build, _field) in _detail_sections.items()}


def detail_section_fields() -> dict:
    return {name: field for name, (_build, field) in _detail_sections.items()}


# ---------------------------------------------------------------- reference data
class SubcategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    default_tier = serializers.CharField(allow_null=True)
    default_department = serializers.IntegerField(allow_null=True)


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    subcategories = SubcategorySerializer(many=True)


class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    is_office = serializers.BooleanField()


class CategoriesView(APIView):
    @extend_schema(operation_id="categories", summary="问题类别 categories",
                   responses={200: CategorySerializer(many=True), **errors(*COMMON_ERRORS)})
    def get(self, request):
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
        return Response([{"id": top.pk, "name": top.name,
                          "subcategories": children.get(top.pk, [])} for top in tops])


class DepartmentsView(APIView):
    @extend_schema(operation_id="departments", summary="部门 departments",
                   responses={200: DepartmentSerializer(many=True), **errors(*COMMON_ERRORS)})
    def get(self, request):
        return Response([{"id": d.pk, "code": d.code, "name": d.name, "is_office": d.is_office}
                         for d in Department.objects.filter(is_active=True).order_by("code")])


categories = CategoriesView.as_view()
departments = DepartmentsView.as_view()


# ---------------------------------------------------------------- the acts
def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@lru_cache(maxsize=None)
def act_input_serializer(name: str) -> type:
    """The JSON input of an act, from its form's declared fields (for the schema)."""
    act = get_act(name)
    fields = act.form.base_fields if act.form is not None else {}
    serializer = serializer_for_fields(f"{_camel(name)}Input", fields)
    serializer.__doc__ = f"{act.label_text}（{name}）" + (f"：{act.help}" if act.help else "")
    return serializer


def _acts_input():
    return PolymorphicProxySerializer(
        component_name="ActInput",
        serializers=[act_input_serializer(act.name) for act in all_acts()],
        resource_type_field_name=None,
    )


class TransitionView(APIView):
    """POST /api/v1/cases/<number>/transitions/<name>/: make an act of the table.

    The same acts, forms, checks and errors as the pages: the case must be visible to the
    caller (else 404), a refused move answers 409, a wrong person 403, bad input 400 by
    field. The answer lists the acts the caller may make next.
    """

    @extend_schema(
        operation_id="case_transition", summary="办理操作 make an act",
        description="The body is the act's input, as on the case page (see each *Input "
                    "schema); unknown fields and wrong types are refused by field.",
        parameters=[
            OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="案件编号"),
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH,
                             enum=[act.name for act in all_acts()], description="操作"),
        ],
        request=_acts_input(),
        responses={200: CaseSummarySerializer,
                   **errors(400, *COMMON_ERRORS, 404, 409, 413, 415)},
    )
    def post(self, request, number: str, name: str):
        case = get_object_or_404(visible_cases(request.user), number=number)
        act = get_act(name)
        if act is None:
            return error_answer(_("没有名为 %(name)s 的操作。") % {"name": name}, 404,
                                transitions=[known.name for known in all_acts()])
        if not isinstance(request.data, dict):
            raise DjangoValidationError(_("请求体应为 JSON 对象。"))
        ensure_allowed(name, request.user, case)
        form = act.make_form(data=request.data, files=None, case=case, user=request.user)
        strict = serializer_for_fields(f"{_camel(name)}Input", form.fields)(data=request.data)
        strict.is_valid(raise_exception=True)
        if not form.is_valid():
            return field_errors({field: [str(message) for message in messages]
                                 for field, messages in form.errors.items()})
        act.perform(actor=request.user, case=case, data=form.cleaned_data)
        case.refresh_from_db()
        return Response(case_summary(case, request.user))


transition = TransitionView.as_view()
