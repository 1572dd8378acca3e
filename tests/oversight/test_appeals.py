"""Appeals (申诉): an upheld appeal takes one case out of one department's measure, shown
and counted; a refused one changes nothing. Hand-built scenarios, answers written here."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.exceptions import CaseError
from cases.models import State
from oversight import appeals, dashboard
from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
from oversight.models import Appeal, AppealState
from tests.factories import build_world, drive_to, reply_from_handling

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def local(*parts):
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def world(db):
    return build_world()


def late_and_on_time(world, travel):
    """Two cases of department A in March 2026: one answered a day late, one on time."""
    travel.to(local(2026, 3, 2, 9, 0))
    late = drive_to(world, State.IN_HANDLING)
    prompt = drive_to(world, State.IN_HANDLING)
    reply_from_handling(world, prompt)
    travel.to(late.due_at + timedelta(hours=24))
    reply_from_handling(world, late)
    return late, prompt


def department_a(scope_month=(2026, 3)):
    scope = dashboard.Scope(start=local(*scope_month, 1).date(), end=local(*scope_month, 31).date())
    return {row["key"]: row for row in dashboard.breakdown(scope, "department")}


def file(world, case, **overrides):
    arguments = {"actor": world.handler, "case_id": case.pk, "measure": "on_time",
                 "ground": "unreachable", "reason": "信访人电话停机，多次联系不上"}
    arguments.update(overrides)
    return appeals.file_appeal(**arguments)


def test_an_upheld_appeal_takes_exactly_that_case_out_of_the_on_time_rate(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    refresh_figures()
    before = department_a()[world.a.pk]
    assert (before["deadline_counted"], before["on_time"], before["on_time_rate"]) == (2, 1, 50.0)

    evidence = SimpleUploadedFile("通话记录.pdf", PDF, content_type="application/pdf")
    appeal = file(world, late, evidence=[evidence])
    assert appeal.evidence.count() == 1
    appeals.decide_appeal(actor=world.supervisor, case_id=late.pk, appeal_id=appeal.pk,
                          decision="upheld", note="有通话记录为证")
    refresh_figures()
    after = department_a()[world.a.pk]
    assert (after["deadline_counted"], after["on_time"], after["on_time_rate"]) == (1, 1, 100.0)
    assert after["appeals_upheld"] == 1  # shown, never silent
    assert late.events.filter(action__in=["file_appeal", "decide_appeal"]).count() == 2
    assert stored_figures() == figures_from_scratch()


def test_a_refused_appeal_changes_nothing(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    appeal = file(world, late)
    appeals.decide_appeal(actor=world.supervisor, case_id=late.pk, appeal_id=appeal.pk,
                          decision="refused", note="未见联系记录")
    refresh_figures()
    row = department_a()[world.a.pk]
    assert (row["deadline_counted"], row["on_time"], row["appeals_upheld"]) == (2, 1, 0)
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.REFUSED
    assert stored_figures() == figures_from_scratch()


def test_a_second_appeal_on_the_same_case_and_measure_is_refused_on_its_field(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    appeal = file(world, late)
    appeals.decide_appeal(actor=world.supervisor, case_id=late.pk, appeal_id=appeal.pk,
                          decision="refused", note="不成立")
    with pytest.raises((ValidationError, CaseError)) as error:
        file(world, late, reason="再申诉一次")
    if isinstance(error.value, ValidationError):
        assert "measure" in error.value.message_dict
    assert Appeal.objects.filter(case=late).count() == 1


def test_the_second_appeal_is_refused_with_the_field_message_even_when_offered(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    file(world, late)  # pending
    with pytest.raises(ValidationError) as error:
        appeals.file_appeal(actor=world.head, case_id=late.pk, measure="on_time",
                            ground="misrouted", reason="派错部门")
    assert "同一指标只能申诉一次" in error.value.message_dict["measure"][0]


def test_an_on_time_case_has_nothing_to_appeal(world, travel):
    _late, prompt = late_and_on_time(world, travel)
    with pytest.raises((ValidationError, CaseError)):
        file(world, prompt)


def test_only_supervisors_decide(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    appeal = file(world, late)
    for person in (world.dispatcher, world.head, world.handler):
        with pytest.raises(PermissionDenied):
            appeals.decide_appeal(actor=person, case_id=late.pk, appeal_id=appeal.pk,
                                  decision="upheld", note="同意")
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.PENDING


def test_another_department_cannot_file(world, travel):
    late, _prompt = late_and_on_time(world, travel)
    with pytest.raises(PermissionDenied):
        file(world, late, actor=world.handler_b)


def test_the_supervisors_list_decides_and_the_case_page_shows_it(client, world, travel):
    late, _prompt = late_and_on_time(world, travel)
    appeal = file(world, late)
    client.force_login(world.supervisor)
    page = client.get("/oversight/appeals/").content.decode()
    assert late.number in page and "信访人电话停机" in page
    answer = client.post(f"/oversight/appeals/{appeal.pk}/decide/",
                         {"appeal_id": appeal.pk, "decision": "upheld", "note": "属实"})
    assert answer.status_code == 302
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.UPHELD
    detail = client.get(f"/cases/{late.number}/").content.decode()
    assert "申诉成立" in detail
    client.force_login(world.dispatcher)
    assert client.post(f"/oversight/appeals/{appeal.pk}/decide/",
                       {"decision": "refused", "note": "x"}).status_code == 403


def test_the_department_files_from_the_case_page(client, world, travel):
    late, _prompt = late_and_on_time(world, travel)
    client.force_login(world.handler)
    page = client.get(f"/cases/{late.number}/acts/file_appeal/")
    assert page.status_code == 200, page.content.decode()[:500]
    answer = client.post(f"/cases/{late.number}/acts/file_appeal/", {
        "measure": "on_time", "ground": "unreachable", "reason": "联系\x00不上"})
    assert answer.status_code == 400
    answer = client.post(f"/cases/{late.number}/acts/file_appeal/", {
        "measure": "on_time", "ground": "unreachable", "reason": "联系不上"})
    assert answer.status_code == 302
    assert Appeal.objects.filter(case=late, state=AppealState.PENDING).count() == 1
