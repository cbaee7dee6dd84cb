"""One catalog per concept: eligibility rules (``eligibility.CATALOG``) and dossier sections
(``domain.sections.SECTIONS``); every other list of codes is derived from them."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ptce_aap.domain import defaults, dossier_checks, eligibility, rules_text, sections
from ptce_aap.domain.eligibility import CATALOG, RULE_LABELS, RULE_ORDER, RULES, CallFacts, default_settings
from ptce_aap.enums import RuleMode
from ptce_aap.settings import ROOT

# SPEC §3's order: the public call page, the verdicts and the admin tables list rules in it.
SPEC_ORDER = ("siret", "legal_person", "min_members", "ess_core", "enterprise_partner", "territorial_link",
              "same_territory", "not_previously_funded", "documents", "budget_balanced", "state_share",
              "deadline")


def test_rule_catalog_order_is_spec_order():
    assert tuple(rule.code for rule in CATALOG) == SPEC_ORDER
    assert RULE_ORDER == SPEC_ORDER
    assert len(set(RULE_ORDER)) == len(RULE_ORDER)


def test_rule_order_labels_functions_and_defaults_all_come_from_the_catalog():
    assert list(RULE_LABELS) == list(RULE_ORDER)
    assert RULE_LABELS == {rule.code: rule.label for rule in CATALOG}
    assert RULES == {rule.code: rule.check for rule in CATALOG}
    assert list(defaults.DEFAULT_ELIGIBILITY) == list(RULE_ORDER)
    assert defaults.DEFAULT_ELIGIBILITY == default_settings()
    assert rules_text.RULE_ORDER is eligibility.RULE_ORDER


def test_rule_catalog_defaults():
    assert default_settings() == {
        "siret": {"mode": "blocking"}, "legal_person": {"mode": "blocking"},
        "min_members": {"mode": "blocking", "minimum": 3}, "ess_core": {"mode": "blocking"},
        "enterprise_partner": {"mode": "blocking"}, "territorial_link": {"mode": "blocking"},
        "same_territory": {"mode": "advisory", "allow_adjacent": True},
        "not_previously_funded": {"mode": "blocking"}, "documents": {"mode": "blocking", "require_clean_scan": False},
        "budget_balanced": {"mode": "blocking"}, "state_share": {"mode": "blocking"},
        "deadline": {"mode": "blocking"}}


def test_default_settings_are_a_fresh_copy_each_time():
    settings = default_settings()
    settings["min_members"]["minimum"] = 7
    assert default_settings()["min_members"]["minimum"] == 3
    assert eligibility.rule_settings(None, "min_members") == {"mode": "blocking", "minimum": 3}


def test_every_catalog_rule_is_explained_and_evaluated():
    everything_blocking = {code: {"mode": RuleMode.BLOCKING.value} for code in RULE_ORDER}
    explained = rules_text.explain_rules(everything_blocking, max_amount_eur=Decimal("100000"),
                                         max_state_share=Decimal("0.5"),
                                         closes_at=datetime(2027, 3, 29, 10, 0, tzinfo=UTC))
    assert [r.code for r in explained] == list(RULE_ORDER)
    verdict = eligibility.evaluate(eligibility.DossierFacts(), CallFacts(settings=everything_blocking))
    assert [r.code for r in verdict.results] == list(RULE_ORDER)
    assert all(r.label == RULE_LABELS[r.code] for r in verdict.results)


def _first_string(node: ast.AST) -> str | None:
    """``"code"`` or the first item of ``("code", label)``."""
    if isinstance(node, ast.Tuple) and node.elts:
        node = node.elts[0]
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _code_lists(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            yield {code for code in map(_first_string, node.elts) if code}
        if isinstance(node, ast.Dict) and all(  # {code: label}, {code: _l(label)}, {code: settings}
                isinstance(v, ast.Constant | ast.Dict | ast.Call) for v in node.values):
            yield {code for code in map(_first_string, node.keys) if code}


def test_no_module_lists_rule_or_section_codes_by_hand():
    """A literal order (list, tuple) or table of labels or settings (dict) naming several rule or section
    codes outside the catalogs is a second source. Per-section data keyed by code (forms, fields) is not."""
    rule_codes, section_codes = set(RULE_ORDER), set(sections.SECTION_CODES)
    allowed = {Path(eligibility.__file__), Path(sections.__file__)}
    offenders = []
    for path in sorted((ROOT / "ptce_aap").rglob("*.py")):
        if path in allowed:
            continue
        for names in _code_lists(ast.parse(path.read_text(encoding="utf-8"))):
            if len(names & rule_codes) >= 4 or len(names & section_codes) >= 4:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(names)[:4]}…")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            quoted = {code for code in section_codes | rule_codes if f'"{code}"' in line or f"'{code}'" in line}
            if len(quoted) >= 4:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {sorted(quoted)[:4]}…")
    assert offenders == []


def test_one_call_facts_type():
    assert not hasattr(dossier_checks, "CallRules")
    assert dossier_checks.CallFacts is CallFacts
    facts = CallFacts(required_documents=(("statuts", "Statuts"), ("rib", "RIB")))
    assert facts.required_document_codes == ("statuts", "rib")


def test_section_catalog_order_and_derived_lists():
    assert sections.SECTION_CODES == ("identite", "membres", "activites", "projet", "budget", "pieces")
    assert not hasattr(dossier_checks, "SECTIONS")  # one catalog: no second list of (code, title)
    assert list(dossier_checks.section_states([])) == list(sections.SECTION_CODES)
    assert eligibility.IDENTITY_SECTION == "« Identité du pôle et structure porteuse »"
    assert eligibility.MEMBERS_SECTION == "« Membres du pôle »"


def test_every_section_template_exists():
    for section in sections.SECTIONS:
        assert (ROOT / "templates" / section.template).is_file(), section.template


def test_problems_only_name_catalog_sections():
    problem = dossier_checks.Problem("budget", "balance", "…")
    states = dossier_checks.section_states([problem, dossier_checks.Problem("pieces", "doc-rib", "…", "invalid")])
    assert states == {"identite": "complete", "membres": "complete", "activites": "complete",
                      "projet": "complete", "budget": "incomplete", "pieces": "error"}
