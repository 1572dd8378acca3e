"""The rebuild from scratch at a city's scale: ranges of cases counted in several
processes, the summary made from the facts in SQL. It stores what a count from scratch
finds, the same in one process as in several; acts made while it runs are counted; two
at once are refused; a rebuild that breaks off leaves the figures as they were."""

import io
import random
import sqlite3
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseChange, State
from dispatch import services as dispatch_acts
from feedback import services as feedback_acts
from oversight import figures
from oversight.figures import (RebuildError, figures_from_scratch, ledger_from_scratch,
                               monthly_from_scratch, rebuild_figures, refresh_figures,
                               stored_figures)
from oversight.models import (CaseFacts, DailyFigures, DepartmentLedger, MonthlyFigures,
                              SegmentFacts)
from oversight.services import sweep_deadlines
from tests.factories import build_world, drive_to, register, reply_from_handling, run_together


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def random_office(world, travel, *, days: int = 24, seed: int = 17) -> list:
    """Cases registered over `days` days and worked at random: dispatched, returned (upheld
    or refused), contacted, answered, visited (unsatisfied ones reopen), archived (some as
    invalid), merged; the sweep runs daily, the incremental refresh now and then."""
    rng = random.Random(seed)
    cases = []
    for day in range(days):
        travel.to(local(2026, 5, 4, 9, 0) + timedelta(days=day, minutes=rng.randint(0, 600)))
        for _ in range(rng.randint(1, 3)):
            cases.append(drive_to(world, rng.choice([
                State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.IN_HANDLING,
                State.REPLIED, State.MERGED, State.ANSWERED])))
        for case in rng.sample(cases, min(5, len(cases))):
            case.refresh_from_db()
            act = rng.random()
            if case.state == State.ACCEPTED:
                dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                            lead_department_id=world.a.pk)
            elif case.state == State.DISPATCHED and case.lead_department_id == world.a.pk:
                if act < 0.4 and case.dispatched_at > timezone.now() - timedelta(hours=20):
                    dispatch_acts.return_case(actor=world.handler, case_id=case.pk,
                                              reason="不属本部门职责")
                else:
                    dispatch_acts.department_accept_case(actor=world.handler, case_id=case.pk)
            elif case.state == State.RETURNED:
                if act < 0.5:
                    dispatch_acts.refuse_return(actor=world.dispatcher, case_id=case.pk,
                                                reason="属本部门")
                else:
                    dispatch_acts.dispatch_case(actor=world.dispatcher, case_id=case.pk,
                                                lead_department_id=world.b.pk)
            elif case.state == State.IN_HANDLING and case.lead_department_id == world.a.pk:
                if act < 0.4:
                    dispatch_acts.add_note(actor=world.handler, case_id=case.pk,
                                           kind="contact", text="电话联系",
                                           contact_method="phone", reached=True)
                else:
                    reply_from_handling(world, case)
            elif case.state == State.REPLIED:
                feedback_acts.record_visit(
                    actor=world.clerk, method="phone", reached=True, case_id=case.pk,
                    is_solved=act < 0.6,
                    satisfaction=rng.choice(["satisfied", "basically", "unsatisfied"]))
            elif case.state == State.VISITED and act < 0.6:
                feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk,
                                           invalid_reason=rng.choice(["", "consultation"]))
        sweep_deadlines()
        if day % 7 == 3:
            refresh_figures(batch_size=4)
    return cases


def stored_facts() -> tuple[list, list]:
    """Every case's facts and every segment's, as stored."""
    facts = sorted(CaseFacts.objects.values_list("case_id", *figures.DIMENSIONS,
                                                 *figures.COUNTERS))
    segments = sorted(SegmentFacts.objects.values_list("case_id", *figures.LEDGER_DIMENSIONS,
                                                       *figures.LEDGER_COUNTERS))
    return facts, segments


def assert_stored_equal_a_count_from_scratch():
    assert stored_figures() == figures_from_scratch()
    assert stored_figures(MonthlyFigures) == monthly_from_scratch()
    assert stored_figures(DepartmentLedger) == ledger_from_scratch()


def test_the_parallel_rebuild_stores_what_a_count_from_scratch_finds(committed_db, travel):
    world = build_world()
    cases = random_office(world, travel)
    refresh_figures()
    incremental = stored_facts()
    assert stored_figures(DepartmentLedger)  # the ledger has rows to compare

    one = rebuild_figures(workers=1)
    assert one.counted == Case.objects.count() > len(cases) / 2
    assert_stored_equal_a_count_from_scratch()
    single = stored_facts()
    assert single == incremental

    several = rebuild_figures(workers=2, range_size=4, batch_size=3)
    assert several.counted == one.counted == Case.objects.count()
    assert_stored_equal_a_count_from_scratch()
    assert stored_facts() == single
    assert not CaseChange.objects.filter(case_id_value=figures.REBUILD_MARK).exists()


def test_an_act_committed_during_a_rebuild_is_counted_with_its_latest_state(
        committed_db, travel):
    world = build_world()
    travel.to(local(2026, 6, 1, 9, 0))
    cases = [drive_to(world, State.IN_HANDLING) for _ in range(6)]
    cases += [drive_to(world, State.RECEIVED) for _ in range(3)]
    refresh_figures()
    travel.to(local(2026, 6, 2, 10, 0))
    during = {}

    def meanwhile(done, total):
        if done < total:
            return
        # Every range is counted, the summary not made yet: an act on a counted case, and a
        # case registered after the ranges were drawn.
        during["answered"] = reply_from_handling(world, cases[0])
        during["registered"] = register(world, summary="重建期间登记的案件")
        # The refresh of the beat leaves everything alone meanwhile, the queue kept.
        during["refreshed"] = refresh_figures()
        during["queued"] = set(CaseChange.objects.values_list("case_id_value", flat=True))

    rebuilt = rebuild_figures(workers=2, range_size=2, progress=meanwhile)
    assert during["refreshed"] == 0
    assert {cases[0].pk, during["registered"].pk} <= during["queued"]
    assert rebuilt.counted == len(cases)
    assert rebuilt.recounted >= 2
    assert_stored_equal_a_count_from_scratch()
    answered = CaseFacts.objects.get(case_id=cases[0].pk)
    assert answered.deadline_counted == answered.on_time == 1
    assert CaseFacts.objects.filter(case_id=during["registered"].pk).exists()
    assert not CaseChange.objects.exists()


def test_two_rebuilds_at_once_are_refused_with_a_clear_message(committed_db, postgres_only,
                                                                travel):
    world = build_world()
    travel.to(local(2026, 6, 1, 9, 0))
    for state in (State.IN_HANDLING, State.REPLIED, State.RECEIVED):
        drive_to(world, state)
    second = {}

    def meanwhile(done, total):
        if "function" in second:
            return

        def command():
            call_command("refresh_figures", "--rebuild", stdout=io.StringIO())

        second["function"], second["command"] = run_together(
            lambda: rebuild_figures(workers=1), command)

    rebuild_figures(progress=meanwhile)
    assert isinstance(second["function"], RebuildError)
    assert "另一次统计重建正在进行" in str(second["function"])
    assert isinstance(second["command"], CommandError)
    assert "另一次统计重建正在进行" in str(second["command"])
    assert_stored_equal_a_count_from_scratch()  # the first went on unharmed


def test_a_rebuild_that_breaks_off_leaves_the_figures_as_they_were(world, travel,
                                                                     monkeypatch):
    travel.to(local(2026, 6, 1, 9, 0))
    for state in (State.IN_HANDLING, State.REPLIED, State.VISITED, State.MERGED):
        drive_to(world, state)
    refresh_figures()
    before = stored_figures(), stored_figures(MonthlyFigures), stored_figures(DepartmentLedger)
    counted = figures.count_range

    def breaks_off(first, last, **options):
        if first > Case.objects.order_by("pk").first().pk:
            raise OSError("磁盘已满")
        return counted(first, last, **options)

    monkeypatch.setattr(figures, "count_range", breaks_off)
    with pytest.raises(RebuildError, match="统计重建未完成（磁盘已满）"):
        rebuild_figures(range_size=1)
    assert (stored_figures(), stored_figures(MonthlyFigures),
            stored_figures(DepartmentLedger)) == before
    # Until a rebuild completes the refresh moves nothing (the facts are half counted).
    case = drive_to(world, State.IN_HANDLING)
    assert refresh_figures() == 0
    assert CaseChange.objects.filter(case_id_value=case.pk).exists()
    monkeypatch.setattr(figures, "count_range", counted)
    assert rebuild_figures().counted == Case.objects.count()
    assert_stored_equal_a_count_from_scratch()
    assert refresh_figures() == 0 and not CaseChange.objects.exists()


def test_the_command_prints_its_progress_and_names_bad_arguments(world, travel):
    travel.to(local(2026, 6, 1, 9, 0))
    drive_to(world, State.REPLIED)
    out = io.StringIO()
    call_command("refresh_figures", "--rebuild", "--workers", "1", stdout=out)
    text = out.getvalue()
    assert "0 / 1 cases (0%)" in text and "1 / 1 cases (100%)" in text and "cases/s" in text
    assert "1 cases counted from scratch in" in text
    assert_stored_equal_a_count_from_scratch()
    for arguments, message in ((["--rebuild", "--workers", "0"], "--workers 须为正整数"),
                               (["--workers", "2"], "--workers 只用于重建"),
                               (["--rebuild", "--workers", "two"], "invalid int value")):
        with pytest.raises(CommandError, match=message):
            call_command("refresh_figures", *arguments, stdout=io.StringIO())
    # Several processes cannot see what the caller has not committed.
    with pytest.raises(CommandError, match="多进程重建不能在事务中运行"):
        call_command("refresh_figures", "--rebuild", "--workers", "2", stdout=io.StringIO())


def test_the_celery_task_rebuilds(world, travel):
    from oversight.tasks import rebuild_figures as task

    travel.to(local(2026, 6, 1, 9, 0))
    drive_to(world, State.VISITED)
    assert task.delay().get() == 1
    assert_stored_equal_a_count_from_scratch()


# ---------------------------------------------------------------- the SQLite fallbacks
def test_the_orm_writes_the_same_facts_as_copy(world, travel, monkeypatch):
    travel.to(local(2026, 6, 1, 9, 0))
    for state in (State.IN_HANDLING, State.REPLIED, State.VISITED, State.ARCHIVED):
        drive_to(world, state)
    rebuild_figures()
    copied = stored_facts()
    monkeypatch.setattr(figures, "_copy_rows", figures._create_rows)  # SQLite's writer
    rebuild_figures(batch_size=2)
    assert stored_facts() == copied
    assert_stored_equal_a_count_from_scratch()


def test_on_sqlite_a_file_lock_refuses_a_second_rebuild(db, monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with figures._one_rebuild_at_a_time():
        with pytest.raises(RebuildError, match="另一次统计重建正在进行"):
            with figures._one_rebuild_at_a_time():
                pass
    with figures._one_rebuild_at_a_time():  # released with the first
        pass


def test_the_summary_statements_run_on_sqlite():
    """The summary's INSERT … SELECT … GROUP BY as SQLite runs them (its own month)."""
    database = sqlite3.connect(":memory:")
    for model, columns in (
            (CaseFacts, ("case_id", *figures.DIMENSIONS, *figures.COUNTERS)),
            (DailyFigures, (*figures.DIMENSIONS, *figures.COUNTERS)),
            (MonthlyFigures, (*figures.MONTH_DIMENSIONS, *figures.COUNTERS)),
            (SegmentFacts, ("case_id", *figures.LEDGER_DIMENSIONS, *figures.LEDGER_COUNTERS)),
            (DepartmentLedger, (*figures.LEDGER_DIMENSIONS, *figures.LEDGER_COUNTERS))):
        database.execute(f"CREATE TABLE {model._meta.db_table} ({', '.join(columns)})")
    facts = [(1, "2026-03-02", 1, 2, "visit", 3), (2, "2026-03-02", 1, 2, "visit", 3),
             (3, "2026-03-31", 1, 2, "visit", 3), (4, "2026-04-01", 1, 2, "phone", 3)]
    for row in facts:
        values = (*row, *(int(name == "received") for name in figures.COUNTERS))
        database.execute(f"INSERT INTO {CaseFacts._meta.db_table} "
                         f"VALUES ({', '.join('?' * len(values))})", values)
    segments = [(1, "2026-03-02", "department", 1, 1, 3600, 0, 0, 1, 0, 0, 0, 0),
                (2, "2026-03-02", "department", 1, 1, 1800, 1, 60, 1, 0, 0, 0, 0),
                (3, "2026-03-02", "office", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]  # adds up to nothing
    database.executemany(f"INSERT INTO {SegmentFacts._meta.db_table} "
                         f"VALUES ({', '.join('?' * 13)})", segments)
    for statement in figures.summary_statements("sqlite"):
        database.execute(statement)
    received = len(figures.DIMENSIONS) + figures.COUNTERS.index("received")

    def read(model):
        return sorted((row[0], row[3], row[received]) for row in database.execute(
            f"SELECT * FROM {model._meta.db_table}"))

    assert read(DailyFigures) == [("2026-03-02", "visit", 2), ("2026-03-31", "visit", 1),
                                  ("2026-04-01", "phone", 1)]
    assert read(MonthlyFigures) == [("2026-03-01", "visit", 3), ("2026-04-01", "phone", 1)]
    assert list(database.execute(f"SELECT * FROM {DepartmentLedger._meta.db_table}")) == [
        ("2026-03-02", "department", 1, 2, 5400, 1, 60, 2, 0, 0, 0, 0)]
