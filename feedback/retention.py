"""Retention (PIPL Art. 19, 47): a petitioner's personal data is kept for a period counted
from the case's archiving — RETENTION_YEARS, or the category's `RetentionRule` (a
subcategory without one follows its parent) — and then anonymised, once.

For each archived case past its period (never any other case):

- the collective visit's representatives: name replaced, phone and ID number cleared;
- the outbox rows of the case (`Delivery`): address cleared, body replaced — they held
  the replies and query codes sent to the petitioner;
- the e-mails the case came by (`InboundMessage`): sender cleared, subject replaced;
- free text around the case that repeats the petitioner's or a representative's name,
  phones, ID number or e-mail (events' notes, handling notes, replies, return-visit
  comments, notifications, outbox subjects): those values are replaced where they occur
  verbatim. The matter itself (summary, content, demands, place, answers) is left as it
  was recorded: it is the file, and may mention people in words no search can find;

and for the petitioner, once every one of their cases is archived and past its period
(a person with a case still open or within its period keeps their record until the last
one passes): name replaced, phones, ID number, e-mail, address and occupation cleared,
age dropped (no figure reads it, and with the place and the date an age narrows a person
down), gender and the confidentiality wish kept; every version in the history table
(HistoricalPetitioner) the same. The case's own history (HistoricalCase) holds no
personal field (the petitioner is a reference to the anonymised row).

The statistics stay as they were: the case row, its dates, counters and dimensions are
not touched, nor is the petitioner row deleted (repeat-petitioner counts still group by
it).

Exactly once, whatever the number of workers: due cases are claimed with SELECT … FOR
UPDATE SKIP LOCKED, the petitioners after them in key order, and an `Anonymisation` row
(unique per case) is written in the same transaction; a `PersonAnonymisation` (unique
per person) likewise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import chain
from cases.models import (
    Case,
    CaseEvent,
    Category,
    Delivery,
    DeliveryState,
    Notification,
    Petitioner,
    Representative,
    State,
)
from dispatch.models import HandlingNote

from .models import Anonymisation, PersonAnonymisation, Reply, RetentionRule, ReturnVisit

ANONYMISED = "（已匿名）"  # stored, in the office's language, like the data it replaces

# Fields of the person kept after anonymisation; every other text field is cleared (a
# field added later is cleared too, until someone decides it may stay).
PERSON_KEPT = {"id", "gender", "wants_confidentiality", "created_at"}
REPRESENTATIVE_KEPT = {"id", "case"}
# The free text scrubbed of the values it repeats: model -> text fields.
FREE_TEXT = {
    CaseEvent: ("note",),
    HandlingNote: ("text",),
    Reply: ("content", "next_steps"),
    ReturnVisit: ("comments",),
    Notification: ("title", "body"),
    Delivery: ("subject",),
}


# ---------------------------------------------------------------- the period
def years_before(moment: datetime, years: int) -> datetime:
    """The same moment `years` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def years_by_category() -> dict[int, int]:
    """The categories whose period differs from the default, with their years: those with
    a rule, and the subcategories of a category with a rule that have none of their own."""
    own = dict(RetentionRule.objects.values_list("category_id", "years"))
    years = dict(own)
    for pk, parent_id in Category.objects.filter(parent_id__in=list(own)).values_list(
            "pk", "parent_id"):
        years.setdefault(pk, own[parent_id])
    return years


def retention_years(category: Category | None) -> int:
    """The period of a case of this category (years after archiving)."""
    return years_by_category().get(getattr(category, "pk", None), settings.RETENTION_YEARS)


def past_period(now: datetime, years: dict[int, int] | None = None) -> Q:
    """Cases archived and past their period at `now` (a filter on Case)."""
    years = years_by_category() if years is None else years
    by_years = defaultdict(list)
    for category_id, count in years.items():
        by_years[count].append(category_id)
    condition = (Q(category__isnull=True) | ~Q(category_id__in=list(years))) & Q(
        archived_at__lte=years_before(now, settings.RETENTION_YEARS))
    for count, category_ids in by_years.items():
        condition |= Q(category_id__in=category_ids,
                       archived_at__lte=years_before(now, count))
    return Q(state=State.ARCHIVED, archived_at__isnull=False) & condition


def due_cases(now: datetime, years: dict[int, int] | None = None):
    """Archived cases past their period, not yet anonymised."""
    return Case.objects.filter(past_period(now, years)).filter(
        ~Exists(Anonymisation.objects.filter(case=OuterRef("pk"))))


# ---------------------------------------------------------------- what a run would do
@dataclass(frozen=True)
class DueCounts:
    cases: int
    people: int


def count_due(*, now: datetime | None = None) -> DueCounts:
    """How many cases, and how many people with them, a run would anonymise now."""
    now = now or timezone.now()
    years = years_by_category()
    cases = due_cases(now, years)
    people = (Petitioner.objects.filter(pk__in=cases.values("petitioner_id"))
              .exclude(pk__in=PersonAnonymisation.objects.values("petitioner_id"))
              .exclude(pk__in=_kept_people_cases(now, years).values("petitioner_id")))
    return DueCounts(cases=cases.count(), people=people.count())


def _kept_people_cases(now: datetime, years: dict[int, int]):
    """The cases that keep their petitioner's data: not archived, or within the period."""
    return Case.objects.exclude(pk__in=Case.objects.filter(past_period(now, years))
                                .values("pk"))


# ---------------------------------------------------------------- the run
def anonymise_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Anonymise every archived case past its period (and each person whose last case it
    was); answers how many cases were anonymised by this run."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    years = years_by_category()
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                due_cases(now, years)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("archived_at", "pk")[:batch_size]
            )
            done += _anonymise_batch(batch, now, years)
        if len(batch) < batch_size:
            return done


def _anonymise_batch(batch: list[Case], now: datetime, years: dict[int, int]) -> int:
    """The locked cases of one batch, in the caller's transaction."""
    # Read again under the lock: another run may have committed since our query began.
    already = set(Anonymisation.objects.filter(case__in=batch).values_list("case_id",
                                                                           flat=True))
    cases = [case for case in batch if case.pk not in already]
    if not cases:
        return 0
    for case in cases:  # the claim's filter says so; the rule is too important to assume
        if case.state != State.ARCHIVED:
            raise AssertionError(f"case {case.pk} is not archived")
    case_ids = [case.pk for case in cases]
    person_ids = sorted({case.petitioner_id for case in cases})
    # The people after the cases, in key order: no deadlock with another run. The lock
    # also waits for (and then sees) a case being registered for one of them.
    list(Petitioner.objects.filter(pk__in=person_ids).select_for_update()
         .order_by("pk").values_list("pk", flat=True))
    done_people = set(PersonAnonymisation.objects.filter(petitioner_id__in=person_ids)
                      .values_list("petitioner_id", flat=True))
    kept = set(_kept_people_cases(now, years).filter(petitioner_id__in=person_ids)
               .values_list("petitioner_id", flat=True))
    people = [pk for pk in person_ids if pk not in kept and pk not in done_people]

    # The events' notes change: their chains are hashed again, those found intact only (a
    # chain broken before stays broken).
    intact = chain.intact(case_ids)
    _scrub_free_text(cases)
    chain.reseal(intact)
    _anonymise_representatives(case_ids)
    _anonymise_deliveries(case_ids)
    _anonymise_inbound(case_ids)
    _anonymise_people(people)
    PersonAnonymisation.objects.bulk_create(
        PersonAnonymisation(petitioner_id=pk, anonymised_at=now) for pk in people)
    Anonymisation.objects.bulk_create(
        Anonymisation(case=case, anonymised_at=now,
                      retention_years=years.get(case.category_id, settings.RETENTION_YEARS),
                      person_anonymised=case.petitioner_id not in kept)
        for case in cases)
    return len(cases)


def _cleared(model, kept: set[str]) -> dict:
    """Every text field of the model but those kept, cleared."""
    return {field.attname: "" for field in model._meta.concrete_fields
            if field.name not in kept and isinstance(field, (models.CharField,
                                                             models.TextField))}


def person_values() -> dict:
    values = _cleared(Petitioner, PERSON_KEPT)
    values.update(name=ANONYMISED, age=None)
    return values


def _anonymise_people(person_ids: list[int]) -> None:
    if not person_ids:
        return
    values = person_values()
    # Updates, not saves: no new version is written, and every version there is changes.
    Petitioner.objects.filter(pk__in=person_ids).update(**values)
    Petitioner.history.filter(id__in=person_ids).update(**values)


def _anonymise_representatives(case_ids: list[int]) -> None:
    values = _cleared(Representative, REPRESENTATIVE_KEPT) | {"name": ANONYMISED}
    Representative.objects.filter(case_id__in=case_ids).update(**values)


def _anonymise_deliveries(case_ids: list[int]) -> None:
    rows = Delivery.objects.filter(case_id__in=case_ids)
    # An archived case should have nothing left to send; whatever is still waiting goes
    # nowhere now.
    rows.filter(state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, last_error=str(_("保存期限届满，已匿名化，不再发送。")))
    rows.update(to="", body=ANONYMISED)


def _anonymise_inbound(case_ids: list[int]) -> None:
    """The e-mails the case came by (intake.mail): the sender's address and the subject
    they wrote; the Message-ID stays, so the message is still never taken twice."""
    from intake.models import InboundMessage

    InboundMessage.objects.filter(case_id__in=case_ids).update(sender="", subject=ANONYMISED)


def _personal_values(cases: list[Case]) -> dict[int, list[str]]:
    """Per case, the values free text may repeat: every version of its petitioner's
    name, phones, ID number and e-mail, and its representatives', longest first."""
    fields = ("name", "phone", "phone_alt", "id_number", "email")
    by_person = defaultdict(set)
    person_ids = {case.petitioner_id for case in cases}
    for row in Petitioner.history.filter(id__in=person_ids).only("id", *fields):
        by_person[row.id].update(getattr(row, name) for name in fields)
    for row in Petitioner.objects.filter(pk__in=person_ids).only("pk", *fields):
        by_person[row.pk].update(getattr(row, name) for name in fields)
    values = {case.pk: set(by_person[case.petitioner_id]) for case in cases}
    for row in Representative.objects.filter(case__in=cases).only("case_id", "name", "phone",
                                                                   "id_number"):
        values[row.case_id].update((row.name, row.phone, row.id_number))
    # A one-character name would rewrite every text it appears in; 「（已匿名）」 is done.
    return {pk: sorted((v for v in found if v and len(v) >= 2 and v != ANONYMISED),
                       key=len, reverse=True)
            for pk, found in values.items()}


def scrub(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, ANONYMISED)
    return text


def _scrub_free_text(cases: list[Case]) -> None:
    values = _personal_values(cases)
    for model, fields in FREE_TEXT.items():
        limits = {name: model._meta.get_field(name).max_length for name in fields}
        changed = []
        for row in model.objects.filter(case__in=cases).only("pk", "case_id", *fields):
            dirty = False
            for name in fields:
                text = getattr(row, name)
                clean = scrub(text, values[row.case_id]) if text else text
                if clean != text:
                    setattr(row, name, clean[:limits[name]] if limits[name] else clean)
                    dirty = True
            if dirty:
                changed.append(row)
        if changed:
            model.objects.bulk_update(changed, fields, batch_size=500)
