"""A known ID number never silently rewrites a person: the counter is told which record
holds it, the API answers 409 naming the conflict, the public gets a record of its own;
a wish for confidentiality is never taken back; the public form can ask for it."""

import uuid

import pytest
from django.urls import reverse

from cases.exceptions import RecordConflict
from cases.models import Case, Petitioner
from intake import services
from tests.factories import build_world

ID = "11010519491231002X"


@pytest.fixture
def known(db):
    world = build_world()
    world.petitioner.id_number = ID
    world.petitioner.address = "和平里一号"
    world.petitioner.wants_confidentiality = True
    world.petitioner.save()
    return world


def register(world, actor, **person):
    return services.register_intake(
        actor=actor, submission_token=uuid.uuid4(),
        petitioner={"name": "刘建国", "phone": "13800138001", "id_number": ID, **person},
        matter={"channel": "visit", "summary": "噪音", "content": "夜间施工",
                "category": world.category})


def test_another_name_with_a_known_id_number_is_refused_at_the_counter(known):
    with pytest.raises(RecordConflict) as refused:
        register(known, known.clerk, name="王小二", phone="13900000000")
    message = str(refused.value.errors["id_number"][0])
    assert "刘建国" in message and "138****8001" in message and "13800138001" not in message
    stored = Petitioner.objects.get(pk=known.petitioner.pk)
    assert (stored.name, stored.phone) == ("刘建国", "13800138001")
    assert not Case.objects.exists()


def test_the_counter_page_shows_it_on_the_field(known, client):
    client.force_login(known.clerk)
    response = client.post(reverse("intake:register"), {
        "submission_token": uuid.uuid4(), "channel": "visit", "name": "王小二",
        "phone": "13900000000", "id_number": ID, "gender": "unknown", "summary": "噪音",
        "content": "夜间施工", "category": known.category.pk, "outcome": "leave"})
    assert response.status_code == 400
    assert "该身份证号码已登记" in response.context["form"].errors["id_number"][0]
    assert Petitioner.objects.get(pk=known.petitioner.pk).name == "刘建国"


def test_the_api_answers_409_naming_the_field(known, client):
    client.force_login(known.clerk)
    response = client.post("/api/v1/cases/", {
        "channel": "phone", "summary": "噪音", "content": "夜间施工",
        "category": known.category.pk,
        "petitioner": {"name": "王小二", "phone": "13900000000", "id_number": ID}},
        content_type="application/json")
    assert response.status_code == 409
    assert "id_number" in response.json()["errors"] and response.json()["conflict"] is True
    assert Petitioner.objects.get(pk=known.petitioner.pk).phone == "13800138001"


def test_the_public_gets_a_record_of_its_own_and_learns_nothing(known):
    case = services.submit_online(
        submission_token=uuid.uuid4(), attachments=(),
        petitioner={"name": "王小二", "phone": "13900000000", "id_number": ID},
        matter={"summary": "噪音", "content": "夜间施工", "category": None})
    assert case.petitioner_id != known.petitioner.pk
    stored = Petitioner.objects.get(pk=known.petitioner.pk)
    assert (stored.name, stored.phone, stored.wants_confidentiality) == (
        "刘建国", "13800138001", True)


def test_the_same_person_is_completed_never_overwritten_and_keeps_confidentiality(known):
    case = register(known, known.clerk, address="别处", email="liu@example.org",
                    wants_confidentiality=False)
    stored = Petitioner.objects.get(pk=known.petitioner.pk)
    assert case.petitioner_id == stored.pk
    assert stored.address == "和平里一号" and stored.email == "liu@example.org"
    assert stored.wants_confidentiality is True


def test_the_public_form_asks_for_confidentiality(db, client):
    build_world()
    response = client.get(reverse("intake:public_submit"))
    assert "要求对我的身份保密" in response.content.decode()
    response = client.post(reverse("intake:public_submit"), {
        "submission_token": uuid.uuid4(), "name": "赵六", "phone": "13700001111",
        "summary": "路灯不亮", "content": "小区门口路灯坏了一个月", "wants_confidentiality": "on"})
    assert response.status_code in (200, 302), response.content.decode()[:1500]
    case = Case.objects.get()
    assert case.is_confidential and case.petitioner.wants_confidentiality


def test_a_counter_lookup_is_recorded_without_the_values(known, client):
    from cases.models import PersonalDataAccess

    client.force_login(known.clerk)
    response = client.post(reverse("intake:lookup"), {"phone": "13800138001"})
    assert response.status_code == 200 and response.json()["petitioners"]
    row = PersonalDataAccess.objects.get(kind="lookup")
    assert row.username == "clerk" and row.detail == f"petitioner {known.petitioner.pk}"
    assert "13800138001" not in str(vars(row))
