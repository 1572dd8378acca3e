"""The party complained about and the findings: hand-built cases, answers written here."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.models import Case, Finding, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from oversight import complaints, dashboard
from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
from tests.factories import build_world, drive_to, register


def local(*parts):
    return timezone.make_aware(datetime(*parts))


@pytest.fixture
def world(db):
    return build_world()


def complaint(world, *, person="", section="急诊科", finding=Finding.TRUE, department=None):
    """A complaint against a unit (A by default), taken to a submitted result."""
    case = register(world, complained_department=department or world.a,
                    complained_section=section, complained_person=person)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="核实",
                                opinion="批评教育", result="已处理", is_solved=True,
                                finding=finding)
    return Case.objects.get(pk=case.pk)


def report(start, end, departments=None):
    return complaints.complaints_report(complaints.Period(start=start, end=end,
                                                          departments=departments))


def test_a_person_complained_about_twice_in_twelve_months_is_listed_once_is_not(world, travel):
    travel.to(local(2025, 6, 10, 9, 0))
    first = complaint(world, person="王医生")
    complaint(world, person="李护士")
    travel.to(local(2026, 3, 2, 9, 0))
    second = complaint(world, person="王医生", finding=Finding.FALSE)
    found = report(local(2026, 3, 1).date(), local(2026, 3, 31).date())
    assert [(row["complained_person"], row["total"], row["numbers"])
            for row in found["repeated"]] == [("王医生", 2, sorted([first.number, second.number]))]
    # Thirteen months later the first falls out of the window.
    found = report(local(2026, 7, 1).date(), local(2026, 7, 31).date())
    assert found["repeated"] == []


def test_findings_are_counted_by_unit_section_and_person_with_their_rates(world, travel):
    travel.to(local(2026, 3, 2, 9, 0))
    complaint(world, person="王医生", finding=Finding.TRUE)
    complaint(world, person="王医生", finding=Finding.PARTLY)
    complaint(world, section="药房", finding=Finding.FALSE)
    complaint(world, section="药房", finding=Finding.FALSE, department=world.b)
    register(world)  # no party complained about: not on the page
    found = report(local(2026, 3, 1).date(), local(2026, 3, 31).date())
    totals = found["totals"]
    assert (totals["total"], totals["found_true"], totals["found_partly"],
            totals["found_false"]) == (4, 1, 1, 2)
    assert (totals["true_rate"], totals["partly_rate"], totals["false_rate"]) == (25.0, 25.0, 50.0)
    assert [(row["department_name"], row["complained_section"], row["total"])
            for row in found["by_unit"]] == [("城市管理局", "急诊科", 2), ("城市管理局", "药房", 1),
                                             ("住房和城乡建设局", "药房", 1)]
    assert [(row["complained_person"], row["total"], row["true_rate"])
            for row in found["by_person"]] == [("王医生", 2, 50.0)]
    # A head sees the complaints against their own department only.
    headed = report(local(2026, 3, 1).date(), local(2026, 3, 31).date(),
                    departments=frozenset({world.b.pk}))
    assert headed["totals"]["total"] == 1
    refresh_figures()
    figures = dashboard.totals(dashboard.Scope(start=local(2026, 3, 1).date(),
                                               end=local(2026, 3, 31).date()))
    assert (figures["found_true"], figures["found_partly"], figures["found_false"]) == (1, 1, 2)
    assert stored_figures() == figures_from_scratch()


def test_acceptance_and_archive_rates(world, travel):
    travel.to(local(2026, 3, 2, 9, 0))
    drive_to(world, State.ARCHIVED)            # accepted, archived
    drive_to(world, State.IN_HANDLING)         # accepted
    drive_to(world, State.ANSWERED)            # not accepted (即办)
    drive_to(world, State.REFUSED)             # not accepted
    refresh_figures()
    totals = dashboard.totals(dashboard.Scope(start=local(2026, 3, 1).date(),
                                              end=local(2026, 3, 31).date()))
    assert (totals["received"], totals["accepted"], totals["archived"]) == (4, 2, 1)
    assert (totals["acceptance_rate"], totals["archive_rate"]) == (50.0, 25.0)
    assert stored_figures() == figures_from_scratch()


def test_a_complaint_needs_a_finding_with_its_result(world):
    case = register(world, complained_department=world.a, complained_person="王医生")
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
    with pytest.raises(ValidationError) as error:
        dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="核实",
                                    opinion="无", result="已处理", is_solved=True)
    assert "finding" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.IN_HANDLING


def test_the_counter_form_takes_the_party_and_refuses_a_nul_on_its_field(client, world):
    client.force_login(world.clerk)
    page = client.get("/intake/register/")
    assert "被投诉科室" in page.content.decode()
    from intake.forms import RegistrationForm

    form = RegistrationForm({"channel": "visit", "name": "张三", "phone": "13800138000",
                             "gender": "unknown", "summary": "投诉", "content": "态度差",
                             "outcome": "leave", "complained_department": world.a.pk,
                             "complained_section": "急诊\x00科", "complained_person": "王" * 51,
                             "submission_token": "2b1f7d0e-1c1f-4a57-9d7c-6a5e2c1a0b11"})
    assert not form.is_valid()
    assert set(form.errors) >= {"complained_section", "complained_person"}


def test_the_api_takes_the_party_and_answers_a_field_error_for_nul(world):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world.clerk)
    body = {"channel": "phone", "petitioner": {"name": "张三", "phone": "13800138000"},
            "summary": "投诉医生", "content": "态度差", "complained_department": world.a.pk,
            "complained_section": "急诊科", "complained_person": "王医生"}
    answer = api.post("/api/v1/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    case = Case.objects.get(number=answer.json()["number"])
    assert (case.complained_department, case.complained_section, case.complained_person) == (
        world.a, "急诊科", "王医生")
    answer = api.post("/api/v1/cases/", {**body, "complained_person": "王\x00"}, format="json")
    assert answer.status_code == 400 and "complained_person" in answer.json()["errors"]


def test_the_office_corrects_the_party_with_a_reason_and_an_event(world):
    case = drive_to(world, State.IN_HANDLING)
    dispatch_acts.change_complained_party(
        actor=world.dispatcher, case_id=case.pk, complained_department=world.b,
        complained_section="窗口", complained_person="赵某", reason="核实后更正")
    case.refresh_from_db()
    assert (case.complained_department, case.complained_person) == (world.b, "赵某")
    event = case.events.get(action="change_complained_party")
    assert event.data["to"]["complained_person"] == "赵某" and event.note == "核实后更正"
    with pytest.raises(Exception):
        dispatch_acts.change_complained_party(
            actor=world.handler, case_id=case.pk, complained_department=None,
            complained_section="", complained_person="", reason="想改")


def test_the_page_shows_names_to_the_office_and_refuses_handlers(client, world, travel):
    travel.to(local(2026, 3, 2, 9, 0))
    complaint(world, person="王医生")
    complaint(world, person="王医生")
    client.force_login(world.supervisor)
    page = client.get("/oversight/complaints/?start=2026-03-01&end=2026-03-31")
    assert page.status_code == 200 and "王医生" in page.content.decode()
    export = client.get("/oversight/complaints/?start=2026-03-01&end=2026-03-31"
                        "&table=repeated&export=csv")
    assert "王医生" in export.content.decode("utf-8-sig")
    client.force_login(world.head_b)  # B is not complained about
    assert "王医生" not in client.get("/oversight/complaints/").content.decode()
    client.force_login(world.handler)
    assert client.get("/oversight/complaints/").status_code == 403
