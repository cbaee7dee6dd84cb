"""Every CSV the platform hands out goes through here: ``csv_response(filename, header, rows)`` answers UTF-8
with a BOM (so that Excel reads the accents) and ``;`` as separator (French spreadsheets), every cell through
``safe_cell``.

``safe_cell`` neutralises formula injection (OWASP « CSV injection »): a text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by a spreadsheet (a pole named
``=HYPERLINK(…)`` or ``@SUM(…)``): it is prefixed with ``'``, which the spreadsheet shows as plain text.
Numbers (int, Decimal…) are written as they are: a negative amount stays a number.

Long lists (a call's dossiers) are streamed: ``csv_stream_response`` sends the lines as they are made, inside
the request's context (``stream_with_context``, so translated labels and the database session live until the
last line; a client that stops reading closes the generator), and ``xlsx_response`` writes an openpyxl
*write-only* workbook (rows go to disk as they come, strings inline) into a temporary file, then sends that
file. The same ``safe_cell`` applies to both, and an XLSX text cell is always typed as text, never a formula.

A workbook reads like a table made by hand: the header in bold and frozen, columns as wide as their title
(or as asked), amounts with two decimals, dates and times as real spreadsheet dates in Paris time (a CSV
writes them as the pages do, « 23/11/2026 à 17:00 (heure de Paris) »)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ptce_aap.domain.formatting import PARIS
from ptce_aap.domain.text import without_invisible_start
from ptce_aap.formatting import format_paris, format_paris_date
from ptce_aap.storage.base import closing_chunks, content_disposition

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR = ";"
BOM = "\ufeff"


def safe_cell(value) -> str | int | float | Decimal:
    """The value as a spreadsheet may read it without running anything (a date as the pages write it)."""
    if isinstance(value, datetime):
        return format_paris(value)
    if isinstance(value, date):
        return format_paris_date(value)
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    hostile = text.startswith(FORMULA_STARTS) or without_invisible_start(text).startswith(FORMULA_STARTS[:4])
    return "'" + text if hostile else text


class _Line:
    """A file-like object that hands back what ``csv.writer`` wrote for one row."""

    def write(self, text: str) -> str:
        return text


def _csv_cell(value) -> str | int:
    """A cell as a French spreadsheet reads it: « ; » between cells, so a decimal comma (45000,50)."""
    value = safe_cell(value)
    if isinstance(value, (Decimal, float)):
        return str(value).replace(".", ",")
    return value


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterable[str]:
    """The BOM, then one line of text per row (the header first), every cell made safe, decimals with a comma."""
    writer = csv.writer(_Line(), delimiter=SEPARATOR)
    yield BOM
    yield writer.writerow([_csv_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """A CSV download. The text is made line by line (``csv_lines``) but sent whole: the exports read tables
    already in memory, and a body streamed after the view returns would outlive its request context (the
    translated labels need it) whenever a client stops reading."""
    return Response("".join(csv_lines(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_stream_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """A CSV download sent line by line while ``rows`` is read (memory flat in the number of rows)."""
    return Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition(filename)})


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


AMOUNT_FORMAT = "#,##0.00"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
MIN_WIDTH, MAX_WIDTH = 10, 60


def _xlsx_cell(sheet, value) -> WriteOnlyCell:
    if isinstance(value, datetime):  # aware UTC in the app: the spreadsheet gets Paris wall time
        wall = value.astimezone(PARIS).replace(tzinfo=None) if value.tzinfo else value
        cell = WriteOnlyCell(sheet, value=wall)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    cell = WriteOnlyCell(sheet, value=safe_cell(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"  # text stays text (openpyxl would read a leading "=" as a formula)
    elif isinstance(cell.value, Decimal):
        cell.number_format = AMOUNT_FORMAT
    return cell


def write_xlsx(out, header: Iterable, rows: Iterable[Iterable], *, title: str = "Export",
               widths: Mapping[int, int] | None = None) -> None:
    """Write a one-sheet workbook to the binary file ``out``, row by row (openpyxl write-only mode): the header
    bold and frozen, each column as wide as its title or as ``widths`` says (by 0-based column index)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    header = [str(v) for v in header]
    for index, text in enumerate(header):
        width = (widths or {}).get(index, len(text) + 3)
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "A2"  # write-only sheets take their layout before the first row
    bold = Font(bold=True)
    titles = []
    for text in header:
        cell = _xlsx_cell(sheet, text)
        cell.font = bold
        titles.append(cell)
    sheet.append(titles)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    workbook.save(out)


def xlsx_response(filename: str, header: Iterable, rows: Iterable[Iterable], *, title: str = "Export",
                  widths: Mapping[int, int] | None = None) -> Response:
    """An XLSX download: the workbook is written to a temporary file, then streamed in chunks; the file is closed
    (and so deleted) when the last chunk is sent or the client goes away (the server closes the iterator)."""
    out = tempfile.TemporaryFile()
    try:
        write_xlsx(out, header, rows, title=title, widths=widths)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return Response(closing_chunks(out), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": content_disposition(filename)})
