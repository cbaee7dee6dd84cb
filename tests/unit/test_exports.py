"""CSV exports (ptce_aap/exports.py): formula injection neutralised, UTF-8 with BOM, ``;`` separator."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask import Flask

from ptce_aap.exports import csv_response, safe_cell

HOSTILE = ["=HYPERLINK(\"http://evil.example\";\"clic\")", "+33 1 23", "-2+3", "@SUM(A1:A9)", "\tcaché",
           "\rretour", "=1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Pôle des Tisserands", "", "a=b", "Coopérative - Nord", "'déjà"])
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
