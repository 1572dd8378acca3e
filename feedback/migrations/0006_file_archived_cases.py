"""Every case archived before archive numbers existed gets its file: the retention period
by the rule of feedback.filing as it stood when this was written (frozen here), and a
serial within its fonds, year of archiving and retention period, in the order the cases
were archived."""

from collections import defaultdict

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BATCH = 2000
ENDED_AT_INTAKE = {"answered", "refused", "merged", "withdrawn"}


def retention_of(case, ended_in: str, permanent_tiers) -> tuple[str, str]:
    tier = case.tier.code if case.tier_id else ""
    if case.is_collective:
        return "Y", "集体访"
    if case.is_sensitive:
        return "Y", "舆情风险"
    if case.handling_mode == "escalated":
        return "Y", "呈办（领导批示）"
    if tier and tier in permanent_tiers:
        return "Y", f"响应级别 {tier}"
    if case.invalid_reason:
        return "D10", "无效件"
    if ended_in in ENDED_AT_INTAKE or (not ended_in and case.accepted_at is None):
        return "D10", "登记环节办结"
    return "D30", "办理件"


def file_archived_cases(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    ArchiveFile = apps.get_model("feedback", "ArchiveFile")
    Sequence = apps.get_model("feedback", "ArchiveNumberSequence")
    fonds = getattr(settings, "DOSSIER_FONDS", "") or settings.CASE_NUMBER_PREFIX
    permanent_tiers = tuple(getattr(settings, "DOSSIER_PERMANENT_TIERS", ("T1",)))
    last = defaultdict(int)
    for sequence in Sequence.objects.all():
        last[(sequence.fonds, sequence.year, sequence.retention)] = sequence.last_value
    # Taken in the order of archiving, a batch at a time: each batch filed drops out of
    # the next query.
    unfiled = (Case.objects.filter(state="archived", archive_file__isnull=True)
               .select_related("tier").order_by("archived_at", "pk"))
    while True:
        cases = list(unfiled[:BATCH])
        if not cases:
            break
        ended = dict(CaseEvent.objects.filter(case_id__in=[c.pk for c in cases],
                                              action="archive")
                     .values_list("case_id", "from_state"))
        files = []
        for case in cases:
            retention, basis = retention_of(case, ended.get(case.pk, ""), permanent_tiers)
            at = case.archived_at or case.closed_at or case.received_at
            year = timezone.localtime(at).year
            last[(fonds, year, retention)] += 1
            serial = last[(fonds, year, retention)]
            files.append(ArchiveFile(
                case_id=case.pk, fonds=fonds, year=year, retention=retention, serial=serial,
                number=f"{fonds}-{year}-{retention}-{serial:04d}",
                retention_basis=f"{basis}（补编档号）", filed_at=at))
        ArchiveFile.objects.bulk_create(files)
    for (fonds_code, year, retention), value in last.items():
        Sequence.objects.update_or_create(fonds=fonds_code, year=year, retention=retention,
                                          defaults={"last_value": value})


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0005_archive_file"),
    ]

    operations = [
        migrations.RunPython(file_archived_cases, migrations.RunPython.noop),
    ]
