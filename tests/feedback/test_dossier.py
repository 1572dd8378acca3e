import re
import subprocess

from django.urls import reverse

from cases.models import State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from tests.factories import drive_to


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def test_the_dossier_holds_every_section_and_every_event(client, world):
    from dispatch import services as dispatch_services
    from feedback import services as feedback_services

    case = drive_to(world, State.IN_HANDLING)
    dispatch_services.add_note(actor=world.handler, case_id=case.pk, kind="contact",
                               text="电话联系信访人", contact_method="phone", reached=True)
    dispatch_services.submit_result(actor=world.handler, case_id=case.pk, findings="核实属实",
                                    opinion="责令整改", result="摊位已撤离", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    feedback_services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="letter",
                                 content="经核实，摊位已撤离。")
    feedback_services.record_visit(actor=world.clerk, case_id=case.pk, method="phone",
                                   reached=True, is_solved=True, satisfaction="satisfied",
                                   comments="很满意")
    case = feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk)
    client.force_login(world.supervisor)
    response = client.get(reverse("feedback:dossier", args=[case.number]))
    assert response["Content-Type"] == "application/pdf"
    text = re.sub(r"\s", "", pdf_text(response.content))  # layout spaces and wraps
    for section in ("信访案卷", "信访登记表", "受理告知书", "交办单", "办理记录", "办理结果",
                    "答复意见书", "回访记录", "案件全部记录"):
        assert section in text, section
    assert "第1页/共" in text
    for event in case.events.all():
        assert event.action_label in text, event.action
    assert case.number in text and "经核实，摊位已撤离。" in text and "很满意" in text


def test_a_re_dispatched_case_keeps_each_dispatch_slip(client, world):

    case = drive_to(world, State.RETURNED)  # first dispatched to A, returned
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.b.pk)
    client.force_login(world.supervisor)
    text = re.sub(r"\s", "", pdf_text(client.get(reverse("feedback:dossier",
                                                         args=[case.number])).content))
    assert "交办单（第1次）" in text and "交办单（第2次）" in text
    assert "城市管理局" in text and "住房和城乡建设局" in text
