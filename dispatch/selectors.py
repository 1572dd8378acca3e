"""What the dispatcher's desk and the departments may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Department, State, TierPolicy
from cases.paging import cursor_of, position_of



def routing_suggestions(case: Case, *, limit: int = 3):
    """Where the case should go, best first (intake.triage: the responsibility list, the
    learned model, this category's history, its default), each with its source and why."""
    from intake.triage import suggest_for_case

    return suggest_for_case(case, limit=limit).departments


# ---------------------------------------------------------------- the department inbox
INBOX_STATES = (State.DISPATCHED, State.IN_HANDLING, State.RESULT_SUBMITTED)
PAGE_SIZE = 50
# What a row shows and what its buttons ask (cases.acts: the state, the handling mode,
# the lead department, the handler), the tier's code, the category's and the handler's
# names as plain columns: fifty whole cases with their petitioner, category, tier and
# handler cost more to plan, carry and build than the rest of the page.
ROW_FIELDS = ("number", "summary", "state", "review_stage", "handling_mode",
              "lead_department_id", "due_at", "handler_id")
ROW_NAMES = {"tier_code": "tier__code", "category_name": "category__name",
             "handler_first_name": "handler__first_name",
             "handler_last_name": "handler__last_name", "handler_username": "handler__username"}


@dataclass
class InboxFilters:
    state: str = ""
    tier: str = ""
    category: int | None = None
    handler: int | None = None
    overdue: bool = False
    due_soon: bool = False
    mine: bool = False


@dataclass
class InboxPage:
    rows: list
    next_cursor: str | None
    counts: dict
    is_last: bool


def inbox_departments(user) -> QuerySet[Department]:
    from cases.roles import department_ids_of

    return Department.objects.filter(pk__in=department_ids_of(user), is_active=True).order_by("code")


def _cursor(case) -> str:
    return cursor_of(case.due_at, case.pk)


def _parse_cursor(cursor: str):
    position = position_of(cursor)
    # Every inbox case has a due time: a cursor without one is not an inbox position.
    return position if position and position[0] is not None else None


def department_inbox(user, department: Department, filters: InboxFilters, *,
                     after: str = "", last: bool = False) -> InboxPage:
    """One page of the department's open cases, earliest due first, with the count of
    every filter. Pages by key (due time, id), so every page costs the same."""
    now = timezone.now()
    soon = now + timedelta(hours=settings.INBOX_DUE_SOON_HOURS)
    base = Case.objects.filter(lead_department=department, state__in=INBOX_STATES)
    counts = inbox_counts(user, department, now=now, soon=soon)
    cases = base
    if filters.state in INBOX_STATES:
        cases = cases.filter(state=filters.state)
    if filters.tier:
        # By the tier's id, which the inbox's tier index (dispatch 0005) begins with.
        cases = cases.filter(tier_id=Subquery(
            TierPolicy.objects.filter(code=filters.tier).values("pk")[:1]))
    if filters.category:
        cases = cases.filter(category_id=filters.category)
    if filters.handler:
        cases = cases.filter(handler_id=filters.handler)
    if filters.mine:
        cases = cases.filter(handler=user)
    if filters.overdue:
        cases = cases.filter(due_at__lt=now)
    if filters.due_soon:
        cases = cases.filter(due_at__gte=now, due_at__lt=soon)
    cases = cases.only(*ROW_FIELDS).annotate(**{name: F(path) for name, path in ROW_NAMES.items()})
    if last:
        rows = list(cases.order_by("-due_at", "-pk")[:PAGE_SIZE])[::-1]
        return InboxPage(_with_urgency(rows, now, soon), None, counts, True)
    position = _parse_cursor(after) if after else None
    if position:
        due, pk = position
        # due_at >= due gives the planner an index range; the OR then settles the ties.
        cases = cases.filter(Q(due_at__gt=due) | Q(pk__gt=pk), due_at__gte=due)
    rows = list(cases.order_by("due_at", "pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return InboxPage(_with_urgency(rows, now, soon),
                     _cursor(rows[-1]) if more and rows else None, counts, not more)


INBOX_TIERS = ("T1", "T2", "T3", "T4")


def inbox_counts(user, department: Department, *, now, soon) -> dict:
    """The count of every filter of the inbox: from the department's tally (PostgreSQL)
    and the person's own cases (index only), else counted from scratch."""
    from cases.selectors import tallies_kept, tally_counts

    if not tallies_kept():
        return Case.objects.filter(lead_department=department,
                                   state__in=INBOX_STATES).aggregate(
            total=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            due_soon=Count("pk", filter=Q(due_at__gte=now, due_at__lt=soon)),
            mine=Count("pk", filter=Q(handler=user)),
            **{f"state_{s}": Count("pk", filter=Q(state=s)) for s in INBOX_STATES},
            **{f"tier_{t}": Count("pk", filter=Q(tier__code=t)) for t in INBOX_TIERS})
    tally = tally_counts([department.pk], now=now, soon=soon, measures=(1, 2),
                         handler=user if user.pk else None)
    return {
        "total": tally.count(states=INBOX_STATES),
        "overdue": tally.overdue(["inbox"]),
        "due_soon": tally.due_soon(["inbox"]),
        "mine": tally.mine,
        **{f"state_{s}": tally.count(states=(s,)) for s in INBOX_STATES},
        **{f"tier_{t}": tally.count(states=INBOX_STATES, tier=t) for t in INBOX_TIERS},
    }


def _with_urgency(rows, now, soon):
    """Each row's urgency, labels and handler's name, ready to print. The labels come
    from one look-up per page: a model's get_state_display hashes every lazy label of the
    field's choices, a translation each, on every call."""
    from cases.models import APPROVED_STATUS, ReviewStage

    states = {value: str(label) for value, label in State.choices}
    stages = {value: str(label) for value, label in ReviewStage.choices}
    approved = str(APPROVED_STATUS)
    for case in rows:
        case.state_label = states.get(case.state, case.state)
        # As Case.status_display: an approved result waits for the reply, not for review.
        case.review_stage_label = stages.get(case.review_stage, case.review_stage)
        if case.state == State.RESULT_SUBMITTED and case.review_stage == ReviewStage.APPROVED:
            case.state_label, case.review_stage_label = approved, ""
        # As User.get_full_name, else the username.
        case.handler_name = (f"{case.handler_first_name} {case.handler_last_name}".strip()
                             or case.handler_username) if case.handler_id else ""
        case.urgency = ("overdue" if case.due_at and case.due_at < now
                        else "due_soon" if case.due_at and case.due_at < soon else "on_time")
    return rows


def dispatcher_queues(user) -> dict:
    """The dispatcher's desk: to dispatch, returns to rule on, escalated cases."""
    from cases.selectors import visible_cases

    cases = visible_cases(user).select_related("category", "category__parent", "tier",
                                               "lead_department")
    return {
        "to_dispatch": cases.filter(state=State.ACCEPTED).exclude(
            handling_mode="escalated").order_by("due_at")[:100],
        "returned": cases.filter(state=State.RETURNED).order_by("due_at")[:100],
        "escalated": cases.filter(state=State.ACCEPTED, handling_mode="escalated").order_by(
            "due_at")[:100],
    }


def last_return(case: Case):
    return case.events.filter(action="return_to_dispatcher").order_by("-at").first()


def review_queue(user) -> QuerySet[Case]:
    """Results waiting for this person's review: as head, as the office, as supervisor."""
    from cases.models import ReviewStage
    from cases.roles import Role, has_role, headed_department_ids_of

    condition = Q(pk__in=[])
    if has_role(user, Role.DEPARTMENT_HEAD):
        condition |= Q(review_stage=ReviewStage.HEAD,
                       lead_department__in=headed_department_ids_of(user))
    if has_role(user, Role.DISPATCHER):
        condition |= Q(review_stage=ReviewStage.OFFICE)
    if has_role(user, Role.SUPERVISOR):
        condition |= Q(review_stage=ReviewStage.SUPERVISOR)
    return (Case.objects.filter(condition, state=State.RESULT_SUBMITTED)
            .select_related("lead_department", "tier").order_by("due_at"))


def return_counts(*, since=None) -> dict:
    """Returns per department and per dispatcher (dispatch accuracy), most first."""
    from django.contrib.auth import get_user_model
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast
    from django.db.models import IntegerField

    from cases.models import CaseEvent

    events = CaseEvent.objects.filter(action="return_to_dispatcher")
    if since:
        events = events.filter(at__gte=since)

    def by(key):
        return list(events.annotate(who=Cast(KeyTextTransform(key, "data"), IntegerField()))
                    .exclude(who__isnull=True).values("who").annotate(n=Count("pk"))
                    .order_by("-n")[:20])

    departments = by("department")
    dispatchers = by("dispatcher")
    names = Department.objects.in_bulk([row["who"] for row in departments])
    people = get_user_model().objects.in_bulk([row["who"] for row in dispatchers])
    return {
        "departments": [(names[r["who"]].name, r["n"]) for r in departments if r["who"] in names],
        "dispatchers": [((people[r["who"]].get_full_name() or people[r["who"]].username), r["n"])
                        for r in dispatchers if r["who"] in people],
    }


# ---------------------------------------------------------------- extensions
def round_started_at(case: Case):
    """When the case's current round began: its reopening, else its acceptance."""
    return case.reopened_at or case.accepted_at


def approved_extensions_in_round(case: Case) -> int:
    """How many extensions were approved for the case's current round."""
    from .models import ExtensionState

    approved = case.extension_requests.filter(state=ExtensionState.APPROVED)
    started = round_started_at(case)
    return (approved.filter(requested_at__gte=started) if started else approved).count()


def extension_limit(case: Case) -> int:
    """The extensions a department may have approved per round (the tier's, data)."""
    return case.tier.max_extensions if case.tier_id else 0


@dataclass(frozen=True)
class ExtensionAllowance:
    approved: int
    limit: int

    @property
    def reached(self) -> bool:
        """A further extension is beyond the limit: only a supervisor decides it."""
        return self.approved >= self.limit


def extension_allowance(case: Case) -> ExtensionAllowance:
    return ExtensionAllowance(approved_extensions_in_round(case), extension_limit(case))


def pending_extension(case: Case):
    from .models import ExtensionState

    return case.extension_requests.filter(state=ExtensionState.PENDING).first()


def needs_supervisor(case: Case, request=None) -> bool:
    """Whether the case's pending request (or `request`) is a supervisor's alone to
    decide: marked so when it was asked, or the limit in force now is reached (the tier
    may have changed since)."""
    request = request if request is not None else pending_extension(case)
    return bool(request is not None and (request.beyond_limit
                                         or extension_allowance(case).reached))


def pending_extensions(user) -> QuerySet:
    """The pending extension requests this person may decide: a supervisor every one, a
    dispatcher those within the tier's limit; oldest first, each with `beyond_limit`."""
    from cases.roles import Role, has_role

    from .models import ExtensionRequest, ExtensionState

    pending = (ExtensionRequest.objects.filter(state=ExtensionState.PENDING)
               .select_related("case", "case__lead_department", "case__tier", "requested_by")
               .order_by("requested_at"))
    if has_role(user, Role.SUPERVISOR):
        return pending
    if has_role(user, Role.DISPATCHER):
        return pending.filter(beyond_limit=False)
    return pending.none()


def pending_extension_summary(case: Case) -> str:
    """The pending request in a line, with the round's count against the tier's limit."""
    pending = pending_extension(case)
    if pending is None:
        return ""
    allowance = extension_allowance(case)
    text = _("申请延至 %(until)s（原期限 %(due)s）；理由：%(reason)s。本轮已获批延期 %(approved)s "
             "次，可延期 %(limit)s 次。") % {
        "until": timezone.localtime(pending.requested_due_at).strftime("%Y-%m-%d %H:%M"),
        "due": timezone.localtime(pending.original_due_at).strftime("%Y-%m-%d %H:%M"),
        "reason": pending.reason, "approved": allowance.approved, "limit": allowance.limit}
    if needs_supervisor(case, pending):
        text += _("超出可延期次数，须经督查人员批准。")
    return text


@dataclass
class ExtensionNotice:
    """How the petitioner (and the 12345 platform) heard of one approved extension."""

    request: object
    channel_label: str
    told_reason: str
    petitioner_message: object | None  # the Delivery (e-mail or SMS record), if any
    platform_message: object | None
    recipient: str  # as the identity policy lets this person see it
    letter_url: str = ""

    @property
    def waiting_sms(self) -> bool:
        from cases.models import DeliveryState

        message = self.petitioner_message
        return (message is not None and message.channel == "sms"
                and message.state == DeliveryState.PENDING)


def extension_notices(user, case: Case) -> list[ExtensionNotice]:
    """The office's view of how each approved extension was told (the case page): the
    e-mail or SMS record and its state, the office's task for a letter or a call, the
    12345 platform's message. The office's staff only: they tell the petitioner; the
    recipient's address is shown as the identity policy shows it to them."""
    from django.urls import reverse

    from cases.identity import is_office_staff, person_for
    from cases.models import ReplyChannel

    from .models import ExtensionState

    if not is_office_staff(user):
        return []
    approved = list(case.extension_requests.filter(state=ExtensionState.APPROVED)
                    .exclude(told_channel="")
                    .select_related("petitioner_notice", "platform_notice")
                    .order_by("decided_at", "pk"))
    if not approved:
        return []
    person = person_for(user, case)
    notices = []
    for request in approved:
        message = request.petitioner_notice
        recipient = {ReplyChannel.EMAIL: person.email, ReplyChannel.SMS: person.phone}.get(
            request.told_channel, "")
        if message is not None and message.channel == "sms" and message.to != (
                case.petitioner.phone or ""):
            recipient = person.phone_alt
        notices.append(ExtensionNotice(
            request=request, channel_label=ReplyChannel(request.told_channel).label,
            told_reason=request.told_reason, petitioner_message=message,
            platform_message=request.platform_notice, recipient=recipient,
            letter_url=(reverse("dispatch:extension_notice", args=[case.number, request.pk])
                        if request.told_channel == ReplyChannel.LETTER else "")))
    return notices


# ---------------------------------------------------------------- bulk acts
def chosen_cases(user, ids) -> tuple[list[Case], int]:
    """The ticked cases as this person may see them, earliest due first, and how many of
    the ids they may not see (or that name no case): a bulk act goes ahead only when that
    is none. Each case's own rules are its act's to check, under its lock."""
    from cases.selectors import visible_cases

    cases = list(visible_cases(user).filter(pk__in=ids).only("pk", "number", "due_at")
                 .order_by("due_at", "pk"))
    return cases, len(set(ids)) - len(cases)
