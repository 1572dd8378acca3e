"""ID numbers at rest: encrypted in the database, found by a keyed hash; the admin's
petitioner pages are for administrators only; departments lose view_petitioner."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from cases import crypto
from cases.models import Petitioner, Representative
from intake.selectors import find_petitioners
from tests.factories import build_world, drive_to

ID = "11010519491231002X"


def stored(table, pk, column="id_number"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_an_id_number_is_encrypted_in_the_database_and_plain_in_python(world):
    person = world.petitioner
    person.id_number = ID
    person.save()
    raw = stored("cases_petitioner", person.pk)
    assert raw.startswith("enc1:") and ID not in raw
    assert Petitioner.objects.get(pk=person.pk).id_number == ID
    assert stored("cases_petitioner", person.pk, "id_number_hash") == crypto.lookup_hash(ID)
    history = person.history.first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM cases_historicalpetitioner WHERE history_id = %s",
                       [history.history_id])
        assert ID not in cursor.fetchone()[0]


def test_a_person_is_found_by_the_keyed_hash_of_their_id_number(world):
    world.petitioner.id_number = ID
    world.petitioner.save()
    assert list(find_petitioners(id_number=ID.lower())) == [world.petitioner]
    assert not find_petitioners(id_number="110105194912310038").exists()


def test_two_encryptions_differ_and_another_key_reads_nothing(settings):
    assert crypto.encrypt(ID) != crypto.encrypt(ID)
    token = crypto.encrypt(ID)
    settings.PERSONAL_DATA_KEY = "another key"
    crypto._keys.cache_clear()
    with pytest.raises(Exception):
        crypto.decrypt(token)
    assert crypto.lookup_hash(ID) != ""


def test_representatives_id_numbers_are_encrypted_too(world):
    case = drive_to(world, "received")
    person = Representative.objects.create(case=case, name="代表甲", id_number=ID)
    assert ID not in stored("cases_representative", person.pk)
    assert Representative.objects.get(pk=person.pk).id_number == ID


def test_departments_do_not_read_petitioner_records(db):
    for role in ("handler", "department_head"):
        codenames = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        assert "view_petitioner" not in codenames and "view_case" in codenames


def test_the_admin_petitioner_pages_are_for_administrators_only(world, client):
    world.dispatcher.is_staff = True
    world.dispatcher.save()
    world.petitioner.id_number = ID
    world.petitioner.save()
    client.force_login(world.dispatcher)
    assert client.get("/admin/cases/petitioner/").status_code in (302, 403)
    client.force_login(world.admin)
    page = client.get(f"/admin/cases/petitioner/?q={ID}")
    assert page.status_code == 200 and world.petitioner.name in page.content.decode()
    assert world.petitioner.phone not in page.content.decode()  # masked in the list
