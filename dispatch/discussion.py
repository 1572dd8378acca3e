"""内部沟通: the office and the departments talk about a case, on the case page.

Who reads and writes a case's thread: the office's staff (clerks, dispatchers,
supervisors) and the people of its lead and assisting departments, while the case is not
archived (an archived thread is read only). Nothing of it reaches the public: no case
event (the tracking page is made of events), no document. A message tells the other
side: from the office, whoever works the case for the lead department now (its handler,
else the department) and its heads; from a department, the dispatcher who dispatched
it (else every dispatcher); and anyone who wrote in the thread before. The texts are
shown through the identity policy's text mask, as the petitioner's own words are.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import services as case_services
from cases.identity import text_mask_for
from cases.models import Case, State
from cases.notifications import department_heads, lead_workers, people_with_roles, tell
from cases.roles import Role, department_ids_of, has_role
from cases.selectors import visible_cases

from .models import CaseMessage

OFFICE_SIDE = (Role.CLERK, Role.DISPATCHER, Role.SUPERVISOR)
MAX_LENGTH = 2000


class MessageForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("留言"), max_length=MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": gettext_lazy("请写下要说的话。"),
                                           "max_length": gettext_lazy(
                                               "内容最多 %(limit_value)s 字。")})


def side_of(user, case: Case):
    """("office", None), ("department", the department) or None: who may talk here."""
    if has_role(user, *OFFICE_SIDE):
        return "office", None
    mine = department_ids_of(user)
    if case.lead_department_id in mine:
        return "department", case.lead_department
    for department in case.assisting_departments.all():
        if department.pk in mine:
            return "department", department
    return None


def thread_for(user, case: Case, *, revealed: bool = False) -> dict | None:
    """What the case page's panel shows this person: the messages (masked as the policy
    masks free texts), whether they may write, and the form; None if not theirs to read."""
    side = side_of(user, case)
    if side is None:
        return None
    mask = text_mask_for(user, case, revealed=revealed)
    rows = list(case.messages.select_related("author", "department"))
    for row in rows:
        row.shown = mask(row.text) if mask else row.text
    return {"messages": rows, "may_post": case.state != State.ARCHIVED,
            "form": MessageForm()}


@transaction.atomic
def post_message(*, actor, case_id: int, text: str) -> CaseMessage:
    case = case_services.lock_case(case_id)
    side = side_of(actor, case)
    if side is None:
        raise PermissionDenied(_("只有信访办和承办、协办部门可以参与内部沟通。"))
    if case.state == State.ARCHIVED:
        raise ValidationError({"text": _("案件已归档，内部沟通只能查看。")})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请写下要说的话。")})
    if len(text) > MAX_LENGTH or "\x00" in text:
        raise ValidationError({"text": _("内容最多 %(n)s 字。") % {"n": MAX_LENGTH}})
    kind, department = side
    message = CaseMessage.objects.create(case=case, author=actor, department=department,
                                         text=text)
    # Earlier writers who may still read the thread (a department the case left may not).
    from django.contrib.auth import get_user_model

    earlier = get_user_model().objects.filter(
        pk__in=case.messages.exclude(pk=message.pk).values("author_id"), is_active=True)
    before = {person.pk for person in earlier if side_of(person, case) is not None}
    if kind == "office":
        others = set(lead_workers(case))
        if case.lead_department_id:
            others |= set(department_heads(case.lead_department_id))
    else:
        dispatched = case.events.filter(action="dispatch").order_by("-at", "-pk").first()
        others = ({dispatched.actor_id} if dispatched and dispatched.actor_id
                  else set(people_with_roles(Role.DISPATCHER)))
    who = department.name if department else _("信访办")
    # No text in the notification: its e-mail copy and the notification centre would show
    # it unmasked; the message is read on the case page, through the identity policy.
    tell(sorted(others | before), kind="discussion", case=case, skip=actor,
         title=_("内部沟通：%(number)s（%(who)s）") % {"number": case.number, "who": who},
         body=_("请到案件页面查看内部沟通。"))
    return message


@require_POST
@login_required
def post(request, number):
    """Write in the case's thread, then back to the thread on the case page."""
    case = visible_cases(request.user).filter(number=number).first()
    if case is None:
        raise Http404
    back = reverse("cases:detail", args=[case.number]) + "#discussion"
    form = MessageForm(request.POST)
    if not form.is_valid():
        flash.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    try:
        post_message(actor=request.user, case_id=case.pk, text=form.cleaned_data["text"])
    except ValidationError as error:
        flash.error(request, "；".join(error.messages))
    except PermissionDenied as error:
        flash.error(request, str(error) or _("您不能参与本案的内部沟通。"))
    else:
        flash.success(request, _("已发送"))
    return redirect(back)
