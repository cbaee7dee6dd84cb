import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ptce_aap.domain.defaults import DEFAULT_ELIGIBILITY
from ptce_aap.domain.formatting import format_amount, format_datetime, format_share
from ptce_aap.domain.rules_text import explain_rules
from ptce_aap.enums import RuleMode

WINTER_DEADLINE = datetime(2027, 3, 27, 11, 0, tzinfo=UTC)
SUMMER_DEADLINE = datetime(2027, 3, 29, 10, 0, tzinfo=UTC)


def explain(settings, **overrides):
    values = {"max_amount_eur": Decimal("100000"), "max_state_share": Decimal("0.5"), "closes_at": WINTER_DEADLINE}
    values.update(overrides)
    return explain_rules(settings, **values)


def defaults(**changes):
    settings = copy.deepcopy(DEFAULT_ELIGIBILITY)
    for code, values in changes.items():
        settings[code] = values
    return settings


def test_default_settings_give_every_rule_blocking_first():
    rules = explain(defaults())
    assert [(r.code, r.mode) for r in rules] == [
        ("siret", RuleMode.BLOCKING), ("legal_person", RuleMode.BLOCKING), ("min_members", RuleMode.BLOCKING),
        ("ess_core", RuleMode.BLOCKING), ("enterprise_partner", RuleMode.BLOCKING),
        ("territorial_link", RuleMode.BLOCKING), ("not_previously_funded", RuleMode.BLOCKING),
        ("documents", RuleMode.BLOCKING), ("budget_balanced", RuleMode.BLOCKING),
        ("state_share", RuleMode.BLOCKING), ("deadline", RuleMode.BLOCKING),
        ("same_territory", RuleMode.ADVISORY)]
    assert [r.is_blocking for r in rules] == [True] * 11 + [False]
    assert [r.text for r in rules] == [
        "La structure porteuse doit disposer d’un numéro SIRET valide.",
        "La structure porteuse doit être une personne morale de droit privé (association, coopérative, SCIC, "
        "SCOP, mutuelle, fondation ou société) ; une collectivité ne peut pas porter le pôle.",
        "Le pôle doit réunir au moins 3 personnes morales membres.",
        "Au moins un membre doit être une entreprise de l’économie sociale et solidaire (au sens de l’article 1er "
        "de la loi n° 2014-856 du 31 juillet 2014).",
        "Au moins un membre doit être une entreprise hors économie sociale et solidaire.",
        "Au moins un membre doit être un autre acteur mentionné à l’article 9 de la loi : collectivité "
        "territoriale ou groupement, centre de recherche ou établissement d’enseignement supérieur, organisme "
        "de formation ou autre acteur.",
        "La structure porteuse ne doit pas avoir été lauréate d’un précédent appel à projets PTCE.",
        "Toutes les pièces obligatoires doivent être jointes au dossier ; une pièce que l’antivirus n’a pas "
        "analysée est acceptée et signalée comme non analysée.",
        "Le plan de financement doit être équilibré : le total des ressources doit être égal au total des "
        "dépenses, à l’euro près.",
        "Le montant demandé à l’État ne doit pas dépasser 100\u202f000 €, ni 50\u00a0% du budget total du projet.",
        "Le dossier doit être déposé avant le 27/03/2027 à 12:00 (heure de Paris) ; après cette date, le dépôt "
        "n’est plus possible.",
        "Chaque membre doit être situé dans l’un des départements couverts par le pôle ou dans un département "
        "limitrophe.",
    ]


@pytest.mark.parametrize(("minimum", "sentence"), [
    (5, "Le pôle doit réunir au moins 5 personnes morales membres."),
    (2, "Le pôle doit réunir au moins 2 personnes morales membres."),
    (1, "Le pôle doit compter au moins une personne morale membre."),
])
def test_min_members_states_the_calls_minimum(minimum, sentence):
    rules = explain({**_all_off_except("min_members"), "min_members": {"mode": "blocking", "minimum": minimum}})
    assert [(r.code, r.text) for r in rules] == [("min_members", sentence)]


@pytest.mark.parametrize(("allow_adjacent", "sentence"), [
    (True, "Chaque membre doit être situé dans l’un des départements couverts par le pôle ou dans un "
           "département limitrophe."),
    (False, "Chaque membre doit être situé dans l’un des départements couverts par le pôle."),
])
def test_same_territory_with_and_without_adjacent_departments(allow_adjacent, sentence):
    settings = {**_all_off_except("same_territory"),
                "same_territory": {"mode": "blocking", "allow_adjacent": allow_adjacent}}
    assert [(r.code, r.mode, r.text) for r in explain(settings)] == [
        ("same_territory", RuleMode.BLOCKING, sentence)]


@pytest.mark.parametrize(("cap", "share", "sentence"), [
    (Decimal("150000"), Decimal("0.4"),
     "Le montant demandé à l’État ne doit pas dépasser 150\u202f000 €, ni 40\u00a0% du budget total du projet."),
    (Decimal("72500.50"), Decimal("0.425"),
     "Le montant demandé à l’État ne doit pas dépasser 72\u202f500,50 €, ni 42,5\u00a0% du budget total du projet."),
])
def test_state_share_states_cap_and_share_as_percentage(cap, share, sentence):
    rules = explain(_all_off_except("state_share"), max_amount_eur=cap, max_state_share=share)
    assert [r.text for r in rules] == [sentence]


@pytest.mark.parametrize(("closes_at", "shown"), [
    (WINTER_DEADLINE, "27/03/2027 à 12:00 (heure de Paris)"),        # UTC+1
    (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "28/03/2027 à 01:30 (heure de Paris)"),  # just before the change
    (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "28/03/2027 à 03:30 (heure de Paris)"),  # just after it
    (SUMMER_DEADLINE, "29/03/2027 à 12:00 (heure de Paris)"),        # UTC+2
])
def test_deadline_is_given_in_paris_time_across_daylight_saving(closes_at, shown):
    rules = explain(_all_off_except("deadline"), closes_at=closes_at)
    assert [r.text for r in rules] == [
        f"Le dossier doit être déposé avant le {shown} ; après cette date, le dépôt n’est plus possible."]


def test_off_rules_are_skipped_and_advisory_ones_come_last():
    settings = defaults(siret={"mode": "off"}, legal_person={"mode": "advisory"}, deadline={"mode": "off"},
                        same_territory={"mode": "off", "allow_adjacent": True})
    rules = explain(settings)
    codes = [r.code for r in rules]
    assert "siret" not in codes and "deadline" not in codes and "same_territory" not in codes
    assert codes[-1] == "legal_person"
    assert rules[-1].mode == RuleMode.ADVISORY
    assert codes[:-1] == ["min_members", "ess_core", "enterprise_partner", "territorial_link",
                          "not_previously_funded", "documents", "budget_balanced", "state_share"]


def test_missing_rules_and_parameters_fall_back_to_defaults():
    rules = explain({"min_members": {"mode": "advisory"}})
    by_code = {r.code: r for r in rules}
    assert len(rules) == 12
    assert by_code["min_members"].mode == RuleMode.ADVISORY
    assert by_code["min_members"].text == "Le pôle doit réunir au moins 3 personnes morales membres."
    assert explain(None)[0].code == "siret"


def test_sentences_go_through_gettext_and_formatters():
    calls = []

    def gettext(message):
        calls.append(message)
        return f"[{message}]"

    rules = explain_rules(_all_off_except("state_share", "deadline"), max_amount_eur=Decimal("100000"),
                          max_state_share=Decimal("0.5"), closes_at=WINTER_DEADLINE, gettext=gettext,
                          format_amount=lambda v: f"EUR {v}", format_datetime=lambda d: d.date().isoformat(),
                          locale="en")
    assert [r.text for r in rules] == [
        "[Le montant demandé à l’État ne doit pas dépasser EUR 100000, ni 50% du budget total du projet.]",
        "[Le dossier doit être déposé avant le 2027-03-27 ; après cette date, le dépôt n’est plus possible.]"]
    assert len(calls) == 2


def test_formatters_in_french():
    assert format_amount(Decimal("1000000.00")) == "1\u202f000\u202f000 €"
    assert format_datetime(SUMMER_DEADLINE) == "29/03/2027 à 12:00 (heure de Paris)"
    assert format_share(Decimal("0.5")) == "50\u00a0%"
    assert format_share(Decimal("0.5"), "en") == "50%"


def _all_off_except(*codes):
    return {code: ({**values} if code in codes else {**values, "mode": "off"})
            for code, values in DEFAULT_ELIGIBILITY.items()}


def test_documents_sentence_follows_the_scan_requirement():
    settings = {**_all_off_except("documents"), "documents": {"mode": "blocking", "require_clean_scan": True}}
    assert [r.text for r in explain(settings)] == [
        "Toutes les pièces obligatoires doivent être jointes au dossier et reconnues saines par l’analyse antivirus."]
