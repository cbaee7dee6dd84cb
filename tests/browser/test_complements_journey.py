"""A request for complements in the browser, with axe-core on every step: the secretariat's form refused then
sent (errors announced, what was typed kept), the applicant's dossier page with the request, the answer page,
the answer sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.browser.conftest import check_accessibility
from tests.browser.test_account_journey import tick_box

pytestmark = pytest.mark.browser

PASSWORD = "Mot-de-passe-2026!"


def _log_in(page, email: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.fixture
def submitted(db, make_call, make_dossier, applicant, admin_user):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import submission

    call = make_call(slug="ptce-2027", title="Appel à projets PTCE 2027")
    dossier = make_dossier(call=call, owner=applicant, complete=True, pole_name="Pôle Coopérations du Val")
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    return dossier


def test_request_answer_journey(page, _browser, live_server, submitted, db):
    from ptce_aap.enums import DossierStatus
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.dossiers import Dossier

    admin = page
    _log_in(admin, "admin@example.org")
    admin.goto(f"/admin/dossiers/{submitted.id}")
    admin.get_by_label("Ce que vous demandez au porteur").fill("Précisez la stratégie, s'il vous plaît.")
    admin.get_by_role("button", name="Envoyer la demande de compléments").click()
    # Refused: no part chosen, no date; the text stays, the errors are listed and beside their fields.
    assert admin.locator("#error-summary").is_visible()
    assert "Choisissez au moins une partie du dossier" in admin.locator("#sections-fieldset").inner_text()
    assert admin.get_by_label("Ce que vous demandez au porteur").input_value() == \
        "Précisez la stratégie, s'il vous plaît."
    check_accessibility(admin, context="request refused")
    tick_box(admin, "Projet et emplois")
    admin.get_by_label("Date limite de réponse").fill((utcnow() + timedelta(days=8)).date().isoformat())
    admin.get_by_role("button", name="Envoyer la demande de compléments").click()
    assert "La demande de compléments a été envoyée" in admin.locator("body").inner_text()
    check_accessibility(admin, context="request sent")
    db.session.expire_all()
    assert db.session.get(Dossier, submitted.id).status == DossierStatus.CORRECTION

    context = _browser.new_context(base_url=live_server, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    _log_in(page, "porteur@example.org")
    page.goto(f"/porteur/dossiers/{submitted.id}")
    assert page.locator("#demande-ouverte").is_visible()
    check_accessibility(page, context="applicant's dossier with a request")
    page.get_by_role("link", name="Voir la demande et répondre").click()
    assert page.locator("h1").inner_text() == "Répondre à la demande de compléments"
    check_accessibility(page, context="answer page")
    page.get_by_label(re.compile("Votre réponse au secrétariat")).fill("La stratégie est précisée.")
    page.get_by_role("button", name="Répondre", exact=True).click()
    assert "Votre réponse a été envoyée au secrétariat" in page.locator("body").inner_text()
    db.session.expire_all()
    assert db.session.get(Dossier, submitted.id).status == DossierStatus.SUBMITTED
    context.close()
