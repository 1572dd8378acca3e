"""The intake stage's acts in the table of acts (registered when the app loads)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.acts import Act, Document, register, register_document

from . import documents, forms, services

ACTS = [
    Act("accept", _("受理"), "intake", services.accept_case, forms.AcceptForm,
        transition="accept", style="primary", order=10),
    Act("answer_on_the_spot", _("即办答复"), "intake", services.answer_on_the_spot,
        forms.AnswerForm, transition="answer_on_the_spot", order=11),
    Act("refuse", _("不予受理"), "intake", services.refuse_case, forms.RefuseForm,
        transition="refuse", order=12),
    Act("merge", _("合并"), "intake", services.merge_case, forms.MergeForm,
        transition="merge", order=85,
        help=_("同一事项已在办理：并入前案，本件随前案答复。")),
    Act("withdraw", _("撤回"), "intake", services.withdraw_case, forms.WithdrawForm,
        transition="withdraw", style="danger", order=90,
        help=_("信访人撤回所反映的事项：案件终止办理。")),
]

def _document(kind: str, order: int) -> Document:
    title, _template, present = documents.DOCUMENTS[kind]
    return Document(title, lambda case: reverse("intake:document", args=[case.number, kind]),
                    shown=present, order=order)


DOCUMENTS = [_document(kind, 10 + index) for index, kind in enumerate(documents.DOCUMENTS)]


def register_all() -> None:
    register(*ACTS)
    for document in DOCUMENTS:
        register_document(document)
