from datetime import timedelta

from django.urls import reverse

from cases.models import Case, State
from dispatch import services
from intake import query_codes
from tests.factories import drive_to


def test_a_supervisor_approves_an_extension_and_the_petitioner_sees_why(client, world):
    case = drive_to(world, State.IN_HANDLING)
    extension = services.request_extension(actor=world.handler, case_id=case.pk,
                                           reason="需等待房屋安全鉴定结果",
                                           requested_due_at=case.due_at + timedelta(days=5))
    client.force_login(world.supervisor)
    assert "需等待房屋安全鉴定结果" in client.get(reverse("dispatch:supervision")).content.decode()
    client.post(reverse("dispatch:decide_extension", args=[extension.pk]),
                {"decision": "approve", "note": "同意"})
    case.refresh_from_db()
    assert case.extension_count == 1
    client.logout()
    page = client.post(reverse("intake:public_track"),
                       {"number": case.number, "code": query_codes.issue(case)}).content.decode()
    assert "经批准延期至" in page and "需等待房屋安全鉴定结果" in page


def test_a_refusal_without_a_reason_is_not_taken(client, world):
    case = drive_to(world, State.IN_HANDLING)
    extension = services.request_extension(actor=world.handler, case_id=case.pk, reason="人手不足",
                                           requested_due_at=case.due_at + timedelta(days=2))
    client.force_login(world.supervisor)
    response = client.post(reverse("dispatch:decide_extension", args=[extension.pk]),
                           {"decision": "refuse", "note": ""}, follow=True)
    assert "不同意延期须说明理由" in response.content.decode()
    extension.refresh_from_db()
    assert extension.state == "pending"


def test_a_supervisor_instructs_an_escalated_case(client, world):
    case = drive_to(world, State.ACCEPTED)
    services.escalate_case(actor=world.dispatcher, case_id=case.pk)
    client.force_login(world.supervisor)
    assert case.number in client.get(reverse("dispatch:supervision")).content.decode()
    client.post(reverse("dispatch:instruct", args=[case.number]),
                {"instruction": "请城管局牵头，住建局配合，一周内答复"})
    assert Case.objects.get(pk=case.pk).instruction.startswith("请城管局牵头")


def test_only_supervisors_decide(client, world):
    client.force_login(world.dispatcher)
    assert client.get(reverse("dispatch:supervision")).status_code == 403
