"""Budget and documents checks of a dossier (domain/dossier_checks.py): the financing plan balances to the
cent, line by line problems carry the form's field ids, caps and the total budget at their boundaries, the
documents a call requires (hypothesis for the balance)."""

from dataclasses import astuple, replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptce_aap.domain.dossier_checks import (
    check_budget,
    check_documents,
    check_dossier,
    pending_verification,
    section_states,
    totals,
)
from ptce_aap.enums import AttachmentStatus
from tests.unit.dossier_facts import RULES, TODAY, attachment, dossier, expense, resource


def problems(check, d, *args) -> list[tuple]:
    return [astuple(p) for p in check(d, *args)]


def plan(expenses: list[str], resources: list[str]):
    return [expense(a, f"Dépense {i}") for i, a in enumerate(expenses)] + \
        [resource(a, f"Ressource {i}") for i, a in enumerate(resources)]


# --- Balance, to the cent ------------------------------------------------------------------------

def test_balanced_plan_has_no_problem():
    assert problems(check_budget, dossier(financing_lines=plan(["150000", "30000"], ["90000", "90000"])), RULES) == []
    assert problems(check_budget, dossier(financing_lines=plan(["0.01"], ["0.01"]),
                                          amount_requested_eur=Decimal("0.01")), RULES) == []


@pytest.mark.parametrize(("resources", "message"), [
    ("180000.01", "Le plan de financement n'est pas équilibré : 180\u202f000,01 € de ressources pour 180\u202f000 € "
                  "de dépenses (écart 0,01 €)."),
    ("179999.99", "Le plan de financement n'est pas équilibré : 179\u202f999,99 € de ressources pour 180\u202f000 € "
                  "de dépenses (écart 0,01 €)."),
    ("180001", "Le plan de financement n'est pas équilibré : 180\u202f001 € de ressources pour 180\u202f000 € "
               "de dépenses (écart 1 €)."),
    ("179999", "Le plan de financement n'est pas équilibré : 179\u202f999 € de ressources pour 180\u202f000 € "
               "de dépenses (écart 1 €)."),
    ("1180000", "Le plan de financement n'est pas équilibré : 1\u202f180\u202f000 € de ressources pour "
                "180\u202f000 € de dépenses (écart 1\u202f000\u202f000 €)."),
])
def test_plan_must_balance_exactly_to_the_cent(resources, message):
    """A cent, or a euro, of difference is an error: no tolerance."""
    d = dossier(financing_lines=plan(["150000", "30000"], ["90000", resources]))
    d.financing_lines[-1].amount_eur = Decimal(resources) - Decimal("90000")
    assert problems(check_budget, d, RULES) == [("budget", "balance", message, "invalid")]
    assert section_states(check_dossier(d, RULES, today=TODAY))["budget"] == "error"


@given(expenses=st.lists(st.integers(1, 10**8), min_size=1, max_size=5),
       resources=st.lists(st.integers(1, 10**8), min_size=1, max_size=5))
def test_balance_problem_iff_totals_differ(expenses, resources):
    to_eur = [str(Decimal(c) / 100) for c in expenses], [str(Decimal(c) / 100) for c in resources]
    d = dossier(financing_lines=plan(*to_eur), amount_requested_eur=None, total_budget_eur=None)
    balanced = sum(expenses) == sum(resources)
    assert ("balance" in [p.field for p in check_budget(d, RULES)]) is not balanced
    assert totals(d.financing_lines) == (Decimal(sum(expenses)) / 100, Decimal(sum(resources)) / 100)


def test_totals_count_valid_amounts_only():
    lines = plan(["100", "0.5"], ["40"]) + [expense(None), resource(None)]
    assert totals(lines) == (Decimal("100.5"), Decimal("40"))
    assert totals([]) == (Decimal(0), Decimal(0))


def test_empty_plan_asks_for_lines_without_a_balance_error():
    assert problems(check_budget, dossier(financing_lines=[]), RULES) == [
        ("budget", "expenses", "Budget de la cellule d'animation : ajoutez au moins une ligne de dépense.",
         "missing"),
        ("budget", "resources", "Plan de financement : ajoutez au moins une ressource.", "missing")]


# --- Lines ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["0", "-0.01", "-1000"])
def test_line_amount_must_be_positive(amount):
    lines = plan(["90000", amount], ["90000"])
    lines[-1].amount_eur = Decimal("90000") + Decimal(amount)  # keep the plan balanced
    assert problems(check_budget, dossier(financing_lines=lines), RULES) == [
        ("budget", "expenses-1-amount_eur", "Dépense « Dépense 1 » : le montant doit être supérieur à zéro.",
         "invalid")]


def test_line_problems_use_the_form_field_of_their_row():
    lines = [resource("100", "Apport"), expense("100", "Loyer"), resource(None, ""), expense("1", " ")]
    d = dossier(financing_lines=lines, raw_inputs={"lines-3-amount_eur": "1O0"})
    lines[2].source = None
    lines[2].status = None
    lines[2].funder = None
    assert problems(check_budget, d, RULES) == [
        ("budget", "resources-1-amount_eur", "Ressource « 3 » : montant à renseigner.", "missing"),
        ("budget", "resources-1-label", "Ressource « 3 » : intitulé à renseigner.", "missing"),
        ("budget", "resources-1-source", "Ressource « 3 » : origine du financement à choisir.", "missing"),
        ("budget", "resources-1-status", "Ressource « 3 » : indiquez si le financement est acquis ou sollicité.",
         "missing"),
        ("budget", "expenses-1-amount_eur", "Dépense «   » : « 1O0 » n'est pas un montant valide. Saisissez un "
                                            "montant en euros, par exemple 12 500 ou 12 500,50.", "invalid"),
        ("budget", "expenses-1-label", "Dépense «   » : intitulé à renseigner.", "missing"),
        ("budget", "balance", "Le plan de financement n'est pas équilibré : 100 € de ressources pour 101 € de "
                              "dépenses (écart 1 €).", "invalid"),
    ]


# --- Amounts of the dossier, caps ----------------------------------------------------------------

@pytest.mark.parametrize(("field", "label"), [("total_budget_eur", "Budget total du projet"),
                                              ("amount_requested_eur", "Montant demandé à l'État")])
def test_dossier_amounts_required_or_typed_wrong(field, label):
    assert problems(check_budget, dossier(**{field: None}), RULES) == [
        ("budget", field, f"{label} : à renseigner.", "missing")]
    assert problems(check_budget, dossier(**{field: None}, raw_inputs={field: "١٢٣"}), RULES) == [
        ("budget", field, f"{label} : « ١٢٣ » n'est pas un montant valide. Saisissez un montant en euros, par "
                          "exemple 12 500 ou 12 500,50.", "invalid")]
    assert problems(check_budget, dossier(**{field: None}, raw_inputs={field: "-5 000"}), RULES) == [
        ("budget", field, f"{label} : « -5 000 » n'est pas accepté. Le montant doit être positif ou nul.", "invalid")]


def test_category_of_the_call_must_be_one_of_its_categories():
    for code in (None, "", "inconnue"):
        assert problems(check_budget, dossier(category_code=code), RULES) == [
            ("budget", "category_code", "Catégorie de l'appel : à choisir.", "missing")]
    assert problems(check_budget, dossier(category_code=None), replace(RULES, category_codes=())) == []


@pytest.mark.parametrize(("category", "cap"), [("developpement", "100000"), ("emergence", "50000")])
def test_requested_amount_cap_boundary(category, cap):
    """The category's cap wins over the call's maximum; the cap itself is allowed, one cent more is not."""
    at_cap = dossier(category_code=category, amount_requested_eur=Decimal(cap))
    assert problems(check_budget, at_cap, RULES) == []
    over = dossier(category_code=category, amount_requested_eur=Decimal(cap) + Decimal("0.01"))
    shown = f"{int(cap):,}".replace(",", "\u202f")
    assert problems(check_budget, over, RULES) == [
        ("budget", "amount_requested_eur", f"Le montant demandé dépasse le plafond de l'appel ({shown} €).",
         "invalid")]


def test_no_cap_when_the_call_has_none():
    rules = replace(RULES, max_amount_eur=None, category_caps=None)
    assert problems(check_budget, dossier(amount_requested_eur=Decimal("400000")), rules) == []


def test_requested_amount_within_the_total_budget():
    rules = replace(RULES, max_amount_eur=None, category_caps=None)
    assert problems(check_budget, dossier(amount_requested_eur=Decimal("400000")), rules) == []
    assert problems(check_budget, dossier(amount_requested_eur=Decimal("400000.01")), rules) == [
        ("budget", "amount_requested_eur", "Le montant demandé dépasse le budget total du projet.", "invalid")]


# --- Documents -----------------------------------------------------------------------------------

def test_required_documents():
    assert problems(check_documents, dossier(attachments=[]), RULES) == [
        ("pieces", "doc-statuts", "Statuts : document à fournir.", "missing"),
        ("pieces", "doc-budget", "Budget détaillé : document à fournir.", "missing")]
    no_labels = replace(RULES, required_documents=(("statuts", "Statuts"), ("budget", "")))
    assert problems(check_documents, dossier(attachments=[attachment("statuts")]), no_labels) == [
        ("pieces", "doc-budget", "budget : document à fournir.", "missing")]


@pytest.mark.parametrize("status", [AttachmentStatus.UPLOADING, AttachmentStatus.REJECTED,
                                    AttachmentStatus.QUARANTINED])
def test_only_a_ready_or_verifying_file_provides_a_document(status):
    d = dossier(attachments=[attachment("statuts"), attachment("budget", status, "plan.pdf")])
    found = problems(check_documents, d, RULES)
    assert found[0] == ("pieces", "doc-budget", "Budget détaillé : document à fournir.", "missing")
    extra = {
        AttachmentStatus.QUARANTINED: [("pieces", "doc-budget", "« plan.pdf » a été bloqué par l'antivirus : "
                                        "remplacez-le.", "invalid")],
    }
    assert found[1:] == extra.get(status, [])


def test_a_file_still_being_verified_does_not_hold_the_submission_back():
    """The verification queue's delay is never the submission's: the receipt and the check wait instead."""
    d = dossier(attachments=[attachment("statuts"), attachment("budget", AttachmentStatus.PROCESSING, "plan.pdf")])
    assert problems(check_documents, d, RULES) == []
    assert [a.filename for a in pending_verification(d)] == ["plan.pdf"]


def test_a_ready_file_counts_even_beside_a_blocked_one():
    d = dossier(attachments=[attachment("statuts"), attachment("budget"),
                             attachment("budget", AttachmentStatus.QUARANTINED, "virus.pdf")])
    assert [p.kind for p in check_documents(d, RULES)] == ["invalid"]


def test_total_budget_below_the_expenses_is_an_error_as_in_the_eligibility_rule():
    from ptce_aap.domain import eligibility

    lines = plan(["150000", "60000"], ["90000", "120000"])  # 210 000 € of expenses, balanced
    d = dossier(financing_lines=lines, total_budget_eur=Decimal("150000"), amount_requested_eur=Decimal("50000"))
    assert problems(check_budget, d, RULES) == [(
        "budget", "total_budget_eur", "Le budget total du projet (150\u202f000 €) est inférieur aux dépenses du plan de "
        "financement (210\u202f000 €) : corrigez l'un ou l'autre.", "invalid")]
    assert section_states(check_dossier(d, RULES, today=TODAY))["budget"] == "error"
    facts = eligibility.DossierFacts(expenses_eur=Decimal("210000"), resources_eur=Decimal("210000"),
                                     total_budget_eur=Decimal("150000"), amount_requested_eur=Decimal("50000"),
                                     financing_line_count=4)
    assert not eligibility.rule_state_share(facts, RULES, {}).passed  # the rule fails on the same numbers
    d.total_budget_eur = Decimal("210000")
    assert problems(check_budget, d, RULES) == []
