import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from cases.models import Attachment, Case, Notification, Petitioner, State
from intake import selectors, services
from intake.models import IntakeSubmission
from intake.services import Outcome
from tests.factories import build_world, drive_to, register, run_together

from .helpers import fake_pdf, matter, pdf, petitioner_details, token


def intake(world, **overrides):
    arguments = {"actor": world.clerk, "submission_token": token(),
                 "petitioner": petitioner_details(), "matter": matter(world)}
    arguments.update(overrides)
    return services.register_intake(**arguments)


@pytest.mark.parametrize(
    ("outcome", "extra", "state", "actions"),
    [
        (Outcome.LEAVE, {}, State.RECEIVED, ["register"]),
        (Outcome.ACCEPT, {}, State.ACCEPTED, ["register", "accept"]),
        (Outcome.ANSWER, {"answer": "可到政务服务中心办理"}, State.ANSWERED,
         ["register", "answer_on_the_spot"]),
        (Outcome.REFUSE, {"refusal_reason": "属诉讼事项", "refusal_guidance": "请向法院起诉"},
         State.REFUSED, ["register", "refuse"]),
    ],
)
def test_each_outcome_ends_in_its_state(world, outcome, extra, state, actions):
    case = intake(world, outcome=outcome, **extra)
    assert case.state == state
    assert list(case.events.values_list("action", flat=True)) == actions


def test_merging_at_intake_points_at_the_earlier_case(world):
    earlier = register(world)
    case = intake(world, outcome=Outcome.MERGE, merge_into=earlier.number)
    assert case.state == State.MERGED and case.merged_into == earlier


def test_a_missing_outcome_detail_is_named_as_the_form_names_it(world):
    with pytest.raises(ValidationError) as error:
        intake(world, outcome=Outcome.REFUSE, refusal_reason="属诉讼事项")
    assert "refusal_guidance" in error.value.message_dict
    assert not Case.objects.exists() and not Petitioner.objects.filter(name="孙丽华").exists()


def test_the_same_token_twice_makes_one_case(world):
    same = token()
    first = intake(world, submission_token=same)
    second = intake(world, submission_token=same)
    assert first.pk == second.pk
    assert Case.objects.count() == 1


def test_two_simultaneous_submissions_of_one_form_make_one_case(committed_db, postgres_only):
    world = build_world()
    same = token()
    numbers = run_together(*[lambda: intake(world, submission_token=same).number] * 2)
    assert numbers[0] == numbers[1] and str(numbers[0]).startswith("XF-")
    assert Case.objects.count() == 1 and IntakeSubmission.objects.count() == 1


def test_a_bad_phone_is_named_and_nothing_is_written(world):
    with pytest.raises(ValidationError) as error:
        intake(world, petitioner=petitioner_details(phone="12345"))
    assert "phone" in error.value.message_dict
    assert not Case.objects.exists() and not IntakeSubmission.objects.exists()


def test_attachments_are_kept_and_judged_by_content(world):
    case = intake(world, attachments=[pdf()])
    attachment = case.attachments.get()
    assert (attachment.content_type, attachment.original_name) == ("application/pdf",
                                                                   "来信扫描件.pdf")
    with pytest.raises(ValidationError) as error:
        intake(world, attachments=[pdf(), fake_pdf()])
    assert "伪装.pdf" in error.value.message_dict["attachments"][0]
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1


@override_settings(ATTACHMENT_MAX_BYTES=20)
def test_an_attachment_over_the_limit_is_refused(world):
    with pytest.raises(ValidationError) as error:
        intake(world, attachments=[pdf()])
    assert "大小限制" in error.value.message_dict["attachments"][0]
    assert not Case.objects.exists()


def test_a_collective_visit_alerts_every_supervisor_at_once(world, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    world.supervisor.email = "supervisor@example.org"
    world.supervisor.save()
    with django_capture_on_commit_callbacks(execute=True):
        case = intake(world, matter=matter(world, is_collective=True, head_count=12),
                      representatives=[{"name": "张三", "phone": "13800000001", "id_number": ""}])
    alert = Notification.objects.get(recipient=world.supervisor)
    assert alert.kind == "collective_visit" and case.number in alert.title
    assert [m.subject for m in mailoutbox] == [alert.title]
    assert alert.deliveries.get().state == "sent"
    assert case.representatives.get().name == "张三"


def test_an_abnormal_visit_alerts_the_supervisors(world):
    intake(world, matter=matter(world, is_abnormal=True))
    assert Notification.objects.filter(recipient=world.supervisor, kind="abnormal_visit").exists()


def test_no_alert_leaves_when_the_registration_fails(world, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        intake(world, matter=matter(world, is_collective=True, head_count=12),
               outcome=Outcome.ANSWER, answer="")
    assert not Notification.objects.exists() and mailoutbox == []


@pytest.mark.parametrize(("outcome", "extra"), [
    (Outcome.ANSWER, {"answer": ""}),
    (Outcome.REFUSE, {"refusal_reason": "属诉讼事项", "refusal_guidance": ""}),
    (Outcome.MERGE, {"merge_into": "XF-2000-000001"}),
])
def test_an_outcome_that_fails_undoes_the_whole_registration(world, outcome, extra):
    """The registration's parts share its transaction: the case, its events, history,
    query code, the petitioner and the claimed token all go, and the token works again."""
    from cases.models import CaseEvent, Delivery
    from intake.models import QueryCode

    again = token()
    with pytest.raises(ValidationError):
        intake(world, submission_token=again, outcome=outcome, **extra)
    assert not Case.objects.exists() and not CaseEvent.objects.exists()
    assert not Case.history.exists() and not QueryCode.objects.exists()
    assert not Delivery.objects.exists()
    assert not Petitioner.objects.filter(phone=petitioner_details()["phone"]).exists()
    assert not IntakeSubmission.objects.filter(token=again).exists()
    assert intake(world, submission_token=again).state == State.RECEIVED


def test_more_than_five_representatives_are_refused(world):
    people = [{"name": f"代表{i}", "phone": "", "id_number": ""} for i in range(6)]
    with pytest.raises(ValidationError) as error:
        intake(world, matter=matter(world, is_collective=True, head_count=30),
               representatives=people)
    assert "representatives" in error.value.message_dict


def test_a_known_id_number_reuses_the_petitioner_and_never_rewrites_them(world):
    from cases.exceptions import RecordConflict

    first = intake(world, petitioner=petitioner_details(id_number="11010519491231002X"))
    second = intake(world, petitioner=petitioner_details(id_number="11010519491231002x"))
    assert first.petitioner_id == second.petitioner_id
    # Another phone with that number: the clerk must choose the record (then it updates).
    with pytest.raises(RecordConflict):
        intake(world, petitioner=petitioner_details(id_number="11010519491231002X",
                                                    phone="13700001111"))
    assert Petitioner.objects.get(pk=first.petitioner_id).phone != "13700001111"


def test_a_chosen_petitioner_is_reused_and_updated(world):
    case = intake(world, petitioner_id=world.petitioner.pk,
                  petitioner=petitioner_details(name=world.petitioner.name,
                                                phone=world.petitioner.phone, address="新地址"))
    assert case.petitioner == world.petitioner
    world.petitioner.refresh_from_db()
    assert world.petitioner.address == "新地址"


def test_repeat_detection_finds_a_rephrased_complaint_by_the_same_phone(world):
    earlier = intake(world, matter=matter(
        world, summary="小区门口夜市占道经营，噪音大",
        content="幸福路12号院门口每晚有十余个摊位占道经营，至凌晨仍有噪音，影响老人休息。"))
    intake(world, petitioner=petitioner_details(phone="13600000000", name="别人"),
           matter=matter(world, summary="餐馆油烟", content="油烟直排，无法开窗"))
    found = selectors.similar_cases(
        phone="139 1111 2222",
        text="我家小区幸福路12号院门口晚上总有很多小摊贩摆摊，一直吵到后半夜，老人睡不好觉",
    )
    assert found[0].case == earlier and found[0].same_petitioner
    assert found[0].score >= 30


def test_repeat_detection_finds_similar_text_from_another_phone(world):
    earlier = intake(world, matter=matter(
        world, summary="阳光花园东门流动摊贩占道",
        content="阳光花园东门早晚高峰流动摊贩占用人行道，行人只能走机动车道。"))
    found = selectors.similar_cases(phone="13500000000",
                                    text="阳光花园东门人行道被流动摊贩占用，行人只能走机动车道")
    assert [s.case for s in found] == [earlier]
    assert not found[0].same_petitioner
    assert selectors.similar_cases(phone="13500000000", text="供暖温度不够，家里很冷") == []


def test_the_public_submission_waits_in_received(world):
    case = services.submit_online(submission_token=token(),
                                  petitioner={"name": "周明", "phone": "13622223333"},
                                  matter={"summary": "路灯不亮", "content": "小区路灯坏了"})
    assert (case.state, case.channel, case.registered_by) == (State.RECEIVED, "web", None)


def test_the_registration_s_answer_offers_sharing_files_only_when_it_brought_some(world):
    """The acts answered with a registration (the API's `acts`) are asked of the case
    just registered: one registered without files has none to share (nothing is read),
    one with a scanned letter offers 提供附件给部门."""
    from cases.acts import available_acts

    def acts_of(case):
        return {act.name for act in available_acts(world.clerk, case)}

    bare = services.register_intake(
        actor=world.clerk, submission_token=token(), petitioner=petitioner_details(),
        matter=matter(world), outcome=services.Outcome.ACCEPT)
    with_files = services.register_intake(  # a confidential petitioner's letter
        actor=world.clerk, submission_token=token(),
        petitioner=petitioner_details(wants_confidentiality=True),
        matter=matter(world, channel="letter"), attachments=[pdf()],
        outcome=services.Outcome.ACCEPT)
    assert "share_attachment" not in acts_of(bare)
    assert "share_attachment" in acts_of(with_files)
