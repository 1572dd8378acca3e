"""The figures: each rate on a hand-built set of cases whose right answers are written
here, the summary kept incrementally against a count from scratch, and the pages."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cases.models import State
from dispatch import services as dispatch_services
from oversight import dashboard
from oversight.figures import (figures_from_scratch, monthly_from_scratch, rebuild_figures,
                               refresh_figures, stored_figures)
from oversight.models import MonthlyFigures
from oversight.services import sweep_deadlines
from feedback import services as feedback_acts
from intake import services as intake_acts
from tests.factories import drive_to, register, reply_from_handling


def local(*parts):
    return timezone.make_aware(datetime(*parts))


def contact(world, case, at=None):
    dispatch_services.add_note(actor=world.handler, case_id=case.pk, kind="contact",
                               text="电话联系", contact_method="phone", reached=True,
                               happened_at=at)


def visit(world, case, satisfaction, solved):
    return feedback_acts.record_visit(actor=world.clerk, method="phone", reached=True, case_id=case.pk,
                                             is_solved=solved, satisfaction=satisfaction).case


@pytest.fixture
def march(world, travel):
    """Seven cases registered in March 2026 (T3: seven working days), and what became
    of them by the end of April."""
    travel.to(local(2026, 3, 2, 9, 0))
    cases = {}
    # c1: contacted and answered in time; satisfied, solved.
    c1 = cases["c1"] = drive_to(world, State.IN_HANDLING)
    contact(world, c1)
    reply_from_handling(world, c1)
    visit(world, c1, "satisfied", True)
    # c2: contacted and answered after the deadline; basically satisfied, not solved.
    c2 = cases["c2"] = drive_to(world, State.IN_HANDLING)
    # c3: open and past its deadline. c4: open, its deadline ahead (accepted later).
    c3 = cases["c3"] = drive_to(world, State.IN_HANDLING)
    # c5: answered in time but archived as invalid (consultation only).
    c5 = cases["c5"] = drive_to(world, State.IN_HANDLING)
    reply_from_handling(world, c5)
    visit(world, c5, "satisfied", True)
    feedback_acts.archive_case(actor=world.dispatcher, case_id=c5.pk,
                               invalid_reason="consultation")
    # c6: answered in time, unsatisfied (reopened), answered again in time, satisfied.
    c6 = cases["c6"] = drive_to(world, State.IN_HANDLING)
    contact(world, c6)
    reply_from_handling(world, c6)
    visit(world, c6, "unsatisfied", False)
    reply_from_handling(world, c6, result="再次整改")
    visit(world, c6, "satisfied", True)
    # c7: merged into c1 (a duplicate): invalid.
    c7 = register(world)
    cases["c7"] = intake_acts.merge_case(actor=world.clerk, case_id=c7.pk,
                                           into_number=c1.number)
    travel.to(local(2026, 3, 30, 9, 0))
    cases["c4"] = drive_to(world, State.IN_HANDLING)
    travel.to(local(2026, 3, 20, 9, 0))  # past c2's and c3's deadlines (11 March)
    sweep_deadlines()
    contact(world, c2)
    reply_from_handling(world, c2)
    visit(world, c2, "basically", False)
    travel.to(local(2026, 4, 1, 9, 0))
    refresh_figures()
    return cases


def test_each_rate_on_a_hand_built_set(world, march):
    scope = dashboard.Scope(start=local(2026, 3, 1).date(), end=local(2026, 3, 31).date())
    totals = dashboard.totals(scope)
    assert totals["received"] == 5        # c1 c2 c3 c4 c6
    assert totals["invalid"] == 2         # c5 (invalid reason), c7 (merged)
    # Rounds: c6 was reopened, and each of its two rounds counts with its own deadline.
    assert totals["rounds"] == 6          # c1 c2 c3 c4, c6 twice
    assert totals["deadline_counted"] == 5  # c1 c2 c3, c6 twice; c4 is not yet due
    assert totals["on_time"] == 3         # c1, c6's first and second rounds
    assert totals["overdue_answered"] == 2  # c2 answered late, c3 still open
    assert totals["on_time_rate"] == 60.0
    assert totals["responded"] == 2       # c1, c6's first round; c2 after the deadline,
    assert totals["response_rate"] == 40.0  # and nobody called in c6's second round
    assert totals["visited"] == 4         # c1, c2, c6 twice
    assert totals["solved"] == 2          # c1, c6's second verdict
    assert totals["resolution_rate"] == 50.0
    assert totals["satisfied"] == 3       # c1 satisfied, c2 basically, c6's second
    assert totals["satisfaction_rate"] == 75.0
    assert totals["reopenings"] == 1
    # The same figures straight from the cases.
    assert stored_figures() == figures_from_scratch()
    assert stored_figures(MonthlyFigures) == monthly_from_scratch()
    # A period of whole months and loose days reads both tables and finds the same.
    wider = dashboard.Scope(start=local(2026, 2, 15).date(), end=local(2026, 4, 10).date())
    assert dashboard.totals(wider) == totals
    one_day = dashboard.Scope(start=local(2026, 3, 2).date(), end=local(2026, 3, 2).date())
    assert dashboard.totals(one_day)["received"] == 4  # c4 came on the 30th
    months = dashboard.breakdown(wider, "month")
    assert [(row["label"], row["received"]) for row in months] == [("2026-03", 5)]


def test_each_number_drills_down_to_its_cases(world, march):
    scope = dashboard.Scope(start=local(2026, 3, 1).date(), end=local(2026, 3, 31).date())
    numbers = {name: case.number for name, case in march.items()}

    def of(measure):
        return {numbers_by_value[n] for n in dashboard.drilldown(scope, measure)
                .values_list("number", flat=True)}

    numbers_by_value = {number: name for name, number in numbers.items()}
    assert of("received") == {"c1", "c2", "c3", "c4", "c6"}
    assert of("invalid") == {"c5", "c7"}
    assert of("on_time") == {"c1", "c6"}
    assert of("late") == {"c2", "c3"}
    assert of("responded") == {"c1", "c6"}
    assert of("unsatisfied") == {"c6"}  # c2 was basically satisfied
    assert of("reopenings") == {"c6"}
    assert of("overdue") == {"c3"}
    assert of("open") == {"c3", "c4"}


def test_the_summary_agrees_with_a_count_from_scratch_after_random_events(world, travel):
    rng = random.Random(7)
    travel.to(local(2026, 5, 4, 9, 0))
    cases = []
    for day in range(30):
        travel.to(local(2026, 5, 4, 9, 0) + timedelta(days=day, minutes=rng.randint(0, 600)))
        for _ in range(rng.randint(0, 2)):
            cases.append(drive_to(world, rng.choice([State.RECEIVED, State.ACCEPTED,
                                                     State.IN_HANDLING, State.REPLIED])))
        for case in rng.sample(cases, min(3, len(cases))):
            case.refresh_from_db()
            act = rng.random()
            if case.state == State.IN_HANDLING and act < 0.4:
                contact(world, case)
            elif case.state == State.IN_HANDLING and act < 0.7:
                reply_from_handling(world, case)
            elif case.state == State.REPLIED:
                visit(world, case, rng.choice(["satisfied", "basically", "unsatisfied"]),
                      rng.random() < 0.6)
            elif case.state == State.VISITED and act < 0.5:
                feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk,
                                           invalid_reason=rng.choice(["", "consultation"]))
        sweep_deadlines()
        if day % 7 == 3:
            refresh_figures(batch_size=7)
    refresh_figures(batch_size=7)
    assert stored_figures() == figures_from_scratch()
    assert stored_figures(MonthlyFigures) == monthly_from_scratch()
    assert sum(row["received"] + row["invalid"] for row in stored_figures().values()) == len(
        cases)
    rebuild_figures()
    assert stored_figures() == figures_from_scratch()
    assert stored_figures(MonthlyFigures) == monthly_from_scratch()


def _page(client, user, query=""):
    client.force_login(user)
    return client.get("/oversight/?" + query)


def test_the_dashboard_shows_the_figures_and_their_definitions(client, world, march):
    response = _page(client, world.supervisor, "start=2026-03-01&end=2026-03-31")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("按期答复率", "响应率", "解决率", "满意率", "期限内答复的轮次",
                 "60.0%", "75.0%", "城市管理局", "chart.umd.min.js", "统计口径 2026.2"):
        assert text in page, text
    totals = response.context["totals"]
    assert totals["received"] == 5
    row = next(row for row in response.context["rows"] if row["label"] == "城市管理局")
    assert row["received"] == 5 and row["on_time_rate"] == 60.0


def test_the_excel_export_has_the_same_totals_as_the_page(client, world, march):
    import io

    from openpyxl import load_workbook

    query = "start=2026-03-01&end=2026-03-31&by=department"
    totals = _page(client, world.supervisor, query).context["totals"]
    response = client.get("/oversight/?" + query + "&export=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    headers = [cell.value for cell in sheet[3]]
    assert headers[:2] == ["按部门", "受理量"] and sheet["A3"].font.bold
    last = [cell.value for cell in sheet[sheet.max_row]]
    assert last[0] == "合计"
    assert last[headers.index("受理量")] == totals["received"] == 5
    assert last[headers.index("按期答复率%")] == totals["on_time_rate"] == 60.0
    assert last[headers.index("满意率%")] == 75.0
    csv_text = client.get("/oversight/?" + query + "&export=csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("按部门,受理量")
    assert csv_text.splitlines()[-1].startswith("合计,5,2,5,3,60.0")


def test_a_head_sees_only_their_department_and_handlers_nothing(client, world, march):
    response = _page(client, world.head_b, "start=2026-03-01&end=2026-03-31")
    assert response.context["totals"]["received"] == 0  # department B has none
    assert response.context["scope"].department == world.b.pk
    drill = client.get("/oversight/cases/?start=2026-03-01&end=2026-03-31&measure=received")
    assert drill.context["cases"] == []
    assert _page(client, world.head, "start=2026-03-01&end=2026-03-31"
                 ).context["totals"]["received"] == 5
    assert _page(client, world.handler).status_code == 403


def test_bad_dates_are_named_and_fall_back(client, world, march):
    page = _page(client, world.supervisor, "start=2026-03-31&end=2026-03-01").content.decode()
    assert "截止日期" in page and "截止日期不能早于起始日期" in page
    response = _page(client, world.supervisor, "start=2026-13-45")
    assert "起始日期：输入一个有效的日期" in response.content.decode()
    assert response.context["scope"].start.month == 1  # this year, from January


def test_the_drilldown_lists_and_exports_the_cases(client, world, march):
    client.force_login(world.supervisor)
    response = client.get("/oversight/cases/?start=2026-03-01&end=2026-03-31&measure=late")
    page = response.content.decode()
    assert march["c2"].number in page and march["c3"].number in page
    assert march["c1"].number not in page
    export = client.get("/oversight/cases/?start=2026-03-01&end=2026-03-31&measure=late"
                        "&export=csv").content.decode("utf-8-sig")
    assert len(export.splitlines()) == 3


def test_the_monthly_report_is_made_once_on_the_first_and_holds_the_figures(
        client, world, march, travel, settings, tmp_path):
    import subprocess

    from oversight.models import MonthlyReport
    from oversight.tasks import make_monthly_report

    settings.MEDIA_ROOT = tmp_path
    travel.to(local(2026, 4, 1, 1, 30))
    assert make_monthly_report.delay().get() == "2026-03-01"
    assert make_monthly_report.delay().get() == "2026-03-01"
    report = MonthlyReport.objects.get()
    assert report.definitions_version == "2026.2"
    text = subprocess.run(["pdftotext", "-layout", report.pdf.path, "-"], capture_output=True,
                          check=True).stdout.decode()
    for expected in ("信访工作月度报告", "2026年3月", "本月共受理有效信访事项 5 件",
                     "按期答复 3 轮", "60.0%", "75.0%", "城市管理局", "按问题分类",
                     "统计口径 2026.2"):
        assert expected in text, expected
    client.force_login(world.supervisor)
    page = client.get("/oversight/reports/").content.decode()
    assert "2026-03" in page
    pdf = client.get("/oversight/reports/2026-03.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    bad = client.post("/oversight/reports/", {"month": "March"})
    assert bad.status_code == 400 and "月份：请按" in bad.content.decode()
    client.force_login(world.handler)
    assert client.get("/oversight/reports/").status_code == 403


def test_hot_topics_show_what_rises_week_over_week_and_the_repeat_petitioners(
        client, world, travel, settings):
    from cases.models import Category
    from oversight.hot import hot_topics

    settings.HOT_REPEAT_MIN_CASES = 3
    noise = Category.objects.create(name="噪声扰民", parent=world.category.parent)
    travel.to(local(2026, 6, 3, 10, 0))  # last week: one case about noise
    register(world, category=noise, summary="广场舞噪声扰民", place="人民公园")
    travel.to(local(2026, 6, 10, 10, 0))  # this week: three, from the same person
    for _ in range(3):
        register(world, category=noise, summary="广场舞噪声扰民到深夜", place="人民公园")
    refresh_figures()
    topics = hot_topics(local(2026, 6, 12, 9, 0).date())
    category = topics["categories"][0]
    assert (category["key"], category["this_week"], category["last_week"]) == (noise.pk, 3, 1)
    assert topics["places"][0]["key"] == "人民公园" and topics["places"][0]["change"] == 2
    assert {"噪声", "扰民", "深夜"} <= {row["key"] for row in topics["phrases"]}
    repeater = topics["repeaters"][0]
    assert repeater["name"] == "刘建国" and repeater["cases"] == 4
    travel.to(local(2026, 6, 12, 9, 0))
    client.force_login(world.supervisor)
    page = client.get("/oversight/hot/").content.decode()
    assert "人民公园" in page and "深夜" in page and "刘建国" in page
    drill = client.get(f"/oversight/cases/?start=2026-06-06&end=2026-06-12"
                       f"&category_leaf={noise.pk}").content.decode()
    assert drill.count("广场舞噪声扰民到深夜") == 3
    export = client.get("/oversight/hot/?export=csv&table=places").content.decode("utf-8-sig")
    assert "人民公园,3,1,2" in export


def test_the_dashboard_keeps_a_periods_figures_until_the_summary_moves(
        client, world, march, travel, monkeypatch):
    query = "start=2026-03-01&end=2026-03-31"
    first = _page(client, world.supervisor, query)
    assert first.context["totals"]["received"] == 5
    calls = []
    real = dashboard.figures_of
    monkeypatch.setattr(dashboard, "figures_of", lambda *a: calls.append(a) or real(*a))
    again = client.get("/oversight/?" + query)
    assert calls == [] and again.context["totals"] == first.context["totals"]
    assert again.context["ledger"] == first.context["ledger"]
    # Another period, breakdown or reader's slice is its own entry.
    assert _page(client, world.head_b, query).context["totals"]["received"] == 0
    client.get("/oversight/?" + query + "&by=category")
    assert len(calls) == 2
    # A case registered in March and counted: the next page shows it.
    travel.to(local(2026, 3, 5, 9, 0))
    drive_to(world, State.IN_HANDLING)
    travel.to(local(2026, 4, 1, 10, 0))
    refresh_figures()
    assert _page(client, world.supervisor, query).context["totals"]["received"] == 6
    # A rebuild moves the summary too; a renamed department shows at once.
    calls.clear()
    client.get("/oversight/?" + query)
    rebuild_figures()
    client.get("/oversight/?" + query)
    assert len(calls) == 1
    world.a.name = "城市管理综合执法局"
    world.a.save()
    page = client.get("/oversight/?" + query).content.decode()
    assert len(calls) == 2 and "城市管理综合执法局" in page
