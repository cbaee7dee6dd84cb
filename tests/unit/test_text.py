"""Names typed by users: one plain line (domain.text)."""

import pytest

from ptce_aap.domain.text import CONTROL, LINE_BREAK, TOO_LONG, WEB_ADDRESS, name_problem, one_line


@pytest.mark.parametrize(("value", "problem"), [
    ("Pôle ESS du Gers", None),
    ("Coopérative d'Activité et d'Emploi « Les Trois-Rivières »", None),
    ("", None),
    ("Pôle\nCliquez ici", LINE_BREAK),
    ("Pôle\rX", LINE_BREAK),
    ("Pôle\u2028X", LINE_BREAK),
    ("Pôle\u0085X", LINE_BREAK),
    ("Pôle\tX", CONTROL),
    ("Pôle\u202eX", CONTROL),
    ("Pôle\u200bX", CONTROL),
    ("Pôle\x00X", CONTROL),
    ("Pôle https://exemple.test", WEB_ADDRESS),
    ("Pôle HTTP://exemple.test", WEB_ADDRESS),
    ("Pôle www.exemple.test", WEB_ADDRESS),
    ("x" * 201, TOO_LONG),
    # Bare host names: most mail clients turn them into links.
    ("exemple.fr", WEB_ADDRESS),
    ("Voir ptce-gouv.fr/reactivation", WEB_ADDRESS),
    ("Pôle evil.example", WEB_ADDRESS),
    ("Pôle (Sous.Domaine.ORG)", WEB_ADDRESS),
    # Ordinary French names with dots.
    ("S.A.R.L.", None),
    ("S.A.R.L. Les Jardins", None),
    ("Pôle Sud-Est", None),
    ("Coop. du Val", None),
    ("L'Atelier 2.0", None),
    ("SCIC S.A. Bois & Co.", None),
    ("Assoc. St. Jean", None),
])
def test_name_problem(value, problem):
    assert name_problem(value, max_length=200) == problem


def test_a_name_of_exactly_the_limit_is_accepted():
    assert name_problem("x" * 200, max_length=200) is None


def test_one_line_folds_breaks_drops_controls_and_cuts():
    assert one_line("Pôle\r\n\r\nVotre\u202e compte\t expire") == "Pôle Votre compte expire"
    assert one_line("  a  ") == "a"
    assert one_line(None) == ""
    assert one_line("abcdefghij", max_length=5) == "abcd…"
    assert one_line("abcde", max_length=5) == "abcde"


def test_french_names_sort_ignoring_accents_case_and_hyphens():
    from ptce_aap.domain.text import french_sort_key

    names = ["Occitanie", "Île-de-France", "Hauts-de-France", "Auvergne-Rhône-Alpes", "Évreux", "Ernée", "étampes",
             "La Réunion", "Le Havre", "L'Haÿ-les-Roses", "Œuilly", "Oyonnax", "Grand Est"]
    assert sorted(names, key=french_sort_key) == [
        "Auvergne-Rhône-Alpes", "Ernée", "étampes", "Évreux", "Grand Est", "Hauts-de-France", "Île-de-France",
        "L'Haÿ-les-Roses", "La Réunion", "Le Havre", "Occitanie", "Œuilly", "Oyonnax"]
