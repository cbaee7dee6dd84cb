"""Once a dossier is submitted it cannot be changed: what the rules store and mail (the finding) never tells
the applicant to change it; the draft's advice still does."""

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from ptce_aap.domain.eligibility import RULE_ORDER, AttachmentFacts, run_rule
from ptce_aap.enums import LegalForm
from tests.unit.test_eligibility import call, dossier, member

INSTRUCTIONS = re.compile(r"\b(Ajoutez|ajoutez|Corrigez|corrigez|Confiez|indiquez-le|choisissez-l\w*|Ajustez|"
                          r"saisissez|remplacez-le|envoyez-le)\b")

FAILING = {
    "empty": dossier(carrier_siret="", carrier_legal_form=None, members=(), departments=(), expenses_eur=Decimal(0),
                     resources_eur=Decimal(0), financing_line_count=0, amount_requested_eur=None,
                     total_budget_eur=None, attachments=()),
    "wrong": dossier(carrier_siret="12345678901234", carrier_legal_form=LegalForm.COLLECTIVITE.value,
                     members=(member("Loin", "ess", department="75"),), departments=("69",),
                     expenses_eur=Decimal(100), resources_eur=Decimal(90), financing_line_count=2,
                     amount_requested_eur=Decimal(50), total_budget_eur=Decimal(80),
                     attachments=(AttachmentFacts("statuts", "quarantined", "infected", "statuts.pdf"),)),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_finding_never_tells_to_change_a_submitted_dossier(case):
    facts = FAILING[case]
    failed = [r for r in (run_rule(code, facts, call()) for code in RULE_ORDER if code != "deadline") if not r.passed]
    assert len(failed) >= 6
    advised = 0
    for result in failed:
        assert not INSTRUCTIONS.search(result.finding), result.finding
        assert result.finding.endswith(".")
        assert result.as_dict()["message"] == result.finding  # what is stored and mailed
        if result.finding != result.message_fr:
            advised += 1
            assert INSTRUCTIONS.search(result.message_fr), result.message_fr  # the draft is told what to do
    assert advised >= 4


def test_documents_keep_each_finding_and_drop_each_instruction():
    facts = replace(FAILING["wrong"], attachments=(
        AttachmentFacts("statuts", "quarantined", "infected", "statuts.pdf"),
        AttachmentFacts("budget", "processing", "pending", "budget.xlsx")))
    result = run_rule("documents", facts, call())
    assert "« statuts.pdf » a été bloqué par l’antivirus : remplacez-le." in result.message_fr
    assert "« statuts.pdf » a été bloqué par l’antivirus." in result.finding
    assert "« budget.xlsx » est en cours de vérification." in result.finding
    assert "remplacez" not in result.finding
