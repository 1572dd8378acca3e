"""The chain of a case's events (issue 15, item 9): every event stores the hash of the one
before it; `verify_event_chain` names the first broken link; the dossier prints the head."""

import importlib
import io
import re
import subprocess
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from cases import chain
from cases import services as case_services
from cases.models import Case, CaseEvent, State
from dispatch import services as dispatch_acts
from feedback import retention
from feedback import services as feedback_acts
from intake import services as intake_acts
from oversight.services import sweep_deadlines
from tests.factories import drive_to, register, reply_from_handling


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def check(*numbers) -> tuple[bool, str]:
    """Run the command: whether the chains held, and what it printed."""
    out = io.StringIO()
    arguments = [f"--case={number}" for number in numbers]
    try:
        call_command("verify_event_chain", *arguments, stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def events_of(case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).order_by("pk"))


def assert_linked(case):
    events = events_of(case)
    previous = chain.GENESIS
    for event in events:
        assert event.previous_hash == previous, event.action
        assert event.hash == chain.digest(event, previous), event.action
        previous = event.hash
    return events


@pytest.fixture
def handled_case(world):
    """A case with a return refused and an extension refused then granted, in handling."""
    w = world
    case = drive_to(w, State.RETURNED)
    dispatch_acts.refuse_return(actor=w.dispatcher, case_id=case.pk, reason="属本部门职责")
    dispatch_acts.department_accept_case(actor=w.handler, case_id=case.pk)
    dispatch_acts.add_note(actor=w.handler, case_id=case.pk, kind="contact",
                           text="电话联系信访人", contact_method="phone", reached=True)
    case.refresh_from_db()
    request = dispatch_acts.request_extension(actor=w.handler, case_id=case.pk,
                                              reason="人手不足",
                                              requested_due_at=case.due_at + timedelta(days=3))
    dispatch_acts.refuse_extension(actor=w.supervisor, request_id=request.pk, note="理由不足")
    request = dispatch_acts.request_extension(actor=w.handler, case_id=case.pk,
                                              reason="等待房屋安全鉴定",
                                              requested_due_at=case.due_at + timedelta(days=5))
    dispatch_acts.approve_extension(actor=w.supervisor, request_id=request.pk, note="同意")
    case.refresh_from_db()
    return case


# ---------------------------------------------------------------- a chain that holds
def test_every_act_of_a_case_is_linked_to_the_one_before(world, handled_case):
    case = reply_from_handling(world, handled_case)
    feedback_acts.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                               is_solved=False, satisfaction="unsatisfied", comments="没有解决")
    events = assert_linked(case)
    actions = [event.action for event in events]
    for action in ("register", "accept", "dispatch", "return_to_dispatcher", "refuse_return",
                   "request_extension", "refuse_extension", "extend", "reply_to_petitioner",
                   "record_return_visit", "reopen"):
        assert action in actions, action
    held, out = check()
    assert held, out
    assert f"共检查 1 件案件、{len(events)} 条记录；记录链完整。" in out


def test_the_hash_covers_the_ledger_fields_and_the_data_as_stored(world):
    case = drive_to(world, State.IN_HANDLING)
    event = case_services.record_event(
        case, actor=world.handler, action="note", note="x",
        data={"whole": 3.0, "large": 1e20, "small": 1.5e-7, "nested": {"b": [1, 2.5], "a": "中"}})
    stored = CaseEvent.objects.get(pk=event.pk)
    assert stored.holder == "department" and stored.holder_department == world.a.pk
    assert stored.hash == event.hash == chain.digest(stored, stored.previous_hash)
    stored.holder_department = world.b.pk
    assert chain.digest(stored, stored.previous_hash) != stored.hash


def test_two_cases_have_chains_of_their_own(world):
    first, second = register(world), register(world)
    intake_acts.accept_case(actor=world.clerk, case_id=second.pk)
    intake_acts.accept_case(actor=world.clerk, case_id=first.pk)
    for case in (first, second):
        assert assert_linked(case)[0].previous_hash == chain.GENESIS
    CaseEvent.objects.filter(case=first, action="accept").update(note="改过")
    assert check(first.number)[0] is False
    assert check(second.number) == (True, "共检查 1 件案件、2 条记录；记录链完整。\n")
    held, out = check()
    assert not held and first.number in out and second.number not in out
    assert "1 件案件的记录链断裂" in out


def test_the_sweep_s_events_written_in_one_insert_are_chained(world, travel):
    travel.to(local(2026, 3, 10, 10, 0))
    late = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk,
                                   tier_code="T1")
    later = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk,
                                    tier_code="T1")
    travel.to(local(2026, 3, 20, 9, 0))  # the beat was down: three steps each at once
    assert sweep_deadlines() == 6
    for case in (late, later):
        events = assert_linked(case)
        assert [e.action for e in events][-3:] == [
            "escalation_warning", "escalation_overdue", "escalation_level2"]
    # and the next act joins the chain after them
    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=late.pk,
                                lead_department_id=world.a.pk)
    assert assert_linked(late)[-1].action == "dispatch"
    assert check()[0]


def test_the_merged_case_s_note_joins_the_chain_of_the_case_it_went_into(world):
    merged = drive_to(world, State.MERGED)
    target = merged.merged_into
    assert assert_linked(target)[-1].action == "merged_in"
    assert check()[0]


# ---------------------------------------------------------------- a chain that breaks
def test_an_event_edited_afterwards_fails_the_check_and_is_named(world, handled_case):
    case = handled_case
    edited = CaseEvent.objects.get(case=case, action="return_to_dispatcher")
    CaseEvent.objects.filter(pk=edited.pk).update(note="信访人要求退回")
    held, out = check()
    assert not held
    assert f"案件 {case.number}：第一处断链在记录 #{edited.pk}" in out
    assert "return_to_dispatcher" in out and "本条记录在写入后被改动" in out
    assert f"存储的值：{edited.hash}" in out
    assert timezone.localtime(edited.at).strftime("%Y-%m-%d %H:%M:%S") in out
    with pytest.raises(CommandError):
        call_command("verify_event_chain", stdout=io.StringIO())


def test_an_event_edited_and_hashed_again_breaks_the_next_link(world, handled_case):
    events = events_of(handled_case)
    edited, following = events[3], events[4]
    edited.note = "改写后重算"
    edited.hash = chain.digest(edited, edited.previous_hash)
    edited.save()
    held, out = check()
    assert not held and f"#{following.pk}" in out and f"#{edited.pk}）的校验值不符" in out


@pytest.mark.parametrize("which", ["first", "middle"])
def test_a_deleted_event_breaks_the_next_link(world, handled_case, which):
    events = events_of(handled_case)
    index = {"first": 0, "middle": 4}[which]
    CaseEvent.objects.filter(pk=events[index].pk).delete()
    held, out = check(handled_case.number)
    assert not held and f"#{events[index + 1].pk}" in out
    assert {"first": "在它之前的记录被删除", "middle": "其间有记录被删除或插入"}[which] in out


def test_a_deleted_last_event_that_moved_the_case_is_found_by_the_case_s_state(world):
    case = drive_to(world, State.DISPATCHED)
    *kept, dispatched = events_of(case)
    dispatched.delete()
    held, out = check()
    assert not held and f"#{kept[-1].pk}" in out and "其后的记录被删除" in out
    assert "末条记录的新状态是「已受理」，案件却是「已交办」" in out


def test_a_deleted_last_event_that_the_case_counts_is_found_by_its_counter(world,
                                                                          handled_case):
    assert events_of(handled_case)[-1].action == "extend"
    CaseEvent.objects.filter(case=handled_case, action="extend").delete()
    held, out = check()
    assert not held and "案件记有 1 次「延期」，记录中却有 0 条" in out


def test_a_deleted_last_escalation_is_found_by_the_case_s_step(world, travel):
    travel.to(local(2026, 3, 10, 10, 0))
    case = intake_acts.accept_case(actor=world.clerk, case_id=register(world).pk,
                                   tier_code="T1")
    travel.to(local(2026, 3, 10, 12, 1))
    assert sweep_deadlines() == 2
    CaseEvent.objects.filter(case=case, action="escalation_overdue").delete()
    held, out = check()
    assert not held and "案件已到「超期督办」，记录中却没有这一步" in out


def test_a_case_whose_events_are_all_gone_is_found(world):
    case = register(world)
    CaseEvent.objects.filter(case=case).delete()
    held, out = check()
    assert not held and "案件没有任何记录" in out


def test_an_unknown_case_number_is_refused(world):
    with pytest.raises(CommandError, match="XF-1999-000001"):
        call_command("verify_event_chain", "--case=XF-1999-000001", stdout=io.StringIO())


def test_the_command_reads_in_batches(world):
    cases = [register(world) for _ in range(5)]
    CaseEvent.objects.filter(case=cases[3]).update(note="改过")
    tally = chain.verify(batch_size=2)
    assert (tally.cases, tally.events) == (5, 5)
    assert [found.case_number for found in tally.breaks] == [cases[3].number]


# ---------------------------------------------------------------- rewrites that are allowed
def test_the_migration_seals_the_events_written_before_it(world, handled_case):
    other = register(world)
    CaseEvent.objects.update(previous_hash="", hash="")
    assert not check()[0]
    migration = importlib.import_module("cases.migrations.0022_event_chain")
    migration.seal_existing(apps, None)
    assert_linked(handled_case) and assert_linked(other)
    assert check()[0]


def test_anonymisation_seals_the_rewritten_notes_again(world, travel):
    travel.to(local(2019, 3, 4, 10, 0))
    case = drive_to(world, State.IN_HANDLING)
    dispatch_acts.add_note(actor=world.handler, case_id=case.pk, kind="contact",
                           text=f"已致电{world.petitioner.name}", contact_method="phone",
                           reached=True)
    case = reply_from_handling(world, case)
    feedback_acts.record_visit(actor=world.clerk, case_id=case.pk, method="phone", reached=True,
                               is_solved=True, satisfaction="satisfied")
    feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk)
    travel.to(local(2026, 3, 4, 10, 0))
    assert retention.anonymise_due() == 1
    assert CaseEvent.objects.filter(case=case, note__contains="（已匿名）").exists()
    assert_linked(case)
    assert check()[0]


# ---------------------------------------------------------------- the dossier
def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content,
                          capture_output=True, check=True).stdout.decode()


def test_the_dossier_prints_the_chain_s_head(client, world):
    case = drive_to(world, State.ARCHIVED)
    head = events_of(case)[-1].hash
    count = CaseEvent.objects.filter(case=case).count()
    client.force_login(world.supervisor)
    response = client.get(reverse("feedback:dossier", args=[case.number]))
    text = pdf_text(response.content)
    grouped = " ".join(head[i:i + 4] for i in range(0, 16, 4))
    assert grouped in text
    flat = re.sub(r"\s", "", text)
    assert f"案件记录校验值：{grouped.replace(' ', '')}（共{count}条记录）" in flat
    assert head in flat and "打印时校验：记录链完整" in flat


def test_the_dossier_says_when_the_chain_is_broken(client, world):
    case = drive_to(world, State.ARCHIVED)
    edited = CaseEvent.objects.get(case=case, action="dispatch")
    CaseEvent.objects.filter(pk=edited.pk).update(note="改过")
    client.force_login(world.supervisor)
    flat = re.sub(r"\s", "", pdf_text(client.get(reverse("feedback:dossier",
                                                         args=[case.number])).content))
    assert f"打印时校验未通过：记录#{edited.pk}" in flat and "本条记录在写入后被改动" in flat


def test_the_case_page_shows_the_chain_s_head(client, world):
    case = drive_to(world, State.DISPATCHED)
    head = chain.head_of(events_of(case))
    client.force_login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert f"案件记录校验值：{head.grouped}（共 {head.count} 条记录）" in page


def test_an_event_undone_by_a_savepoint_is_not_taken_as_the_head_of_a_new_case(world):
    """A case registered by the act knows its chain's head without reading it; an event
    of it rolled back inside the act must not be taken as the head afterwards."""
    from django.db import transaction

    @case_services.act_transaction
    def act():
        case = register(world)
        try:
            with transaction.atomic():
                case_services.record_event(case, actor=world.clerk, action="note")
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        case_services.record_event(case, actor=world.clerk, action="note")
        return case

    case = act()
    events = list(CaseEvent.objects.filter(case=case).order_by("pk"))
    assert [event.action for event in events] == ["register", "note"]
    assert events[1].previous_hash == events[0].hash
    assert chain.verify(cases=Case.objects.filter(pk=case.pk)).breaks == []


def test_a_new_case_s_events_are_sealed_without_reading_the_chain(world):
    """Registration and acceptance in one act: neither event reads its case's last hash."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from intake.services import Outcome
    from tests.intake.helpers import matter, petitioner_details, token

    with CaptureQueriesContext(connection) as queries:
        case = intake_acts.register_intake(
            actor=world.clerk, submission_token=token(), petitioner=petitioner_details(),
            matter=matter(world), outcome=Outcome.ACCEPT)
    assert not [q for q in queries.captured_queries
                if q["sql"].startswith("SELECT") and "cases_caseevent" in q["sql"]]
    events = list(CaseEvent.objects.filter(case=case).order_by("pk"))
    assert [event.previous_hash for event in events] == [chain.GENESIS, events[0].hash]
    assert chain.verify(cases=Case.objects.filter(pk=case.pk)).breaks == []
