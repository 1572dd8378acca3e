"""The closing stage's acts in the table of acts (registered when the app loads)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.acts import (Act, Document, Panel, register, register_consequence, register_document,
                        register_panel)
from cases.forms import ReasonForm
from cases.models import State, office_staff, office_staff_or_the_petitioner

from . import forms, merged, services

ACTS = [
    Act("reply", _("答复信访人"), "feedback", services.send_reply, forms.ReplyForm,
        transition="reply_to_petitioner", page="feedback:reply", style="primary", order=50),
    Act("record_return_visit", _("回访"), "feedback", services.record_visit, forms.VisitForm,
        transition="record_return_visit", page="feedback:visit", style="primary", order=51),
    Act("record_unreached_visit", _("回访未联系上"), "feedback", services.record_unreached_visit,
        forms.UnreachedVisitForm, states=(State.REPLIED,), permission=office_staff, order=52),
    Act("record_merged_visit", _("回访（并案信访人）"), "feedback", merged.record_merged_visit,
        forms.VisitForm, states=(State.MERGED,), conditions=(merged.awaits_merged_visit,),
        permission=office_staff_or_the_petitioner, order=52,
        help=_("本案已并入主案办理并收到主案的答复：记录本案信访人自己的回访评价（本案仍为已合并）。")),
    Act("reopen", _("重办"), "feedback", services.reopen_case, ReasonForm,
        transition="reopen", order=53,
        help=_("办理结果经不起检验：退回主办部门重新办理，期限重新计算。")),
    Act("archive", _("归档"), "feedback", services.archive_case, forms.ArchiveForm,
        transition="archive", page="feedback:archive", order=60),
]

DOCUMENTS = [
    Document(_("答复意见书"), lambda case: reverse("feedback:reply_letter", args=[case.number]),
             shown=lambda case: bool(case.reply_channel), order=50),
    Document(_("案卷（PDF）"), lambda case: reverse("feedback:dossier", args=[case.number]),
             shown=lambda case: case.state == State.ARCHIVED, order=60),
]


def register_all() -> None:
    register(*ACTS)
    register_panel(Panel("feedback/_case_panel.html", order=50))
    # A case merged into one already answered gets the standing answer at merge time.
    register_consequence(["merge"], merged.answer_at_merge)
    for document in DOCUMENTS:
        register_document(document)
