"""The reading view in a browser (issue 10): an admin and an assigned reviewer read the whole dossier, open its
print version and print it; the pages are axe-clean; a conflicted reviewer is turned away. Also the grid editor."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser

PASSWORD = "Mot-de-passe-2026!"


def _log_in(page, email: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def _log_out(page) -> None:
    page.context.clear_cookies()


@pytest.fixture
def content(db, make_call, make_dossier, make_user, applicant, admin_user, make_assignment, make_conflict):
    from ptce_aap.enums import CallStatus, Role
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import eligibility, submission

    call = make_call(slug="ptce-2027", title="Appel à projets PTCE 2027")
    dossier = make_dossier(call=call, owner=applicant, complete=True, pole_name="Pôle Coopérations du Val",
                           members=4)
    dossier.summary = "Un pôle qui relocalise l'alimentation.\nDeuxième ligne du résumé."
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    eligibility.run_check(dossier)
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT",
                         full_name="Louis Rapporteur")
    conflicted = make_user("conflit@example.org", roles=(Role.REVIEWER,), institution="Caisse des Dépôts",
                           full_name="Inès Conflit")
    make_assignment(dossier, reviewer)
    make_assignment(dossier, conflicted)
    make_conflict(conflicted, call, pole_id=dossier.pole_id)
    draft = make_call(slug="ptce-2028", title="Appel PTCE 2028", status=CallStatus.DRAFT)
    db.session.commit()
    return {"dossier": dossier, "draft": draft}


def _print_media_check(page) -> None:
    """In print media the site's header and footer and the buttons are gone; the dossier is there."""
    page.emulate_media(media="print")
    assert page.locator(".ptce-reading").is_visible()
    for selector in (".fr-no-print", "header.fr-header", "footer.fr-footer"):
        for element in page.locator(selector).all():
            assert not element.is_visible(), selector
    page.emulate_media(media="screen")


def test_admin_and_reviewer_read_and_print_a_dossier(page, content):
    dossier = content["dossier"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    _log_in(page, "admin@example.org")
    page.goto("/admin/appels/ptce-2027/dossiers")
    page.get_by_role("link", name=re.compile("Lire le dossier")).first.click()
    page.wait_for_url(f"**/admin/dossiers/{dossier.id}/lecture")
    assert page.locator("h1").inner_text() == "Pôle Coopérations du Val"
    assert page.locator("table.ptce-reading__members tbody tr").count() == 4
    assert page.get_by_text("Deuxième ligne du résumé.").is_visible()
    assert page.locator(".ptce-reading__audit").is_visible()
    check_accessibility(page, context="admin reading view")
    page.screenshot(path=str(ARTIFACTS / "reading-admin.png"), full_page=True)
    _print_media_check(page)

    page.get_by_role("link", name="Version imprimable").click()
    page.wait_for_url(f"**/admin/dossiers/{dossier.id}/lecture/impression")
    assert page.get_by_role("button", name="Imprimer").is_visible()  # shown by its script
    check_accessibility(page, context="admin print version")
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "reading-print.png"), full_page=True)
    assert not page.get_by_role("button", name="Imprimer").is_visible()
    page.emulate_media(media="screen")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000

    _log_out(page)
    _log_in(page, "rapporteur@example.org")
    page.goto(f"/rapporteur/dossiers/{dossier.id}")
    assert page.locator("h1").inner_text() == "Pôle Coopérations du Val"
    assert page.locator(".ptce-reading__audit").count() == 0
    check_accessibility(page, context="reviewer reading view")
    page.screenshot(path=str(ARTIFACTS / "reading-reviewer.png"), full_page=True)
    page.get_by_role("link", name="Version imprimable").click()
    page.wait_for_url(f"**/rapporteur/dossiers/{dossier.id}/impression")
    check_accessibility(page, context="reviewer print version")

    _log_out(page)
    _log_in(page, "conflit@example.org")
    response = page.goto(f"/rapporteur/dossiers/{dossier.id}")
    assert response.status == 404
    assert "Pôle Coopérations du Val" not in page.content()


def test_admin_edits_a_grid(page, content):
    _log_in(page, "admin@example.org")
    page.goto("/admin/appels/ptce-2028/grille")
    check_accessibility(page, context="grid editor")
    page.get_by_label(re.compile("^Code")).fill("numerique")
    page.get_by_label("Intitulé du critère").fill("Usage du numérique")
    page.get_by_label(re.compile("^Poids")).fill("douze")
    page.get_by_role("button", name="Ajouter le critère").click()
    assert page.get_by_text("Le poids doit être un nombre entier positif").first.is_visible()
    assert page.get_by_label("Intitulé du critère").input_value() == "Usage du numérique"
    check_accessibility(page, context="grid editor with an error")
    page.get_by_label(re.compile("^Poids")).fill("12")
    page.get_by_role("button", name="Ajouter le critère").click()
    assert page.locator('tr[data-criterion="numerique"]').is_visible()
    page.get_by_role("link", name=re.compile("Supprimer « Usage du numérique »")).click()
    check_accessibility(page, context="grid deletion confirmation")
    page.get_by_role("button", name="Oui, supprimer le critère").click()
    assert page.locator('tr[data-criterion="numerique"]').count() == 0
    page.screenshot(path=str(ARTIFACTS / "grid-editor.png"), full_page=True)
