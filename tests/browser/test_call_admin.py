"""The secretariat creates a call in the browser, adds a category and a document type, then opens it after a
confirmation; every page passes axe-core, and a screenshot of the settings form is kept for review."""

import re

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser
PASSWORD = "Mot-de-passe-2026!"


def test_create_a_call_add_rows_and_open_it(page, make_user, db):
    make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat", password=PASSWORD)
    year = utcnow().year + 1
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("secretariat@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.goto("/admin/")
    page.get_by_role("link", name="Créer un appel à projets").click()
    assert page.locator("h1").inner_text() == "Nouvel appel à projets"
    check_accessibility(page, context="new call")

    page.get_by_label("Titre de l’appel à projets").fill("Appel à projets PTCE 2027")
    page.get_by_role("textbox", name=re.compile("^Date d’ouverture")).fill(f"{year}-01-15")
    page.get_by_label(re.compile("^Heure d’ouverture")).fill("09:00")
    page.get_by_role("textbox", name=re.compile("^Date limite de dépôt")).fill(f"{year}-03-31")
    page.get_by_label(re.compile("^Heure limite de dépôt")).fill("17:00")
    page.get_by_label(re.compile(r"^Enveloppe totale")).fill("3 000 000")
    page.get_by_label(re.compile(r"^Montant maximal par dossier")).fill("1e3")  # a slip first
    page.get_by_label(re.compile("^Nom de l’organisme attribuant")).fill("Ministère de l'Économie")
    page.get_by_label(re.compile("^SIRET de l’organisme attribuant")).fill("11000201100044")

    page.get_by_role("button", name="Ajouter une catégorie").click()
    page.get_by_label("Libellé de la catégorie n° 1").fill("Émergence")
    page.get_by_label("Plafond par dossier de la catégorie n° 1, en euros").fill("50 000")
    page.get_by_role("button", name="Ajouter une pièce").click()
    rows = page.locator("#tableau-pieces tbody tr").count()
    page.get_by_label(f"Libellé de la pièce n° {rows}").fill("Attestation de la collectivité")
    page.get_by_role("button", name="Créer l’appel en brouillon").click()

    # The slip is shown beside its field; nothing typed is lost.
    assert "sans exposant" in page.locator("#error-summary").inner_text()  # the house amount parser says why
    assert page.get_by_label("Libellé de la catégorie n° 1").input_value() == "Émergence"
    assert page.get_by_label(re.compile(r"^Montant maximal par dossier")).input_value() == "1e3"
    check_accessibility(page, context="refused save")
    page.get_by_label(re.compile(r"^Montant maximal par dossier")).fill("100 000")
    page.get_by_role("button", name="Créer l’appel en brouillon").click()

    assert page.locator("h1").inner_text() == "Paramètres de l’appel à projets"
    assert page.get_by_label("Libellé de la catégorie n° 1").input_value() == "Émergence"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "call_settings.png"), full_page=True)
    check_accessibility(page, context="call settings")

    page.get_by_role("link", name="Ouvrir l’appel").click()
    check_accessibility(page, context="confirm opening")
    page.get_by_role("button", name="Confirmer : Ouvrir l’appel").click()
    assert "L’appel à projets est désormais : Ouvert." in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Modifier la date limite de dépôt").is_visible()
    check_accessibility(page, context="open call")

    db.session.expire_all()
    call = db.session.scalar(sa.select(Call).where(Call.slug == "appel-a-projets-ptce-2027"))
    assert call.status == CallStatus.OPEN
    assert [c.label for c in call.categories] == ["Émergence"]
    assert "Attestation de la collectivité" in [d.label for d in call.document_types]
