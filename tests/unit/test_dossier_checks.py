"""Completeness and validity of a dossier (domain/dossier_checks.py), sections identity, members, activities,
project, overflow and the section states: each check failing with its exact field, kind and message, at its
boundaries. Budget and documents: test_dossier_checks_budget.py."""

from dataclasses import astuple
from datetime import timedelta

import pytest

from ptce_aap.domain.dossier_checks import (
    LIMITS,
    MIN_YEAR,
    Problem,
    check_activities,
    check_distinct_members,
    check_dossier,
    check_identity,
    check_members,
    check_overflow,
    check_project,
    section_states,
    siret_problem,
)
from ptce_aap.domain.sections import SECTION_CODES
from ptce_aap.enums import ActivityDomain
from tests.unit.dossier_facts import RULES, SIRETS, TODAY, dossier, member, siret_of


def problems(check, d, *args) -> list[tuple]:
    return [astuple(p) for p in check(d, *args)]


def test_complete_dossier_has_no_problem():
    d = dossier()
    assert check_dossier(d, RULES, today=TODAY) == []
    assert section_states([]) == dict.fromkeys(SECTION_CODES, "complete")


# --- Identity ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "message"), [
    ("pole_name", "Nom du pôle : à renseigner."),
    ("carrier_legal_name", "Raison sociale de la structure porteuse : à renseigner."),
    ("carrier_legal_form", "Forme juridique : à renseigner."),
    ("address", "Adresse : à renseigner."),
    ("carrier_siret", "SIRET de la structure porteuse : à renseigner."),
    ("commune_insee", "Code INSEE de la commune : à renseigner."),
    ("region_code", "Région : à renseigner."),
    ("departments", "Départements couverts : choisissez au moins un département."),
    ("territory_types", "Type de territoire : choisissez au moins un type."),
    ("cooperation_start_year", "Année de début de la coopération : à renseigner."),
])
@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_identity_required_fields(field, message, blank):
    if blank == [] and field not in {"departments", "territory_types"}:
        blank = None
    if field == "cooperation_start_year":
        blank = None
    assert problems(check_identity, dossier(**{field: blank}), TODAY) == [("identite", field, message, "missing")]


def test_carrier_siret_checksum_and_length():
    wrong_key = SIRETS[0][:-1] + str((int(SIRETS[0][-1]) + 1) % 10)
    assert problems(check_identity, dossier(carrier_siret=wrong_key), TODAY) == [(
        "identite", "carrier_siret", "Le numéro SIRET n'est pas valide : sa clé de contrôle est incorrecte. Vérifiez "
        "chaque chiffre sur l'avis de situation Insee ou sur annuaire-entreprises.data.gouv.fr.", "invalid")]
    assert problems(check_identity, dossier(carrier_siret=SIRETS[0][:13]), TODAY) == [(
        "identite", "carrier_siret",
        "Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres (vous en avez saisi 13).", "invalid")]


@pytest.mark.parametrize("value", ["7328293200007٤", "²⁰¹⁹²⁰¹⁹²⁰¹⁹²⁰", "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭", "7328293200007A"])
def test_siret_of_other_digits_is_refused(value):
    assert siret_problem(value) is not None


def test_siret_problem_accepts_valid_sirets():
    assert [siret_problem(s) for s in SIRETS] == [None] * len(SIRETS)


@pytest.mark.parametrize(("insee", "message"), [
    ("691", "Le code INSEE de la commune doit comporter 5 caractères (par exemple 69123 pour Lyon)."),
    ("691234", "Le code INSEE de la commune doit comporter 5 caractères (par exemple 69123 pour Lyon)."),
])
def test_commune_insee_shape(insee, message):
    assert problems(check_identity, dossier(commune_insee=insee, commune_name=None), TODAY) == [
        ("identite", "commune_insee", message, "invalid")]


def test_postal_code_instead_of_insee_code():
    [problem] = check_identity(dossier(commune_insee="75001", commune_name=None), TODAY)
    assert (problem.field, problem.kind) == ("commune_insee", "invalid")
    assert problem.message.startswith("75001 est un code postal, pas un code INSEE")


def test_commune_name_must_match_its_insee_code():
    assert problems(check_identity, dossier(commune_name="Villeurbanne"), TODAY) == [(
        "identite", "commune_insee", "Le code INSEE 69123 correspond à la commune « Lyon », pas à « Villeurbanne » : "
        "vérifiez le code (ce n'est pas le code postal).", "invalid")]
    for same in ("LYON", "lyon", " Lyon ", "Lyón"):
        assert problems(check_identity, dossier(commune_name=same), TODAY) == []


def test_region_and_departments():
    assert problems(check_identity, dossier(region_code="99"), TODAY) == [
        ("identite", "region_code", "Région inconnue.", "invalid")]
    assert problems(check_identity, dossier(departments=["69", "999", "XX"]), TODAY) == [
        ("identite", "departments", "Départements inconnus : 999, XX.", "invalid")]
    assert problems(check_identity, dossier(departments=["75", "92"]), TODAY) == [
        ("identite", "departments", "Aucun des départements couverts n'appartient à la région choisie.", "invalid")]
    assert problems(check_identity, dossier(departments=["75", "69"]), TODAY) == []  # one in the region suffices


@pytest.mark.parametrize(("year", "ok"), [
    (MIN_YEAR - 1, False), (MIN_YEAR, True), (TODAY.year, True), (TODAY.year + 1, False), (0, False),
    (-2016, False),
])
def test_cooperation_start_year_bounds(year, ok):
    expected = [] if ok else [(
        "identite", "cooperation_start_year",
        f"L'année de début de la coopération doit être comprise entre 1945 et {TODAY.year}.", "invalid")]
    assert problems(check_identity, dossier(cooperation_start_year=year), TODAY) == expected


@pytest.mark.parametrize("raw", ["²⁰¹⁹", "①②③④", "deux mille", "٢٠١٩"])
def test_cooperation_start_year_typed_wrong(raw):
    d = dossier(cooperation_start_year=None, raw_inputs={"cooperation_start_year": raw})
    assert problems(check_identity, d, TODAY) == [(
        "identite", "cooperation_start_year", f"Année de début de la coopération : « {raw} » n'est pas une année ; "
        "saisissez-la sur quatre chiffres, par exemple 2016.", "invalid")]


@pytest.mark.parametrize(("field", "label"), [
    ("pole_name", "Nom du pôle"), ("carrier_legal_name", "Raison sociale de la structure porteuse")])
@pytest.mark.parametrize(("value", "message"), [
    ("Alpha\n\nIMPORTANT : réactivez https://evil.example/ptce", "saisissez-le sur une seule ligne, sans retour à la ligne."),
    ("Alpha ptce-gouv.fr/reactivation", "il ne doit pas contenir d’adresse web ni de nom de domaine."),
    ("Alpha\u202eX", "il contient des caractères invisibles ou de contrôle : retirez-les."),
])
def test_identity_names_are_single_plain_lines(field, label, value, message):
    d = dossier(**{field: value})
    assert problems(check_identity, d, TODAY) == [("identite", field, f"{label} : {message}", "invalid")]
    assert [p.field for p in check_dossier(d, RULES, today=TODAY)] == [field]


def test_identity_names_with_dotted_abbreviations_pass():
    assert problems(check_identity, dossier(pole_name="Pôle Sud-Est 2.0", carrier_legal_name="S.A.R.L. Coop. du Val"),
                    TODAY) == []


# --- Members -------------------------------------------------------------------------------------

def test_no_member():
    assert problems(check_members, dossier(members=[]), TODAY) == [
        ("membres", "members", "Ajoutez les structures membres du pôle.", "missing")]


@pytest.mark.parametrize(("changes", "field", "message", "kind"), [
    ({"name": ""}, "members-1-name", "Membre n° 2 : nom à renseigner.", "missing"),
    ({"category": None}, "members-1-category", "Membre n° 2 (Structure membre 2) : catégorie à choisir.", "missing"),
    ({"role": None}, "members-1-role", "Membre n° 2 (Structure membre 2) : rôle à choisir.", "missing"),
    ({"department": None}, "members-1-department", "Membre n° 2 (Structure membre 2) : département à choisir.",
     "missing"),
    ({"department": "99"}, "members-1-department", "Membre n° 2 (Structure membre 2) : département inconnu.",
     "invalid"),
    ({"siret": ""}, "members-1-siret", "Membre n° 2 (Structure membre 2) : SIRET à renseigner pour une personne "
     "morale.", "missing"),
    ({"siret": "123"}, "members-1-siret", "Membre n° 2 (Structure membre 2) : le numéro SIRET n'est pas valide : "
     "il doit comporter 14 chiffres (vous en avez saisi 3).", "invalid"),
    ({"joined_on": TODAY + timedelta(days=1)}, "members-1-joined_on",
     "Membre n° 2 (Structure membre 2) : la date d'adhésion est dans le futur.", "invalid"),
])
def test_member_row_problems(changes, field, message, kind):
    d = dossier()
    d.members[1] = member(1, **changes)
    assert problems(check_members, d, TODAY) == [("membres", field, message, kind)]


def test_member_name_is_a_single_plain_line():
    d = dossier()
    d.members[1] = member(1, name="Beta\nVotre compte expire : evil.example")
    assert problems(check_members, d, TODAY) == [(
        "membres", "members-1-name", "Membre n° 2, nom : saisissez-le sur une seule ligne, sans retour à la ligne.",
        "invalid")]
    d.members[1] = member(1, name="Beta www.evil.example")
    assert problems(check_members, d, TODAY) == [(
        "membres", "members-1-name", "Membre n° 2, nom : il ne doit pas contenir d’adresse web ni de nom de domaine.",
        "invalid")]


def test_member_boundaries_that_pass():
    d = dossier()
    d.members[0] = member(0, joined_on=TODAY)  # joined today: not in the future
    d.members[1] = member(1, is_legal_person=False, siret="")  # a natural person has no SIRET
    assert problems(check_members, d, TODAY) == []


def test_two_members_with_one_siren_are_one_legal_person():
    d = dossier()
    d.members[0] = member(0, siret=siret_of("73282932", "0001"))
    d.members[2] = member(2, siret=siret_of("73282932", "0002"))  # another establishment, same SIREN
    assert d.members[0].siret != d.members[2].siret
    assert problems(check_distinct_members, d) == [(
        "membres", "members-2-siret", "Membres n° 1 et 3 : même SIREN (732829320), il s’agit d’une seule personne "
        "morale. Gardez un seul établissement par structure.", "invalid")]
    assert [p.field for p in check_dossier(d, RULES, today=TODAY)] == ["members-2-siret"]


def test_every_repeat_of_a_siren_names_its_first_row():
    d = dossier()
    d.members = [member(0), member(1), member(2, siret=SIRETS[1]), member(3, siret=SIRETS[1])]
    assert [(p.field, p.message[:21]) for p in check_distinct_members(d)] == [
        ("members-2-siret", "Membres n° 1 et 3 : m"), ("members-3-siret", "Membres n° 1 et 4 : m")]


def test_distinct_sirens_and_unusable_sirets_are_not_compared():
    d = dossier()
    assert problems(check_distinct_members, d) == []
    d.members = [member(0, siret="12345678901234"), member(1, siret="12345678901234"), member(2, siret=""),
                 member(3, siret="", is_legal_person=False), member(4, siret=None, is_legal_person=False)]
    assert problems(check_distinct_members, d) == []


# --- Activities ----------------------------------------------------------------------------------

def test_activities_required():
    d = dossier(activity_domains=[], cooperation={}, governance_form=None, governance_text=" ")
    assert problems(check_activities, d) == [
        ("activites", "activity_domains", "Domaines d'activité : choisissez au moins un domaine.", "missing"),
        ("activites", "cooperation", "Coopération : indiquez au moins une forme de coopération pratiquée.",
         "missing"),
        ("activites", "governance_form", "Forme de gouvernance : à choisir.", "missing"),
        ("activites", "governance_text", "Modalités de prise de décision : à décrire.", "missing"),
    ]


def test_other_activity_must_be_described():
    d = dossier(activity_domains=["alimentation", ActivityDomain.OTHER.value], activity_other="")
    assert problems(check_activities, d) == [
        ("activites", "activity_other", "Précisez l'autre domaine d'activité.", "missing")]
    d.activity_other = "Recyclerie"
    assert problems(check_activities, d) == []


def test_each_cooperation_form_is_described_within_its_limit():
    limit = LIMITS["cooperation"]
    d = dossier(cooperation={"mutualisation_projets": "  ", "cooperation_strategique": "x" * limit})
    assert problems(check_activities, d) == [
        ("activites", "cooperation_mutualisation_projets", "Décrivez la forme « Mutualisation de projets ».",
         "missing")]
    d.cooperation = {"mutualisation_moyens": "x" * (limit + 1)}
    assert problems(check_activities, d) == [(
        "activites", "cooperation", f"Description de « Mutualisation de moyens, ressources ou services » : "
        f"{limit + 1} caractères pour {limit} au maximum.", "invalid")]


def test_governance_text_limit():
    limit = LIMITS["governance_text"]
    assert problems(check_activities, dossier(governance_text="x" * limit)) == []
    assert problems(check_activities, dossier(governance_text="x" * (limit + 1))) == [(
        "activites", "governance_text", f"Modalités de prise de décision : {limit + 1} caractères pour {limit} au "
        "maximum.", "invalid")]


# --- Project -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "label"), [
    ("summary", "Résumé du projet"), ("strategy", "Stratégie"), ("innovation", "Innovation sociale ou technologique"),
    ("territorial_anchoring", "Ancrage territorial"), ("expected_impacts", "Impacts attendus"),
])
def test_project_texts_required_and_limited(field, label):
    assert problems(check_project, dossier(**{field: " \n"})) == [("projet", field, f"{label} : à rédiger.",
                                                                   "missing")]
    assert problems(check_project, dossier(**{field: None})) == [("projet", field, f"{label} : à rédiger.",
                                                                  "missing")]
    limit = LIMITS[field]
    assert problems(check_project, dossier(**{field: "é" * limit})) == []
    assert problems(check_project, dossier(**{field: "é" * (limit + 1)})) == [
        ("projet", field, f"{label} : {limit + 1} caractères pour {limit} au maximum.", "invalid")]


@pytest.mark.parametrize(("field", "label"), [
    ("jobs_existing_fte", "Emplois existants (ETP)"), ("jobs_to_create_fte", "Emplois à créer (ETP)")])
def test_jobs_counts(field, label):
    assert problems(check_project, dossier(**{field: None})) == [
        ("projet", field, f"{label} : à renseigner (0 si aucun).", "missing")]
    assert problems(check_project, dossier(**{field: None}, raw_inputs={field: "2,5,1"})) == [
        ("projet", field, f"{label} : « 2,5,1 » n'est pas un nombre valide. Saisissez un nombre, par exemple 2 "
                          "ou 2,5.", "invalid")]
    # Issue 9 point 7: a negative count or « 1e3 » is told why, not only "not a valid number".
    assert problems(check_project, dossier(**{field: None}, raw_inputs={field: "-2"})) == [
        ("projet", field, f"{label} : « -2 » n'est pas accepté. Le nombre doit être positif ou nul, par exemple 2 "
                          "ou 2,5.", "invalid")]
    assert problems(check_project, dossier(**{field: None}, raw_inputs={field: "1e3"})) == [
        ("projet", field, f"{label} : « 1e3 » n'est pas accepté. Écrivez le nombre en chiffres, sans exposant : "
                          "1000 et non 1e3.", "invalid")]


@pytest.mark.parametrize(("field", "label"), [("jobs_text", "Emplois non délocalisables"),
                                              ("rd_partners", "Partenaires de R&D")])
def test_optional_project_texts_limit(field, label):
    limit = LIMITS[field]
    assert problems(check_project, dossier(**{field: "x" * limit})) == []
    assert problems(check_project, dossier(**{field: "x" * (limit + 1)})) == [
        ("projet", field, f"{label} : {limit + 1} caractères pour {limit} au maximum.", "invalid")]


# --- Overflowing short texts and section states --------------------------------------------------

def test_short_texts_kept_as_typed_when_too_long():
    d = dossier(raw_inputs={"pole_name": "p" * 201, "carrier_rna": "W" * 11})
    assert problems(check_overflow, d) == [
        ("identite", "pole_name", "Nom du pôle : 201 caractères pour 200 au maximum.", "invalid"),
        ("identite", "carrier_rna", "Numéro RNA : 11 caractères pour 10 au maximum.", "invalid")]


def test_section_states_error_wins_over_incomplete_in_any_order():
    missing = Problem("budget", "x", "m")
    invalid = Problem("budget", "y", "m", "invalid")
    for order in ([missing, invalid], [invalid, missing]):
        states = section_states(order)
        assert states["budget"] == "error"
        assert {s for code, s in states.items() if code != "budget"} == {"complete"}
    assert section_states([missing])["budget"] == "incomplete"
    assert section_states([Problem("pieces", "doc", "m")]) == {
        "identite": "complete", "membres": "complete", "activites": "complete", "projet": "complete",
        "budget": "complete", "pieces": "incomplete"}
