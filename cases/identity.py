"""The identity policy (信访保密): who learns who complained, and how much.

One decision for every door — page, PDF, attachment list, export, API answer,
notification, e-mail, search result, lookup. For a person and a case it answers a
`Person`: each personal field shown in full, masked (139****5678, 110105********002X) or
withheld.

- The office's staff (clerk, dispatcher, supervisor, administrator) see masked values by
  default and reveal them with a click that is recorded (`reveal`); documents the office
  prints for the petitioner or the file carry the full values.
- The lead department sees name, phones and address (it must contact the petitioner),
  the ID number and e-mail masked — unless the petitioner asked for confidentiality on
  this case or on any of their cases: then nothing.
- Assisting departments, and everyone else, get no identity at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from .models import Case, Petitioner
from .roles import Role, department_ids_of, has_role

FULL, MASKED, WITHHELD = "full", "masked", "withheld"
PERSONAL_FIELDS = ("name", "phone", "phone_alt", "id_number", "address", "email")
WITHHELD_TEXT = _("（信访人要求保密）")
NO_IDENTITY_TEXT = _("（不向协办部门提供）")

# What each audience gets of each field.
OFFICE_DEFAULT = dict.fromkeys(PERSONAL_FIELDS, MASKED) | {"name": FULL}
OFFICE_REVEALED = dict.fromkeys(PERSONAL_FIELDS, FULL)
LEAD_DEPARTMENT = {"name": FULL, "phone": FULL, "phone_alt": FULL, "address": FULL,
                   "id_number": MASKED, "email": MASKED}
NOTHING = dict.fromkeys(PERSONAL_FIELDS, WITHHELD)


def mask_phone(value: str) -> str:
    digits = value or ""
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    return "*" * len(digits)


def mask_id_number(value: str) -> str:
    if len(value or "") < 10:
        return "*" * len(value or "")
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_address(value: str) -> str:
    if not value:
        return ""
    keep = min(6, max(len(value) // 3, 1))
    return f"{value[:keep]}****"


def mask_email(value: str) -> str:
    if "@" not in (value or ""):
        return "*" * len(value or "")
    local, domain = value.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    if len(value or "") <= 1:
        return value or ""
    return value[0] + "*" * (len(value) - 1)


MASKS = {"name": mask_name, "phone": mask_phone, "phone_alt": mask_phone,
         "id_number": mask_id_number, "address": mask_address, "email": mask_email}


# The office's staff: those who receive, dispatch, supervise and administer.
IDENTITY_ROLES = (Role.CLERK, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR)


def is_office_staff(user) -> bool:
    return has_role(user, *IDENTITY_ROLES)


def petitioner_is_confidential(case: Case) -> bool:
    """This case, or any other case of the same person, asked for confidentiality: the
    person is confidential towards departments on all of them."""
    if case.is_confidential:
        return True
    if not case.petitioner_id:
        return False
    if case.petitioner.wants_confidentiality:
        return True
    cached = getattr(case, "_petitioner_confidential", None)
    if cached is None:
        cached = Case.objects.filter(petitioner_id=case.petitioner_id,
                                     is_confidential=True).exists()
        case._petitioner_confidential = cached
    return cached


def audience(user, case: Case) -> str:
    """office | lead | none."""
    if is_office_staff(user):
        return "office"
    if (case.lead_department_id is not None
            and case.lead_department_id in department_ids_of(user)
            and not petitioner_is_confidential(case)):
        return "lead"
    return "none"


def levels_for(user, case: Case, *, revealed: bool = False, document: bool = False) -> dict:
    kind = audience(user, case)
    if kind == "office":
        return OFFICE_REVEALED if (revealed or document) else OFFICE_DEFAULT
    if kind == "lead":
        return LEAD_DEPARTMENT
    return NOTHING


@dataclass
class Person:
    """A petitioner (or representative) as one person may see them."""

    name: str = ""
    phone: str = ""
    phone_alt: str = ""
    id_number: str = ""
    address: str = ""
    email: str = ""
    gender: str = ""
    age: int | None = None
    occupation: str = ""
    withheld: bool = True
    masked: bool = False
    levels: dict = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name if not self.withheld else str(WITHHELD_TEXT)


def _shown(source, levels: dict) -> dict:
    values = {}
    for name in PERSONAL_FIELDS:
        raw = getattr(source, name, "") or ""
        level = levels.get(name, WITHHELD)
        values[name] = raw if level == FULL else MASKS[name](raw) if level == MASKED else ""
    return values


def person_for(user, case: Case, *, revealed: bool = False, document: bool = False,
               source: Petitioner | None = None) -> Person:
    """The case's petitioner (or `source`, e.g. a representative) for this person."""
    levels = levels_for(user, case, revealed=revealed, document=document)
    source = source if source is not None else case.petitioner
    if source is None or all(level == WITHHELD for level in levels.values()):
        return Person(withheld=True, levels=levels)
    gender_display = ""
    if getattr(source, "gender", "unknown") not in ("", "unknown"):
        gender_display = source.get_gender_display()
    return Person(
        **_shown(source, levels), gender=gender_display, age=getattr(source, "age", None),
        occupation=getattr(source, "occupation", ""), withheld=False,
        masked=any(level == MASKED and getattr(source, name, "")
                   for name, level in levels.items()),
        levels=levels)


def representatives_for(user, case: Case, *, revealed: bool = False,
                        document: bool = False) -> list[Person]:
    return [person_for(user, case, revealed=revealed, document=document, source=item)
            for item in case.representatives.all()]


def may_reveal(user, case: Case) -> bool:
    return audience(user, case) == "office"


def may_know_persons_cases(user) -> bool:
    """Who may list or count one person's cases (the office; never a department)."""
    return is_office_staff(user)


def identity_context(user, case: Case, *, revealed: bool = False,
                     document: bool = False) -> dict:
    """What templates need: `person`, `representatives`, `show_identity` (any of it)."""
    person = person_for(user, case, revealed=revealed, document=document)
    return {"person": person,
            "representatives_shown": representatives_for(user, case, revealed=revealed,
                                                          document=document),
            "show_identity": not person.withheld,
            "may_reveal": may_reveal(user, case) and person.masked and not revealed,
            "text_mask": text_mask_for(user, case, revealed=revealed, document=document)}


# ---------------------------------------------------------------- free texts
class TextMask:
    """The petitioner's own identity where a free text carries it (a complaint written on
    the portal, an e-mail the petitioner added, a note quoting a phone), shown as the
    identity policy shows the fields themselves: masked, or withheld altogether. A
    department of a confidential petitioner reads a follow-up e-mail signed with a name
    and a number; it must read neither."""

    WITHHELD_MARK = "＊＊＊"
    do_not_call_in_templates = True  # a filter's argument, not a value to call

    def __init__(self, people, levels: dict):
        replacements = {}
        for person in people:
            for name in PERSONAL_FIELDS:
                value = " ".join((getattr(person, name, "") or "").split())
                level = levels.get(name, WITHHELD)
                if level == FULL or len(value) < 2:
                    continue
                shown = MASKS[name](value) if level == MASKED else self.WITHHELD_MARK
                if name in ("phone", "phone_alt", "id_number"):
                    # The digits as people write them: 138 0013 8000, 138-0013-8000.
                    pattern = r"[\s-]?".join(re.escape(char) for char in value)
                else:
                    pattern = re.escape(value)
                replacements[pattern] = shown
        # Longest first, so an address goes before the name inside it.
        order = sorted(replacements, key=len, reverse=True)
        self._shown = [replacements[pattern] for pattern in order]
        self._pattern = (re.compile("|".join(f"({pattern})" for pattern in order),
                                    re.IGNORECASE) if order else None)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text) -> str:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._shown[match.lastindex - 1], str(text))


def text_mask_for(user, case: Case, *, revealed: bool = False, document: bool = False,
                  levels: dict | None = None) -> TextMask | None:
    """The mask for the free texts of `case` as this person reads them (the same levels as
    the fields: the office masked until it reveals, a department by its audience), or None
    when nothing in them needs masking."""
    if levels is None:
        levels = levels_for(user, case, revealed=revealed, document=document)
    if all(level == FULL for level in levels.values()):
        return None
    people = ([case.petitioner] if case.petitioner_id else []) + list(
        case.representatives.all())
    mask = TextMask(people, levels)
    return mask or None



def department_identity_context(case: Case) -> dict:
    """What a paper sent to the lead department may carry (the dispatch slip)."""
    levels = NOTHING if petitioner_is_confidential(case) else LEAD_DEPARTMENT
    if case.petitioner is None or levels is NOTHING:
        person = Person(withheld=True, levels=levels)
    else:
        person = Person(**_shown(case.petitioner, levels), withheld=False, levels=levels)
    return {"person": person, "show_identity": not person.withheld,
            "text_mask": text_mask_for(None, case, levels=levels)}

# ---------------------------------------------------------------- attachments
def attachments_for(user, case: Case):
    """The case's files this person may open. The office: all. The lead department of a
    petitioner who did not ask for confidentiality: all. Otherwise (a confidential
    petitioner, an assisting department): the departments' own handling material and
    what the office cleared or redacted for them; a scanned letter carries a name, an
    address and a signature."""
    from django.db.models import Q

    from .models import AttachmentKind

    files = case.attachments.all()
    if audience(user, case) in ("office", "lead"):
        return files
    return files.filter(Q(kind=AttachmentKind.HANDLING) | Q(cleared_for_departments=True))


def withheld_attachment_count(user, case: Case) -> int:
    if audience(user, case) in ("office", "lead"):
        return 0
    return case.attachments.count() - attachments_for(user, case).count()
