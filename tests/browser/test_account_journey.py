"""A newcomer registers, opens the verification link from the real mail, logs in and lands on the French
DSFR dashboard; every page on the way passes axe-core."""

import re

import pytest

from tests.browser.conftest import check_accessibility

pytestmark = pytest.mark.browser


def tick_box(page, label: str, exact: bool = False) -> None:
    """Tick a DSFR checkbox the way a person does: by clicking its label (the input is drawn by CSS)."""
    box = page.get_by_label(label, exact=exact)
    if not box.is_checked():
        page.locator(f"label[for={box.get_attribute('id')}]").click()
    assert box.is_checked()


def test_register_verify_login_and_see_french_dashboard(page, worker, smtp, live_server):
    page.goto("/compte/inscription")
    check_accessibility(page, context="registration")
    page.get_by_label("Prénom et nom").fill("Inès Morel")
    page.get_by_label("Adresse électronique").fill("ines.morel@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Coop-territoire-2026")
    page.get_by_label("Confirmation du mot de passe").fill("Coop-territoire-2027")  # a typo first
    tick_box(page, "J’accepte les conditions d’utilisation de la plateforme")
    page.get_by_role("button", name="Créer mon compte").click()
    # The error is announced, next to the field, and what was typed is kept.
    assert "Les deux mots de passe ne sont pas identiques." in page.locator("#error-summary").inner_text()
    assert page.get_by_label("Prénom et nom").input_value() == "Inès Morel"
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Coop-territoire-2026")
    page.get_by_label("Confirmation du mot de passe").fill("Coop-territoire-2026")
    tick_box(page, "J’accepte les conditions d’utilisation de la plateforme")
    page.get_by_role("button", name="Créer mon compte").click()
    assert page.locator("h1").inner_text() == "Consultez votre messagerie"
    assert "Un courriel va être envoyé à l’adresse ines.morel@example.org" in page.locator("main").inner_text()
    check_accessibility(page, context="check your mail")

    worker()
    mails = smtp.wait_for(1)
    assert len(mails) == 1 and mails[0]["To"] == "ines.morel@example.org"
    text = mails[0].get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/compte/verifier/\S+", text).group(0)
    page.goto(live_server + "/" + link.split("://", 1)[1].split("/", 1)[1])
    assert page.locator("h1").inner_text() == "Confirmer votre adresse électronique"  # the link alone logs nobody in
    check_accessibility(page, context="confirm email")
    page.get_by_label("Mot de passe choisi à l’inscription").fill("Coop-territoire-2026")
    page.get_by_role("button", name="Confirmer mon adresse et me connecter").click()
    assert page.locator("h1").inner_text() == "Mes dossiers"
    page.locator(".fr-header__tools").get_by_role("link", name="Inès Morel").click()
    assert page.locator("h1").inner_text() == "Mon compte"
    check_accessibility(page, context="account")

    page.get_by_role("button", name="Se déconnecter").click()
    page.goto("/compte/connexion")
    check_accessibility(page, context="login")
    page.get_by_label("Adresse électronique").fill("ines.morel@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Coop-territoire-2026")
    page.get_by_role("button", name="Se connecter").click()
    assert page.locator("h1").inner_text() == "Mes dossiers"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Inès Morel" in page.locator(".fr-header__tools").inner_text()
    check_accessibility(page, context="dashboard")
