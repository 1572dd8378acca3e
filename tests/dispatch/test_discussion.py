"""内部沟通 (issue 18, item 5): the office and the departments talk on the case page; the
public never reads it; each message tells the other side."""

from django.urls import reverse

from cases.models import Case, Notification, State
from dispatch.discussion import post_message
from dispatch.models import CaseMessage
from tests.factories import PetitionerFactory, drive_to, register
from dispatch import services as dispatch_acts
from intake import services as intake_acts


def write(client, case, text):
    return client.post(reverse("dispatch:discuss", args=[case.number]), {"text": text})


def test_the_office_and_the_department_talk_on_the_case_page(client, world):
    case = drive_to(world, State.IN_HANDLING)  # dispatched to A, handled by world.handler
    client.force_login(world.dispatcher)
    response = write(client, case, "请重点核实夜间噪音，周五前反馈。")
    assert response.status_code == 302 and response.url.endswith("#discussion")
    # The handler working it and A's head hear of it; the dispatcher does not tell himself.
    told = set(Notification.objects.filter(kind="discussion").values_list("recipient", flat=True))
    assert told == {world.handler.pk, world.head.pk}
    client.force_login(world.handler)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert 'id="discussion"' in page and "请重点核实夜间噪音" in page
    write(client, case, "已安排周四晚现场检查。")
    # The answer goes to the dispatcher who dispatched it.
    answer = Notification.objects.filter(kind="discussion").latest("pk")
    assert answer.recipient == world.dispatcher and "城市管理局" in answer.title
    assert list(CaseMessage.objects.values_list("department__name", flat=True)) == [
        None, "城市管理局"]


def test_no_one_else_reads_or_writes_it(client, world):
    case = drive_to(world, State.IN_HANDLING)
    post_message(actor=world.dispatcher, case_id=case.pk, text="内部意见：先别答复")
    # Department B is not on the case: no thread (and not the case either).
    client.force_login(world.handler_b)
    assert write(client, case, "我也说一句").status_code == 404
    assert CaseMessage.objects.count() == 1
    # The public's tracking page shows nothing of it.
    case = Case.objects.get(pk=case.pk)
    from intake.selectors import public_timeline

    assert "内部意见" not in str(public_timeline(case))
    assert not case.events.filter(note__contains="内部意见").exists()


def test_an_assisting_department_takes_part(client, world):
    case = drive_to(world, State.IN_HANDLING)
    case.assisting_departments.add(world.b)
    client.force_login(world.handler_b)
    write(client, case, "协办部门意见：该路段属我局管辖范围外。")
    assert CaseMessage.objects.get().department == world.b


def test_bad_input_is_named_and_nothing_is_written(client, world):
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    for text in ("", "   ", "长" * 2001):
        response = client.post(reverse("dispatch:discuss", args=[case.number]),
                               {"text": text}, follow=True)
        assert response.status_code == 200
        assert "请写下要说的话" in response.content.decode() or "最多" in response.content.decode()
    assert client.post(reverse("dispatch:discuss", args=[case.number]),
                       {"text": "a\x00b"}).status_code == 400
    assert client.get(reverse("dispatch:discuss", args=[case.number])).status_code == 405
    assert not CaseMessage.objects.exists()


def test_an_archived_thread_is_read_only(client, world):
    case = drive_to(world, State.ARCHIVED)
    client.force_login(world.clerk)  # the clerk who registered it reads the closed file
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "内部沟通只能查看" in page and 'action="/dispatch/cases/' not in page
    response = write(client, case, "补充一句")
    assert response.status_code == 302 and not CaseMessage.objects.exists()


def test_a_confidential_petitioner_s_name_is_masked_for_the_department(client, world):
    person = PetitionerFactory(name="欧阳秘密", phone="13700002222")
    case = register(world, petitioner=person, is_confidential=True)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk)
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    post_message(actor=world.dispatcher, case_id=case.pk,
                 text="信访人欧阳秘密（13700002222）情绪激动，请注意方式。")
    client.force_login(world.handler)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "情绪激动" in page and "欧阳秘密" not in page and "13700002222" not in page


def test_a_notification_carries_no_text_of_the_message(world):
    case = drive_to(world, State.IN_HANDLING)
    post_message(actor=world.dispatcher, case_id=case.pk, text="信访人电话13800138001，请尽快联系")
    from cases.models import Delivery

    assert not Notification.objects.filter(body__contains="13800138001").exists()
    assert not Delivery.objects.filter(body__contains="13800138001").exists()
