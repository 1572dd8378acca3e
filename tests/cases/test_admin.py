"""The admin reads the case; the tier, the lead department and the 舆情风险 and 保密 marks
change there only through their acts, with a reason and an event."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from cases.models import Case, State
from tests.factories import UserFactory, drive_to

GUARDED = ("tier", "lead_department", "is_sensitive", "is_confidential")


class _FormValues(HTMLParser):
    """What a browser would post back from the admin's change form, as it was shown."""

    def __init__(self):
        super().__init__()
        self.values, self._in_form, self._textarea = {}, False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "case_form":
            self._in_form = True
        if not self._in_form or "name" not in attrs:
            return
        if tag == "input" and attrs.get("type") not in ("submit", "checkbox"):
            self.values[attrs["name"]] = attrs.get("value", "")
        if tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.values[attrs["name"]] = "on"
        if tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        if tag == "form":
            self._in_form = False


def _change_form_values(client, case) -> dict:
    parser = _FormValues()
    parser.feed(client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode())
    return parser.values


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _act_url(case, name):
    return reverse("admin:cases_case_act", args=[case.pk, name])


def test_the_four_facts_are_read_only_on_the_admin_change_page(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    response = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    fields = response.context["adminform"].form.fields
    assert not set(GUARDED) & set(fields)
    assert "summary" in fields


def test_posting_changed_facts_to_the_admin_change_form_changes_none_of_them(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    data = _change_form_values(client, case)
    data.update({"summary": "夜市占道经营（已更正）", "is_confidential": "on", "is_sensitive": "on",
                 "tier": "T1", "lead_department": str(world.b.pk), "_save": "保存"})
    response = client.post(reverse("admin:cases_case_change", args=[case.pk]), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    saved = Case.objects.get(pk=case.pk)
    assert saved.summary == "夜市占道经营（已更正）"  # the form did save
    assert (saved.is_confidential, saved.is_sensitive, saved.tier.code,
            saved.lead_department) == (False, False, "T3", world.a)


def test_the_change_page_offers_the_acts_this_person_may_make_now(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.admin)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    for name in ("change_tier", "change_lead_department", "change_sensitive",
                 "change_confidential"):
        assert _act_url(case, name) in page, name
    accepted = drive_to(world, State.ACCEPTED)  # not yet with a department: no 改派
    page = client.get(reverse("admin:cases_case_change", args=[accepted.pk])).content.decode()
    assert _act_url(accepted, "change_tier") in page
    assert _act_url(accepted, "change_lead_department") not in page


def test_an_act_made_in_the_admin_is_on_the_record(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    form = client.get(_act_url(case, "change_confidential"))
    assert form.status_code == 200 and "理由" in form.content.decode()
    response = client.post(_act_url(case, "change_confidential"),
                           {"is_confidential": "yes", "reason": "信访人来电要求保密"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:cases_case_change", args=[case.pk])
    assert any("标记/取消保密" in message for message in _messages(response))
    case.refresh_from_db()
    assert case.is_confidential
    event = case.events.get(action="change_confidential")
    assert (event.actor, event.data, event.note) == (world.admin, {"from": False, "to": True},
                                                    "信访人来电要求保密")


def test_the_admin_redispatches_and_corrects_the_tier_through_the_acts(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.admin)
    client.post(_act_url(case, "change_lead_department"),
                {"lead_department": str(world.b.pk), "reason": "派错部门"})
    client.post(_act_url(case, "change_tier"), {"tier_code": "T2", "reason": "涉及停水"})
    case.refresh_from_db()
    assert (case.lead_department, case.tier.code) == (world.b, "T2")
    assert set(case.events.values_list("action", flat=True)) >= {"change_lead_department",
                                                                 "change_tier"}


def test_bad_input_in_the_admin_is_told_by_field_and_changes_nothing(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    response = client.post(_act_url(case, "change_tier"), {"tier_code": "T1", "reason": ""})
    assert response.status_code == 400
    assert any(message.startswith("调整级别的理由") for message in _messages(response))
    # The service's own refusal (the tier it already has), on its field, as a message too.
    response = client.post(_act_url(case, "change_tier"), {"tier_code": "T3", "reason": "核实"})
    assert response.status_code == 400
    assert "tier_code" in response.context["form"].errors
    assert any("无需调整" in message for message in _messages(response))
    case.refresh_from_db()
    assert case.tier.code == "T3" and not case.events.filter(action="change_tier").exists()


def test_an_act_the_state_does_not_allow_is_told_in_the_admin(client, world):
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.admin)
    response = client.post(_act_url(case, "change_lead_department"),
                           {"lead_department": str(world.b.pk), "reason": "派错"})
    assert response.status_code == 302
    assert any("不能改派" in message for message in _messages(response))
    assert Case.objects.get(pk=case.pk).lead_department is None


def test_a_staff_member_without_the_role_is_told_in_the_admin(client, world):
    reader = UserFactory(username="reader", roles=["handler"], is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_case"))
    world.a.members.add(reader)
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(reader)
    response = client.post(_act_url(case, "change_tier"), {"tier_code": "T1", "reason": "紧急"})
    assert response.status_code == 302
    assert any("您无权" in message for message in _messages(response))
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert _act_url(case, "change_tier") not in page
    assert Case.objects.get(pk=case.pk).tier.code == "T3"


@pytest.mark.parametrize("name", ["accept", "no_such_act"])
def test_only_the_acts_marked_for_the_admin_have_a_page_there(client, world, name):
    case = drive_to(world, State.RECEIVED)
    client.force_login(world.admin)
    assert client.get(_act_url(case, name)).status_code == 404


def test_the_history_cannot_write_an_old_version_back(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.admin)
    version = case.history.earliest()
    url = reverse("admin:cases_case_simple_history", args=[case.pk, version.history_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"summary": "改回", "content": "改回"}).status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.IN_HANDLING
