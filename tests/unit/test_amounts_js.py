"""The browser reads amounts with the server's rules (issue 9 point 7: live totals of 202 000 € while the saved
ones were 207 000 €): static/amounts.js and domain/money.parse_amount over the same cases, run by Node."""

import json
import shutil
import subprocess
import sys
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptce_aap.domain.formatting import format_amount
from ptce_aap.domain.money import AmountError, parse_amount
from ptce_aap.settings import ROOT

AMOUNTS_JS = ROOT / "ptce_aap" / "static" / "amounts.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

SPACES = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
CASES = [
    # accepted
    "12345", "12 345", "12\u00a0345", "12\u202f345,50", "12'345", "12 345,5 €", "12345.5", "12345,05",
    "12 500 EUR", "  7  ", "0", "0,01", "999 999 999,99", "-0", "−0", "0000012", "5 000 €", "5000EUR", "12EUR€",
    # refused: the browser used to count some of these (parseFloat("5.000") is 5, parseFloat("1e3") is 1000)
    "5.000", "5'000.000", "5,000.00", "1.000,50", "12,345", "12,3456", "12..5", ",5", "5,", "12€50", "12 euros",
    "douze", "1e3", "1E3", "1,5e3", "2e-2", "0x10", "1_000", "NaN", "Infinity", "inf", "+12", "--1", "-", "€",
    "-5", "-12 345,50 €", "−5", "-−5", "1000000000", "999999999999", "99999999999999999999999", "-99999999999",
    "²⁰¹⁹", "①②③", "١٢٣", "۱۲۳", "१२३", "１２３", "12３", "𝟏𝟐", "5 000abc", "200 000-", "", "   ", "\ufeff5",
    *(f"1{space}000" for space in SPACES),
]


def server(text):
    try:
        value = parse_amount(text)
    except AmountError as exc:
        return {"error": exc.code}
    return {"cents": None if value is None else int(value * 100)}


def browser(texts):
    script = ("const a = require(process.argv[1]); const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(texts.map(a.parseAmount)));")
    done = subprocess.run([NODE, "-e", script, str(AMOUNTS_JS)], input=json.dumps(texts), capture_output=True,
                          text=True, check=True, timeout=30)
    return json.loads(done.stdout)


def test_the_browser_reads_every_case_as_the_server_does():
    got = browser(CASES)
    differing = [(text, unicodedata.name(text[1], "?") if len(text) == 5 else "", expected, read)
                 for text, expected, read in zip(CASES, map(server, CASES), got, strict=True) if expected != read]
    assert differing == []
    assert server("5.000") == {"error": "format"} and server("-5") == {"error": "negative"}
    assert server("1e3") == {"error": "exponent"} and server("5 000 €") == {"cents": 500000}


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(st.text(alphabet="0123456789 ,.-€eE'\u00a0\u202fEUR", max_size=12), min_size=20,
                      max_size=20))
def test_random_typing_is_read_alike(texts):
    assert browser(texts) == [server(t) for t in texts]


def test_the_browser_formats_totals_as_the_server():
    values = [0, 1, 7, 99, 100, 1234, 100000, 20700000, 20200050, 99999999999, -500000, -1]
    script = ("const a = require(process.argv[1]);"
              f"process.stdout.write(JSON.stringify({json.dumps(values)}.map(a.formatCents)));")
    done = subprocess.run([NODE, "-e", script, str(AMOUNTS_JS)], capture_output=True, text=True, check=True,
                          timeout=30)
    assert json.loads(done.stdout) == [format_amount(Decimal(v) / 100) for v in values]


def test_the_browser_formats_totals_as_the_server_in_english():
    values = [0, 1, 7, 99, 100, 1234, 100000, 20700000, 20200050, 99999999999, -500000, -1]
    script = ("const a = require(process.argv[1]);"
              f"process.stdout.write(JSON.stringify({json.dumps(values)}.map(v => a.formatCents(v, 'en'))));")
    done = subprocess.run([NODE, "-e", script, str(AMOUNTS_JS)], capture_output=True, text=True, check=True,
                          timeout=30)
    assert json.loads(done.stdout) == [format_amount(Decimal(v) / 100, "en") for v in values]
