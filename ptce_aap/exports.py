"""Every CSV the platform hands out goes through here: ``csv_response(filename, header, rows)`` answers UTF-8
with a BOM (so that Excel reads the accents) and ``;`` as separator (French spreadsheets), every cell through
``safe_cell``.

``safe_cell`` neutralises formula injection (OWASP « CSV injection »): a text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by a spreadsheet (a pole named
``=HYPERLINK(…)`` or ``@SUM(…)``): it is prefixed with ``'``, which the spreadsheet shows as plain text.
Numbers (int, Decimal…) are written as they are: a negative amount stays a number."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR = ";"
BOM = "\ufeff"


def safe_cell(value) -> str | int | float | Decimal:
    """The value as a spreadsheet may read it without running anything."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what ``csv.writer`` wrote for one row."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterable[str]:
    """The BOM, then one line of text per row (the header first), every cell made safe."""
    writer = csv.writer(_Line(), delimiter=SEPARATOR)
    yield BOM
    yield writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """A CSV download. The text is made line by line (``csv_lines``) but sent whole: the exports read tables
    already in memory, and a body streamed after the view returns would outlive its request context (the
    translated labels need it) whenever a client stops reading."""
    return Response("".join(csv_lines(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
