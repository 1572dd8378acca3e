"""Closing the loop: the reply, the return visit and its verdict."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.models import Case, Satisfaction
from cases.notifications import alert_supervisors
from cases.roles import VerifiedPetitioner

from .models import Reply, ReturnVisit, VisitMethod


@transaction.atomic
def send_reply(*, actor, case_id: int, channel: str, content: str,
               next_steps: str = "") -> Reply:
    """答复: tell the petitioner the approved result; by e-mail too when they gave an
    address (sent after commit, once)."""
    content = (content or "").strip()
    next_steps = (next_steps or "").strip()
    full = content + (f"\n\n{_('下一步工作')}：{next_steps}" if next_steps else "")
    case = case_services.reply_to_petitioner(actor=actor, case_id=case_id, reply=full,
                                             channel=channel)
    reply = Reply.objects.create(
        case=case, channel=channel, content=content, next_steps=next_steps,
        handling_unit=case.lead_department.name if case.lead_department else settings.OFFICE_NAME,
        sent_by=actor, sent_at=case.replied_at)
    if case.petitioner.email:
        from .tasks import email_reply

        transaction.on_commit(lambda: email_reply.delay(reply_id=reply.pk))
    return reply


def email_reply_now(*, reply_id: int) -> bool:
    """Send the reply by e-mail unless it already went (called by the task)."""
    from django.core.mail import send_mail
    from django.utils import timezone

    with transaction.atomic():
        reply = (Reply.objects.select_for_update(skip_locked=True)
                 .filter(pk=reply_id, emailed_at__isnull=True)
                 .select_related("case", "case__petitioner").first())
        if reply is None or not reply.case.petitioner.email:
            return False
        send_mail(_("%(office)s 答复意见（%(number)s）") % {"office": settings.OFFICE_NAME,
                                                          "number": reply.case.number},
                  reply.case.reply, settings.DEFAULT_FROM_EMAIL, [reply.case.petitioner.email])
        reply.emailed_at = timezone.now()
        reply.save(update_fields=["emailed_at"])
        return True


@transaction.atomic
def record_visit(*, actor, case_id: int, method: str, reached: bool,
                 is_solved: bool | None = None, satisfaction: str = "",
                 comments: str = "") -> ReturnVisit:
    """回访: one attempt. Reached: the verdict (unsatisfied reopens the case, and a second
    unsatisfied verdict on the same case alerts the supervisors). Not reached: counted."""
    if method not in VisitMethod.values:
        raise ValidationError({"method": _("请选择回访方式。")})
    if reached not in (True, False):
        raise ValidationError({"reached": _("请说明是否联系上信访人。")})
    if reached:
        case = case_services.record_return_visit(
            actor=actor, case_id=case_id, is_solved=is_solved, satisfaction=satisfaction,
            comments=comments)
    else:
        case = case_services.record_unreached_visit(actor=actor, case_id=case_id, note=comments)
    visit = ReturnVisit.objects.create(
        case=case, method=method, reached=reached,
        is_solved=is_solved if reached else None, satisfaction=satisfaction if reached else "",
        comments=(comments or "").strip(),
        visited_by=actor if getattr(actor, "is_authenticated", False) else None)
    if reached and satisfaction == Satisfaction.UNSATISFIED:
        unsatisfied = case.return_visits.filter(satisfaction=Satisfaction.UNSATISFIED).count()
        if unsatisfied >= 2:
            alert_supervisors(
                case=case, kind="unsatisfied_again",
                title=_("再次不满意：%(number)s（第%(n)s次）") % {"number": case.number,
                                                              "n": unsatisfied},
                body=comments)
    return visit


def rate_reply(*, case: Case, is_solved: bool, satisfaction: str, comments: str = "") -> Case:
    """The petitioner's own rating on the tracking page: it counts as the return visit."""
    record_visit(actor=VerifiedPetitioner(case.pk), case_id=case.pk, method=VisitMethod.PUBLIC,
                 reached=True, is_solved=is_solved, satisfaction=satisfaction, comments=comments)
    return Case.objects.get(pk=case.pk)
