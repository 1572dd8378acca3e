"""Two-stage answers (T4): the next steps within 15 working days, then the final result
within 60 days of acceptance; both swept, both counted; the visit follows the final."""

from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.models import CaseEvent, Notification, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from oversight import dashboard
from oversight.figures import figures_from_scratch, refresh_figures, stored_figures
from oversight.services import sweep_deadlines
from tests.factories import register


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def t4_in_handling(world, travel):
    travel.to(local(2026, 3, 2, 9, 0))  # a Monday: next steps due 23 March, final 1 May
    case = register(world)
    intake_acts.accept_case(actor=world.clerk, case_id=case.pk, tier_code="T4")
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                lead_department_id=world.a.pk)
    return dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)


def approved(world, case, result="已制定整改方案"):
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings=result,
                                opinion=result, result=result, is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)


def reply(world, case, next_steps=""):
    return feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, channel="phone",
                                    content="答复", next_steps=next_steps).case


def steps(case, step):
    return CaseEvent.objects.filter(case=case, action=f"escalation_{step}").count()


def test_the_first_reply_must_give_the_next_steps(world, travel):
    case = t4_in_handling(world, travel)
    approved(world, case)
    with pytest.raises(ValidationError) as error:
        reply(world, case)
    assert "next_steps" in error.value.message_dict


def test_the_next_steps_reply_keeps_the_case_open_for_the_final_result(world, travel):
    case = t4_in_handling(world, travel)
    assert case.due_at == local(2026, 3, 23, 9, 0)
    assert case.planned_final_due_at == local(2026, 5, 1, 9, 0)
    approved(world, case)
    travel.to(local(2026, 3, 16, 10, 0))
    case = reply(world, case, next_steps="4月底前完成整改并答复结果")
    assert case.state == State.IN_HANDLING and case.review_stage == ""
    assert case.replied_at == local(2026, 3, 16, 10, 0)
    assert case.final_due_at == local(2026, 5, 1, 9, 0)
    assert case.final_replied_at is None and case.visit_due_at is None
    assert case.deadline_in_force == case.final_due_at and not case.is_overdue
    # The final result's warning at 75 % of its 60 days: 16 April 09:00.
    assert case.next_action_at == local(2026, 4, 16, 9, 0)
    assert Notification.objects.filter(case=case, kind="next_steps_replied",
                                       recipient=world.handler).exists()
    # The first stage was answered: its overdue step never comes.
    travel.to(local(2026, 3, 24, 9, 0))
    assert sweep_deadlines() == 0


def test_the_final_result_is_swept_once_and_the_visit_follows_it(world, travel):
    case = t4_in_handling(world, travel)
    approved(world, case)
    travel.to(local(2026, 3, 16, 10, 0))
    case = reply(world, case, next_steps="4月底前答复结果")
    travel.to(local(2026, 4, 17, 9, 0))
    sweep_deadlines()
    sweep_deadlines()
    assert steps(case, "final_warning") == 1 and steps(case, "final_overdue") == 0
    travel.to(local(2026, 5, 2, 9, 0))
    sweep_deadlines()
    sweep_deadlines()
    assert steps(case, "final_warning") == 1 and steps(case, "final_overdue") == 1
    assert Notification.objects.filter(case=case, kind="final_overdue",
                                       recipient=world.supervisor).count() == 1
    case.refresh_from_db()
    assert case.is_overdue
    travel.to(local(2026, 5, 6, 10, 0))  # a Wednesday after the Labour Day holiday
    approved(world, case, result="已整改完毕")
    case = reply(world, case)
    assert case.state == State.REPLIED
    assert case.final_replied_at == local(2026, 5, 6, 10, 0)
    assert case.replied_at == local(2026, 3, 16, 10, 0)  # the next steps' stays
    assert case.visit_due_at == local(2026, 5, 7, 10, 0)


def test_both_stages_are_counted(world, travel):
    # prompt: next steps in time (16 March), final result in time (20 April).
    prompt = t4_in_handling(world, travel)
    approved(world, prompt)
    # slow: next steps after 23 March, final result after 1 May.
    slow = t4_in_handling(world, travel)
    approved(world, slow)
    travel.to(local(2026, 3, 16, 10, 0))
    prompt = reply(world, prompt, next_steps="整改中")
    travel.to(local(2026, 3, 24, 9, 0))
    sweep_deadlines()                       # slow's first stage overdue
    slow = reply(world, slow, next_steps="整改中")
    travel.to(local(2026, 4, 20, 10, 0))
    approved(world, prompt, result="已整改")
    prompt = reply(world, prompt)
    feedback_acts.record_visit(actor=world.clerk, case_id=prompt.pk, method="phone",
                               reached=True, is_solved=True, satisfaction="satisfied")
    travel.to(local(2026, 5, 2, 9, 0))
    sweep_deadlines()                       # slow's final result overdue
    refresh_figures()
    totals = dashboard.totals(dashboard.Scope(start=local(2026, 3, 1).date(),
                                              end=local(2026, 3, 31).date()))
    assert totals["deadline_counted"] == 2 and totals["on_time"] == 1  # the next steps
    assert totals["final_counted"] == 2      # prompt answered, slow past its deadline
    assert totals["final_on_time"] == 1      # prompt
    assert totals["final_on_time_rate"] == 50.0
    assert totals["visits_due"] == 1 and totals["visits_on_time"] == 1  # prompt, the final
    assert stored_figures() == figures_from_scratch()


def test_the_case_page_shows_both_stages(world, travel, client):
    from django.urls import reverse

    case = t4_in_handling(world, travel)
    approved(world, case)
    travel.to(local(2026, 3, 16, 10, 0))
    reply(world, case, next_steps="整改中")
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "已于 2026-03-16 10:00 答复" in page and "2026-05-01 09:00 前答复" in page
