"""Filing an archived case: its retention period (保管期限) and archive number (档号).

The archive number is `<全宗号>-<年度>-<保管期限代码>-<件号>` (for example
`XF-2026-D30-0007`): the fonds is DOSSIER_FONDS (the case number prefix unless set), the
year is the office's local year of archiving, the retention code Y (永久), D30 (长期 30 年)
or D10 (短期 10 年), and the serial counts from 1 within fonds, year and retention, without
gaps. It is given once, in the archiving act's transaction, and never changes.

The retention period follows the rule below unless the archivist chooses one when
archiving (the archive act's `retention`):

- 永久: a collective visit, a case marked 舆情风险, a case escalated to leadership
  (呈办), or one of a tier in DOSSIER_PERMANENT_TIERS (T1: emergencies, risk to life or
  property);
- 短期（10年）: an invalid case (archived with an invalid-case reason) or one that
  ended at intake (answered on the spot, refused, merged into another, withdrawn);
- 长期（30年）: every other case, handled and answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from cases.models import ENDED_AT_INTAKE, Case, HandlingMode

from .models import ArchiveNumberSequence, RetentionPeriod


def fonds() -> str:
    return getattr(settings, "DOSSIER_FONDS", "") or settings.CASE_NUMBER_PREFIX


def permanent_tiers() -> tuple[str, ...]:
    return tuple(getattr(settings, "DOSSIER_PERMANENT_TIERS", ("T1",)))


def retention_by_rule(case: Case, *, invalid_reason: str = "") -> tuple[str, str]:
    """The retention period the rule gives a case about to be archived (call before the
    archive transition: the state it ended in counts), and the rule's reason."""
    tier_code = case.tier.code if case.tier_id else ""
    if case.is_collective:
        return RetentionPeriod.PERMANENT, _("集体访")
    if case.is_sensitive:
        return RetentionPeriod.PERMANENT, _("舆情风险")
    if case.handling_mode == HandlingMode.ESCALATED:
        return RetentionPeriod.PERMANENT, _("呈办（领导批示）")
    if tier_code and tier_code in permanent_tiers():
        return RetentionPeriod.PERMANENT, _("响应级别 %(tier)s") % {"tier": tier_code}
    if invalid_reason or case.invalid_reason:
        return RetentionPeriod.SHORT, _("无效件")
    if case.state in ENDED_AT_INTAKE:
        return RetentionPeriod.SHORT, _("登记环节办结（%(state)s）") % {
            "state": case.get_state_display()}
    return RetentionPeriod.LONG, _("办理件")


def format_archive_number(fonds_code: str, year: int, retention: str, serial: int) -> str:
    return f"{fonds_code}-{year}-{retention}-{serial:04d}"


def next_serial(*, fonds_code: str, year: int, retention: str) -> int:
    """Take the next serial of a fonds, year and retention period.

    Call inside the archiving transaction, as its last step: the sequence row stays locked
    until that transaction ends, so two archivings at once queue here (one after the
    other, each its own serial), and an archiving that rolls back gives its serial back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_serial() must run inside the archiving transaction")
    sequences = ArchiveNumberSequence.objects.select_for_update()
    key = {"fonds": fonds_code, "year": year, "retention": retention}
    sequence = sequences.filter(**key).first()
    if sequence is None:
        # The first file of its class: two archivists may race to create the row; one
        # insert wins, the other does nothing, and both then queue on the row's lock.
        ArchiveNumberSequence.objects.bulk_create(
            [ArchiveNumberSequence(**key, last_value=0)], ignore_conflicts=True)
        sequence = sequences.get(**key)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return sequence.last_value
