"""The table of acts: what a person may do to a case now, declared once.

Each stage app declares its acts (in its `acts.py`) and registers them here when it
loads, so the case page, the queues, the generic act page and the transitions API are
put together from one table without `cases` importing any app. An act either makes an
FSM transition (its state rule, conditions and permission are the transition's) or keeps
the state (its states, conditions and permission are declared on the act).
`available_acts(user, case)` and `ensure_allowed(name, user, case)` read the same
declaration, so what a page offers is what the service accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from .exceptions import CaseTransitionError
from .models import Case

Predicate = Callable[[Case], bool]
Permission = Callable[[Case, object], bool]


@dataclass(frozen=True)
class Act:
    """One thing a person can do to a case.

    `service(actor=, case_id=, **form.cleaned_data)` performs it; `form` parses its input
    (the page's and the API's); `page` names a dedicated page (URL name taking the case
    number) when the act needs more than its form, else the generic act page serves it.
    `in_admin` offers it in the Django admin too (a correction of a fact the admin shows
    read-only: its form and service there, never a bare field).
    """

    name: str
    label: str
    stage: str
    service: Callable
    form: type | None = None
    transition: str = ""
    states: Sequence[str] = ()
    conditions: Sequence[Predicate] = ()
    permission: Permission | None = None
    page: str = ""
    style: str = ""
    order: int = 100
    in_admin: bool = False
    # The label of the one button shown for several acts served by the same page.
    button: str = ""
    help: str = ""

    @property
    def label_text(self) -> str:
        return str(self.label)

    def make_form(self, *args, case: Case | None = None, user=None, **kwargs):
        if self.form is None:
            from django import forms

            return forms.Form(*args, **kwargs)
        if getattr(self.form, "takes_case", False):
            return self.form(*args, case=case, user=user, **kwargs)
        return self.form(*args, **kwargs)

    def perform(self, *, actor, case: Case, data: dict):
        return self.service(actor=actor, case_id=case.pk, **data)


_acts: dict[str, Act] = {}


def register(*acts: Act) -> None:
    """Called by each stage app's `ready()`; a name is declared once."""
    for act in acts:
        known = _acts.get(act.name)
        if known is not None and known is not act:
            raise ValueError(f"act {act.name!r} is declared twice")
        _acts[act.name] = act


def all_acts() -> list[Act]:
    return sorted(_acts.values(), key=lambda act: (act.order, act.name))


def get_act(name: str) -> Act | None:
    return _acts.get(name)


def _transition_of(act: Act, case: Case):
    return getattr(case, act.transition)


def is_allowed(act: Act, user, case: Case) -> bool:
    """Legal now (state and conditions) and this person's to make."""
    if act.transition:
        bound = _transition_of(act, case)
        return can_proceed(bound) and has_transition_perm(bound, user)
    # The cheap tests first: conditions may read other rows.
    return (case.state in act.states
            and (act.permission is None or act.permission(case, user))
            and all(condition(case) for condition in act.conditions))


def available_acts(user, case: Case, *, only: Sequence[str] | None = None) -> list[Act]:
    """Every act this person may make on this case now, in the table's order (`only`
    limits the question to some acts, e.g. a queue's row buttons)."""
    return [act for act in all_acts()
            if (only is None or act.name in only) and is_allowed(act, user, case)]


def allowed_names(user, case: Case, *, only: Sequence[str] | None = None) -> dict[str, bool]:
    """{act name: True} for templates: `may.submit_result`."""
    return {act.name: True for act in available_acts(user, case, only=only)}


def ensure_allowed(name: str, user, case: Case) -> Act:
    """Raise unless `user` may make act `name` on the (locked) case now.

    CaseTransitionError names the state or the unmet condition; PermissionDenied the act.
    Transitions are checked by `services.ensure_transition`; this covers same-state acts.
    """
    act = _acts[name]
    if act.transition:
        from .services import ensure_transition

        ensure_transition(_transition_of(act, case), user)
        return act
    if case.state not in act.states:
        raise CaseTransitionError(
            _("案件 %(number)s 当前状态为「%(state)s」，不能%(action)s。")
            % {"number": case.number, "state": case.get_state_display(),
               "action": act.label_text})
    for condition in act.conditions:
        if not condition(case):
            raise CaseTransitionError(
                _("案件 %(number)s 不能%(action)s：%(reason)s。")
                % {"number": case.number, "action": act.label_text,
                   "reason": condition.message})
    if act.permission is not None and not act.permission(case, user):
        # A permission may say why this person may not, here (`permission.refusal`).
        refusal = getattr(act.permission, "refusal", None)
        raise PermissionDenied(
            (refusal(case, user) if refusal else "")
            or _("您无权对案件 %(number)s 执行「%(action)s」。")
            % {"number": case.number, "action": act.label_text})
    return act


def act_url(case: Case, act: Act) -> str:
    """Where a person makes the act: its own page, or the generic act page."""
    from django.urls import reverse

    if act.page:
        return reverse(act.page, args=[case.number])
    return reverse("cases:act", args=[case.number, act.name])


# ---------------------------------------------------------------- consequences
# What a later stage must do in the same transaction when a transition happens (oversight
# closes a case's supervision orders when the case is answered). Declared here, by name,
# and run by `cases.services.move` right after the act's event: the case is locked
# first, then what hangs off it, in one order for every act.
_consequences: dict[str, list[Callable[[Case], None]]] = {}


def register_consequence(transitions: Sequence[str], consequence: Callable[[Case], None]):
    for name in transitions:
        known = _consequences.setdefault(name, [])
        if consequence not in known:
            known.append(consequence)


def consequences_of(transition: str) -> list[Callable[[Case], None]]:
    return _consequences.get(transition, [])


# ---------------------------------------------------------------- panels and documents
@dataclass(frozen=True)
class Panel:
    """A section of the case page contributed by a stage app (a template to include)."""

    template: str
    order: int = 100


@dataclass(frozen=True)
class Document:
    """A printable document of the case: shown when `shown(case)` holds; `url(case)`."""

    label: str
    url: Callable[[Case], str]
    shown: Predicate
    order: int = 100


_panels: list[Panel] = []
_documents: list[Document] = []


def register_panel(panel: Panel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def register_document(document: Document) -> None:
    if document not in _documents:
        _documents.append(document)


def panels() -> list[Panel]:
    return sorted(_panels, key=lambda panel: panel.order)


# A part of the archive dossier contributed by a stage: (anchor, title, html) or None.
DossierPart = tuple[str, str, str]
_dossier_parts: list[Callable[[Case], DossierPart | None]] = []


def register_dossier_part(provider: Callable[[Case], DossierPart | None]) -> None:
    if provider not in _dossier_parts:
        _dossier_parts.append(provider)


def dossier_parts(case: Case) -> list[DossierPart]:
    """The parts later stages add to the dossier (oversight: supervision orders)."""
    return [part for provider in _dossier_parts if (part := provider(case)) is not None]


def documents_of(case: Case) -> list[tuple[str, str]]:
    """(label, url) of every document the case has now."""
    return [(str(document.label), document.url(case))
            for document in sorted(_documents, key=lambda d: d.order) if document.shown(case)]
