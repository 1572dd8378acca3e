"""Canned replies and handling phrases (常用答复口径 / 常用办理用语): which phrases a page
offers for a case, and their text with the placeholders filled from the case as the
person using them may see it.

A placeholder is a name in braces, e.g. {编号}. The set is fixed here (PLACEHOLDERS);
the admin refuses a phrase that names any other. {信访人} follows the identity policy:
whoever may not see the petitioner's name (a department on a confidential petitioner's
case, an assisting department) gets the word 信访人 instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.identity import FULL, person_for, text_mask_for
from cases.models import Case

# name → what it is filled with (shown in the admin's help text)
PLACEHOLDERS = {
    "编号": gettext_lazy("案件编号"),
    "信访人": gettext_lazy("信访人姓名；对无权知悉姓名的部门（信访人要求保密的案件、协办部门）填为“信访人”"),
    "登记日期": gettext_lazy("登记日期，如 2026年3月5日"),
    "办理单位": gettext_lazy("主办部门；未交办的为本信访办"),
    "答复期限": gettext_lazy("答复期限，如 2026年3月12日 17:30"),
    "发生地点": gettext_lazy("问题发生地"),
    "问题分类": gettext_lazy("问题分类"),
}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# {信访人} for whoever may not see the name: a word of the phrase's own language (the
# phrases are data written in Chinese), not of the page's.
UNNAMED_PETITIONER = "信访人"

# the form field each use writes into (ReplyForm.content; ResultForm's three texts)
FIELD_OF_USE = {"reply": "content", "findings": "findings", "opinion": "opinion",
                "result": "result"}
REPLY_USES = ("reply",)
RESULT_USES = ("findings", "opinion", "result")


def unknown_placeholders(text: str) -> list[str]:
    """The placeholder names in `text` that are not in PLACEHOLDERS, once each, in order."""
    unknown = []
    for name in PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS and name not in unknown:
            unknown.append(name)
    return unknown


def placeholder_errors(text: str) -> list[str]:
    unknown = unknown_placeholders(text)
    if not unknown:
        return []
    return [_("未知的占位符：%(names)s。可用的占位符：%(known)s。") % {
        "names": "、".join("{%s}" % name for name in unknown), "known": known_placeholders()}]


def known_placeholders() -> str:
    return "、".join("{%s}" % name for name in PLACEHOLDERS)


def placeholder_help() -> str:
    """The admin's help text: every placeholder and what it becomes."""
    return "；".join("{%s}：%s" % (name, meaning) for name, meaning in PLACEHOLDERS.items())


def _date(moment, *, with_time: bool = False) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    day = f"{local.year}年{local.month}月{local.day}日"  # as the letters write a date
    return f"{day} {local:%H:%M}" if with_time else day


def values_for(user, case: Case, *, revealed: bool = False) -> dict[str, str]:
    """What each placeholder becomes on `case` for `user`."""
    person = person_for(user, case, revealed=revealed)
    name = (person.name if not person.withheld and person.levels.get("name") == FULL
            and person.name else UNNAMED_PETITIONER)
    return {
        "编号": case.number,
        "信访人": name,
        "登记日期": _date(case.received_at),
        "办理单位": case.lead_department.name if case.lead_department_id
        else settings.OFFICE_NAME,
        "答复期限": _date(case.due_at, with_time=True),
        "发生地点": case.place,
        "问题分类": case.category.name if case.category_id else "",
    }


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with every known placeholder replaced; anything else left as written."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


@dataclass(frozen=True)
class FilledPhrase:
    pk: int
    title: str
    use: str
    use_display: str
    field: str  # the form field it is inserted into
    text: str


def phrases_for(user, case: Case, *, uses, revealed: bool = False) -> list[FilledPhrase]:
    """The active phrases for the case's category (its own, its parent category's and
    those for every category) of the given uses, filled for `user`."""
    from .models import Phrase

    scope = Q(category__isnull=True)
    if case.category_id:
        scope |= Q(category_id=case.category_id)
        parent_id = case.category.parent_id
        if parent_id:
            scope |= Q(category_id=parent_id)
    phrases = list(Phrase.objects.filter(scope, is_active=True, use__in=uses))
    if not phrases:
        return []
    values = values_for(user, case, revealed=revealed)
    # What the case's place may carry of the petitioner (an address) is masked as on the
    # page itself.
    mask = text_mask_for(user, case, revealed=revealed)
    filled = []
    for phrase in phrases:
        text = fill(phrase.text, values)
        filled.append(FilledPhrase(pk=phrase.pk, title=phrase.title, use=phrase.use,
                                   use_display=phrase.get_use_display(),
                                   field=FIELD_OF_USE[phrase.use],
                                   text=mask(text) if mask else text))
    return filled
