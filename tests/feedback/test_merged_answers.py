"""Every petitioner answered: a case merged into another gets the main case's reply by its
own petitioner's channel, gives its own verdict, and is counted per petitioner (the matter
once)."""

import pytest
from django.urls import reverse

from cases.models import Case, Channel, Delivery, DeliveryChannel, Notification, State
from dispatch import services as dispatch_acts
from feedback import merged as merged_answers
from feedback import services
from feedback.models import Reply, ReturnVisit
from intake import query_codes
from intake import services as intake_acts
from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
from tests.factories import PetitionerFactory, drive_to, register

MAIN_ANSWER = "刘建国同志：经城市管理局核实，夜市摊位已清理，今后每晚巡查。如有疑问请拨打13800138001。"


@pytest.fixture
def merged_world(world):
    """The main case (its result approved) and two cases merged into it: a co-petitioner
    who wrote by e-mail, and the same matter by phone from someone with a mobile."""
    main = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=main.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=main.pk)
    world.by_mail = PetitionerFactory(name="王秀英", phone="13900000001", email="wang@example.org")
    world.by_phone = PetitionerFactory(name="赵志强", phone="13900000002")
    world.mail_case = _merged(world, main, world.by_mail, Channel.EMAIL)
    world.phone_case = _merged(world, main, world.by_phone, Channel.PHONE)
    world.main = main
    return world


def _merged(world, main, petitioner, channel):
    case = register(world, petitioner=petitioner, channel=channel)
    return intake_acts.merge_case(actor=world.clerk, case_id=case.pk, into_number=main.number)


def _answers(case):
    """The case's outbox rows other than registration's (the query code e-mail)."""
    return Delivery.objects.filter(case=case).exclude(subject__contains="已登记")


def _reply(world):
    return services.send_reply(actor=world.dispatcher, case_id=world.main.pk, channel="letter",
                               content=MAIN_ANSWER)


def _track(client, case):
    return client.post(reverse("intake:public_track"),
                       {"number": case.number, "code": query_codes.issue(case)})


def test_each_merged_petitioner_gets_exactly_one_answer_by_their_own_channel(merged_world):
    w = merged_world
    _reply(w)
    mail = _answers(w.mail_case).get()
    sms = _answers(w.phone_case).get()
    assert (mail.channel, mail.to) == (DeliveryChannel.EMAIL, "wang@example.org")
    assert (sms.channel, sms.to) == (DeliveryChannel.SMS, "13900000002")
    assert "夜市摊位已清理" in mail.body and "夜市摊位已清理" in sms.body
    assert "/public/rate/?t=" in mail.body
    for case, channel in ((w.mail_case, "email"), (w.phone_case, "sms")):
        reply = Reply.objects.get(case=case)
        assert reply.channel == channel and reply.handling_unit == "城市管理局"
        assert Case.objects.get(pk=case.pk).state == State.MERGED
        assert case.events.filter(action="merged_reply").count() == 1
    assert w.main.events.filter(action="merged_answered").count() == 2


def test_the_merged_petitioners_tracking_page_shows_the_answer(client, merged_world):
    w = merged_world
    _reply(w)
    page = _track(client, w.mail_case).content.decode()
    assert "夜市摊位已清理" in page and "城市管理局" in page
    assert "已答复（与同一事项合并办理）" in page
    assert "/public/rate/?t=" in page  # their own rating link


def test_the_main_petitioners_identity_never_reaches_a_merged_petitioner(client, merged_world):
    w = merged_world
    w.petitioner.id_number = "110101198001010019"
    w.petitioner.save()
    _reply(w)
    page = _track(client, w.phone_case).content.decode()
    texts = [page, *_answers(w.mail_case).values_list("body", flat=True),
             *_answers(w.phone_case).values_list("body", flat=True),
             *Reply.objects.filter(case__in=[w.mail_case, w.phone_case])
             .values_list("content", flat=True)]
    for text in texts:
        assert "刘建国" not in text and "13800138001" not in text
        assert "110101198001010019" not in text
    assert "赵志强同志" in Reply.objects.get(case=w.phone_case).content


def test_a_case_merged_after_the_reply_gets_it_at_merge(client, merged_world):
    w = merged_world
    _reply(w)
    late = _merged(w, w.main, PetitionerFactory(name="孙丽", phone="13900000003",
                                                email="sun@example.org"), Channel.WEB)
    reply = Reply.objects.get(case=late)
    assert "夜市摊位已清理" in reply.content
    assert late.events.filter(action="merged_reply").count() == 1
    assert "夜市摊位已清理" in _track(client, late).content.decode()


def test_a_letter_or_a_call_is_a_task_for_the_office(merged_world):
    w = merged_world
    letter = _merged(w, w.main, PetitionerFactory(name="周明", phone="0101234567"),
                     Channel.LETTER)
    _reply(w)
    assert Reply.objects.get(case=letter).channel == "letter"
    assert not _answers(letter).exists()
    assert Notification.objects.filter(case=letter, kind="merged_reply").exists()


def test_a_failure_in_the_reply_rolls_everything_back(merged_world, monkeypatch):
    w = merged_world
    told = merged_answers.tell_merged_petitioner

    def fail_on_the_second(case, reply):
        if case.pk == w.phone_case.pk:
            raise RuntimeError("SMS record could not be written")
        told(case, reply)

    monkeypatch.setattr(merged_answers, "tell_merged_petitioner", fail_on_the_second)
    with pytest.raises(RuntimeError):
        _reply(w)
    assert Case.objects.get(pk=w.main.pk).state == State.RESULT_SUBMITTED
    assert not Reply.objects.exists()
    assert not _answers(w.mail_case).exists() and not _answers(w.phone_case).exists()
    assert not w.mail_case.events.filter(action="merged_reply").exists()


def test_merged_verdicts_are_stored_and_counted_per_petitioner(merged_world):
    w = merged_world
    _reply(w)
    services.record_visit(actor=w.clerk, case_id=w.main.pk, method="phone", reached=True,
                          is_solved=True, satisfaction="satisfied")
    merged_answers.record_merged_visit(actor=w.clerk, case_id=w.phone_case.pk, method="phone",
                                       reached=True, is_solved=False,
                                       satisfaction="unsatisfied", comments="摊位又回来了")
    visit = ReturnVisit.objects.get(case=w.phone_case)
    assert (visit.is_solved, visit.satisfaction) == (False, "unsatisfied")
    assert Case.objects.get(pk=w.phone_case.pk).state == State.MERGED
    assert Case.objects.get(pk=w.main.pk).state == State.VISITED  # not reopened by it
    assert Notification.objects.filter(kind="merged_unsatisfied",
                                       recipient=w.supervisor).exists()
    # A second verdict on the same answer is not offered.
    with pytest.raises(Exception):
        merged_answers.record_merged_visit(actor=w.clerk, case_id=w.phone_case.pk,
                                           method="phone", reached=True, is_solved=True,
                                           satisfaction="satisfied")

    refresh_figures()
    totals = {}
    for counters in stored_figures().values():
        for name, value in counters.items():
            totals[name] = totals.get(name, 0) + value
    assert totals["received"] == 1  # the matter once
    assert totals["invalid"] == 2
    assert totals["petitioners_answered"] == 3
    assert (totals["visited"], totals["solved"], totals["satisfied"]) == (2, 1, 1)
    assert stored_figures() == figures_from_scratch()


def test_a_merged_petitioner_rates_through_their_own_link(client, merged_world):
    w = merged_world
    _reply(w)
    reply = Reply.objects.get(case=w.mail_case)
    token = services.rating_token(reply)
    services.rate_by_link(token=token, is_solved=True, satisfaction="basically")
    assert ReturnVisit.objects.get(case=w.mail_case).method == "public"
    assert Case.objects.get(pk=w.mail_case.pk).state == State.MERGED
    assert w.main.events.filter(action="merged_verdict").count() == 1
    assert "/public/rate/?t=" not in _track(client, w.mail_case).content.decode()
    refresh_figures()
    assert stored_figures() == figures_from_scratch()


def test_the_merged_visit_act_is_offered_on_the_merged_case_only_once_answered(merged_world):
    from cases.acts import available_acts

    w = merged_world
    assert "record_merged_visit" not in [a.name for a in available_acts(w.clerk, w.mail_case)]
    _reply(w)
    case = Case.objects.get(pk=w.mail_case.pk)
    assert "record_merged_visit" in [a.name for a in available_acts(w.clerk, case)]
    assert "record_merged_visit" not in [a.name for a in available_acts(w.handler, case)]
