"""What the petitioner and the 12345 platform are told of an approved extension.

Called by `services.approve_extension` on the locked case, after the act's event. Every
message is an outbox row (`cases.Delivery`), or for a letter or a call a task for the
office's staff (a notification), written in the act's transaction: nothing is told of
an approval that rolled back, and nothing leaves while the case is locked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import services as case_services
from cases.models import Case, Channel, Delivery, DeliveryChannel, ReplyChannel
from cases.notifications import Message, notify_many, office_staff
from cases.validators import normalize_phone

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# Until the office has answered the petitioner (and chosen the way with them), they are
# told the way they came; a visit, a call or a 12345 transfer by a call.
CHANNEL_OF_ARRIVAL = {Channel.EMAIL: ReplyChannel.EMAIL, Channel.LETTER: ReplyChannel.LETTER,
                      Channel.WEB: ReplyChannel.WEB}


def mobile_number(case: Case) -> str:
    """The petitioner's mobile number (the first phone that is one), else ""."""
    for phone in (case.petitioner.phone, case.petitioner.phone_alt):
        if MOBILE_RE.match(normalize_phone(phone or "")):
            return normalize_phone(phone)
    return ""


def petitioner_channel(case: Case) -> str:
    """How the petitioner is told: the way chosen with them (the case's reply channel),
    else the way they came. An e-mail needs their own address and an SMS a mobile
    number; without one the office calls them."""
    channel = case.reply_channel or CHANNEL_OF_ARRIVAL.get(case.channel, ReplyChannel.PHONE)
    if channel == ReplyChannel.EMAIL and not case.petitioner.email:
        return ReplyChannel.PHONE
    if channel == ReplyChannel.SMS and not mobile_number(case):
        return ReplyChannel.PHONE
    return channel


def written_date(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@dataclass
class Told:
    channel: str
    petitioner_message: Delivery | None = None
    platform_message: Delivery | None = None


def tell_of_extension(*, case: Case, request) -> Told:
    """Tell the petitioner by their channel and, for its cases, the 12345 platform, that
    the (approved) request moved the deadline to `case.due_at`. The reason told is
    `request.told_reason`: the office's words for the petitioner, never its decision
    note."""
    channel = petitioner_channel(case)
    told = Told(channel)
    facts = {"office": settings.OFFICE_NAME, "number": case.number, "summary": case.summary,
             "due": written_date(case.due_at), "original": written_date(request.original_due_at),
             "reason": request.told_reason,
             "url": settings.PUBLIC_SITE_URL + reverse("intake:public_track")}
    rows = []
    if channel == ReplyChannel.EMAIL:
        told.petitioner_message = Delivery(
            channel=DeliveryChannel.EMAIL, to=case.petitioner.email, case=case,
            subject=_("%(office)s 延期告知（%(number)s）") % facts,
            body="\n\n".join([
                _("您反映的“%(summary)s”（案件编号 %(number)s）经批准延期办理，答复期限由 "
                  "%(original)s 延至 %(due)s。") % facts,
                _("延期理由：%(reason)s") % facts,
                _("我们将在新的期限前答复您。凭案件编号和查询码，可在 %(url)s 查询办理进度。") % facts,
                facts["office"]]))
        rows.append(told.petitioner_message)
    elif channel == ReplyChannel.SMS:
        told.petitioner_message = Delivery(
            channel=DeliveryChannel.SMS, to=mobile_number(case), case=case,
            subject=_("延期告知短信（%(number)s）") % facts,
            body=_("【%(office)s】您反映的事项（案件编号 %(number)s）经批准延期办理，答复期限延至 "
                   "%(due)s。延期理由：%(reason)s。可凭案件编号和查询码在网上查询办理进度。") % facts)
        rows.append(told.petitioner_message)
    else:
        _task_for_the_office(case, channel, facts)
    # The platform that sent the case heard of it through the "extend" event's
    # callback, written in this transaction (intake.callbacks).
    latest = (Delivery.objects.filter(case=case, channel=DeliveryChannel.PLATFORM)
              .order_by("-pk").first())
    if latest is not None and json.loads(latest.body).get("event") == "extended":
        told.platform_message = latest
    case_services.queue_deliveries(rows)
    return told


HOW_TO_TELL = {
    ReplyChannel.LETTER: gettext_lazy(
        "请打印延期告知书（案件页“文书与办理情况”）寄送信访人。"),
    ReplyChannel.PHONE: gettext_lazy("请电话告知信访人。"),
    ReplyChannel.WEB: gettext_lazy(
        "信访人通过网上信访反映，进度查询页已显示新的期限和理由；请另电话告知信访人。"),
}


def _task_for_the_office(case: Case, channel: str, facts: dict) -> None:
    """A letter or a call is the office's to make: the people who followed the case
    (who dispatched it, who took it in) are asked to, else every office staff member."""
    dispatched_by = (case.events.filter(action__in=("dispatch", "handle_directly"))
                     .order_by("-at", "-pk").values_list("actor_id", flat=True).first())
    staff = office_staff()
    chosen = [pk for pk in dict.fromkeys((dispatched_by, case.taken_in_by_id,
                                          case.registered_by_id)) if pk in staff]
    notify_many([Message(
        chosen or staff, "extension_notice",
        _("请告知信访人延期：%(number)s（%(channel)s）") % {
            "number": case.number, "channel": ReplyChannel(channel).label},
        "\n".join([_("答复期限由 %(original)s 延至 %(due)s。") % facts,
                   _("告知信访人的延期理由：%(reason)s") % facts,
                   str(HOW_TO_TELL[channel])]),
        case)])
