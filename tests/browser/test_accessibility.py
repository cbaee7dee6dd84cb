"""axe-core (WCAG 2.1 A/AA) on the pages the applicant journeys do not visit: the public call list and call
page, the error pages, and the administrator's pages — each with content on it."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import check_accessibility

pytestmark = pytest.mark.browser

PASSWORD = "Mot-de-passe-2026!"


def _log_in(page, email: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _visit(page, path: str, status: int, heading: str) -> None:
    response = page.goto(path)
    assert response.status == status, path
    assert page.locator("h1").first.inner_text() == heading, path
    check_accessibility(page, context=path)


@pytest.fixture
def content(db, make_call, make_dossier, make_user, applicant, admin_user):
    from ptce_aap.enums import NotificationStatus
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.outbox import Notification
    from ptce_aap.services import eligibility, submission

    call = make_call(slug="ptce-2027", title="Appel à projets PTCE 2027")
    make_call(slug="ptce-2020", title="Appel PTCE 2020", opens_at=utcnow().replace(year=2020),
              closes_at=utcnow().replace(year=2020, month=12))
    dossier = make_dossier(call=call, owner=applicant, complete=True, pole_name="Pôle Coopérations du Val")
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    eligibility.run_check(dossier)
    eligibility.override(dossier, is_eligible=True, reason="Pièce reçue par courrier.", by=admin_user)
    run = eligibility.rerun_for_call(call, by=admin_user)
    db.session.add(Notification(
        recipient="perdu@example.org", template="eligibility_result", dedupe_key="a11y-failed",
        context={"name": "Julie", "pole_name": "Pôle du Val", "verdict_text": "dossier recevable", "failed": [],
                 "link": "/porteur/"},
        status=NotificationStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected"))
    db.session.commit()
    return {"call": call, "dossier": dossier, "run": run}


def test_public_and_error_pages_are_accessible(page, content):
    _visit(page, "/appels", 200, "Appels à projets")
    _visit(page, "/appels/ptce-2027", 200, "Appel à projets PTCE 2027")
    _visit(page, "/appels/ptce-2020", 200, "Appel PTCE 2020")
    _visit(page, "/page-inconnue", 404, "Page non trouvée")
    _log_in(page, "porteur@example.org")
    _visit(page, "/admin/", 403, "Accès refusé")


def test_admin_pages_are_accessible(page, content):
    call, dossier, run = content["call"], content["dossier"], content["run"]
    _log_in(page, "admin@example.org")
    assert page.locator("h1").first.inner_text() == "Tableau de bord"
    check_accessibility(page, context="admin dashboard")
    _visit(page, f"/admin/appels/{call.slug}/dossiers", 200, "Dossiers déposés")
    _visit(page, f"/admin/appels/{call.slug}/dossiers?statut=eligible&tri=pole", 200,
           "Dossiers déposés")
    _visit(page, f"/admin/appels/{call.slug}/dossiers?note_min=beaucoup&desaccord=1&region=84&tri=montant", 422,
           "Dossiers déposés")
    # The instruction list's « select all on page », then the bulk action's confirmation and the archive's.
    _visit(page, f"/admin/appels/{call.slug}/dossiers", 200, "Dossiers déposés")
    page.locator("label[for=tout-cocher]").click()  # DSFR draws the box on the label
    assert page.get_by_label("Cocher « Pôle Coopérations du Val »").is_checked()
    page.get_by_label("Action sur les dossiers cochés").select_option("exporter_csv")
    page.get_by_role("button", name="Continuer").click()
    assert page.locator("h1").first.inner_text() == "Exporter la sélection (CSV)"
    assert page.locator(f'tr[data-dossier="{dossier.id}"]').count() == 1
    check_accessibility(page, context="bulk action confirmation")
    _visit(page, f"/admin/appels/{call.slug}/archive", 200, "Archive ZIP des pièces")
    _visit(page, f"/admin/dossiers/{dossier.id}", 200, "Pôle Coopérations du Val")
    _visit(page, f"/admin/appels/{call.slug}/eligibilite", 200, "Relancer l'éligibilité")
    _visit(page, f"/admin/taches/{run.id}", 200, "Vérification de l’éligibilité")
    _visit(page, "/admin/notifications", 200, "Notifications en échec")
