"""Any table of the oversight pages as an Excel workbook (openpyxl) or a CSV file.

A `Table` is what an export holds (`export_tables` makes one per kind, for a person);
the writers here turn it into a file, streamed row by row so that 50 000 rows cost the
memory of a few hundred, in the request or in the export task alike.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from cases.spreadsheet import DATE_FORMAT, DATETIME_FORMAT, safe_cell, text_cell

HEADER_FILL = PatternFill("solid", fgColor="9B1C1C")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
TOTALS_FONT = Font(bold=True)
TOTALS_FILL = PatternFill("solid", fgColor="F0F4F8")
THIN = Side(style="thin", color="BCCCDC")
BOX = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
# The title and the note take the first two rows; the headers the third.
HEADER_ROW = 3
# Column widths are judged from this many rows (the rest are streamed, unread).
WIDTH_SAMPLE = 500
FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

Progress = Callable[[int], None]


@dataclass
class Table:
    """One export: a title line, a note (the period and the definitions), headers, the
    data rows (a list, or a generator over a queryset), and the totals row if it has
    one. `total` is the number of data rows, known before they are read."""

    filename: str
    title: str
    headers: list
    rows: Iterable[list]
    total: int
    note: str = ""
    totals: list | None = None
    # Personal data leaves the system with this export: the access record's detail.
    audit: str = ""
    # column index -> an Excel number format other than the type's default
    number_formats: dict[int, str] = field(default_factory=dict)


def _width(value) -> float:
    if isinstance(value, datetime):
        return 16 * 1.1
    if isinstance(value, date):
        return 10 * 1.1
    return len(str(value)) * 1.6


def write_xlsx(table: Table, target, *, progress: Progress | None = None) -> int:
    """One sheet: the title (bold), the note, bold coloured headers with an autofilter and
    the panes frozen below them, the data (dates as Excel dates), the totals row in bold.
    Returns the number of data rows written."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_name(table.title))
    rows = iter(table.rows)
    sample = [[safe_cell(value) for value in row]
              for row in itertools.islice(rows, WIDTH_SAMPLE)]
    width = len(table.headers)
    # A write-only sheet takes its columns and panes before its first row.
    for column, header in enumerate(table.headers, start=1):
        widest = max([len(str(header)) * 2, 8]
                     + [_width(row[column - 1]) for row in sample if column <= len(row)])
        sheet.column_dimensions[get_column_letter(column)].width = min(widest + 2, 60)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.append([_styled(sheet, safe_cell(table.title), font=TITLE_FONT)])
    sheet.append([safe_cell(table.note)])
    sheet.append([_styled(sheet, safe_cell(header), font=HEADER_FONT, fill=HEADER_FILL,
                          border=BOX, alignment=Alignment(horizontal="center",
                                                          vertical="center", wrap_text=True))
                  for header in table.headers])
    written = 0
    for row in itertools.chain(sample, ([safe_cell(value) for value in row] for row in rows)):
        sheet.append([_cell(sheet, value, table.number_formats.get(index))
                      for index, value in enumerate(row)])
        written += 1
        if progress is not None:
            progress(written)
    last_column = get_column_letter(max(width, 1))
    # The filter covers the headers and the data, not the totals: sorting must not move
    # the 合计 row among the departments.
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last_column}{HEADER_ROW + written}"
    if table.totals is not None:
        sheet.append([_cell(sheet, safe_cell(value), table.number_formats.get(index),
                            font=TOTALS_FONT, fill=TOTALS_FILL, border=BOX)
                      for index, value in enumerate(table.totals)])
    book.save(target)
    return written


def _sheet_name(title) -> str:
    # Excel refuses these in a sheet's name, and more than 31 characters.
    name = "".join(" " if char in '[]:*?/\\' else char for char in str(title)).strip()
    return (name or "Sheet")[:31]


def _styled(sheet, value, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _cell(sheet, value, number_format: str | None = None, **style):
    if isinstance(value, datetime):
        style["number_format"] = number_format or DATETIME_FORMAT
    elif isinstance(value, date):
        style["number_format"] = number_format or DATE_FORMAT
    elif number_format:
        style["number_format"] = number_format
    if not style:
        return value
    return _styled(sheet, value, **style)


def write_csv(table: Table, target, *, progress: Progress | None = None) -> int:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese correctly; `target`
    is a text stream. The totals row last, as in the workbook."""
    target.write("\ufeff")
    writer = csv.writer(target)
    writer.writerow([text_cell(header) for header in table.headers])
    written = 0
    for row in table.rows:
        writer.writerow([text_cell(value) for value in row])
        written += 1
        if progress is not None:
            progress(written)
    if table.totals is not None:
        writer.writerow([text_cell(value) for value in table.totals])
    return written


def file_name(table: Table, file_format: str) -> str:
    return f"{table.filename}.{file_format}"


def table_response(file_format: str, table: Table) -> HttpResponse:
    """The table as a download, made in the request (small tables)."""
    if file_format == "csv":
        buffer = io.StringIO()
        write_csv(table, buffer)
        content = buffer.getvalue().encode("utf-8")
    else:
        binary = io.BytesIO()
        write_xlsx(table, binary)
        content = binary.getvalue()
    response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = attachment_header(file_name(table, file_format))
    return response


def attachment_header(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


def xlsx_response(filename: str, title: str, headers: list, rows: list[list],
                  note: str = "", totals: list | None = None) -> HttpResponse:
    return table_response("xlsx", Table(filename=filename, title=title, headers=headers,
                                        rows=rows, total=len(rows), note=note, totals=totals))


def csv_response(filename: str, headers: list, rows: list[list],
                 totals: list | None = None) -> HttpResponse:
    return table_response("csv", Table(filename=filename, title="", headers=headers,
                                       rows=rows, total=len(rows), totals=totals))
