"""The table of legal and illegal moves: every act from every state."""

import pytest
from django.forms.models import model_to_dict

from cases.exceptions import CaseTransitionError
from cases.models import ENDED_AT_INTAKE, OPEN_STATES, Case, CaseEvent, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts
from tests.factories import drive_to, register


def _escalate_first(w, case):
    if case.state == State.ACCEPTED:
        dispatch_acts.escalate_case(actor=w.dispatcher, case_id=case.pk)


def _approve_first(w, case):
    if case.state == State.RESULT_SUBMITTED:
        dispatch_acts.approve_result(actor=w.head, case_id=case.pk)
        dispatch_acts.approve_result(actor=w.dispatcher, case_id=case.pk)


def _merge_target(w):
    return register(w).number


# act: (legal source states, preparation run first (or None), the act itself)
ACTS = {
    "accept": ({State.RECEIVED}, None,
               lambda w, c: intake_acts.accept_case(actor=w.clerk, case_id=c.pk)),
    "answer_on_the_spot": ({State.RECEIVED}, None,
                           lambda w, c: intake_acts.answer_on_the_spot(
                               actor=w.clerk, case_id=c.pk, answer="已解答")),
    "refuse": ({State.RECEIVED}, None,
               lambda w, c: intake_acts.refuse_case(actor=w.clerk, case_id=c.pk,
                                                 reason="属诉讼事项", guidance="请向法院起诉")),
    "merge": ({State.RECEIVED, State.ACCEPTED}, None,
              lambda w, c: intake_acts.merge_case(actor=w.clerk, case_id=c.pk,
                                               into_number=_merge_target(w))),
    "withdraw": (set(OPEN_STATES), None,
                 lambda w, c: intake_acts.withdraw_case(actor=w.clerk, case_id=c.pk,
                                                     reason="信访人撤回")),
    "dispatch": ({State.ACCEPTED, State.RETURNED}, None,
                 lambda w, c: dispatch_acts.dispatch_case(actor=w.dispatcher, case_id=c.pk,
                                                     lead_department_id=w.b.pk)),
    "handle_directly": ({State.ACCEPTED}, None,
                        lambda w, c: dispatch_acts.handle_directly(actor=w.dispatcher,
                                                              case_id=c.pk)),
    "escalate": ({State.ACCEPTED}, None,
                 lambda w, c: dispatch_acts.escalate_case(actor=w.dispatcher, case_id=c.pk)),
    "instruct": ({State.ACCEPTED}, _escalate_first,
                 lambda w, c: dispatch_acts.instruct_case(actor=w.supervisor, case_id=c.pk,
                                                     instruction="请城管局牵头办理")),
    "department_accept": ({State.DISPATCHED}, None,
                          lambda w, c: dispatch_acts.department_accept_case(actor=w.handler,
                                                                       case_id=c.pk)),
    "return": ({State.DISPATCHED}, None,
               lambda w, c: dispatch_acts.return_case(actor=w.handler, case_id=c.pk,
                                                 reason="不属本部门")),
    "refuse_return": ({State.RETURNED}, None,
                      lambda w, c: dispatch_acts.refuse_return(actor=w.dispatcher, case_id=c.pk,
                                                          reason="属城管职责")),
    "submit_result": ({State.IN_HANDLING}, None,
                      lambda w, c: dispatch_acts.submit_result(actor=w.handler, case_id=c.pk,
                                                          findings="已处理", opinion="已处理", result="已处理", is_solved=True).case),
    "approve_result": ({State.RESULT_SUBMITTED}, None,
                       lambda w, c: dispatch_acts.approve_result(actor=w.head, case_id=c.pk)),
    "send_back": ({State.RESULT_SUBMITTED}, None,
                  lambda w, c: dispatch_acts.send_back_result(actor=w.head, case_id=c.pk,
                                                         note="请补充现场照片")),
    "reply": ({State.RESULT_SUBMITTED}, _approve_first,
              lambda w, c: feedback_acts.send_reply(actor=w.dispatcher, case_id=c.pk,
                                                        content="已处理完毕", channel="phone").case),
    "record_return_visit": ({State.REPLIED}, None,
                            lambda w, c: feedback_acts.record_visit(
                                actor=w.clerk, method="phone", reached=True, case_id=c.pk, is_solved=True,
                                satisfaction="satisfied").case),
    "reopen": ({State.VISITED}, None,
               lambda w, c: feedback_acts.reopen_case(actor=w.dispatcher, case_id=c.pk,
                                                 reason="督查发现问题未解决")),
    "archive": ({State.VISITED, *ENDED_AT_INTAKE}, None,
                lambda w, c: feedback_acts.archive_case(actor=w.dispatcher, case_id=c.pk)),
}

EXPECTED_TARGET = {
    "accept": State.ACCEPTED, "answer_on_the_spot": State.ANSWERED, "refuse": State.REFUSED,
    "merge": State.MERGED, "withdraw": State.WITHDRAWN, "dispatch": State.DISPATCHED,
    "handle_directly": State.IN_HANDLING, "escalate": State.ACCEPTED,
    "instruct": State.ACCEPTED, "department_accept": State.IN_HANDLING,
    "return": State.RETURNED, "refuse_return": State.DISPATCHED,
    "submit_result": State.RESULT_SUBMITTED, "approve_result": State.RESULT_SUBMITTED,
    "send_back": State.IN_HANDLING, "reply": State.REPLIED,
    "record_return_visit": State.VISITED, "reopen": State.IN_HANDLING,
    "archive": State.ARCHIVED,
}

CASES = [(act, state) for act in ACTS for state in State.values]


def snapshot(case_id):
    case = Case.objects.get(pk=case_id)
    return model_to_dict(case), case.state, CaseEvent.objects.filter(case_id=case_id).count()


@pytest.mark.parametrize(("act", "state"), CASES)
def test_each_act_is_allowed_exactly_from_its_states(world, act, state):
    legal_states, prepare, perform = ACTS[act]
    case = drive_to(world, state)
    if prepare:
        prepare(world, case)
    before = snapshot(case.pk)
    if state in legal_states:
        perform(world, case)
        case.refresh_from_db()
        assert case.state == EXPECTED_TARGET[act]
        last = case.events.last()
        assert (last.from_state, last.to_state) == (state, EXPECTED_TARGET[act])
    else:
        with pytest.raises(CaseTransitionError) as refused:
            perform(world, case)
        assert case.number in str(refused.value)
        assert snapshot(case.pk) == before, "a refused move must change nothing"


def test_every_state_of_design_is_reached_by_some_act():
    reachable = {State.RECEIVED} | set(EXPECTED_TARGET.values())
    assert reachable == set(State.values)


def test_nothing_moves_out_of_archived(world):
    case = drive_to(world, State.ARCHIVED)
    for act, (legal, _, perform) in ACTS.items():
        assert State.ARCHIVED not in legal
        with pytest.raises(CaseTransitionError):
            perform(world, case)
    assert Case.objects.get(pk=case.pk).state == State.ARCHIVED
