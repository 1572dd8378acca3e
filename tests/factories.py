"""Factories shared by every app's tests, a helper that drives a case to a state, and
one that starts acts at the same moment."""

import threading

from types import SimpleNamespace

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from factory.django import DjangoModelFactory

from cases.models import Category, Channel, Department, Petitioner, State, TierPolicy
from cases.roles import Role
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from intake import services as intake_acts

PASSWORD = "test-pass-2026"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"员工{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))
        self.save()


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"测试部门{n}")
    code = factory.Sequence(lambda n: f"D{n:03d}")


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"分类{n}")
    parent = factory.SubFactory("tests.factories.TopCategoryFactory")
    default_tier = factory.LazyFunction(lambda: TierPolicy.objects.get(code="T3"))


class TopCategoryFactory(CategoryFactory):
    parent = None
    default_tier = None


class PetitionerFactory(DjangoModelFactory):
    class Meta:
        model = Petitioner

    name = factory.Sequence(lambda n: f"信访人{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")


def build_world() -> SimpleNamespace:
    """An office, two departments, one person per role, and a category routed to A."""
    office = DepartmentFactory(name="信访办公室", code="OFFICE", is_office=True)
    department_a = DepartmentFactory(name="城市管理局", code="A")
    department_b = DepartmentFactory(name="住房和城乡建设局", code="B")
    world = SimpleNamespace(office=office, a=department_a, b=department_b)
    world.clerk = UserFactory(username="clerk", roles=[Role.CLERK])
    world.dispatcher = UserFactory(username="dispatcher", roles=[Role.DISPATCHER])
    world.supervisor = UserFactory(username="supervisor", roles=[Role.SUPERVISOR])
    world.admin = UserFactory(username="admin", roles=[Role.ADMINISTRATOR], is_staff=True,
                              is_superuser=True)
    world.handler = UserFactory(username="handler", roles=[Role.HANDLER])
    world.head = UserFactory(username="head", roles=[Role.DEPARTMENT_HEAD])
    world.handler_b = UserFactory(username="handler_b", roles=[Role.HANDLER])
    world.head_b = UserFactory(username="head_b", roles=[Role.DEPARTMENT_HEAD])
    department_a.members.add(world.handler)
    department_a.heads.add(world.head)
    department_b.members.add(world.handler_b)
    department_b.heads.add(world.head_b)
    world.category = CategoryFactory(name="占道经营", default_department=department_a)
    world.petitioner = PetitionerFactory(name="刘建国", phone="13800138001")
    return world


def register(world, **overrides):
    arguments = {
        "actor": world.clerk, "channel": Channel.VISIT, "petitioner": world.petitioner,
        "summary": "小区门口夜市占道经营", "content": "每晚摊位占道至凌晨，噪音扰民。",
        "category": world.category,
    }
    arguments.update(overrides)
    return intake_acts.register_case(**arguments)


def drive_to(world, state: str, *, sensitive: bool = False):
    """A fresh case brought to `state` through the services, as the office would."""
    w = world
    case = register(w, is_sensitive=sensitive)
    if state == State.RECEIVED:
        return case
    if state == State.ANSWERED:
        return intake_acts.answer_on_the_spot(actor=w.clerk, case_id=case.pk, answer="已当场解答")
    if state == State.REFUSED:
        return intake_acts.refuse_case(actor=w.clerk, case_id=case.pk, reason="属诉讼事项",
                                    guidance="请向人民法院提起诉讼")
    if state == State.MERGED:
        earlier = register(w)
        return intake_acts.merge_case(actor=w.clerk, case_id=case.pk, into_number=earlier.number)
    case = intake_acts.accept_case(actor=w.clerk, case_id=case.pk)
    if state == State.ACCEPTED:
        return case
    if state == State.WITHDRAWN:
        return intake_acts.withdraw_case(actor=w.clerk, case_id=case.pk, reason="信访人撤回")
    case = dispatch_acts.dispatch_case(actor=w.dispatcher, case_id=case.pk, lead_department_id=w.a.pk)
    if state == State.DISPATCHED:
        return case
    if state == State.RETURNED:
        return dispatch_acts.return_case(actor=w.handler, case_id=case.pk, reason="不属本部门职责")
    case = dispatch_acts.department_accept_case(actor=w.handler, case_id=case.pk)
    if state == State.IN_HANDLING:
        return case
    case = dispatch_acts.submit_result(actor=w.handler, case_id=case.pk, findings="已整改", opinion="已整改", result="已整改",
                                  is_solved=True).case
    if state == State.RESULT_SUBMITTED:
        return case
    dispatch_acts.approve_result(actor=w.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=w.dispatcher, case_id=case.pk)
    if sensitive:
        dispatch_acts.approve_result(actor=w.supervisor, case_id=case.pk)
    case = feedback_acts.send_reply(actor=w.dispatcher, case_id=case.pk, content="已整改",
                                        channel="phone").case
    if state == State.REPLIED:
        return case
    case = feedback_acts.record_visit(actor=w.clerk, method="phone", reached=True, case_id=case.pk, is_solved=True,
                                        satisfaction="satisfied").case
    if state == State.VISITED:
        return case
    if state == State.ARCHIVED:
        return feedback_acts.archive_case(actor=w.dispatcher, case_id=case.pk)
    raise AssertionError(f"no route to {state}")


def reply_from_handling(world, case, *, result: str = "已整改"):
    """A case in handling: result submitted, approved by the head and the office, replied."""
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings=result, opinion=result, result=result, is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    return feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, content=result,
                                        channel="phone").case


def run_together(*acts):
    """Start the acts at the same moment, each in its own thread and connection.

    Answers, in order, each act's result or the exception it raised.
    """
    start = threading.Barrier(len(acts))
    outcomes = [None] * len(acts)

    def run(index, act):
        try:
            start.wait()
            outcomes[index] = act()
        except Exception as error:  # noqa: BLE001 - the outcome is the assertion
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, act)) for i, act in enumerate(acts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def mentions(kind: str):
    """Each (recipient id, case number) a kind of notification told, with how often: a
    notification of one case names it by its link, a sweep's list of several by their
    numbers in the body."""
    import re
    from collections import Counter

    from cases.models import Notification

    told = Counter()
    for recipient, number, body in Notification.objects.filter(kind=kind).values_list(
            "recipient_id", "case__number", "body"):
        for each in ([number] if number else re.findall(r"[A-Z]+-\d{4}-\d{6,}", body)):
            told[(recipient, each)] += 1
    return told
