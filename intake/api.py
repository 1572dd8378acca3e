"""API: register a case (the city 12345 platform and other systems), find it by the
platform's ticket, read one back."""

import uuid

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api import (COMMON_ERRORS, CaseSummarySerializer, case_summary, detail_section_fields,
                       detail_sections, errors, field_errors, local)
from cases import reference
from cases.audit import record_case_view
from cases.identity import person_for, text_mask_for
from cases.models import Case, Category, Channel, Department, Gender, Tier
from cases.roles import OFFICE_ROLES, has_role
from cases.selectors import visible_cases
from cases.serializers import (StrictBooleanField, StrictCharField, StrictChoiceField,
                               StrictDateTimeField, StrictEmailField, StrictIntegerField,
                               StrictPrimaryKeyRelatedField, StrictSerializer, form_length)
from cases.validators import normalize_phone, validate_id_number, validate_phone

from . import platforms, query_codes, services
from .forms import RegistrationForm

F = RegistrationForm


class PhoneField(StrictCharField):
    """ASCII digits: a mobile number (optionally +86/0086 and dashes) or a landline with
    its area code; stored as dialled in China."""

    def __init__(self, **kwargs):
        super().__init__(max_length=form_length(F, "phone"), validators=[validate_phone],
                         **kwargs)

    def to_internal_value(self, data):
        return normalize_phone(super().to_internal_value(data))


class SubcategoryField(StrictPrimaryKeyRelatedField):
    """An active subcategory's id, found in the held reference table (no query)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        category = reference.categories().get(data)
        if category is None or not category.is_active or category.parent_id is None:
            self.fail("does_not_exist", pk_value=data)
        return category


class PetitionerSerializer(StrictSerializer):
    name = StrictCharField(max_length=form_length(F, "name"))
    phone = PhoneField()
    gender = StrictChoiceField(choices=Gender.choices, required=False)
    age = StrictIntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    occupation = StrictCharField(max_length=form_length(F, "occupation"), required=False,
                                 allow_blank=True)
    id_number = StrictCharField(max_length=form_length(F, "id_number"), required=False,
                                allow_blank=True, validators=[validate_id_number])
    phone_alt = PhoneField(required=False, allow_blank=True)
    email = StrictEmailField(max_length=254, required=False, allow_blank=True)
    address = StrictCharField(max_length=form_length(F, "address"), required=False,
                              allow_blank=True)
    wants_confidentiality = StrictBooleanField(required=False, default=False)


def _text(name: str, **kwargs) -> StrictCharField:
    """A text field as long as the counter form's."""
    field = F.base_fields[name]
    if not field.required:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
    kwargs.setdefault("help_text", str(field.label))
    return StrictCharField(max_length=field.max_length, **kwargs)


class CaseRegistrationSerializer(StrictSerializer):
    channel = StrictChoiceField(choices=Channel.choices, required=False,
                                help_text="来源渠道: required from staff; a platform's cases "
                                          "arrive by its own channel")
    petitioner = PetitionerSerializer()
    summary = _text("summary")
    content = _text("content")
    demands = _text("demands")
    place = _text("place")
    category = SubcategoryField(
        queryset=Category.objects.filter(is_active=True, parent__isnull=False),
        required=False, allow_null=True, help_text="问题分类 (a subcategory's id)")
    tier = StrictChoiceField(choices=Tier.choices, required=False)
    external_reference = _text("external_reference",
                               help_text="平台工单号: required from a platform, one case per ticket")
    platform_due_at = StrictDateTimeField(required=False, allow_null=True)
    is_sensitive = StrictBooleanField(required=False, default=False)
    is_collective = StrictBooleanField(required=False, default=False)
    head_count = StrictIntegerField(required=False, allow_null=True, min_value=2)
    is_abnormal = StrictBooleanField(required=False, default=False)
    earlier_case = serializers.SlugRelatedField(slug_field="number", queryset=Case.objects.all(),
                                                required=False, allow_null=True)
    outcome = StrictChoiceField(choices=services.Outcome.ALL, default=services.Outcome.LEAVE,
                                help_text="leave (received), accept, answer, refuse, merge; "
                                          "a platform only leaves its cases for the office")
    answer = _text("answer")
    refusal_reason = _text("refusal_reason")
    refusal_guidance = _text("refusal_guidance")
    merge_into = _text("merge_into")
    complained_department = StrictPrimaryKeyRelatedField(
        queryset=Department.objects.filter(is_active=True), required=False, allow_null=True)
    complained_section = _text("complained_section")
    complained_person = _text("complained_person")
    request_id = serializers.UUIDField(
        required=False, help_text="the caller's idempotency key: the same id and body again "
                                  "answers the same case; the same id with another body is 409")

    def validate_earlier_case(self, value):
        if value is not None and not visible_cases(self.context["user"]).filter(
                pk=value.pk).exists():
            raise serializers.ValidationError(_("前案编号不存在。"))
        return value


class RegisteredSerializer(CaseSummarySerializer):
    query_code = serializers.CharField(allow_null=True,
                                       help_text="查询码, answered once, for the petitioner")
    suggestion = serializers.DictField(required=False)
    repeats = serializers.ListField(child=serializers.DictField(), required=False)


class EventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    action_display = serializers.CharField()
    actor = serializers.CharField(help_text="who made the act, as this caller may know it")
    to = serializers.CharField(allow_blank=True, help_text="the state after the act")
    note = serializers.CharField(allow_blank=True)


class PetitionerShownSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(allow_null=True)


def case_detail_serializer():
    return inline_serializer("CaseDetail", {
        **CaseSummarySerializer().get_fields(),
        "channel": serializers.CharField(),
        "summary": serializers.CharField(),
        "category": serializers.IntegerField(allow_null=True),
        "lead_department": serializers.CharField(allow_null=True),
        "external_reference": serializers.CharField(allow_blank=True),
        "received_at": serializers.DateTimeField(allow_null=True),
        "accepted_at": serializers.DateTimeField(allow_null=True),
        "replied_at": serializers.DateTimeField(allow_null=True),
        "reply": serializers.CharField(allow_null=True, help_text="the latest reply's text"),
        "petitioner": PetitionerShownSerializer(allow_null=True,
                                                help_text="as the identity policy shows them"),
        "events": EventSerializer(many=True),
        **detail_section_fields(),
    })


class LookupSerializer(StrictSerializer):
    external_reference = StrictCharField(max_length=form_length(F, "external_reference"),
                                         help_text="平台工单号")


def _actor(event, user, platform) -> str:
    """Staff names are the office's to know; a platform reads "信访办" for the office's acts
    and its own name for its own."""
    if platform is None:
        return event.actor_display
    if event.actor_id is not None and event.actor_id == user.pk:
        return platform.name
    return _("信访办") if event.actor_id is not None else event.actor_display


class CasesView(APIView):
    """POST /api/v1/cases/ registers; GET /api/v1/cases/?external_reference= finds."""

    @extend_schema(
        operation_id="case_register", summary="登记案件 register a case",
        description="The same service and checks as the counter's form. A platform's case "
                    "arrives by the platform's channel with its ticket (external_reference): "
                    "the same ticket again answers the existing case (200).",
        request=CaseRegistrationSerializer,
        responses={201: RegisteredSerializer, 200: RegisteredSerializer,
                   **errors(400, *COMMON_ERRORS, 409, 413, 415)})
    def post(self, request):
        serializer = CaseRegistrationSerializer(data=request.data,
                                                context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        platform = platforms.platform_of(request.user)
        if platform is not None:
            refusal = self._platform_refusal(platform, data)
            if refusal:
                return field_errors(refusal)
            data["channel"] = platform.channel
        elif not data.get("channel"):
            return field_errors({"channel": [_("请选择来源渠道。")]})
        register = self._registration(request, data)
        if platform is None:
            case = register()
            made = not getattr(case, "is_repeat", False)
        else:
            case, made = platforms.register_from_platform(
                platform=platform, ticket=data["external_reference"], register=register)
        # The query code (查询码) is answered here, for the caller to pass on to the
        # petitioner; only its hash is kept. A request_id again answers a new code; a
        # ticket sent again answers none (the petitioner has the first one).
        code = getattr(case, "query_code", None)
        body = {**case_summary(case, request.user),
                "query_code": query_codes.display(code) if code else None}
        if getattr(case, "triage_suggestion", None) is not None:
            body["suggestion"] = case.triage_suggestion.as_data()
        if has_role(request.user, *OFFICE_ROLES):  # earlier cases are the office's to see
            body["repeats"] = getattr(case, "repeat_candidates", [])
        return Response(body, status=status.HTTP_201_CREATED if made else status.HTTP_200_OK)

    @staticmethod
    def _platform_refusal(platform, data) -> dict:
        refusal = {}
        if data.get("channel") and data["channel"] != platform.channel:
            refusal["channel"] = [_("本平台报送的案件渠道为「%(channel)s」。") % {
                "channel": Channel(platform.channel).label}]
        if not data.get("external_reference"):
            refusal["external_reference"] = [_("平台报送的案件须填写平台工单号。")]
        if data.get("outcome", services.Outcome.LEAVE) != services.Outcome.LEAVE:
            refusal["outcome"] = [_("受理结论由信访办作出：平台报送的案件只能暂存（leave）。")]
        return refusal

    @staticmethod
    def _registration(request, data):
        def register():
            return services.register_intake(
                actor=request.user,
                submission_token=data.get("request_id") or uuid.uuid4(),
                fingerprint=platforms.fingerprint(request.user, request.data)
                if data.get("request_id") else "",
                petitioner=dict(data["petitioner"]),
                matter={key: data[key] for key in (
                    "channel", "summary", "content", "demands", "place", "category",
                    "external_reference", "platform_due_at", "is_sensitive", "is_collective",
                    "head_count", "is_abnormal", "earlier_case", "complained_department",
                    "complained_section", "complained_person") if key in data},
                **services.outcome_arguments(data),
            )
        return register

    @extend_schema(
        operation_id="case_lookup", summary="按平台工单号查找 find by ticket",
        description="The cases with this external reference that the caller may see (a "
                    "platform: its own).",
        parameters=[OpenApiParameter("external_reference", str, required=True,
                                     description="平台工单号")],
        responses={200: CaseSummarySerializer(many=True), **errors(400, *COMMON_ERRORS)})
    def get(self, request):
        query = LookupSerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        ticket = query.validated_data["external_reference"]
        platform = platforms.platform_of(request.user)
        cases = visible_cases(request.user).select_related("tier")
        if platform is not None:
            cases = cases.filter(platform_link__platform=platform, platform_link__ticket=ticket)
        else:
            cases = cases.filter(external_reference=ticket)
        return Response([case_summary(case, request.user)
                         for case in cases.order_by("received_at", "pk")[:50]])


class CaseDetailView(APIView):
    @extend_schema(operation_id="case_detail", summary="案件详情 a case",
                   description="What the caller may see of the case: state, events with their "
                               "actor, the reply, the result, the return visits.",
                   responses={200: case_detail_serializer(), **errors(*COMMON_ERRORS, 404)})
    def get(self, request, number: str):
        case = get_object_or_404(
            visible_cases(request.user).select_related("petitioner", "category", "tier",
                                                       "lead_department"),
            number=number)
        platform = platforms.platform_of(request.user)
        body = case_summary(case, request.user)
        replied = case.events.filter(action="reply_to_petitioner").order_by("-at", "-pk").first()
        shown = text_mask_for(request.user, case) or (lambda text: text)
        body.update({
            "channel": case.channel,
            "summary": shown(case.summary),
            "category": case.category_id,
            "lead_department": case.lead_department.name if case.lead_department else None,
            "external_reference": case.external_reference,
            "received_at": local(case.received_at),
            "accepted_at": local(case.accepted_at),
            "replied_at": local(case.replied_at),
            "reply": shown(replied.note) if replied else None,
            "petitioner": _petitioner_answer(request, case),
            "events": [
                {"at": local(e.at), "action": e.action, "action_display": e.action_label,
                 "actor": _actor(e, request.user, platform), "to": e.to_state,
                 "note": shown(e.note)}
                for e in case.events.select_related("actor")
            ],
            **detail_sections(request.user, case),
        })
        return Response(body)


def _petitioner_answer(request, case):
    """The petitioner as the identity policy shows them to this caller (masked values for
    the office, nothing for a department of a confidential petitioner); recorded."""
    person = person_for(request.user, case)
    if person.withheld:
        return None
    record_case_view(request, case, person)
    return {"name": person.name, "phone": person.phone or None}


cases = CasesView.as_view()
case_detail = CaseDetailView.as_view()
