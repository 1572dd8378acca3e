"""找案件 (issue 18, item 2): one search for every staff role — number, 12345 ticket,
petitioner's name, phone, words — answering only the cases the person may see, each
petitioner as the identity policy shows them, and a name or a phone only to the office."""

import pytest
from django.urls import reverse

from cases.models import Channel, State
from dispatch import services as dispatch_acts
from intake import selectors
from intake import services as intake_acts
from tests.factories import PetitionerFactory, register


def search(client, q, kind="auto"):
    """Search as the box does: POST, then the result page it redirects to."""
    response = client.post(reverse("intake:search"), {"q": q, "kind": kind})
    assert response.status_code == 302, response.content.decode()[:500]
    assert q not in response.url  # a name or a phone stays out of the URL
    return client.get(response.url)


def numbers(response):
    return [case.number for case in response.context["rows"]]


@pytest.fixture
def wang(world):
    """王秀兰's complaint from the 12345 platform, accepted and dispatched to A."""
    person = PetitionerFactory(name="王秀兰", phone="13912345678")
    case = register(world, petitioner=person, channel=Channel.HOTLINE_12345,
                    external_reference="BJ12345-20261207-0042", summary="楼道堆物堵塞消防通道",
                    place="城西区幸福里小区")
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    return case


def test_the_office_finds_a_case_by_the_petitioner_s_name(client, world, wang):
    register(world)  # 刘建国's, not found
    client.force_login(world.clerk)
    found = search(client, "王秀兰")
    assert found.context["kind"] == "name" and numbers(found) == [wang.number]
    page = found.content.decode()
    # The office sees the name and a masked phone, as on the case page by default.
    assert "王秀兰" in page and "139****5678" in page and "13912345678" not in page


def test_every_kind_of_term_finds_its_case(client, world, wang):
    client.force_login(world.supervisor)
    for term, kind in ((wang.number, "number"), ("BJ12345-20261207-0042", "ticket"),
                       ("13912345678", "phone"), ("消防通道", "words"), ("幸福里", "words")):
        found = search(client, term)
        assert (found.context["kind"], numbers(found)) == (kind, [wang.number]), term


def test_a_department_finds_its_own_cases_but_never_by_a_person(client, world, wang):
    other = register(world, summary="消防通道被占用")  # not dispatched: not A's
    client.force_login(world.handler)
    assert numbers(search(client, "消防通道")) == [wang.number]
    assert numbers(search(client, "BJ12345-20261207-0042")) == [wang.number]
    # A name is not looked up for a department (words then, and no case says 王秀兰)...
    by_name = search(client, "王秀兰")
    assert by_name.context["kind"] == "words" and numbers(by_name) == []
    # ...a phone finds nothing, and says why...
    by_phone = search(client, "13912345678")
    assert by_phone.context["refused"] and 'id="search-refused"' in by_phone.content.decode()
    # ...and the 查找方式 offers no name or phone: choosing one names the field.
    response = client.post(reverse("intake:search"), {"q": "王秀兰", "kind": "name"})
    assert response.status_code == 400 and "kind" in response.context["form"].errors
    # No identity column for a department on the result page.
    assert "王秀兰" not in search(client, "消防通道").content.decode()
    # Department B sees none of A's cases.
    client.force_login(world.handler_b)
    assert numbers(search(client, "消防通道")) == []
    assert other.number not in numbers(search(client, other.number))


def test_bad_input_names_the_field_and_never_answers_500(client, world):
    client.force_login(world.dispatcher)
    for data in ({"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "路灯", "kind": "everything"}):
        response = client.post(reverse("intake:search"), data)
        assert response.status_code == 400, data
        assert response.context["form"].errors, data
    response = client.post(reverse("intake:search"), {"q": "路\x00灯"})
    assert response.status_code == 400
    # An unknown or expired search id shows the empty form, not an error.
    page = client.get(reverse("intake:search"), {"s": "nosuchid"})
    assert page.status_code == 200 and page.context["expired"]
    # A number that is no number, chosen as one, finds nothing.
    assert numbers(search(client, "路灯", kind="number")) == []


def test_the_top_bar_has_the_search_box_for_staff_only(client, world):
    assert 'class="topsearch"' not in client.get(reverse("home")).content.decode()
    for person in (world.clerk, world.handler, world.head, world.supervisor):
        client.force_login(person)
        page = client.get(reverse("home")).content.decode()
        assert f'action="{reverse("intake:search")}"' in page and 'for="topsearch-q"' in page


def test_the_queue_search_finds_a_name_too(client, world):
    person = PetitionerFactory(name="王秀兰", phone="13912345670")
    case = register(world, petitioner=person)
    client.force_login(world.clerk)
    response = client.post(reverse("intake:queue"), {"q": "王秀兰"})
    page = client.get(response.url)
    assert [c.number for c in page.context["results"]] == [case.number]
    assert "按编号、工单号、姓名、电话或内容查找" in page.content.decode()


def test_the_kind_is_told_apart_as_typed(world, wang):
    assert selectors.search_kind(world.clerk, "XF-2026-1") == "number"
    assert selectors.search_kind(world.clerk, "139 1234 5678") == "phone"
    assert selectors.search_kind(world.clerk, "BJ12345-20261207-0042") == "ticket"
    assert selectors.search_kind(world.clerk, "王秀兰") == "name"
    assert selectors.search_kind(world.clerk, "李四") == "words"  # nobody is called so
    assert selectors.search_kind(world.handler, "王秀兰") == "words"
    assert selectors.search_kind(world.handler, "BJ12345-20261207-0042") == "ticket"
    assert selectors.search_kind(world.handler_b, "BJ12345-20261207-0042") == "words"
    wang.refresh_from_db()
    assert wang.state == State.DISPATCHED and wang.lead_department == world.a


def test_the_handling_and_reply_pages_show_how_to_reach_the_petitioner(client, world):
    from tests.factories import drive_to

    person = PetitionerFactory(name="王秀兰", phone="13912345678")
    case = register(world, petitioner=person)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk, note="请三日内现场核实并联系信访人")
    # The lead department's handler: name and a phone to tap, and the 交办意见.
    client.force_login(world.handler)
    page = client.get(reverse("dispatch:handle", args=[case.number])).content.decode()
    assert 'href="tel:13912345678"' in page and "王秀兰" in page
    assert "请三日内现场核实并联系信访人" in page
    # Department B, were it to open it, sees nothing (not its case at all).
    client.force_login(world.handler_b)
    assert client.get(reverse("dispatch:handle", args=[case.number])).status_code == 404
    # A confidential petitioner: the department learns no name and no phone.
    secret = register(world, petitioner=PetitionerFactory(name="赵某某", phone="13700001111"),
                      is_confidential=True)
    intake_acts.accept_case(actor=world.clerk, case_id=secret.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=secret.pk,
                                lead_department_id=world.a.pk)
    client.force_login(world.handler)
    page = client.get(reverse("dispatch:handle", args=[secret.number])).content.decode()
    assert "赵某某" not in page and "13700001111" not in page and "信访人的身份不向本部门提供" in page
    # The office's reply page: the phone masked until revealed (and the reveal recorded),
    # then back on the reply page in full.
    approved = drive_to(world, State.RESULT_SUBMITTED)
    from dispatch import services as d

    d.approve_result(actor=world.head, case_id=approved.pk)
    d.approve_result(actor=world.dispatcher, case_id=approved.pk)
    client.force_login(world.dispatcher)
    url = reverse("feedback:reply", args=[approved.number])
    page = client.get(url).content.decode()
    assert "138****8001" in page and "13800138001" not in page
    response = client.post(reverse("cases:reveal", args=[approved.number]), {"next": url})
    assert response.status_code == 302 and response.url == url
    assert 'href="tel:13800138001"' in client.get(url).content.decode()


def test_a_department_confirms_no_confidential_name_by_words(client, world):
    """A confidential petitioner named in the summary: the department's search by that
    name finds nothing, and its results show the summary masked."""
    person = PetitionerFactory(name="欧阳保密", phone="13700003333")
    case = register(world, petitioner=person, is_confidential=True,
                    summary="欧阳保密反映楼道堆物")
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    client.force_login(world.handler)
    assert numbers(search(client, "欧阳保密")) == []
    found = search(client, "楼道堆物")
    assert numbers(found) == [case.number]
    assert "欧阳保密反映" not in found.content.decode().replace("“楼道堆物”", "")


def test_an_all_digit_ticket_is_a_ticket_not_a_phone(client, world):
    case = register(world, channel=Channel.HOTLINE_12345, external_reference="202612070042")
    assert selectors.search_kind(world.clerk, "202612070042") == "ticket"
    client.force_login(world.clerk)
    assert numbers(search(client, "202612070042")) == [case.number]


def test_listing_a_person_s_cases_is_recorded(client, world, wang):
    from cases.models import PersonalDataAccess

    client.force_login(world.clerk)
    search(client, "王秀兰")
    rows = PersonalDataAccess.objects.filter(kind="lookup", detail="search:name")
    assert [row.case_number for row in rows] == [wang.number]
    assert not PersonalDataAccess.objects.filter(detail__contains="王秀兰").exists()
    search(client, "消防通道")  # words: no one person's cases
    assert PersonalDataAccess.objects.filter(kind="lookup").count() == 1
