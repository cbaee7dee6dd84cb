"""The eligibility rules (SPEC §3): each rule passing and failing with its exact French message, and the
verdict: eligible iff every blocking rule passes (hypothesis)."""

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptce_aap.domain.defaults import DEFAULT_DOCUMENT_TYPES, DEFAULT_ELIGIBILITY
from ptce_aap.domain.eligibility import (
    RULE_LABELS,
    RULE_ORDER,
    AttachmentFacts,
    CallFacts,
    DossierFacts,
    MemberFacts,
    evaluate,
    run_rule,
    siren_of,
)
from ptce_aap.enums import RuleMode

NNBSP = "\u202f"  # thousands separator in French amounts
NBSP = "\u00a0"  # before %
DEADLINE = datetime(2027, 3, 27, 11, 0, tzinfo=UTC)  # 12:00 in Paris
REQUIRED = tuple((d["code"], d["label"]) for d in DEFAULT_DOCUMENT_TYPES if d["is_required"])
CARRIER = "73282932000074"
MEMBER_SIRET = "35600000000048"


def distinct_siret(name: str) -> str:
    """A valid SIRET of its own for each member name (distinct SIRENs: distinct legal persons)."""
    import zlib

    from stdnum import luhn

    siren = f"{zlib.crc32(name.encode()) % 10**8:08d}"
    siren += luhn.calc_check_digit(siren)
    nic = siren + "0001"
    return nic + luhn.calc_check_digit(nic)


def member(name, category, department="69", legal=True, siret=None):
    return MemberFacts(name=name, category=category, siret=(siret or distinct_siret(name)) if legal else "",
                       department=department, is_legal_person=legal)


MEMBERS = (member("Régie de quartier", "ess"), member("Boulangerie Martin SARL", "enterprise"),
           member("Métropole de Lyon", "collectivity"), member("Université Lyon 2", "research"))


def dossier(**changes) -> DossierFacts:
    values = dict(
        carrier_siret=CARRIER, carrier_legal_form="association", members=MEMBERS, departments=("69", "01"),
        expenses_eur=Decimal("180000"), resources_eur=Decimal("180000"), financing_line_count=4,
        amount_requested_eur=Decimal("90000"), total_budget_eur=Decimal("400000"),
        attachments=tuple(AttachmentFacts(code, "ready", "clean", f"{code}.pdf") for code, _label in REQUIRED),
        submitted_at=DEADLINE - timedelta(days=1))
    values.update(changes)
    return DossierFacts(**values)


def call(settings=None, **changes) -> CallFacts:
    values = dict(settings=settings if settings is not None else copy.deepcopy(DEFAULT_ELIGIBILITY),
                  required_documents=REQUIRED, max_amount_eur=Decimal("100000"), max_state_share=Decimal("0.5"),
                  closes_at=DEADLINE)
    values.update(changes)
    return CallFacts(**values)


def check(code, d=None, c=None, **kw):
    result = run_rule(code, d or dossier(), c or call(), **kw)
    assert result.code == code
    return result.passed, result.message_fr


# --- the complete dossier ------------------------------------------------------------------------

def test_complete_dossier_passes_every_rule_in_spec_order_blocking_first():
    verdict = evaluate(dossier(), call())
    assert verdict.is_eligible is True
    assert [(r.code, r.mode, r.passed) for r in verdict.results] == [
        (code, RuleMode.BLOCKING, True) for code in RULE_ORDER if code != "same_territory"
    ] + [("same_territory", RuleMode.ADVISORY, True)]
    assert verdict.failed == []
    assert set(RULE_LABELS) == set(RULE_ORDER)


def test_results_are_stored_as_plain_json_dicts():
    verdict = evaluate(dossier(), call())
    assert verdict.results[0].as_dict() == {
        "code": "siret", "passed": True, "mode": "blocking",
        "message": "Le numéro SIRET de la structure porteuse (73282932000074) est valide.",
        "msg": {"msgid": "Le numéro SIRET de la structure porteuse (%(siret)s) est valide.",
                "params": {"siret": "73282932000074"}}}


# --- siret ---------------------------------------------------------------------------------------

def test_siret_valid():
    assert check("siret") == (True, "Le numéro SIRET de la structure porteuse (73282932000074) est valide.")


def test_siret_missing():
    assert check("siret", dossier(carrier_siret="  ")) == (
        False, "Le numéro SIRET de la structure porteuse n’est pas renseigné : indiquez-le dans la section "
               "« Identité du pôle et structure porteuse ».")


def test_siret_with_a_wrong_key():
    assert check("siret", dossier(carrier_siret="73282932000075")) == (
        False, "Le numéro SIRET de la structure porteuse (73282932000075) n’est pas valide : il doit comporter "
               "14 chiffres, clé de contrôle incluse. Corrigez-le dans la section « Identité du pôle et structure "
               "porteuse ».")


# --- legal_person --------------------------------------------------------------------------------

@pytest.mark.parametrize(("form", "name"), [
    ("association", "une association"), ("scic", "une SCIC"), ("scop", "une SCOP"),
    ("cooperative", "une coopérative"), ("mutuelle", "une mutuelle"), ("fondation", "une fondation"),
    ("societe_esus", "une société commerciale ESUS")])
def test_legal_person_private_forms_pass(form, name):
    assert check("legal_person", dossier(carrier_legal_form=form)) == (
        True, f"La structure porteuse est {name}, personne morale de droit privé.")


def test_legal_person_collectivite_fails():
    assert check("legal_person", dossier(carrier_legal_form="collectivite")) == (
        False, "La structure porteuse est une collectivité : une collectivité ne peut pas porter le pôle. Confiez "
               "le portage à une personne morale de droit privé (une association, une coopérative, une SCIC, une "
               "SCOP, une mutuelle, une fondation ou une société).")


def test_legal_person_other_form_fails():
    assert check("legal_person", dossier(carrier_legal_form="autre")) == (
        False, "La forme juridique « Autre » de la structure porteuse ne permet pas d’établir qu’il s’agit d’une "
               "personne morale de droit privé : le pôle doit être porté par une association, une coopérative, "
               "une SCIC, une SCOP, une mutuelle, une fondation ou une société.")


def test_legal_person_form_missing():
    assert check("legal_person", dossier(carrier_legal_form=None)) == (
        False, "La forme juridique de la structure porteuse n’est pas renseignée : choisissez-la dans la section "
               "« Identité du pôle et structure porteuse ».")


# --- min_members ---------------------------------------------------------------------------------

def test_min_members_passes_with_four():
    assert check("min_members") == (True, "Le pôle compte 4 membres personnes morales (au moins 3 requis).")


def test_min_members_counts_only_legal_persons():
    members = (member("Régie", "ess"), member("SARL", "enterprise"), member("Jeanne Dupont", "other", legal=False))
    assert check("min_members", dossier(members=members)) == (
        False, "Le pôle compte 2 membres personnes morales ; il en faut au moins 3. Ajoutez les structures membres "
               "manquantes dans la section « Membres du pôle ».")


def test_min_members_singular_and_none():
    assert check("min_members", dossier(members=MEMBERS[:1]))[1].startswith(
        "Le pôle compte 1 membre personne morale ; il en faut au moins 3.")
    assert check("min_members", dossier(members=()))[1].startswith(
        "Le pôle ne compte aucun membre personne morale ; il en faut au moins 3.")


def test_min_members_minimum_is_a_call_parameter():
    settings = copy.deepcopy(DEFAULT_ELIGIBILITY)
    settings["min_members"] = {"mode": "blocking", "minimum": 5}
    assert check("min_members", c=call(settings)) == (
        False, "Le pôle compte 4 membres personnes morales ; il en faut au moins 5. Ajoutez les structures membres "
               "manquantes dans la section « Membres du pôle ».")
    settings["min_members"] = {"mode": "blocking", "minimum": 4}
    assert check("min_members", c=call(settings)) == (
        True, "Le pôle compte 4 membres personnes morales (au moins 4 requis).")


# --- ess_core, enterprise_partner, territorial_link ----------------------------------------------

def test_ess_core():
    assert check("ess_core") == (True, "Entreprise de l’ESS parmi les membres : Régie de quartier.")
    assert check("ess_core", dossier(members=MEMBERS[1:])) == (
        False, "Aucun membre du pôle n’est une entreprise de l’économie sociale et solidaire : ajoutez au moins une "
               "entreprise de l’ESS (au sens de l’article 1er de la loi n° 2014-856 du 31 juillet 2014) à la liste "
               "des membres.")


def test_ess_core_ignores_a_natural_person():
    members = (member("Jean Martin", "ess", legal=False), *MEMBERS[1:])
    assert check("ess_core", dossier(members=members))[0] is False


def test_enterprise_partner():
    assert check("enterprise_partner") == (True, "Entreprise hors ESS parmi les membres : Boulangerie Martin SARL.")
    assert check("enterprise_partner", dossier(members=(MEMBERS[0], MEMBERS[2]))) == (
        False, "Aucun membre du pôle n’est une entreprise hors économie sociale et solidaire : ajoutez au moins une "
               "entreprise hors ESS à la liste des membres.")


def test_territorial_link():
    assert check("territorial_link") == (
        True, "Autres acteurs de l’article 9 parmi les membres : Métropole de Lyon, Université Lyon 2.")
    assert check("territorial_link", dossier(members=(member("Centre de formation", "training"),)))[1] == (
        "Autre acteur de l’article 9 parmi les membres : Centre de formation.")
    assert check("territorial_link", dossier(members=MEMBERS[:2])) == (
        False, "Aucun membre du pôle n’est un autre acteur mentionné à l’article 9 de la loi (collectivité "
               "territoriale ou groupement, centre de recherche ou établissement d’enseignement supérieur, "
               "organisme de formation ou autre acteur) : ajoutez-en au moins un à la liste des membres.")


# --- same_territory ------------------------------------------------------------------------------

def test_same_territory_adjacent_departments_allowed_by_default():
    members = (*MEMBERS, member("Ferme de l'Isère", "ess", department="38"))  # 38 borders 69 and 01
    assert check("same_territory", dossier(members=members)) == (
        True, "Tous les membres sont situés dans les départements couverts par le pôle (69, 01) ou dans des "
              "départements limitrophes.")


def test_same_territory_member_far_away():
    members = (*MEMBERS, member("Coopérative parisienne", "ess", department="75"),
               member("Sans département", "other", department=""))
    assert check("same_territory", dossier(members=members)) == (
        False, "2 membres sont situés hors des départements couverts par le pôle (69, 01) et de leurs départements "
               "limitrophes : Coopérative parisienne (75), Sans département (département non renseigné). Ajoutez "
               "ces départements aux départements couverts par le pôle ou corrigez le département des membres "
               "concernés.")


def test_same_territory_without_adjacency():
    settings = copy.deepcopy(DEFAULT_ELIGIBILITY)
    settings["same_territory"] = {"mode": "blocking", "allow_adjacent": False}
    members = (*MEMBERS, member("Ferme de l'Isère", "ess", department="38"))
    assert check("same_territory", dossier(members=members), call(settings)) == (
        False, "1 membre est situé hors des départements couverts par le pôle (69, 01) : Ferme de l'Isère (38). "
               "Ajoutez ces départements aux départements couverts par le pôle ou corrigez le département des "
               "membres concernés.")
    assert check("same_territory", c=call(settings)) == (
        True, "Tous les membres sont situés dans les départements couverts par le pôle (69, 01).")


def test_same_territory_no_declared_department():
    assert check("same_territory", dossier(departments=())) == (
        False, "Le pôle n’a déclaré aucun département couvert : choisissez-les dans la section « Identité du pôle "
               "et structure porteuse ».")


# --- not_previously_funded -----------------------------------------------------------------------

def test_not_previously_funded():
    assert siren_of(CARRIER) == "732829320"
    assert check("not_previously_funded", c=call(previously_funded_sirens=frozenset({"356000000"}))) == (
        True, "La structure porteuse (SIREN 732829320) n’a pas été lauréate d’un précédent appel à projets PTCE de "
              "la plateforme.")
    assert check("not_previously_funded", c=call(previously_funded_sirens=frozenset({"732829320"}))) == (
        False, "La structure porteuse (SIREN 732829320) a déjà été lauréate d’un précédent appel à projets PTCE : "
               "un pôle déjà soutenu n’est pas éligible.")


def test_not_previously_funded_needs_a_valid_siret():
    assert check("not_previously_funded", dossier(carrier_siret="123")) == (
        False, "Sans numéro SIRET valide de la structure porteuse, l’absence de soutien lors d’un précédent appel "
               "à projets PTCE ne peut pas être vérifiée : corrigez le SIRET.")


# --- documents -----------------------------------------------------------------------------------

def test_documents_all_clean():
    assert check("documents") == (True, "Les 6 pièces obligatoires sont jointes et saines.")


def test_documents_not_scanned_pass_but_say_so():
    attachments = tuple(AttachmentFacts(code, "ready", "not_scanned", f"{code}.pdf") for code, _l in REQUIRED)
    assert check("documents", dossier(attachments=attachments)) == (
        True, "Les 6 pièces obligatoires sont jointes ; 6 non analysées par l’antivirus (l’appel accepte les "
              "pièces non analysées).")
    result = run_rule("documents", dossier(attachments=attachments), call())
    assert result.not_analysed is True  # shown "Non analysé", never "Respectée"
    assert result.as_dict()["not_analysed"] is True
    assert "not_analysed" not in run_rule("documents", dossier(), call()).as_dict()  # all clean


def test_documents_clean_scan_can_be_required():
    settings = copy.deepcopy(DEFAULT_ELIGIBILITY)
    settings["documents"] = {"mode": "blocking", "require_clean_scan": True}
    attachments = tuple(AttachmentFacts(code, "ready", "clean" if code != "rib" else "not_scanned", f"{code}.pdf")
                        for code, _l in REQUIRED)
    assert check("documents", dossier(attachments=attachments), call(settings)) == (
        False, "« rib.pdf » (RIB de la structure porteuse) n’a pas été analysé par l’antivirus : envoyez-le de "
               "nouveau.")


def test_documents_missing_infected_and_processing():
    attachments = (
        AttachmentFacts("statuts", "ready", "clean", "statuts.pdf"),
        AttachmentFacts("comptes", "quarantined", "infected", "comptes-2025.pdf"),
        AttachmentFacts("budget", "processing", "pending", "budget.xlsx"),
        AttachmentFacts("engagements", "ready", "clean", "engagements.pdf"),
        AttachmentFacts("liste_membres", "ready", "clean", "membres.pdf"),
    )
    assert check("documents", dossier(attachments=attachments)) == (
        False, "Pièce obligatoire manquante : RIB de la structure porteuse. « comptes-2025.pdf » a été bloqué par "
               "l’antivirus : remplacez-le. « budget.xlsx » est en cours de vérification.")


def test_documents_being_verified_count_as_sent_in_a_draft():
    """Live advice on a draft: a file in the verification queue does not put the dossier at risk."""
    attachments = tuple(AttachmentFacts(code, "ready" if code != "rib" else "processing",
                                        "clean" if code != "rib" else "pending", f"{code}.pdf")
                        for code, _l in REQUIRED)
    assert check("documents", dossier(attachments=attachments, submitted_at=None)) == (
        True, "Les 6 pièces obligatoires sont jointes ; 1 en cours de vérification (antivirus, empreinte).")
    # Submitted: never checked while pending (the check waits); if it were, it would say so.
    assert check("documents", dossier(attachments=attachments)) == (
        False, "« rib.pdf » est en cours de vérification.")


def test_documents_refused_after_the_submission_fail_with_their_reason():
    reason = "« rib.pdf » a été refusé : son contenu n'est pas un PDF comme l'indique son extension."
    refused = AttachmentFacts("rib", "rejected", "pending", "rib.pdf", rejection_reason=reason,
                              refused_after_submission=True)
    attachments = tuple(AttachmentFacts(code, "ready", "clean", f"{code}.pdf") for code, _l in REQUIRED
                        if code != "rib") + (refused,)
    assert check("documents", dossier(attachments=attachments)) == (
        False, f"« rib.pdf » a été refusé par la vérification faite après le dépôt. Motif : {reason} La pièce "
               "obligatoire « RIB de la structure porteuse » manque donc au dossier : le secrétariat pourra vous "
               "demander de l’envoyer à nouveau.")
    # A try refused before the submission, in a multi-file type beside verified files, is no finding.
    earlier = AttachmentFacts("engagements", "rejected", "pending", "vieux.pdf", rejection_reason=reason)
    assert check("documents", dossier(attachments=(*dossier().attachments, earlier)))[0] is True


def test_a_refused_optional_file_or_one_beside_a_verified_file_of_its_type_is_only_said():
    """SPEC §3: every required type present and clean. A file refused after the submission fails the rule only
    when it leaves a required type without a verified file."""
    reason = "« x.pdf » a été refusé : son contenu n'est pas un PDF comme l'indique son extension."
    note = ("« %s » a été refusé par la vérification faite après le dépôt. Motif : " + reason + " Ce document n’est "
            "pas une pièce obligatoire manquante : il ne change pas l’éligibilité.")
    optional = AttachmentFacts("autre", "rejected", "pending", "autre.pdf", rejection_reason=reason,
                               refused_after_submission=True)
    assert check("documents", dossier(attachments=(*dossier().attachments, optional))) == (
        True, "Les 6 pièces obligatoires sont jointes et saines. " + note % "autre.pdf")
    second = AttachmentFacts("engagements", "rejected", "pending", "engagement-2.pdf", rejection_reason=reason,
                             refused_after_submission=True)
    assert check("documents", dossier(attachments=(*dossier().attachments, second))) == (
        True, "Les 6 pièces obligatoires sont jointes et saines. " + note % "engagement-2.pdf")


def test_documents_two_missing_and_one_required():
    attachments = tuple(AttachmentFacts(code, "ready", "clean", f"{code}.pdf") for code, _l in REQUIRED[2:])
    assert check("documents", dossier(attachments=attachments)) == (
        False, "Pièces obligatoires manquantes : Statuts de la structure porteuse, Derniers comptes approuvés.")
    assert check("documents", c=call(required_documents=REQUIRED[:1])) == (
        True, "La pièce obligatoire est jointe et saine.")


# --- budget_balanced -----------------------------------------------------------------------------

def test_budget_balanced():
    assert check("budget_balanced") == (
        True, f"Le plan de financement est équilibré : 180{NNBSP}000 € de ressources pour 180{NNBSP}000 € de "
              "dépenses.")


def test_budget_balanced_to_the_cent():
    assert check("budget_balanced", dossier(resources_eur=Decimal("179999.50")))[0] is False
    assert check("budget_balanced", dossier(resources_eur=Decimal("170000"))) == (
        False, f"Le plan de financement n’est pas équilibré : 170{NNBSP}000 € de ressources pour 180{NNBSP}000 € de "
               f"dépenses (écart de 10{NNBSP}000 €). Ajustez les ressources ou les dépenses.")


def test_budget_empty():
    assert check("budget_balanced", dossier(financing_line_count=0, expenses_eur=Decimal(0),
                                            resources_eur=Decimal(0))) == (
        False, "Le plan de financement est vide : saisissez les dépenses de la cellule d’animation et les "
               "ressources qui les financent.")


# --- state_share ---------------------------------------------------------------------------------

def test_state_share_within_both_limits():
    assert check("state_share") == (
        True, f"Le montant demandé (90{NNBSP}000 €) respecte le plafond de l’appel (100{NNBSP}000 €) et représente "
              f"22,5{NBSP}% du budget du projet (400{NNBSP}000 €), pour 50{NBSP}% au plus.")


def test_state_share_above_the_share_of_the_budget():
    d = dossier(amount_requested_eur=Decimal("120000"), total_budget_eur=Decimal("200000"))
    assert check("state_share", d, call(max_amount_eur=Decimal("150000"))) == (
        False, f"Le montant demandé (120{NNBSP}000 €) dépasse 50{NBSP}% du budget du projet (200{NNBSP}000 €), soit "
               f"100{NNBSP}000 € au plus.")


def test_state_share_above_the_call_cap_and_the_share():
    d = dossier(amount_requested_eur=Decimal("120000"), total_budget_eur=Decimal("200000"))
    assert check("state_share", d) == (
        False, f"Le montant demandé (120{NNBSP}000 €) dépasse le plafond de l’appel (100{NNBSP}000 €). Le montant "
               f"demandé (120{NNBSP}000 €) dépasse 50{NBSP}% du budget du projet (200{NNBSP}000 €), soit "
               f"100{NNBSP}000 € au plus.")


def test_state_share_uses_the_category_cap_and_the_call_share():
    c = call(category_caps={"emergence": Decimal("50000")}, max_state_share=Decimal("0.3"))
    assert check("state_share", dossier(category_code="emergence"), c) == (
        False, f"Le montant demandé (90{NNBSP}000 €) dépasse le plafond de l’appel (50{NNBSP}000 €).")
    assert check("state_share", dossier(amount_requested_eur=Decimal("120000.50")), c)[1] == (
        f"Le montant demandé (120{NNBSP}000,50 €) dépasse le plafond de l’appel (100{NNBSP}000 €). Le montant demandé "
        f"(120{NNBSP}000,50 €) dépasse 30{NBSP}% du budget du projet (400{NNBSP}000 €), soit 120{NNBSP}000 € au plus.")


def test_state_share_missing_amounts():
    assert check("state_share", dossier(amount_requested_eur=None)) == (
        False, "Le montant demandé à l’État n’est pas renseigné : indiquez-le dans la section « Budget et plan de "
               "financement ».")
    assert check("state_share", dossier(total_budget_eur=None)) == (
        False, "Le budget total du projet n’est pas renseigné : la part demandée à l’État ne peut pas être "
               "calculée.")


# --- deadline ------------------------------------------------------------------------------------

def test_deadline_submitted_before():
    assert check("deadline") == (
        True, "Le dossier a été déposé le 26/03/2027 à 12:00 (heure de Paris), avant la date limite du 27/03/2027 "
              "à 12:00 (heure de Paris).")


def test_deadline_submitted_at_or_after_the_deadline():
    assert check("deadline", dossier(submitted_at=DEADLINE)) == (
        False, "Le dossier a été déposé le 27/03/2027 à 12:00 (heure de Paris), après la date limite du 27/03/2027 "
               "à 12:00 (heure de Paris).")


def test_deadline_on_a_draft_is_advice_about_the_clock():
    draft = dossier(submitted_at=None)
    assert check("deadline", draft, now=DEADLINE - timedelta(seconds=1)) == (
        True, "Le dossier peut être déposé jusqu’au 27/03/2027 à 12:00 (heure de Paris).")
    assert check("deadline", draft, now=DEADLINE) == (
        False, "La date limite de dépôt du 27/03/2027 à 12:00 (heure de Paris) est dépassée : le dossier ne peut "
               "plus être déposé.")
    assert check("deadline", draft) == (False, "Le dossier n’a pas été déposé.")


# --- modes and verdict ---------------------------------------------------------------------------

def test_off_rules_are_skipped_and_advisory_failures_do_not_make_ineligible():
    settings = copy.deepcopy(DEFAULT_ELIGIBILITY)
    settings["siret"] = {"mode": "off"}
    settings["budget_balanced"] = {"mode": "advisory"}
    d = dossier(carrier_siret="", resources_eur=Decimal("1"))
    verdict = evaluate(d, call(settings))
    codes = [r.code for r in verdict.results]
    assert "siret" not in codes
    assert verdict.advisory_failures == [r for r in verdict.results if r.code == "budget_balanced"]
    # The SIREN cannot be checked without a SIRET: the blocking not_previously_funded fails.
    assert [r.code for r in verdict.blocking_failures] == ["not_previously_funded"]
    assert verdict.is_eligible is False
    settings["not_previously_funded"] = {"mode": "advisory"}
    verdict = evaluate(d, call(settings))
    assert verdict.is_eligible is True
    assert [r.code for r in verdict.failed] == ["not_previously_funded", "budget_balanced"]


def test_missing_settings_fall_back_to_the_defaults():
    verdict = evaluate(dossier(), call(settings={"min_members": {"minimum": 5}}))
    assert [r.code for r in verdict.failed] == ["min_members"]
    assert verdict.failed[0].mode == RuleMode.BLOCKING


# --- property: eligible iff every blocking rule passes ---------------------------------------------

CATEGORIES = ["ess", "enterprise", "collectivity", "research", "training", "other", None]
DEPARTMENTS = ["69", "01", "38", "75", "13", "2A", "971", ""]
LEGAL_FORMS = ["association", "scic", "scop", "cooperative", "mutuelle", "fondation", "societe_esus",
               "collectivite", "autre", None]
money = st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False)

members_st = st.lists(st.builds(
    MemberFacts, name=st.text(max_size=12), category=st.sampled_from(CATEGORIES),
    siret=st.sampled_from(["", MEMBER_SIRET]), department=st.sampled_from(DEPARTMENTS),
    is_legal_person=st.booleans()), max_size=6).map(tuple)
attachments_st = st.lists(st.builds(
    AttachmentFacts, document_type_code=st.sampled_from([c for c, _l in REQUIRED] + ["autre"]),
    status=st.sampled_from(["uploading", "processing", "ready", "rejected", "quarantined"]),
    scan_status=st.sampled_from(["pending", "clean", "infected", "not_scanned", "error"]),
    filename=st.text(max_size=10)), max_size=8).map(tuple)
dossier_st = st.builds(
    DossierFacts, carrier_siret=st.sampled_from(["", "123", CARRIER, MEMBER_SIRET]),
    carrier_legal_form=st.sampled_from(LEGAL_FORMS), members=members_st,
    departments=st.lists(st.sampled_from(DEPARTMENTS), max_size=3).map(tuple), expenses_eur=money,
    resources_eur=money, financing_line_count=st.integers(0, 5), amount_requested_eur=st.none() | money,
    total_budget_eur=st.none() | money, attachments=attachments_st,
    submitted_at=st.none() | st.sampled_from([DEADLINE - timedelta(days=2), DEADLINE, DEADLINE + timedelta(1)]),
    category_code=st.sampled_from([None, "emergence"]))
rule_settings_st = st.fixed_dictionaries(
    {code: st.fixed_dictionaries({"mode": st.sampled_from(["blocking", "advisory", "off"])}) for code in RULE_ORDER})
call_st = st.builds(
    call, settings=rule_settings_st, max_amount_eur=money, max_state_share=st.sampled_from(
        [Decimal("0.3"), Decimal("0.5"), Decimal("0.8"), Decimal("1")]),
    previously_funded_sirens=st.sampled_from([frozenset(), frozenset({"732829320"})]),
    category_caps=st.sampled_from([{}, {"emergence": Decimal("50000")}]))


@settings(max_examples=300, deadline=None)
@given(d=dossier_st, c=call_st, now=st.none() | st.sampled_from([DEADLINE - timedelta(1), DEADLINE]))
def test_verdict_is_eligible_iff_every_blocking_rule_passes(d, c, now):
    verdict = evaluate(d, c, now=now)
    expected_codes = [code for code in RULE_ORDER if c.settings[code]["mode"] != "off"]
    assert sorted(r.code for r in verdict.results) == sorted(expected_codes)
    for r in verdict.results:
        assert r.mode == RuleMode(c.settings[r.code]["mode"])
        assert r.message_fr.strip() and r.message_fr.endswith(".")
    assert verdict.is_eligible == all(r.passed for r in verdict.results if r.mode == RuleMode.BLOCKING)
    # Blocking results come first.
    blocking = [r.is_blocking for r in verdict.results]
    assert blocking == sorted(blocking, reverse=True)


def test_a_call_with_every_rule_off_is_eligible():
    settings = {code: {"mode": "off"} for code in RULE_ORDER}
    verdict = evaluate(replace(dossier(), carrier_siret=""), call(settings))
    assert (verdict.is_eligible, verdict.results) == (True, ())


def test_establishments_of_one_company_count_as_one_legal_person():
    same = [member("Coop — siège", "ess", siret="73282932000074"),
            member("Coop — atelier", "enterprise", siret="73282932000041"),
            member("Coop — école", "training", siret="73282932000058")]
    result = check("min_members", dossier(members=tuple(same)))
    assert result == (False, "Le pôle compte 1 membre personne morale ; il en faut au moins 3. Ajoutez les structures "
                             "membres manquantes dans la section « Membres du pôle ».")
    assert check("enterprise_partner", dossier(members=tuple(same)))[0] is False


def test_total_budget_below_the_plan_expenses_fails_the_state_share():
    passed, message = check("state_share", dossier(total_budget_eur=Decimal("10000")))
    assert passed is False
    assert "est inférieur aux dépenses du plan de financement" in message
