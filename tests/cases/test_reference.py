"""Reference tables held per process: read once, seen again at once after a change, and
never holding a change that was rolled back."""

import pytest
from django.core.cache import cache
from django.db import transaction

from cases import reference
from cases.models import Category, TierPolicy
from intake import triage
from intake.models import SafetyPhrase
from tests.factories import build_world


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    # As if the world had been committed: a transaction that changed reference rows
    # holds nothing until it commits.
    with django_capture_on_commit_callbacks(execute=True):
        return build_world()


def test_a_held_table_is_read_once(world, django_assert_num_queries):
    reference.categories()
    with django_assert_num_queries(0):
        reference.categories()
        reference.categories()


def test_a_saved_row_is_seen_at_once(world):
    before = reference.categories()
    added = Category.objects.create(name="新增分类", default_tier=TierPolicy.objects.get(code="T3"))
    assert added.pk not in before
    assert added.pk in reference.categories()
    added.delete()
    assert added.pk not in reference.categories()


def test_a_change_made_by_another_process_is_seen_through_the_shared_cache(world):
    tier = reference.tier("T2")
    TierPolicy.objects.filter(code="T2").update(name="改过的名字")  # no signal: as elsewhere
    assert reference.tier("T2").name == tier.name
    cache.set(reference.GENERATION_KEY, "another process bumped it")
    assert reference.tier("T2").name == "改过的名字"


def test_a_change_rolled_back_is_not_held(world):
    reference.categories()
    with pytest.raises(RuntimeError), transaction.atomic():
        added = Category.objects.create(name="回滚的分类")
        assert added.pk in reference.categories()  # the transaction sees its own row
        raise RuntimeError
    assert added.pk not in reference.categories()
    assert not Category.objects.filter(pk=added.pk).exists()


def test_a_safety_phrase_added_in_the_admin_raises_the_next_registration(world):
    assert triage.safety_match("井盖被偷了") is None
    SafetyPhrase.objects.create(phrase="井盖被偷", kind="emergency")
    assert triage.safety_match("井盖被偷了").floor == "T1"
