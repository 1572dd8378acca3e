from django.contrib.auth import authenticate
from django.core.management import call_command

from oversight.management.commands.seed_demo import DEMO_PASSWORD
from cases.models import Case, CaseEvent, State
from cases.roles import Role, primary_role


def test_the_demo_has_a_login_per_role_and_a_case_in_every_state(db, rf):
    call_command("seed_demo")
    assert set(Case.objects.values_list("state", flat=True)) == set(State.values)
    request = rf.post("/accounts/login/")
    for username, role in [("clerk", Role.CLERK), ("dispatcher", Role.DISPATCHER),
                           ("handler", Role.HANDLER), ("head", Role.DEPARTMENT_HEAD),
                           ("supervisor", Role.SUPERVISOR), ("admin", Role.ADMINISTRATOR)]:
        user = authenticate(request, username=username, password=DEMO_PASSWORD)
        assert user is not None and primary_role(user) == role
    numbers = list(Case.objects.order_by("received_at").values_list("number", flat=True))
    assert numbers == sorted(numbers)
    # Every move in the demo went through a service and left its event and records.
    assert CaseEvent.objects.filter(action="register").count() == Case.objects.count()
    from feedback.models import Reply, ReturnVisit

    replied = set(Case.objects.exclude(reply_channel="").values_list("pk", flat=True))
    assert replied and replied == set(Reply.objects.values_list("case_id", flat=True))
    assert ReturnVisit.objects.exists()


def test_seeding_twice_adds_nothing(db):
    call_command("seed_demo")
    count = Case.objects.count()
    call_command("seed_demo")
    assert Case.objects.count() == count
