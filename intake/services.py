"""The counter's acts: register a matter with its outcome; the public's: submit and rate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.models import Case, Channel, Petitioner, Representative
from cases.notifications import alert_supervisors
from cases.validators import normalize_phone

from .models import IntakeSubmission


class Outcome:
    """How the clerk ends a registration (DESIGN: intake outcomes)."""

    LEAVE = "leave"  # stays received, for the dispatcher
    ACCEPT = "accept"
    ANSWER = "answer"
    REFUSE = "refuse"
    MERGE = "merge"
    ALL = (LEAVE, ACCEPT, ANSWER, REFUSE, MERGE)


def outcome_arguments(data: dict) -> dict:
    """The outcome and its details, from a form's or the API's cleaned data."""
    return {
        "outcome": data.get("outcome") or Outcome.LEAVE,
        "tier_code": data.get("tier") or "",
        "answer": data.get("answer") or "",
        "refusal_reason": data.get("refusal_reason") or "",
        "refusal_guidance": data.get("refusal_guidance") or "",
        "merge_into": data.get("merge_into") or "",
    }


PETITIONER_FIELDS = ("name", "gender", "age", "occupation", "id_number", "phone", "phone_alt",
                     "email", "address", "wants_confidentiality")


def save_petitioner(*, petitioner_id: int | None, details: dict) -> Petitioner:
    """The petitioner record to use: the one the clerk picked (brought up to date), the
    one with the same ID number, or a new one. Validated field by field."""
    details = {key: details[key] for key in PETITIONER_FIELDS if key in details}
    for key in ("phone", "phone_alt"):
        if key in details:
            details[key] = normalize_phone(details[key])
    if details.get("id_number"):
        details["id_number"] = details["id_number"].strip().upper()
    person = None
    if petitioner_id:
        person = Petitioner.objects.filter(pk=petitioner_id).first()
        if person is None:
            raise ValidationError({"petitioner": _("所选信访人不存在。")})
    elif details.get("id_number"):
        person = Petitioner.objects.filter(id_number=details["id_number"]).first()
    person = person or Petitioner()
    for key, value in details.items():
        if value not in (None, "") or key in ("wants_confidentiality",):
            setattr(person, key, value)
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def register_intake(
    *,
    actor,
    submission_token: uuid.UUID,
    petitioner_id: int | None = None,
    petitioner: dict,
    matter: dict,
    representatives: Sequence[dict] = (),
    attachments: Sequence = (),
    outcome: str = Outcome.LEAVE,
    tier_code: str = "",
    answer: str = "",
    refusal_reason: str = "",
    refusal_guidance: str = "",
    merge_into: str = "",
) -> Case:
    """Register a matter as it reached the office, and end it with the clerk's outcome.

    One transaction: the petitioner, the case, its representatives and files, the alerts,
    and the outcome all happen, or none does. The same submission token twice answers
    the case the first one made.
    """
    if outcome not in Outcome.ALL:
        raise ValidationError({"outcome": _("请选择登记结论。")})
    existing = _claim_token(submission_token)
    if existing is not None:
        return existing
    if len(representatives) > 5:
        raise ValidationError({"representatives": _("集体访代表最多5人。")})
    if len(attachments) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError({"attachments": _("一次最多上传 %(n)s 个文件。") % {
            "n": settings.ATTACHMENT_MAX_FILES}})
    person = save_petitioner(petitioner_id=petitioner_id, details=petitioner)
    case = case_services.register_case(actor=actor, petitioner=person, **matter)
    for representative in representatives:
        Representative.objects.create(case=case, **representative)
    for upload in attachments:
        case_services.add_attachment(actor=actor, case=case, upload=upload)
    _alert_special_visits(case)
    IntakeSubmission.objects.filter(token=submission_token).update(case=case)

    try:
        if outcome == Outcome.ACCEPT:
            case = case_services.accept_case(actor=actor, case_id=case.pk, tier_code=tier_code)
        elif outcome == Outcome.ANSWER:
            case = case_services.answer_on_the_spot(actor=actor, case_id=case.pk, answer=answer)
        elif outcome == Outcome.REFUSE:
            case = case_services.refuse_case(actor=actor, case_id=case.pk,
                                             reason=refusal_reason, guidance=refusal_guidance)
        elif outcome == Outcome.MERGE:
            case = case_services.merge_case(actor=actor, case_id=case.pk, into_number=merge_into)
    except ValidationError as error:
        # The acts name their own fields; the registration names them as its form does.
        raise ValidationError({OUTCOME_FIELDS.get(field, field): messages
                               for field, messages in error.message_dict.items()}) from error
    return case


OUTCOME_FIELDS = {"reason": "refusal_reason", "guidance": "refusal_guidance",
                  "into_number": "merge_into"}


def _claim_token(token) -> Case | None:
    """Claim the form's token; if it was claimed before, answer that registration's case.

    A second request with the same token waits on the unique index until the first one
    commits or rolls back, so two clicks never make two cases.
    """
    try:
        with transaction.atomic():
            IntakeSubmission.objects.create(token=token)
    except IntegrityError:
        claimed = IntakeSubmission.objects.select_related("case").get(token=token)
        return claimed.case
    return None


def _alert_special_visits(case: Case) -> None:
    """Collective and abnormal visits alert the supervisors at once (in the app and by e-mail)."""
    if case.is_collective:
        alert_supervisors(
            case=case, kind="collective_visit",
            title=_("集体访：%(number)s（%(count)s人）") % {"number": case.number,
                                                        "count": case.head_count},
            body=f"{case.summary}\n{case.content}",
        )
    if case.is_abnormal:
        alert_supervisors(
            case=case, kind="abnormal_visit",
            title=_("异常访：%(number)s") % {"number": case.number},
            body=f"{case.summary}\n{case.content}",
        )


def submit_online(*, submission_token: uuid.UUID, petitioner: dict, matter: dict,
                  attachments: Sequence = ()) -> Case:
    """The public's web form: the case waits in `received` for the office."""
    return register_intake(
        actor=None, submission_token=submission_token, petitioner=petitioner,
        matter={**matter, "channel": Channel.WEB}, attachments=attachments,
    )
