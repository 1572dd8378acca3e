"""API: register a case (the city 12345 platform and other systems), read one back."""

import uuid

from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from cases.api import case_summary, local
from cases.models import Case, Category, Channel, Department, Gender, Tier
from cases.audit import record_case_view
from cases.identity import person_for
from cases.roles import OFFICE_ROLES, has_role
from cases.selectors import visible_cases
from cases.validators import normalize_phone, validate_id_number, validate_phone

from . import query_codes, services


class PhoneField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=30, validators=[validate_phone], **kwargs)

    def to_internal_value(self, data):
        return normalize_phone(super().to_internal_value(data))


class PetitionerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    phone = PhoneField()
    gender = serializers.ChoiceField(choices=Gender.choices, required=False)
    age = serializers.IntegerField(min_value=0, max_value=130, required=False, allow_null=True)
    occupation = serializers.CharField(max_length=50, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True,
                                      validators=[validate_id_number])
    phone_alt = PhoneField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    wants_confidentiality = serializers.BooleanField(required=False, default=False)


class CaseRegistrationSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    petitioner = PetitionerSerializer()
    summary = serializers.CharField(max_length=200)
    content = serializers.CharField(max_length=settings.CASE_CONTENT_MAX_CHARS)
    demands = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True, parent__isnull=False),
        required=False, allow_null=True)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    external_reference = serializers.CharField(max_length=64, required=False, allow_blank=True)
    platform_due_at = serializers.DateTimeField(required=False, allow_null=True)
    is_sensitive = serializers.BooleanField(required=False, default=False)
    is_collective = serializers.BooleanField(required=False, default=False)
    head_count = serializers.IntegerField(required=False, allow_null=True, min_value=2)
    is_abnormal = serializers.BooleanField(required=False, default=False)
    earlier_case = serializers.SlugRelatedField(slug_field="number", queryset=Case.objects.all(),
                                                required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=services.Outcome.ALL, default=services.Outcome.LEAVE,
                                      help_text="leave (received), accept, answer, refuse, merge")
    answer = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    refusal_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    refusal_guidance = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    merge_into = serializers.CharField(max_length=24, required=False, allow_blank=True)
    complained_department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.filter(is_active=True), required=False, allow_null=True)
    complained_section = serializers.CharField(max_length=100, required=False, allow_blank=True)
    complained_person = serializers.CharField(max_length=50, required=False, allow_blank=True)
    request_id = serializers.UUIDField(required=False,
                                       help_text="the caller's idempotency key")


@api_view(["POST"])
def register_case(request):
    """POST /api/v1/cases/: the same service and checks as the counter's form."""
    serializer = CaseRegistrationSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    case = services.register_intake(
        actor=request.user,
        submission_token=data.get("request_id") or uuid.uuid4(),
        petitioner=dict(data["petitioner"]),
        matter={key: data[key] for key in (
            "channel", "summary", "content", "demands", "place", "category",
            "external_reference", "platform_due_at", "is_sensitive", "is_collective",
            "head_count", "is_abnormal", "earlier_case", "complained_department",
            "complained_section", "complained_person") if key in data},
        **services.outcome_arguments(data),
    )
    # The query code (查询码) is answered once, here, for the caller to pass on to the
    # petitioner; only its hash is kept.
    body = {**case_summary(case, request.user),
            "query_code": query_codes.display(case.query_code)}
    if getattr(case, "triage_suggestion", None) is not None:
        body["suggestion"] = case.triage_suggestion.as_data()
    if has_role(request.user, *OFFICE_ROLES):  # earlier cases are the office's to see
        body["repeats"] = getattr(case, "repeat_candidates", [])
    return Response(body, status=status.HTTP_201_CREATED)


@api_view(["GET"])
def case_detail(request, number: str):
    """GET /api/v1/cases/<number>/: what the caller may see of the case."""
    case = get_object_or_404(
        visible_cases(request.user).select_related("petitioner", "category", "tier",
                                                   "lead_department"),
        number=number)
    body = case_summary(case, request.user)
    replied = case.events.filter(action="reply_to_petitioner").order_by("-at", "-pk").first()
    body.update({
        "channel": case.channel,
        "summary": case.summary,
        "category": case.category_id,
        "tier": case.tier.code if case.tier else None,
        "lead_department": case.lead_department.name if case.lead_department else None,
        "external_reference": case.external_reference,
        "received_at": local(case.received_at),
        "accepted_at": local(case.accepted_at),
        "replied_at": local(case.replied_at),
        "reply": replied.note if replied else None,
        "petitioner": _petitioner_answer(request, case),
        "events": [
            {"at": local(e.at), "action": e.action, "from": e.from_state, "to": e.to_state,
             "note": e.note}
            for e in case.events.all()
        ],
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
