"""What the office sees when closing the loop."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.models import ENDED_AT_INTAKE, Case, ReviewStage, State
from cases.paging import cursor_of, position_of
from cases.selectors import visible_cases

from . import merged
from .models import RatingLinkUse, Reply


def feedback_queues(user) -> dict[str, QuerySet[Case]]:
    cases = visible_cases(user).select_related("lead_department", "tier", "petitioner")
    return {
        "to_reply": cases.filter(state=State.RESULT_SUBMITTED,
                                 review_stage=ReviewStage.APPROVED).order_by("due_at")[:100],
        "to_visit": cases.filter(state=State.REPLIED).order_by("replied_at")[:100],
        # The same cases the archive transition accepts: visited, ended at intake, or
        # replied with the petitioner unreachable after the set number of attempts.
        "to_archive": cases.filter(
            Q(state__in=[State.VISITED, *ENDED_AT_INTAKE])
            | Q(state=State.REPLIED, unreached_visits__gte=settings.VISIT_MAX_ATTEMPTS)
        ).order_by("visited_at", "closed_at")[:100],
    }


def draft_reply(case: Case) -> str:
    """A first draft of the reply from the approved written result (the office edits it):
    the handling unit, what was found, the handling opinion and the result."""
    result = case.handling_results.order_by("-submitted_at", "-pk").first()
    unit = case.lead_department.name if case.lead_department else settings.OFFICE_NAME
    day = timezone.localtime(case.received_at)
    received = f"{day.year}年{day.month}月{day.day}日"  # as the letters write a date
    if result is None:
        return f"您于{received}反映的“{case.summary}”一事，经{unit}办理，{case.result}"
    return (f"您于{received}反映的“{case.summary}”一事，已交{unit}办理。"
            f"经调查核实：{result.findings}\n处理意见：{result.opinion}\n"
            f"办理结果：{result.result}")


ARCHIVE_PAGE = 50


def archive_years() -> list[int]:
    return [d.year for d in Case.objects.filter(state=State.ARCHIVED).dates(
        "archived_at", "year", order="DESC")]


def browse_archive(user, *, year=None, category=None, search: str = "", after: str = ""):
    """The archive, newest first, by year and category, paged by key (archived_at, id);
    searched by case number, archive number (档号) or summary."""
    cases = visible_cases(user).filter(state=State.ARCHIVED).select_related(
        "category", "category__parent", "lead_department", "archive_file")
    if year:
        cases = cases.filter(archived_at__year=year)
    if category:
        cases = cases.filter(Q(category_id=category) | Q(category__parent_id=category))
    search = (search or "").strip()
    if search:
        cases = cases.filter(Q(number=search.upper()) | Q(archive_file__number=search.upper())
                             | Q(summary__icontains=search))
    position = position_of(after) if after else None
    if position and position[0] is not None:
        moment, pk = position
        cases = cases.filter(Q(archived_at__lt=moment) | Q(pk__lt=pk), archived_at__lte=moment)
    rows = list(cases.order_by("-archived_at", "-pk")[: ARCHIVE_PAGE + 1])
    more = len(rows) > ARCHIVE_PAGE
    rows = rows[:ARCHIVE_PAGE]
    cursor = cursor_of(rows[-1].archived_at, rows[-1].pk) if more and rows else None
    return rows, cursor


@dataclass
class RatingLink:
    """What a rating link opens: the case and reply it names, or why it opens nothing."""

    case: Case | None = None
    reply: Reply | None = None
    problem: str = ""


def rating_link(token: str) -> RatingLink:
    """Read a rating link without using it: valid, for the case's latest reply, unused,
    and the case still waiting for its return visit."""
    from django.core.exceptions import ValidationError

    from .services import read_rating_token

    try:
        payload = read_rating_token(token)
    except ValidationError as error:
        return RatingLink(problem=" ".join(error.messages))
    reply = (Reply.objects.select_related("case").filter(pk=payload["reply"],
                                                          case_id=payload["case"]).first())
    if reply is None:
        return RatingLink(problem=str(_("这个评价链接无效。")))
    case = reply.case
    latest = case.replies.order_by("-sent_at", "-pk").values_list("pk", flat=True).first()
    if latest != reply.pk:
        return RatingLink(case, reply, str(_("这个评价链接已失效：案件已有新的答复，请使用新答复中的链接。")))
    if RatingLinkUse.objects.filter(reply=reply).exists():
        return RatingLink(case, reply, str(_("这个评价链接已经使用过，感谢您的评价。")))
    if case.state != State.REPLIED and merged.reply_awaiting_visit(case) is None:
        return RatingLink(case, reply, str(_("这件案件现在不需要评价。")))
    return RatingLink(case, reply)


def open_rating_url(reply: Reply | None) -> str:
    """The rating link of a reply the petitioner may still rate, else ''."""
    if reply is None:
        return ""
    if reply.case.state != State.REPLIED and merged.reply_awaiting_visit(reply.case) is None:
        return ""
    if RatingLinkUse.objects.filter(reply=reply).exists():
        return ""
    from .services import rating_url

    return rating_url(reply)
