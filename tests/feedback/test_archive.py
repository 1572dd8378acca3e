import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, State
from tests.factories import drive_to


def test_archiving_through_the_page_with_an_invalid_case_reason(client, world):
    case = drive_to(world, State.ANSWERED)
    client.force_login(world.dispatcher)
    response = client.post(reverse("feedback:archive", args=[case.number]),
                           {"invalid_reason": "lazy"})
    assert response.status_code == 400 and "invalid_reason" in response.context["form"].errors
    # Archiving cannot be undone: the page asks to confirm, and names the box.
    response = client.post(reverse("feedback:archive", args=[case.number]),
                           {"invalid_reason": "consultation", "note": "仅为咨询"})
    assert response.status_code == 400
    assert response.context["form"].errors["confirm"] == ["请勾选确认后再归档。"]
    assert Case.objects.get(pk=case.pk).state == State.ANSWERED
    client.post(reverse("feedback:archive", args=[case.number]),
                {"invalid_reason": "consultation", "note": "仅为咨询", "confirm": "on"})
    case.refresh_from_db()
    assert (case.state, case.invalid_reason) == (State.ARCHIVED, "consultation")
    # Archived, the page says so, with no form and no 归档 button left to press (to the
    # clerk who registered it: dispatchers work on open cases only).
    client.force_login(world.clerk)
    page = client.get(reverse("feedback:archive", args=[case.number]))
    assert page.status_code == 200 and page.context["form"] is None
    html = page.content.decode()
    assert 'id="archived"' in html and "确认归档" not in html and 'method="post" class="card' not in html
    assert client.post(reverse("feedback:archive", args=[case.number]),
                       {"confirm": "on"}).status_code == 200
    assert CaseEvent.objects.filter(case=case, action="archive").count() == 1


def test_the_archive_browses_by_year_category_and_search(client, world):
    archived = drive_to(world, State.ARCHIVED)
    drive_to(world, State.VISITED)
    client.force_login(world.supervisor)
    year = archived.archived_at.year
    rows = client.get(reverse("feedback:archive_browser"), {"year": year}).context["rows"]
    assert [c.pk for c in rows] == [archived.pk]
    by_category = client.get(reverse("feedback:archive_browser"),
                             {"category": world.category.parent_id}).context["rows"]
    assert [c.pk for c in by_category] == [archived.pk]
    assert client.get(reverse("feedback:archive_browser"),
                      {"q": archived.number}).context["rows"] == [archived]
    assert client.get(reverse("feedback:archive_browser"), {"year": year - 1}).context["rows"] == []
    client.force_login(world.dispatcher)  # dispatchers work on open cases only
    assert client.get(reverse("cases:detail", args=[archived.number])).status_code == 404


def test_an_archived_case_refuses_every_change_through_every_door(client, world):
    case = drive_to(world, State.ARCHIVED)
    events = CaseEvent.objects.filter(case=case).count()
    client.force_login(world.clerk)  # who registered it, and so still sees it
    page = client.post(reverse("feedback:reply", args=[case.number]),
                       {"channel": "phone", "content": "再答复"})
    assert page.status_code == 400 and "已归档" in " ".join(page.context["form"].non_field_errors())
    api = APIClient()
    api.force_authenticate(world.supervisor)
    response = api.post(reverse("api-transition", args=[case.number, "reopen"]),
                        {"reason": "想重办"}, format="json")
    assert response.status_code == 409 and "已归档" in response.json()["detail"]
    client.force_login(world.handler)
    note = client.post(reverse("dispatch:note", args=[case.number]),
                       {"kind": "investigation", "text": "补记"})
    assert note.status_code in (400, 404)
    client.force_login(world.admin)
    form = client.get(reverse("admin:cases_case_change", args=[case.pk])).context["adminform"].form
    assert not form.fields
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Case.objects.get(pk=case.pk).state == State.ARCHIVED


def test_clerks_browse_the_files_they_registered(client, world):
    archived = drive_to(world, State.ARCHIVED)  # registered by the clerk
    client.force_login(world.clerk)
    assert [c.pk for c in client.get(reverse("feedback:archive_browser")).context["rows"]] == [
        archived.pk]
    client.force_login(world.dispatcher)
    assert client.get(reverse("feedback:archive_browser")).status_code == 403


def test_the_records_of_a_case_are_read_only_in_the_admin(client, world):
    from django.contrib.admin.sites import site

    from dispatch.models import HandlingNote, HandlingResult
    from feedback.models import Reply, ReturnVisit

    drive_to(world, State.ARCHIVED)
    client.force_login(world.admin)
    for model in (Reply, ReturnVisit, HandlingNote, HandlingResult):
        model_admin = site._registry[model]
        request = client.get("/").wsgi_request
        request.user = world.admin
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200


def test_an_unreachable_replied_case_is_offered_for_archiving_and_a_reachable_one_is_not(
        client, world, settings):
    from feedback import services

    settings.VISIT_MAX_ATTEMPTS = 1
    waiting = drive_to(world, State.REPLIED)
    unreachable = drive_to(world, State.REPLIED)
    services.record_visit(actor=world.clerk, case_id=unreachable.pk, method="phone",
                          reached=False, comments="空号")
    client.force_login(world.clerk)
    queues = client.get(reverse("feedback:desk")).context
    assert [c.pk for c in queues["to_archive"]] == [unreachable.pk]
    offered = lambda case: reverse("feedback:archive", args=[case.number]) in client.get(  # noqa: E731
        reverse("cases:detail", args=[case.number])).content.decode()
    assert offered(unreachable) and not offered(waiting)


@pytest.mark.parametrize("after", ["1e20_1", "inf_1", "1_99999999999999999999", "x"])
def test_a_bad_archive_cursor_gives_the_first_page(client, world, after):
    drive_to(world, State.ARCHIVED)
    client.force_login(world.supervisor)
    response = client.get(reverse("feedback:archive_browser"), {"after": after})
    assert response.status_code == 200
