"""What the office sees when closing the loop."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from cases.models import ENDED_AT_INTAKE, Case, ReviewStage, State
from cases.selectors import visible_cases


def feedback_queues(user) -> dict[str, QuerySet[Case]]:
    cases = visible_cases(user).select_related("lead_department", "tier", "petitioner")
    return {
        "to_reply": cases.filter(state=State.RESULT_SUBMITTED,
                                 review_stage=ReviewStage.APPROVED).order_by("due_at")[:100],
        "to_visit": cases.filter(state=State.REPLIED).order_by("replied_at")[:100],
        "to_archive": cases.filter(state__in=[State.VISITED, *ENDED_AT_INTAKE]).order_by(
            "visited_at", "closed_at")[:100],
    }


def draft_reply(case: Case) -> str:
    """A first draft of the reply from the approved written result (the office edits it):
    the handling unit, what was found, the handling opinion and the result."""
    result = case.handling_results.order_by("-submitted_at", "-pk").first()
    unit = case.lead_department.name if case.lead_department else settings.OFFICE_NAME
    received = case.received_at.astimezone().strftime("%Y年%m月%d日")
    if result is None:
        return f"您于{received}反映的“{case.summary}”一事，经{unit}办理，{case.result}"
    return (f"您于{received}反映的“{case.summary}”一事，已交{unit}办理。"
            f"经调查核实：{result.findings}\n处理意见：{result.opinion}\n"
            f"办理结果：{result.result}")
