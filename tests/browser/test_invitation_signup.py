"""An invited co-editor who has no account follows the mailed link, signs up, verifies the address from the
real mail and lands on the invitation, accepts it and is taken to the dossier; the used link then says so.
And the department picker of « Identité » (search box, region filter) works by keyboard. Every page passes
axe-core."""

import re

import pytest
from playwright.sync_api import expect

from ptce_aap import jobs
from ptce_aap.services import coeditors
from tests.browser.conftest import check_accessibility
from tests.browser.test_account_journey import tick_box

pytestmark = pytest.mark.browser

PASSWORD = "Coop-territoire-2026"


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_invitation_through_sign_up_and_verification(page, worker, smtp, live_server, make_dossier, make_user, db):
    owner = make_user("porteuse@example.org", full_name="Julie Porteuse")
    dossier = make_dossier(owner=owner, pole_name="Pôle Drôme Coop")
    coeditors.invite(dossier.pole, "claire.co@example.org", by=owner)
    db.session.commit()
    jobs.dispatch_outbox()  # what a request does after its commit
    worker()
    [mail] = smtp.wait_for(1)
    invitation = _path(re.search(r"https?://\S+/porteur/invitations/\S+", mail.get_body(("plain",)).get_content())
                       .group(0))
    smtp.clear()

    # No account yet: the link leads to the login page, which tells where it leads.
    page.goto(invitation)
    assert page.locator("h1").inner_text() == "Se connecter"
    notice = page.locator("#invitation").inner_text()
    assert "Invitation à co-rédiger le dossier du pôle « Pôle Drôme Coop »" in notice
    assert "claire.co@example.org" in notice
    check_accessibility(page, context="login with an invitation")
    page.get_by_role("link", name="Créer mon compte pour accepter l’invitation").click()

    # Sign-up: the invited address is already there.
    assert page.locator("h1").inner_text() == "Créer un compte porteur de projet"
    assert page.get_by_label("Adresse électronique").input_value() == "claire.co@example.org"
    check_accessibility(page, context="sign-up with an invitation")
    page.get_by_label("Prénom et nom").fill("Claire Co")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    tick_box(page, "J’accepte les conditions d’utilisation de la plateforme")
    page.get_by_role("button", name="Créer mon compte").click()
    assert page.locator("h1").inner_text() == "Consultez votre messagerie"

    # The verification mail's link, opened in a fresh tab: it lands on the invitation once confirmed.
    worker()
    [mail] = smtp.wait_for(1)
    verify = _path(re.search(r"https?://\S+/compte/verifier/\S+", mail.get_body(("plain",)).get_content()).group(0))
    other = page.context.browser.new_context(base_url=live_server, locale="fr-FR").new_page()
    try:
        other.goto(verify)
        assert other.locator("h1").inner_text() == "Confirmer votre adresse électronique"
        other.get_by_label("Mot de passe choisi à l’inscription").fill(PASSWORD)
        other.get_by_role("button", name="Confirmer mon adresse et me connecter").click()
        assert other.locator("h1").inner_text() == "Invitation à compléter un dossier"
        assert "Votre adresse électronique est vérifiée" in other.locator("main").inner_text()
        assert "Vous êtes invité(e) à compléter les dossiers du pôle « Pôle Drôme Coop »." in \
            other.locator("main").inner_text()
        check_accessibility(other, context="invitation after verification")
        other.get_by_role("button", name="Accepter l’invitation").click()

        # Straight to the dossier, never « Vous n’avez pas encore de dossier ».
        assert other.locator("h1").inner_text() == "Pôle Drôme Coop"
        assert other.url.endswith(f"/porteur/dossiers/{dossier.id}")
        assert "Vous pouvez désormais compléter les dossiers du pôle « Pôle Drôme Coop »." in \
            other.locator("main").inner_text()
        check_accessibility(other, context="dossier after accepting")

        # The used link: no « Accepter » again, a link to the dossier instead.
        other.goto(invitation)
        assert other.locator("#invitation-utilisee").is_visible()
        assert "Cette invitation a déjà été utilisée" in other.locator("main").inner_text()
        assert other.get_by_role("button", name="Accepter l’invitation").count() == 0
        check_accessibility(other, context="used invitation")
        other.get_by_role("link", name="Ouvrir le dossier").click()
        assert other.locator("h1").inner_text() == "Pôle Drôme Coop"
    finally:
        other.context.close()


def test_department_picker_search_and_region_filter(page, make_dossier, make_user, live_server):
    owner = make_user("porteuse@example.org", full_name="Julie Porteuse")
    dossier = make_dossier(owner=owner, pole_name="Pôle Drôme Coop")
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("porteuse@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Mot-de-passe-2026!")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/porteur/dossiers/{dossier.id}/identite")

    search = page.get_by_label("Rechercher un département")
    expect(search).to_be_visible()  # shown with JavaScript
    page.get_by_label("Région", exact=True).select_option(label="Auvergne-Rhône-Alpes")
    region_only = page.get_by_label("Afficher seulement les départements de la région choisie")
    expect(region_only).to_be_checked()
    expect(page.get_by_label("26 — Drôme", exact=True)).to_be_visible()
    expect(page.get_by_label("13 — Bouches-du-Rhône", exact=True)).to_be_hidden()  # another region
    search.fill("dro")
    expect(page.get_by_label("07 — Ardèche", exact=True)).to_be_hidden()
    expect(page.get_by_label("26 — Drôme", exact=True)).to_be_visible()
    expect(page.locator("#departments-status")).to_have_text("1 département affiché.")
    # By keyboard: focus the box, Space ticks it.
    page.get_by_label("26 — Drôme", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("26 — Drôme", exact=True)).to_be_checked()
    expect(page.locator("#departments-selected")).to_have_text("Départements cochés : 26 — Drôme")
    search.fill("ardeche")  # without the accent
    expect(page.get_by_label("07 — Ardèche", exact=True)).to_be_visible()
    tick_box(page, "07 — Ardèche", exact=True)
    expect(page.get_by_label("26 — Drôme", exact=True)).to_be_visible()  # ticked ones stay shown
    search.fill("zzz")
    expect(page.locator("#departments-status")).to_have_text("Aucun département ne correspond à votre recherche.")
    search.fill("")
    page.locator("label[for=departments-region-only]").click()  # as a person does (DSFR draws the box)
    expect(region_only).not_to_be_checked()
    expect(page.get_by_label("13 — Bouches-du-Rhône", exact=True)).to_be_visible()
    check_accessibility(page, context="department picker")
    with page.expect_navigation():  # the saved page, not the one before it (read too early under load)
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    assert page.get_by_label("26 — Drôme", exact=True).is_checked()
    assert page.get_by_label("07 — Ardèche", exact=True).is_checked()
    check_accessibility(page, context="identity section saved")
