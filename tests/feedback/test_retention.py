"""Retention: personal data is anonymised once the period after archiving has passed,
exactly once, keeping the figures."""

from datetime import datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from cases.models import CaseEvent, Delivery, DeliveryState, Petitioner, Representative, State
from dispatch.models import HandlingNote
from feedback import retention, tasks
from feedback.models import Anonymisation, PersonAnonymisation, RetentionRule
from feedback.retention import ANONYMISED
from tests.factories import (
    CategoryFactory,
    PetitionerFactory,
    build_world,
    drive_to,
    run_together,
)

ID_NUMBER = "11010519491231002X"


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def person(**overrides):
    values = {"name": "王秀英", "phone": "13912345678", "phone_alt": "01065550123",
              "id_number": ID_NUMBER, "email": "wxy@example.org", "address": "朝阳区幸福路8号",
              "occupation": "退休教师", "age": 67, "gender": "female"}
    return PetitionerFactory(**(values | overrides))


def archived_case(world, travel, when):
    """A case registered, handled, replied to, visited and archived at `when`, with the
    petitioner's data repeated where people write it."""
    travel.to(when)
    case = drive_to(world, State.ARCHIVED)
    Representative.objects.create(case=case, name="赵志强", phone="13700001111",
                                  id_number="110105198001010011")
    CaseEvent.objects.create(case=case, action="note", note="已致电王秀英 13912345678，约定面谈")
    return case


@pytest.fixture
def world_with_person(world):
    world.petitioner = person()
    return world


def test_a_case_archived_past_its_period_is_anonymised_by_the_task_exactly_once(
        world_with_person, travel):
    world = world_with_person
    case = archived_case(world, travel, local(2019, 3, 4, 10, 0))
    HandlingNote.objects.create(case=case, kind="contact", author=world.handler,
                                department=world.a, text="联系王秀英（13912345678）核实")
    assert Delivery.objects.filter(case=case, to="wxy@example.org").exists()
    from intake.models import InboundMessage

    InboundMessage.objects.create(message_id="<m1@example.org>", mailbox="INBOX",
                                  sender="wxy@example.org", subject="王秀英反映夜市占道",
                                  case=case, state="added")
    travel.to(local(2024, 3, 4, 9, 0))  # not quite five years
    assert tasks.anonymise_due.delay().get() == 0

    travel.to(local(2024, 3, 4, 11, 0))
    assert tasks.anonymise_due.delay().get() == 1

    petitioner = Petitioner.objects.get(pk=world.petitioner.pk)
    assert petitioner.name == ANONYMISED
    for field in ("phone", "phone_alt", "id_number", "email", "address", "occupation"):
        assert getattr(petitioner, field) == "", field
    assert petitioner.age is None
    assert petitioner.gender == "female"  # kept, with the confidentiality wish
    representative = case.representatives.get()
    assert (representative.name, representative.phone, representative.id_number) == (
        ANONYMISED, "", "")
    for delivery in Delivery.objects.filter(case=case):
        assert (delivery.to, delivery.body) == ("", ANONYMISED)
    inbound = InboundMessage.objects.get(case=case)
    assert (inbound.sender, inbound.subject) == ("", ANONYMISED)
    note = case.events.get(action="note").note
    assert "王秀英" not in note and "13912345678" not in note and ANONYMISED in note
    assert HandlingNote.objects.get(case=case).text == f"联系{ANONYMISED}（{ANONYMISED}）核实"
    record = Anonymisation.objects.get(case=case)
    assert record.person_anonymised and record.retention_years == settings.RETENTION_YEARS
    assert PersonAnonymisation.objects.filter(petitioner=petitioner).count() == 1
    case.refresh_from_db()
    assert case.state == State.ARCHIVED and case.summary == "小区门口夜市占道经营"

    # A second run changes nothing.
    before = list(Anonymisation.objects.values_list("case_id", "anonymised_at"))
    travel.shift(days=1)
    assert tasks.anonymise_due.delay().get() == 0
    assert list(Anonymisation.objects.values_list("case_id", "anonymised_at")) == before


def test_every_version_in_the_history_is_anonymised(world_with_person, travel):
    world = world_with_person
    petitioner = world.petitioner
    travel.to(local(2018, 5, 1, 9, 0))
    petitioner.phone = "13600006666"  # an older phone, kept in the history
    petitioner.save()
    petitioner.phone = "13912345678"
    petitioner.save()
    archived_case(world, travel, local(2018, 6, 1, 10, 0))
    assert petitioner.history.filter(phone="13600006666").exists()

    travel.to(local(2026, 1, 1, 9, 0))
    retention.anonymise_due()

    versions = petitioner.history.all()
    assert versions.count() >= 3
    for version in versions:
        assert version.name == ANONYMISED
        assert (version.phone, version.phone_alt, version.id_number, version.email,
                version.address, version.occupation, version.age) == ("", "", "", "", "", "", None)


def test_a_case_within_its_period_and_a_case_never_archived_are_untouched(
        world_with_person, travel):
    world = world_with_person
    recent = archived_case(world, travel, local(2022, 3, 1, 10, 0))
    other = PetitionerFactory(name="李卫东", phone="13811112222", address="海淀区")
    travel.to(local(2015, 1, 5, 10, 0))
    world.petitioner = other
    open_case = drive_to(world, State.IN_HANDLING)  # ten years old, never archived
    answered = drive_to(world, State.ANSWERED)      # ended at intake, never archived

    travel.to(local(2026, 1, 1, 9, 0))
    assert retention.anonymise_due() == 0
    assert retention.count_due() == retention.DueCounts(cases=0, people=0)
    assert not Anonymisation.objects.exists()
    assert Petitioner.objects.get(pk=recent.petitioner_id).name == "王秀英"
    assert Petitioner.objects.get(pk=other.pk).address == "海淀区"
    assert recent.representatives.get().name == "赵志强"
    assert open_case.pk and answered.pk


def test_a_category_override_applies_and_a_subcategory_follows_its_parent(
        world_with_person, travel):
    world = world_with_person
    parent = world.category.parent
    RetentionRule.objects.create(category=parent, years=2)
    own_rule = CategoryFactory(name="噪音扰民", parent=parent, default_department=world.a)
    RetentionRule.objects.create(category=own_rule, years=10)
    assert retention.retention_years(world.category) == 2
    assert retention.retention_years(own_rule) == 10
    assert retention.retention_years(None) == settings.RETENTION_YEARS

    short = archived_case(world, travel, local(2023, 6, 1, 10, 0))      # 2 years: due
    world.petitioner = person(name="孙丽", phone="13522223333", id_number="")
    world.category = own_rule
    long = archived_case(world, travel, local(2019, 6, 1, 10, 0))       # 10 years: not

    travel.to(local(2026, 1, 1, 9, 0))
    assert retention.count_due() == retention.DueCounts(cases=1, people=1)
    assert retention.anonymise_due() == 1
    assert Anonymisation.objects.get().case_id == short.pk
    assert Anonymisation.objects.get().retention_years == 2
    assert Petitioner.objects.get(pk=long.petitioner_id).name == "孙丽"


def test_a_person_with_a_recent_case_keeps_their_record_until_the_last_one_passes(
        world_with_person, travel):
    world = world_with_person
    old = archived_case(world, travel, local(2018, 6, 1, 10, 0))
    newer = archived_case(world, travel, local(2023, 6, 1, 10, 0))

    travel.to(local(2026, 1, 1, 9, 0))
    assert retention.count_due() == retention.DueCounts(cases=1, people=0)
    assert retention.anonymise_due() == 1
    petitioner = Petitioner.objects.get(pk=world.petitioner.pk)
    assert petitioner.name == "王秀英" and petitioner.phone == "13912345678"
    assert not Anonymisation.objects.get(case=old).person_anonymised
    assert old.representatives.get().name == ANONYMISED       # the case's own parts go
    assert "王秀英" not in old.events.get(action="note").note
    assert newer.representatives.get().name == "赵志强"
    assert "王秀英" in newer.events.get(action="note").note

    travel.to(local(2028, 6, 2, 9, 0))
    assert retention.anonymise_due() == 1
    assert Petitioner.objects.get(pk=petitioner.pk).name == ANONYMISED
    assert Anonymisation.objects.get(case=newer).person_anonymised
    assert PersonAnonymisation.objects.count() == 1


def test_the_figures_are_the_same_after_anonymisation(world_with_person, travel):
    from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
    from oversight.models import CaseFacts, MonthlyFigures

    world = world_with_person
    archived_case(world, travel, local(2018, 6, 1, 10, 0))
    archived_case(world, travel, local(2018, 9, 1, 10, 0))
    travel.to(local(2019, 1, 1, 9, 0))
    drive_to(world, State.IN_HANDLING)
    refresh_figures()

    def figures():
        facts = list(CaseFacts.objects.order_by("case_id").values())
        return (stored_figures(), stored_figures(MonthlyFigures), facts)

    before = figures()
    assert before[0] == figures_from_scratch()
    travel.to(local(2026, 1, 1, 9, 0))
    assert retention.anonymise_due() == 2
    refresh_figures()
    assert figures() == before
    assert figures_from_scratch() == before[0]


def test_the_command_counts_on_a_dry_run_and_runs_the_service(world_with_person, travel,
                                                               capsys):
    world = world_with_person
    case = archived_case(world, travel, local(2018, 6, 1, 10, 0))
    travel.to(local(2026, 1, 1, 9, 0))

    call_command("anonymise_due", "--dry-run")
    assert "1 cases and 1 petitioners would be anonymised" in capsys.readouterr().out
    assert not Anonymisation.objects.exists()
    assert Petitioner.objects.get(pk=case.petitioner_id).name == "王秀英"

    call_command("anonymise_due")
    assert "1 cases anonymised" in capsys.readouterr().out
    assert Anonymisation.objects.filter(case=case).exists()


def test_a_message_still_waiting_for_an_anonymised_case_is_never_sent(world_with_person,
                                                                       travel):
    world = world_with_person
    case = archived_case(world, travel, local(2018, 6, 1, 10, 0))
    Delivery.objects.filter(case=case).update(state=DeliveryState.PENDING)
    travel.to(local(2026, 1, 1, 9, 0))
    retention.anonymise_due()
    assert set(Delivery.objects.filter(case=case).values_list("state", flat=True)) == {
        DeliveryState.FAILED}


def test_every_field_of_a_person_is_either_kept_or_anonymised():
    """A personal field added later is anonymised unless someone decides it may stay."""
    values = retention.person_values()
    for field in Petitioner._meta.concrete_fields:
        assert field.name in retention.PERSON_KEPT or field.attname in values, field.name


def test_two_runs_at_once_anonymise_each_case_once(committed_db, postgres_only, travel):
    world = build_world()
    world.petitioner = person()
    cases = [archived_case(world, travel, local(2018, 6, day, 10, 0)) for day in range(1, 7)]
    world.petitioner = person(name="孙丽", phone="13522223333", id_number="")
    cases += [archived_case(world, travel, local(2018, 7, day, 10, 0)) for day in range(1, 5)]
    travel.to(local(2026, 1, 1, 9, 0))

    outcomes = run_together(lambda: retention.anonymise_due(batch_size=2),
                            lambda: retention.anonymise_due(batch_size=2))
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert sum(outcomes) == len(cases)
    assert Anonymisation.objects.count() == len(cases)
    assert PersonAnonymisation.objects.count() == 2
    assert not Petitioner.objects.exclude(name=ANONYMISED).filter(
        cases__in=[case.pk for case in cases]).exists()


def test_the_task_is_routed_to_default_and_scheduled_daily():
    assert settings.CELERY_TASK_ROUTES["feedback.tasks.anonymise_due"] == {"queue": "default"}
    (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
                if entry["task"] == "feedback.tasks.anonymise_due"]
    assert entry["schedule"].hour == {2}


def test_the_public_form_says_how_long_personal_data_is_kept(client, db, settings):
    from django.urls import reverse

    settings.RETENTION_YEARS = 7
    page = client.get(reverse("intake:public_submit")).content.decode()
    assert "归档后保存 7 年" in page and "第十九条" in page and "第十七条" in page


def test_the_administrator_sets_a_category_period_in_the_admin(client, world):
    client.force_login(world.admin)
    page = client.get("/admin/feedback/retentionrule/")
    assert page.status_code == 200
    assert f"归档后保存 {settings.RETENTION_YEARS} 年" in page.content.decode()
    response = client.post("/admin/feedback/retentionrule/add/",
                           {"category": world.category.parent.pk, "years": 3, "reason": ""})
    assert response.status_code == 302
    assert retention.retention_years(world.category) == 3
    assert client.get("/admin/feedback/anonymisation/").status_code == 200
    assert client.get("/admin/feedback/personanonymisation/").status_code == 200
