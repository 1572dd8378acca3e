"""POST /api/v1/cases/<number>/transitions/<name>/: drive an act the caller may make.

It lives in feedback, the last app of the lifecycle that acts on cases, so that every act
goes through its own stage's service (a reply keeps its Reply record and its e-mail, a
visit its ReturnVisit). The same services as the pages: the case must be visible to the caller (else 404), bad
input answers 400 by field, a refused move 409, a wrong role 403."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework.decorators import api_view
from rest_framework.response import Response

from cases import services as case_services
from cases.selectors import visible_cases
from intake.api import case_summary

from dispatch import services
from feedback import services as feedback_services


def text(data, field, *, required=True) -> str:
    value = data.get(field, "")
    if not isinstance(value, str):
        raise ValidationError({field: _("应为文本。")})
    if required and not value.strip():
        raise ValidationError({field: _("该字段是必填项。")})
    return value


def boolean(data, field) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise ValidationError({field: _("应为 true 或 false。")})
    return value


def ids(data, field) -> list[int]:
    value = data.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise ValidationError({field: _("应为编号的列表。")})
    return value


def moment(data, field):
    value = parse_datetime(text(data, field)) if data.get(field) else None
    if value is None:
        raise ValidationError({field: _("应为 ISO 8601 时间，例如 2026-12-01T17:00:00+08:00。")})
    return value


def _dispatch(mode):
    return lambda user, case, d: services.dispatch(
        actor=user, case_id=case.pk, mode=mode, category_id=d.get("category"),
        tier_code=text(d, "tier", required=False),
        tier_change_reason=text(d, "tier_change_reason", required=False),
        lead_department_id=d.get("lead_department"),
        assisting_department_ids=ids(d, "assisting_departments"),
        note=text(d, "note", required=False))


TRANSITIONS = {
    "accept": lambda u, c, d: case_services.accept_case(
        actor=u, case_id=c.pk, tier_code=text(d, "tier", required=False)),
    "answer_on_the_spot": lambda u, c, d: case_services.answer_on_the_spot(
        actor=u, case_id=c.pk, answer=text(d, "answer")),
    "refuse": lambda u, c, d: case_services.refuse_case(
        actor=u, case_id=c.pk, reason=text(d, "reason"), guidance=text(d, "guidance")),
    "merge": lambda u, c, d: case_services.merge_case(
        actor=u, case_id=c.pk, into_number=text(d, "into_number")),
    "withdraw": lambda u, c, d: case_services.withdraw_case(
        actor=u, case_id=c.pk, reason=text(d, "reason")),
    "dispatch": _dispatch("assigned"),
    "handle_directly": _dispatch("direct"),
    "escalate": _dispatch("escalated"),
    "instruct": lambda u, c, d: case_services.instruct_case(
        actor=u, case_id=c.pk, instruction=text(d, "instruction")),
    "department_accept": lambda u, c, d: case_services.department_accept_case(
        actor=u, case_id=c.pk),
    "return": lambda u, c, d: case_services.return_case(
        actor=u, case_id=c.pk, reason=text(d, "reason")),
    "refuse_return": lambda u, c, d: case_services.refuse_return(
        actor=u, case_id=c.pk, reason=text(d, "reason")),
    "request_extension": lambda u, c, d: services.request_extension(
        actor=u, case_id=c.pk, reason=text(d, "reason"),
        requested_due_at=moment(d, "requested_due_at")),
    "submit_result": lambda u, c, d: services.submit_result(
        actor=u, case_id=c.pk, findings=text(d, "findings"), opinion=text(d, "opinion"),
        result=text(d, "result"), is_solved=boolean(d, "is_solved")),
    "approve_result": lambda u, c, d: case_services.approve_result(
        actor=u, case_id=c.pk, note=text(d, "note", required=False)),
    "send_back": lambda u, c, d: case_services.send_back_result(
        actor=u, case_id=c.pk, note=text(d, "note")),
    "reply": lambda u, c, d: feedback_services.send_reply(
        actor=u, case_id=c.pk, content=text(d, "reply"), channel=text(d, "channel"),
        next_steps=text(d, "next_steps", required=False)),
    "record_return_visit": lambda u, c, d: feedback_services.record_visit(
        actor=u, case_id=c.pk, method=text(d, "method", required=False) or "phone",
        reached=True, is_solved=boolean(d, "is_solved"),
        satisfaction=text(d, "satisfaction"), comments=text(d, "comments", required=False)),
    "reopen": lambda u, c, d: case_services.reopen_case(
        actor=u, case_id=c.pk, reason=text(d, "reason")),
    "archive": lambda u, c, d: case_services.archive_case(
        actor=u, case_id=c.pk, invalid_reason=text(d, "invalid_reason", required=False)),
}


@api_view(["POST"])
def transition(request, number: str, name: str):
    case = get_object_or_404(visible_cases(request.user), number=number)
    act = TRANSITIONS.get(name)
    if act is None:
        return Response({"detail": _("没有名为 %(name)s 的操作。") % {"name": name},
                         "transitions": sorted(TRANSITIONS)}, status=404)
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": _("请求体应为 JSON 对象。")})
    act(request.user, case, request.data)
    case.refresh_from_db()
    return Response(case_summary(case))
