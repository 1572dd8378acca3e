"""Case numbers: <prefix>-<year>-<6 digits>, in order and gapless per year."""

from datetime import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from cases.models import Case
from cases.numbering import format_case_number
from tests.factories import build_world, register, run_together


def test_the_number_has_prefix_year_and_six_digits(world):
    assert register(world).number == f"XF-{timezone.localdate().year}-000001"
    assert register(world).number == f"XF-{timezone.localdate().year}-000002"
    assert format_case_number("XF", 2026, 123) == "XF-2026-000123"


def test_the_year_is_the_office_s_local_year(world, travel):
    travel.to(timezone.make_aware(datetime(2026, 12, 31, 23, 55)))  # 15:55 UTC
    assert register(world).number == "XF-2026-000001"
    travel.to(timezone.make_aware(datetime(2027, 1, 1, 0, 5)))  # still 2026 in UTC
    assert register(world).number == "XF-2027-000001"


def test_a_registration_that_rolls_back_gives_its_number_back(world):
    register(world)
    with pytest.raises(RuntimeError), transaction.atomic():
        register(world)
        raise RuntimeError("the clerk's upload failed")
    assert register(world).number.endswith("-000002")


def test_fifty_concurrent_registrations_get_fifty_consecutive_numbers(
    committed_db, postgres_only
):
    world = build_world()
    outcomes = run_together(*[lambda: register(world).number] * 50)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    year = timezone.localdate().year
    assert sorted(outcomes) == [format_case_number("XF", year, n) for n in range(1, 51)]
    assert Case.objects.count() == 50
