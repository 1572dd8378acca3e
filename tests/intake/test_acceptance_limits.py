"""A received case has a clock: each channel's acceptance time limit, set at registration."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Channel, ChannelPolicy
from intake import services as intake_acts
from tests.factories import register


def local(*parts):
    return timezone.make_aware(datetime(*parts))


@pytest.mark.parametrize(
    ("channel", "registered", "accept_by", "warn_at"),
    [
        # Decided at the counter or taken up from the platform within two hours; the
        # warning at 75 % of those two hours.
        (Channel.VISIT, local(2026, 3, 10, 10, 0), local(2026, 3, 10, 12, 0),
         local(2026, 3, 10, 11, 30)),
        (Channel.PHONE, local(2026, 3, 10, 10, 0), local(2026, 3, 10, 12, 0),
         local(2026, 3, 10, 11, 30)),
        (Channel.HOTLINE_12345, local(2026, 3, 10, 10, 0), local(2026, 3, 10, 12, 0),
         local(2026, 3, 10, 11, 30)),
        # In writing: by the same time on the next working day, across a weekend; the
        # warning at 75 % of the office hours between (7 h: Friday 16:00-17:30, Monday
        # 09:00-12:00 and 13:30-16:00), so Monday 14:15, not Sunday night...
        (Channel.LETTER, local(2026, 3, 13, 16, 0), local(2026, 3, 16, 16, 0),
         local(2026, 3, 16, 14, 15)),
        (Channel.EMAIL, local(2026, 3, 10, 10, 0), local(2026, 3, 11, 10, 0),
         local(2026, 3, 10, 16, 45)),
        # ...and across National Day 2026 (1-7 October): warned the afternoon before.
        (Channel.WEB, local(2026, 9, 30, 10, 0), local(2026, 10, 8, 10, 0),
         local(2026, 9, 30, 16, 45)),
    ],
)
def test_each_channel_gives_its_acceptance_time_limit(world, travel, channel, registered,
                                                     accept_by, warn_at):
    travel.to(registered)
    case = register(world, channel=channel)
    assert case.accept_by == accept_by
    # The first step is the warning at 75 % of the limit.
    assert case.next_action_at == warn_at
    assert datetime.fromisoformat(case.events.get().data["accept_by"]) == accept_by


def test_a_12345_transfer_is_due_by_the_platform_s_deadline_from_arrival(world):
    platform_due = timezone.now() + timedelta(days=3)
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0007",
                    platform_due_at=platform_due)
    assert case.due_at == platform_due
    assert case.accept_by == case.received_at + timedelta(hours=2)


def test_a_transfer_due_sooner_than_its_acceptance_limit_must_be_accepted_by_then(world):
    platform_due = timezone.now() + timedelta(hours=1)
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0008",
                    platform_due_at=platform_due)
    assert case.due_at == case.accept_by == platform_due


def test_the_platform_deadline_governs_only_a_12345_transfer(world):
    case = register(world, channel=Channel.VISIT,
                    platform_due_at=timezone.now() + timedelta(days=3))
    assert case.due_at is None


def test_accepting_keeps_the_earlier_of_the_tier_s_and_the_platform_s_deadline(world):
    platform_due = timezone.now() + timedelta(days=3)
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0009",
                    platform_due_at=platform_due)
    t1 = intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code="T1")
    assert t1.due_at == t1.accepted_at + timedelta(hours=2)
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="12345-0010",
                    platform_due_at=platform_due)
    t3 = intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code="T3")
    assert t3.due_at == platform_due


def test_registration_reads_the_channel_s_terms_once(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        register(world, channel=Channel.VISIT)
    tables = [query["sql"] for query in queries.captured_queries]
    assert sum("cases_channelpolicy" in sql for sql in tables) == 1
    assert not any("cases_calendarday" in sql for sql in tables)  # hours need no calendar


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def test_a_limit_changed_in_the_admin_applies_to_later_registrations(admin_client, world,
                                                                    travel):
    travel.to(local(2026, 3, 10, 10, 0))
    before = register(world, actor=None, channel=Channel.WEB)
    policy = ChannelPolicy.objects.get(channel=Channel.WEB)
    url = reverse("admin:cases_channelpolicy_change", args=[policy.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"acceptance_duration": "4", "acceptance_unit": "hours",
                                       "warning_percent": "50"})
    assert response.status_code == 302, response.content.decode()
    assert policy.history.count() == 1  # who changed the limit, and when

    after = register(world, actor=None, channel=Channel.WEB)
    assert after.accept_by == after.received_at + timedelta(hours=4)
    assert after.next_action_at == after.received_at + timedelta(hours=2)
    before.refresh_from_db()
    assert before.accept_by == local(2026, 3, 11, 10, 0)  # kept the limit it arrived with


def test_the_channels_limits_are_neither_deleted_nor_doubled_in_the_admin(admin_client):
    policy = ChannelPolicy.objects.get(channel=Channel.WEB)
    assert ChannelPolicy.objects.count() == len(Channel.choices)
    assert admin_client.get(reverse("admin:cases_channelpolicy_add")).status_code == 403
    delete = reverse("admin:cases_channelpolicy_delete", args=[policy.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ChannelPolicy.objects.filter(pk=policy.pk).exists()


def test_the_case_page_shows_the_acceptance_limit_until_the_case_is_accepted(client, world,
                                                                             travel):
    travel.to(local(2026, 3, 10, 10, 0))
    case = register(world, actor=None, channel=Channel.WEB)
    client.force_login(world.clerk)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "受理时限 2026-03-11 10:00" in page and "受理超时" not in page
    travel.to(local(2026, 3, 11, 10, 1))
    client.force_login(world.clerk)  # a new working day, a new session
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "受理时限 2026-03-11 10:00" in page and "受理超时" in page
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "受理时限" not in page
