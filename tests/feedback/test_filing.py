"""Filing an archived case (feedback.filing): its archive number (档号) and retention
period (保管期限), given once when it is archived."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, State
from feedback import services as feedback_acts
from feedback.models import ArchiveFile, RetentionPeriod
from intake import services as intake_acts
from tests.factories import drive_to, register, run_together


def test_archive_numbers_count_per_retention_period_from_one(world):
    handled = drive_to(world, State.ARCHIVED)
    answered = feedback_acts.archive_case(actor=world.dispatcher,
                                          case_id=drive_to(world, State.ANSWERED).pk)
    again = drive_to(world, State.ARCHIVED)
    year = timezone.localdate().year
    numbers = {case.pk: ArchiveFile.objects.get(case=case).number
               for case in (handled, answered, again)}
    assert numbers == {handled.pk: f"XF-{year}-D30-0001", answered.pk: f"XF-{year}-D10-0001",
                       again.pk: f"XF-{year}-D30-0002"}


@pytest.mark.parametrize(("make", "expected", "basis"), [
    (lambda w: register(w, is_collective=True, head_count=6), "Y", "集体访"),
    (lambda w: register(w, is_sensitive=True), "Y", "舆情风险"),
    (lambda w: register(w), "D10", "登记环节办结（已即办答复）"),
])
def test_the_retention_period_follows_the_rule(world, make, expected, basis):
    case = make(world)
    intake_acts.answer_on_the_spot(actor=world.clerk, case_id=case.pk, answer="已当场解答")
    feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk)
    file = ArchiveFile.objects.get(case=case)
    assert (file.retention, file.retention_basis) == (expected, basis)


def test_an_invalid_case_is_kept_ten_years_and_a_t1_case_for_ever(world, settings):
    case = drive_to(world, State.VISITED)
    feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk,
                               invalid_reason="consultation")
    assert ArchiveFile.objects.get(case=case).retention == RetentionPeriod.SHORT
    settings.DOSSIER_PERMANENT_TIERS = ["T3"]  # the office's own list of tiers
    case = drive_to(world, State.VISITED)
    feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk)
    assert ArchiveFile.objects.get(case=case).retention_basis == "响应级别 T3"


def test_the_archivist_may_choose_the_retention_period(world, settings):
    from django.core.exceptions import ValidationError

    settings.DOSSIER_FONDS = "J012"
    case = drive_to(world, State.VISITED)
    with pytest.raises(ValidationError) as error:
        feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk, retention="D5")
    assert "retention" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.VISITED
    feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk, retention="Y")
    file = ArchiveFile.objects.get(case=case)
    assert file.number == f"J012-{timezone.localdate().year}-Y-0001"
    assert file.retention_basis == "归档人确定" and file.kept_until_year is None


def test_two_archivings_at_once_take_two_serials(committed_db, postgres_only):
    from tests.factories import build_world

    world = build_world()
    cases = [drive_to(world, State.VISITED) for _ in range(2)]
    outcomes = run_together(*[
        (lambda pk=case.pk: feedback_acts.archive_case(actor=world.dispatcher, case_id=pk))
        for case in cases])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    year = timezone.localdate().year
    assert sorted(ArchiveFile.objects.values_list("number", flat=True)) == [
        f"XF-{year}-D30-0001", f"XF-{year}-D30-0002"]


def test_cases_archived_before_archive_numbers_get_theirs_in_order(world):
    import importlib

    from django.apps import apps

    from feedback.models import ArchiveNumberSequence

    first, second = drive_to(world, State.ARCHIVED), drive_to(world, State.ARCHIVED)
    ArchiveFile.objects.all().delete()
    ArchiveNumberSequence.objects.all().delete()
    migration = importlib.import_module("feedback.migrations.0006_file_archived_cases")
    migration.file_archived_cases(apps, None)
    year = timezone.localdate().year
    assert [ArchiveFile.objects.get(case=c).number for c in (first, second)] == [
        f"XF-{year}-D30-0001", f"XF-{year}-D30-0002"]
    assert ArchiveFile.objects.get(case=first).retention_basis == "办理件（补编档号）"
    third = drive_to(world, State.ARCHIVED)  # the sequence goes on from there
    assert ArchiveFile.objects.get(case=third).number == f"XF-{year}-D30-0003"


def test_the_archive_pages_and_the_admin_show_the_archive_number(client, world):
    case = drive_to(world, State.ARCHIVED)
    number = ArchiveFile.objects.get(case=case).number
    client.force_login(world.supervisor)
    page = client.get(reverse("feedback:archive_browser"))
    assert number in page.content.decode() and "长期（30年）" in page.content.decode()
    assert client.get(reverse("feedback:archive_browser"),
                      {"q": number.lower()}).context["rows"] == [case]
    client.force_login(world.admin)
    listing = client.get(reverse("admin:feedback_archivefile_changelist")).content.decode()
    assert number in listing and f"{timezone.localdate().year + 30}年年底" in listing


def test_the_archive_page_offers_the_retention_period_and_shows_the_number(client, world):
    case = drive_to(world, State.VISITED)
    client.force_login(world.dispatcher)
    page = client.get(reverse("feedback:archive", args=[case.number])).content.decode()
    assert "本案按规则：长期（30年）（办理件）。选择无效件原因的为短期（10年）。" in page
    assert 'name="retention"' in page
    client.post(reverse("feedback:archive", args=[case.number]),
                {"retention": "Y", "confirm": "on"})
    file = ArchiveFile.objects.get(case=case)
    assert file.retention == RetentionPeriod.PERMANENT
    client.force_login(world.clerk)  # who registered it, and so still sees it
    page = client.get(reverse("feedback:archive", args=[case.number])).content.decode()
    assert file.number in page and "永久（归档人确定）" in page
