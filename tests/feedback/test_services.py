"""Reply and return visit: the office's rules, one per test."""

import pytest
from django.core.exceptions import ValidationError

from cases.exceptions import CaseTransitionError
from cases.models import Case, Notification, State
from feedback import services
from feedback.models import Reply, ReturnVisit
from dispatch import services as dispatch_acts
from tests.factories import drive_to


def approved(world):
    case = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    return case


def test_a_reply_records_the_unit_and_the_time(world):
    case = approved(world)
    reply = services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="letter",
                                content="经城市管理局核实，摊位已清理。")
    case.refresh_from_db()
    assert case.state == State.REPLIED and case.replied_at == reply.sent_at
    assert reply.handling_unit == "城市管理局"


def test_a_reply_with_next_steps_carries_them(world):
    reply = services.send_reply(actor=world.dispatcher, case_id=approved(world).pk,
                                channel="phone", content="已启动鉴定程序",
                                next_steps="鉴定完成后十个工作日内答复最终结果")
    assert "鉴定完成后十个工作日内答复最终结果" in Reply.objects.get(pk=reply.pk).full_text


def test_a_reply_with_no_content_is_refused_and_nothing_is_written(world):
    case = approved(world)
    with pytest.raises(ValidationError) as error:
        services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone", content=" ")
    assert "content" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.RESULT_SUBMITTED
    assert not Reply.objects.exists()


def test_the_reply_is_e_mailed_once_when_the_petitioner_gave_an_address(
        world, mailoutbox, django_capture_on_commit_callbacks):
    case = approved(world)
    world.petitioner.email = "liu@example.org"  # given after registration: no code e-mail
    world.petitioner.save()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(actor=world.dispatcher, case_id=case.pk,
                                    channel="email", content="问题已解决")
    assert [m.to for m in mailoutbox] == [["liu@example.org"]]
    from cases.services import send_deliveries

    assert send_deliveries() == 0  # not twice
    assert len(mailoutbox) == 1
    assert reply.case.deliveries.get().state == "sent"
    assert "/public/rate/?t=" in mailoutbox[0].body  # the signed rating link


def test_a_visit_on_a_case_not_yet_replied_is_refused(world):
    case = drive_to(world, State.IN_HANDLING)
    with pytest.raises(CaseTransitionError):
        services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                              is_solved=True, satisfaction="satisfied")
    assert not ReturnVisit.objects.exists()


def test_an_unreachable_petitioner_lets_the_case_be_archived_after_the_attempts(world,
                                                                               settings):
    settings.VISIT_MAX_ATTEMPTS = 2
    case = drive_to(world, State.REPLIED)
    services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=False,
                          comments="无人接听")
    with pytest.raises(CaseTransitionError, match="回访未联系上的次数还不够"):
        services.archive_case(actor=world.dispatcher, case_id=case.pk)
    services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=False,
                          comments="停机")
    case = services.archive_case(actor=world.dispatcher, case_id=case.pk)
    assert case.state == State.ARCHIVED
    assert list(case.return_visits.values_list("reached", flat=True)) == [False, False]


def test_a_second_unsatisfied_verdict_alerts_the_supervisors(world):
    case = drive_to(world, State.REPLIED)
    services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=False, satisfaction="unsatisfied", comments="没解决")
    assert not Notification.objects.filter(kind="unsatisfied_again").exists()
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="再次整改", opinion="再次整改", result="再次整改",
                                is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone",
                        content="已再次整改")
    services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=False, satisfaction="unsatisfied", comments="还是不行")
    alert = Notification.objects.get(kind="unsatisfied_again", recipient=world.supervisor)
    assert "第2次" in alert.title
    assert Case.objects.get(pk=case.pk).reopen_count == 2


def rate(case, **answer):
    token = services.rating_token(case.replies.order_by("-sent_at", "-pk").first())
    services.rate_by_link(token=token, **answer)
    return Case.objects.get(pk=case.pk)


def test_the_petitioner_s_rating_through_the_link_counts_as_the_return_visit(world):
    case = rate(drive_to(world, State.REPLIED), is_solved=True, satisfaction="satisfied",
                comments="很满意")
    assert case.state == State.VISITED
    visit = case.return_visits.get()
    assert (visit.method, visit.visited_by, visit.comments) == ("public", None, "很满意")
    assert visit.rating_link_use.reply == case.replies.get()  # made through the link


def test_an_unsatisfied_rating_reopens_the_case(world):
    case = rate(drive_to(world, State.REPLIED), is_solved=False, satisfaction="unsatisfied",
                comments="问题没解决")
    assert case.state == State.IN_HANDLING and case.reopen_count == 1


def test_a_rating_link_works_once(world):
    case = drive_to(world, State.REPLIED)
    token = services.rating_token(case.replies.get())
    services.rate_by_link(token=token, is_solved=False, satisfaction="unsatisfied")
    with pytest.raises(ValidationError) as error:
        services.rate_by_link(token=token, is_solved=True, satisfaction="satisfied")
    assert "已经使用过" in error.value.message_dict["token"][0]
    assert ReturnVisit.objects.count() == 1


def test_an_altered_or_expired_rating_link_rates_nothing(world, travel, settings):
    case = drive_to(world, State.REPLIED)
    token = services.rating_token(case.replies.get())
    with pytest.raises(ValidationError):
        services.rate_by_link(token=token[:-2] + "xx", is_solved=True, satisfaction="satisfied")
    travel.shift(days=settings.RATING_LINK_MAX_AGE_DAYS + 1)
    with pytest.raises(ValidationError) as error:
        services.rate_by_link(token=token, is_solved=True, satisfaction="satisfied")
    assert "过期" in error.value.message_dict["token"][0]
    assert Case.objects.get(pk=case.pk).state == State.REPLIED


def test_a_link_of_an_earlier_reply_cannot_rate_the_new_one(world):
    case = drive_to(world, State.REPLIED)
    first = services.rating_token(case.replies.get())
    services.rate_by_link(token=first, is_solved=False, satisfaction="unsatisfied")
    reply_again(world, case)
    with pytest.raises(ValidationError):
        services.rate_by_link(token=first, is_solved=True, satisfaction="satisfied")
    assert rate(case, is_solved=True, satisfaction="satisfied").state == State.VISITED


def test_a_case_visited_by_phone_cannot_be_rated_by_its_link(world):
    case = drive_to(world, State.REPLIED)
    token = services.rating_token(case.replies.get())
    services.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                          is_solved=True, satisfaction="satisfied")
    with pytest.raises(CaseTransitionError):
        services.rate_by_link(token=token, is_solved=False, satisfaction="unsatisfied")


def reply_again(world, case):
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="再次核查",
                                opinion="继续整改", result="已彻底整改", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    services.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone",
                        content="已彻底整改")
