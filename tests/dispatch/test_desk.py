import pytest
from django.urls import reverse

from cases.models import Case, State
from dispatch.models import ResponsibilityEntry
from tests.factories import drive_to


@pytest.fixture
def dispatcher_client(client, world):
    client.force_login(world.dispatcher)
    return client


def test_the_desk_lists_what_waits(dispatcher_client, world):
    accepted = drive_to(world, State.ACCEPTED)
    returned = drive_to(world, State.RETURNED)
    page = dispatcher_client.get(reverse("dispatch:desk")).content.decode()
    assert accepted.number in page and returned.number in page


def test_the_dispatch_page_suggests_and_dispatches(dispatcher_client, world):
    case = drive_to(world, State.ACCEPTED)
    ResponsibilityEntry.objects.create(matter="占道经营", category=world.category,
                                       department=world.b, priority=1)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[case.number]))
    assert page.context["form"].initial["lead_department"] == world.b.pk
    assert "住房和城乡建设局" in page.content.decode()
    response = dispatcher_client.post(reverse("dispatch:dispatch", args=[case.number]), {
        "category": world.category.pk, "tier": "T3", "mode": "assigned",
        "lead_department": world.a.pk, "assisting_departments": [world.b.pk], "note": "请尽快办理"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.lead_department == world.a


def test_a_changed_tier_without_a_reason_is_named(dispatcher_client, world):
    case = drive_to(world, State.ACCEPTED)
    response = dispatcher_client.post(reverse("dispatch:dispatch", args=[case.number]), {
        "category": world.category.pk, "tier": "T1", "mode": "assigned",
        "lead_department": world.a.pk})
    assert response.status_code == 400
    assert "tier_change_reason" in response.context["form"].errors
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_a_return_is_re_dispatched_or_refused(dispatcher_client, world):
    case = drive_to(world, State.RETURNED)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[case.number])).content.decode()
    assert "不属本部门职责" in page  # the department's reason
    dispatcher_client.post(reverse("dispatch:refuse_return", args=[case.number]),
                           {"reason": "属城管执法职责"})
    case.refresh_from_db()
    assert (case.state, case.lead_department, case.return_count) == (State.DISPATCHED,
                                                                    world.a, 1)


def test_only_dispatchers_dispatch(client, world):
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.clerk)
    assert client.get(reverse("dispatch:dispatch", args=[case.number])).status_code == 403


def test_a_returned_case_does_not_suggest_the_department_that_returned_it(dispatcher_client,
                                                                          world):
    case = drive_to(world, State.RETURNED)  # returned by A, whose category default is A
    ResponsibilityEntry.objects.create(matter="占道经营", category=world.category,
                                       department=world.b, priority=5)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[case.number]))
    assert page.context["form"].initial["lead_department"] == world.b.pk


def test_the_dispatch_slip_names_the_department_and_the_deadline(client, world):
    import subprocess

    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    response = client.get(reverse("dispatch:slip", args=[case.number]))
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True,
                          check=True).stdout.decode()
    assert case.number in text and "城市管理局" in text and "交办单" in text
    assert case.summary in text and "刘建国" in text


def test_the_slip_keeps_a_confidential_identity_off(client, world):
    import subprocess

    case = drive_to(world, State.DISPATCHED)
    Case.objects.filter(pk=case.pk).update(is_confidential=True)
    client.force_login(world.dispatcher)
    text = subprocess.run(["pdftotext", "-", "-"], capture_output=True, check=True,
                          input=client.get(reverse("dispatch:slip", args=[case.number])).content
                          ).stdout.decode()
    assert "刘建国" not in text and "保密" in text


def test_no_slip_before_dispatch(client, world):
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.dispatcher)
    assert client.get(reverse("dispatch:slip", args=[case.number])).status_code == 404


def test_returns_are_counted_per_department_and_dispatcher(dispatcher_client, world):
    from dispatch.selectors import return_counts

    drive_to(world, State.RETURNED)
    drive_to(world, State.RETURNED)
    counts = return_counts()
    assert counts["departments"] == [("城市管理局", 2)]
    assert counts["dispatchers"] == [(world.dispatcher.first_name, 2)]
    page = dispatcher_client.get(reverse("dispatch:desk")).content.decode()
    assert "近90天退单统计" in page


def test_the_dispatch_page_offers_only_the_modes_the_case_allows(dispatcher_client, world):
    accepted = drive_to(world, State.ACCEPTED)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[accepted.number]))
    assert [value for value, _label in page.context["form"].fields["mode"].choices] == [
        "assigned", "direct", "escalated"]
    returned = drive_to(world, State.RETURNED)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[returned.number]))
    assert [value for value, _label in page.context["form"].fields["mode"].choices] == [
        "assigned"]
    assert "驳回退单" in page.content.decode()


def test_a_case_that_cannot_be_dispatched_says_why(dispatcher_client, world):
    from dispatch import services

    in_handling = drive_to(world, State.IN_HANDLING)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[in_handling.number]))
    assert page.status_code == 409 and "办理中" in page.context["refusal"]
    escalated = services.escalate_case(actor=world.dispatcher,
                                       case_id=drive_to(world, State.ACCEPTED).pk)
    page = dispatcher_client.get(reverse("dispatch:dispatch", args=[escalated.number]))
    assert page.status_code == 409 and "批示" in page.context["refusal"]
    response = dispatcher_client.post(reverse("dispatch:dispatch", args=[escalated.number]),
                                      {"mode": "assigned", "lead_department": world.a.pk})
    assert response.status_code == 409
    assert Case.objects.get(pk=escalated.pk).state == State.ACCEPTED
