from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import chain, selectors, services
from .acts import act_url, available_acts, documents_of, ensure_allowed, get_act, panels
from .audit import record_access, record_case_view
from .identity import (attachments_for, identity_context, may_know_persons_cases,
                       may_reveal, text_mask_for, withheld_attachment_count)
from .models import AccessKind
from .exceptions import CaseError
from .forms import FigureListForm, attach_errors, error_message, safe_next_url
from .calendar import missing_calendar_years
from .roles import Role, primary_role

# What each count of a desk is called, and whether a non-zero count is an alert.
# What it counts is selectors.FIGURES.
FIGURE_LABELS = {
    "registered_today": (_("我今天登记的"), False),
    "received": (_("待处理（已登记未受理）"), False),
    "accepted": (_("待交办"), False),
    "returned": (_("退单待处理"), False),
    "dispatched": (_("待签收"), False),
    "in_handling": (_("办理中"), False),
    "under_review": (_("结果审核中"), False),
    "to_reply": (_("待答复"), False),
    "to_visit": (_("待回访"), False),
    "open": (_("在办案件"), False),
    "overdue": (_("已超期"), True),
}

# Each role's desk: its title, what it is for, and the counts that wait there.
DESKS = {
    Role.CLERK: (
        _("接待登记工作台"),
        _("今天前来反映和来电、来信的事项，在这里登记并给出受理结论。"),
        ["registered_today", "received"],
    ),
    Role.DISPATCHER: (
        _("派单工作台"),
        _("把已受理的案件分类、定级并交办到责任部门；处理退单，答复和回访。"),
        ["accepted", "returned", "to_reply", "to_visit", "overdue"],
    ),
    Role.HANDLER: (
        _("承办工作台"),
        _("本部门交办来的案件：签收、调查、联系信访人、提交办理结果。"),
        ["dispatched", "in_handling", "under_review", "overdue"],
    ),
    Role.DEPARTMENT_HEAD: (
        _("部门负责人工作台"),
        _("本部门的案件：分派承办人，审核办理结果。"),
        ["dispatched", "in_handling", "under_review", "overdue"],
    ),
    Role.SUPERVISOR: (
        _("督办工作台"),
        _("全部案件的办理情况：超期案件、呈办批示和敏感案件审核。"),
        ["open", "overdue", "accepted", "under_review"],
    ),
    Role.ADMINISTRATOR: (
        _("系统管理"),
        _("用户与角色、部门、问题分类、响应级别、节假日都在管理后台维护。"),
        ["open", "overdue"],
    ),
}

# A count that has a working page of its own opens it, where that page shows exactly the
# cases counted (tested); every other count opens the case list of its figure.
FIGURE_PAGES = {"received": "intake:queue"}


def figure_url(key: str) -> str:
    if key in FIGURE_PAGES:
        return reverse(FIGURE_PAGES[key])
    return f"{reverse('cases:list')}?figure={key}"


def desk_figures(user, counts: dict[str, int]) -> list[dict]:
    """The counts of this person's desk: value, label, alert and where it leads."""
    role = primary_role(user)
    keys = DESKS[role][2] if role else []
    return [{"key": key, "value": counts[key], "label": FIGURE_LABELS[key][0],
             "alert": FIGURE_LABELS[key][1], "url": figure_url(key)} for key in keys]


def home(request):
    """Each role lands on its own desk: what waits for this person now. Every count opens
    the cases it counts. The public lands on its own doors (file, track), not on the staff
    login."""
    if not request.user.is_authenticated:
        return render(request, "cases/landing/public.html")
    role = primary_role(request.user)
    if role is None:
        return render(request, "cases/landing/no_role.html")
    title, intro, _keys = DESKS[role]
    context = {
        "desk": {
            "title": title,
            "intro": intro,
            "figures": desk_figures(request.user, selectors.landing_figures(request.user)),
        },
        "recent_cases": selectors.recent_cases(request.user),
    }
    template = "cases/landing/desk.html"
    if role == Role.ADMINISTRATOR:
        context["missing_calendar_years"] = missing_calendar_years()
        template = "cases/landing/administrator.html"
    return render(request, template, context)


@require_POST
@login_required
def save_view(request):
    """保存当前筛选: the page's filters under a name; back to the page, filters and all."""
    from . import saved_views

    page = request.POST.get("page", "")
    query = request.POST.get("query", "")
    back = reverse(saved_views.PAGES[page]) if page in saved_views.PAGES else reverse("home")
    try:
        view = saved_views.save_view(user=request.user, page=page,
                                     name=request.POST.get("name", ""), query=query)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        cleaned = ""
        try:
            cleaned = saved_views.clean_query(query)
        except ValidationError:
            pass
        return redirect(f"{back}?{cleaned}" if cleaned else back)
    messages.success(request, _("已保存筛选“%(name)s”") % {"name": view.name})
    return redirect(saved_views.url_of(view))


@require_POST
@login_required
def delete_view(request, view_id: int):
    from . import saved_views

    view = saved_views.delete_view(user=request.user, view_id=view_id)
    if view is None:
        raise Http404
    messages.success(request, _("已删除筛选“%(name)s”") % {"name": view.name})
    return redirect(reverse(saved_views.PAGES.get(view.page, "home")))


@login_required
def case_list(request):
    """The cases behind one count of a desk (?figure=…, optional &q=), earliest due first,
    a page at a time. The count and the list read the same condition, so they agree."""
    now = timezone.now()
    counts = selectors.landing_figures(request.user, now=now)
    context = {"figures": desk_figures(request.user, counts), "counts": counts}
    if "figure" not in request.GET:
        return render(request, "cases/list.html", context)
    form = FigureListForm(request.GET)
    context["form"] = form
    if not form.is_valid():
        return render(request, "cases/list.html", context, status=400)
    figure = form.cleaned_data["figure"]
    page = selectors.figure_cases(request.user, figure, search=form.cleaned_data["q"],
                                  after=form.cleaned_data["after"], now=now)
    search = form.cleaned_data["q"].strip()
    return render(request, "cases/list.html", {
        **context, "figure": figure, "label": FIGURE_LABELS[figure][0], "page": page,
        "total": counts[figure], "search": search,
        "query": urlencode({"figure": figure, **({"q": search} if search else {})}),
    })


def _visible_case(user, number: str):
    return get_object_or_404(
        selectors.visible_cases(user).select_related(
            "petitioner", "category", "category__parent", "tier", "lead_department",
            "handler", "registered_by", "earlier_case", "merged_into"),
        number=number,
    )


@login_required
def case_detail(request, number: str):
    """The case file as this person may see it: what they may do now, facts, people,
    files, history. The buttons and panels come from the table of acts."""
    case = _visible_case(request.user, number)
    shown = identity_context(request.user, case, revealed=revealed_in_session(request, case))
    record_case_view(request, case, shown["person"])
    events = list(case.events.select_related("actor"))
    return render(request, "cases/detail.html", {
        "case": case,
        "acts": act_buttons(case, available_acts(request.user, case)),
        "panels": [panel.template for panel in panels()],
        "documents": documents_of(case),
        **shown,
        "events": events,
        "chain_head": chain.head_of(events),
        **ledger_context(case, events),
        "attachments": attachments_for(request.user, case),
        "withheld_attachments": withheld_attachment_count(request.user, case),
        # How many cases one person brought is the office's to know, not a department's.
        "petitioner_case_count": (case.petitioner.cases.count()
                                  if may_know_persons_cases(request.user) else 0),
    })


def ledger_context(case, events) -> dict:
    """The case's responsibility segments and rounds (cases.ledger), for the case page."""
    from . import ledger, reference

    now = timezone.now()
    departments = reference.departments()
    segments = []
    for segment in ledger.segments(case, events):
        late = segment.late_seconds(now)
        segments.append({
            "round": segment.round, "label": segment.label,
            "department_name": getattr(departments.get(segment.department_id), "name", "")
            if segment.holder in (ledger.DEPARTMENT, ledger.RETURN) else "",
            "started_at": segment.started_at, "ended_at": segment.ended_at,
            "due_at": segment.due_at, "outcome": segment.outcome,
            "held_hours": round(segment.held_seconds(now) / 3600, 1),
            "late_hours": round(late / 3600, 1) if late else 0})
    return {"segments": segments, "rounds": ledger.rounds(case, events, now=now)}


REVEAL_SECONDS = 10 * 60
REVEALED_KEY = "revealed_cases"


def revealed_in_session(request, case) -> bool:
    """The office's person clicked 显示完整信息 on this case in the last ten minutes."""
    until = request.session.get(REVEALED_KEY, {}).get(str(case.pk))
    return bool(until) and until > timezone.now().timestamp() and may_reveal(
        request.user, case)


@login_required
@require_POST
def reveal(request, number: str):
    """显示完整信息: the office's staff see one case's personal data in full for ten
    minutes; the click is recorded in the access log."""
    case = _visible_case(request.user, number)
    if not may_reveal(request.user, case):
        raise PermissionDenied(_("只有信访办工作人员可以查看完整的个人信息。"))
    record_access(request, case, AccessKind.REVEAL, level="full")
    revealed = {key: until for key, until in request.session.get(REVEALED_KEY, {}).items()
                if until > timezone.now().timestamp()}
    revealed[str(case.pk)] = timezone.now().timestamp() + REVEAL_SECONDS
    request.session[REVEALED_KEY] = revealed
    # Back where the click was (the handling or the reply page), else the case page.
    return redirect(safe_next_url(request) or reverse("cases:detail", args=[number]))


def act_buttons(case, acts) -> list[dict]:
    """One button per act; acts served by the same page share one button. An act with
    nothing to fill in is a one-click POST."""
    buttons: dict[str, dict] = {}
    for act in acts:
        url = act_url(case, act)
        if url in buttons:
            button = buttons[url]
            button["label"] = str(act.button) if act.button else (
                f"{button['label']} / {act.label_text}")
            button["names"].append(act.name)
            button["style"] = button["style"] or act.style
            continue
        buttons[url] = {"name": act.name, "names": [act.name], "label": act.label_text,
                        "url": url, "style": act.style, "stage": act.stage,
                        "help": str(act.help), "post": act.form is None and not act.page}
    # The main acts first (受理, 交办, 提交办理结果, 答复 ...), then the rest in table order.
    return sorted(buttons.values(), key=lambda button: button["style"] != "primary")


@login_required
def act(request, number: str, name: str):
    """The page of one act: its form, then the act's service. The same table, forms and
    errors as the API; a refused act says why (409), a wrong person is told so (403)."""
    case = _visible_case(request.user, number)
    declared = get_act(name)
    if declared is None:
        raise Http404
    refusal, status = None, 200
    try:
        ensure_allowed(name, request.user, case)
    except CaseError as error:
        refusal, status = error.message, 409
    except PermissionDenied as error:
        refusal, status = error_message(error), 403
    if request.method == "POST" and refusal is None:
        form = declared.make_form(request.POST, request.FILES, case=case, user=request.user)
        if form.is_valid():
            try:
                declared.perform(actor=request.user, case=case, data=form.cleaned_data)
            except ValidationError as error:
                attach_errors(form, error)
            except (CaseError, PermissionDenied) as error:
                form.add_error(None, error_message(error))
            else:
                messages.success(request, _("%(act)s：%(number)s") % {
                    "act": declared.label_text, "number": case.number})
                return redirect(safe_next_url(request) or reverse("cases:detail", args=[number]))
        status = 400
    elif declared.page and refusal is None:
        return redirect(act_url(case, declared))
    else:
        form = declared.make_form(case=case, user=request.user)
    return render(request, "cases/act.html", {
        "case": case, "act": declared, "form": form, "refusal": refusal,
        "next": safe_next_url(request),
        "text_mask": text_mask_for(request.user, case),
    }, status=status)


@login_required
def attachment(request, number: str, attachment_id: int):
    """An attachment, only through its case's visibility."""
    case = get_object_or_404(selectors.visible_cases(request.user), number=number)
    item = get_object_or_404(attachments_for(request.user, case), pk=attachment_id)
    record_access(request, case, AccessKind.ATTACHMENT, detail=item.original_name)
    # PDFs and pictures open in the browser, sandboxed (no script, no form, no same
    # origin); anything else is a download.
    shown = item.content_type in INLINE_TYPES
    response = FileResponse(item.file.open("rb"), content_type=item.content_type,
                            filename=item.original_name, as_attachment=not shown)
    response["X-Content-Type-Options"] = "nosniff"
    if shown:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; " \
                                              "style-src 'unsafe-inline'; object-src 'self'"
    return response


INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png"}


@login_required
def attachment_preview(request, number: str, attachment_id: int):
    """A small image of a picture or of a PDF's first page, through the same door as the
    file itself (the case's visibility, the identity policy's attachments, the access log)."""
    from .previews import preview_of

    case = get_object_or_404(selectors.visible_cases(request.user), number=number)
    item = get_object_or_404(attachments_for(request.user, case), pk=attachment_id)
    made = preview_of(item)
    if made is None:
        raise Http404(_("这个附件没有预览。"))
    record_access(request, case, AccessKind.ATTACHMENT, detail=f"{item.original_name}（预览）")
    response = FileResponse(made.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=600"
    return response


@login_required
def notifications(request):
    """The notification centre: newest first, unread or all, by kind; POST marks all read."""
    from django.core.paginator import Paginator

    from .notifications import KINDS

    if request.method == "POST":
        services.mark_notifications_read(user=request.user)
        return redirect("cases:notifications")
    rows = selectors.notifications_of(request.user)
    show = request.GET.get("show", "all")
    if show == "unread":
        rows = rows.filter(read_at__isnull=True)
    kind = request.GET.get("kind", "")
    if kind in KINDS:
        rows = rows.filter(kind=kind)
    return render(request, "cases/notifications.html", {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        "show": show, "kind": kind, "kinds": KINDS.items(),
    })


@login_required
def open_notification(request, notification_id):
    """Mark one notification read and go to its case (or back to the centre)."""
    notification = get_object_or_404(selectors.notifications_of(request.user),
                                     pk=notification_id)
    services.mark_notification_read(user=request.user, notification_id=notification.pk)
    if notification.case_id:
        return redirect("cases:detail", notification.case.number)
    return redirect("cases:notifications")