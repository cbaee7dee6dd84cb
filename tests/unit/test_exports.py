"""CSV exports (ptce_aap/exports.py): formula injection neutralised, UTF-8 with BOM, ``;`` separator."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask import Flask

from ptce_aap.exports import csv_response, csv_stream_response, safe_cell, write_xlsx, xlsx_response

HOSTILE = ["=HYPERLINK(\"http://evil.example\";\"clic\")", "+33 1 23", "-2+3", "@SUM(A1:A9)", "\tcaché",
           "\rretour", "=1+1", " =1+1", "\u00a0=3+3", "\n=2+2", "  @SUM(A1)", "\u202f+1",
           # invisible starts a spreadsheet may skip: ideographic space, zero-width space, byte-order mark,
           # line separator
           "\u3000=1+1", "\u200b=1+1", "\ufeff@SUM(A1)", "\u2028-2+3"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Pôle des Tisserands", "", "a=b", "Coopérative - Nord", "'déjà", " texte", "  "])
def test_ordinary_text_is_left_alone(value):
    assert safe_cell(value) == value


def test_numbers_stay_numbers_and_none_is_empty():
    assert safe_cell(-3) == -3 and safe_cell(Decimal("-1.5")) == Decimal("-1.5") and safe_cell(None) == ""


def test_the_response_is_utf8_with_bom_and_semicolons():
    app = Flask("t")
    with app.test_request_context():
        response = csv_response("x.csv", ["Pôle", "Note"], iter([["=cmd|' /C calc'!A0", 12], ["Tilleuls", "-1"]]))
        body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and 'filename="x.csv"' in response.headers["Content-Disposition"]
    assert body.startswith("\ufeffPôle;Note\r\n")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "12"] and rows[2] == ["Tilleuls", "'-1"]


def test_the_xlsx_holds_hostile_text_as_text_and_numbers_as_numbers():
    import openpyxl

    out = io.BytesIO()
    write_xlsx(out, ["Pôle", "Montant"], [[value, Decimal("-12.50")] for value in HOSTILE])
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    cells = list(sheet.iter_rows(min_row=2))
    # (an XML reader turns a carriage return into a line feed; the cell still starts with the quote)
    assert [row[0].value for row in cells] == ["'" + value.replace("\r", "\n") for value in HOSTILE]
    assert {row[0].data_type for row in cells} == {"s"}  # never "f": no formula
    assert {(row[1].value, row[1].data_type) for row in cells} == {(-12.5, "n")}


def test_streamed_csv_and_xlsx_read_their_rows_lazily():
    app = Flask("t")
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [f"=ligne {n}", n]

    with app.test_request_context():
        response = csv_stream_response("é.csv", ["Pôle", "N"], rows())
        assert read == [] and response.is_streamed  # nothing read before the body is sent
        body = "".join(response.response)
    assert body.startswith("\ufeffPôle;N\r\n") and "'=ligne 2;2" in body
    assert "filename*=UTF-8''%C3%A9.csv" in response.headers["Content-Disposition"]
    with app.test_request_context():
        response = xlsx_response("x.xlsx", ["Pôle"], iter([["=1+1"]]))
        data = b"".join(response.response)
        response.close()
    assert data.startswith(b"PK") and response.mimetype.endswith("spreadsheetml.sheet")


def test_csv_decimals_are_written_with_a_comma_as_the_semicolons_want():
    from ptce_aap.exports import csv_lines

    lines = list(csv_lines(["Montant", "Note", "Rang"], [[Decimal("45000.50"), 62.5, 3]]))
    assert lines[2] == "45000,50;62,5;3\r\n"


def test_the_xlsx_reads_like_a_table_made_by_hand():
    """Bold frozen header, columns as wide as their title or as asked, amounts with two decimals, an aware
    UTC datetime as a real date in Paris time (and, in a CSV, written as the pages write it)."""
    from datetime import UTC, date, datetime

    import openpyxl

    out = io.BytesIO()
    submitted = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 17:00 in Paris (winter time)
    write_xlsx(out, ["Pôle", "Montant demandé (€)", "Déposé le", "Comité"],
               [["Pôle des Tisserands", Decimal("45000.50"), submitted, date(2026, 12, 3)]], widths={0: 40})
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet.freeze_panes == "A2"
    assert [c.font.bold for c in sheet[1]] == [True] * 4 and sheet["A2"].font.bold is False
    assert [sheet.column_dimensions[c].width for c in "ABCD"] == [40, 22, 12, 10]
    amount, when, day = sheet["B2"], sheet["C2"], sheet["D2"]
    assert (amount.value, amount.number_format) == (45000.5, "#,##0.00")
    assert (when.value, when.number_format) == (datetime(2026, 11, 23, 17, 0), "dd/mm/yyyy hh:mm")
    assert (day.value, day.number_format) == (datetime(2026, 12, 3, 0, 0), "dd/mm/yyyy")

    from flask_babel import Babel

    app = Flask("t")
    Babel(app, default_locale="fr")
    with app.test_request_context():
        body = csv_response("x.csv", ["Déposé le"], [[submitted]]).get_data(as_text=True)
    assert body.splitlines()[1] == "23/11/2026 à 17:00 (heure de Paris)"
