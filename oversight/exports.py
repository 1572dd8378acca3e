"""Any table of the oversight pages as an Excel workbook (openpyxl) or a CSV file."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from cases.spreadsheet import safe_cell

HEADER_FILL = PatternFill("solid", fgColor="9B1C1C")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="BCCCDC")


def xlsx_response(filename: str, title: str, headers: list[str], rows: list[list],
                  note: str = "") -> HttpResponse:
    """One sheet: a title line, a note line, bold coloured headers, frozen below them,
    columns sized to their content."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([safe_cell(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([safe_cell(note)])
    sheet.append([safe_cell(header) for header in headers])
    for column, _header in enumerate(headers, start=1):
        cell = sheet.cell(row=3, column=column)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    sheet.freeze_panes = "A4"
    for column, header in enumerate(headers, start=1):
        width = max([len(str(header)) * 2] + [len(str(safe_cell(row[column - 1]))) * 1.6
                                              for row in rows[:500]] + [8])
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.xlsx"
    return response


def csv_response(filename: str, headers: list[str], rows: list[list]) -> HttpResponse:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(header) for header in headers])
    writer.writerows([[safe_cell(value) for value in row] for row in rows])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.csv"
    return response


def table_response(kind: str, filename: str, title: str, headers, rows, note: str = ""):
    if kind == "csv":
        return csv_response(filename, headers, rows)
    return xlsx_response(filename, title, headers, rows, note)
