"""The secretariat notifies a deliberating call's decisions in the browser (list, preview link, confirmation
counting the letters, « Notifier »); the laureate's person finds the outcome and the letter on their dossier
page. Every page passes axe-core; screenshots are kept for review."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms, Role
from ptce_aap.services.decisions import DecisionInput, decide
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser
PASSWORD = "Mot-de-passe-2026!"


def _login(page, email):
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_notify_the_decisions_then_the_laureate_reads_theirs(page, make_user, make_call, make_reviewed_dossier,
                                                             db, worker):
    admin = make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat",
                      password=PASSWORD)
    owner = make_user("porteur@example.org", full_name="Julie Porteur", password=PASSWORD)
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))
    laureate = make_reviewed_dossier(call=call, owner=owner, pole_name="Pôle du Val")
    rejected = make_reviewed_dossier(call=call, pole_name="Pôle des Monts")
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(laureate, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Projet solide.",
                                   amount_eur=Decimal("80000"), reference="DEC-1", committee_date=date(2026, 12, 3),
                                   payment_terms=PaymentTerms.SINGLE), by=admin)
    decide(rejected, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Trop récent."), by=admin)
    db.session.commit()

    _login(page, admin.email)
    page.goto(f"/admin/appels/{call.slug}/notification-des-decisions")
    assert page.locator("h1").inner_text() == "Notification des décisions"
    assert page.get_by_role("link", name=re.compile("Aperçu de la lettre de Pôle du Val")).count() == 1
    check_accessibility(page, context="notification page")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "decision_notification.png"), full_page=True)
    page.get_by_role("link", name="Notifier", exact=True).click()
    assert "2 lettres de décision vont partir" in page.locator("#a-envoyer").inner_text()
    check_accessibility(page, context="confirmation")
    page.get_by_role("button", name="Confirmer : notifier 2 décisions").click()
    assert "2 décisions notifiées" in page.locator(".fr-alert--success").inner_text()
    assert page.locator("#notifiees tbody tr").count() == 2
    check_accessibility(page, context="after notification")
    worker()

    page.context.clear_cookies()
    _login(page, owner.email)
    page.goto(f"/porteur/dossiers/{laureate.id}")
    decision = page.locator("#decision")
    assert "Lauréat" in decision.inner_text() and "80\u202f000 €" in decision.inner_text()
    assert decision.get_by_role("link", name=re.compile("Télécharger la lettre de décision")).count() == 1
    check_accessibility(page, context="applicant's dossier with its decision")
    page.screenshot(path=str(ARTIFACTS / "decision_applicant.png"), full_page=True)


def test_the_signatory_is_set_from_the_notification_page_notice(page, make_user, make_call, db):
    """No signatory yet: the notice links to the settings page, whose signatory form refuses a web address beside
    the field (typed values kept), then saves; the notice is gone. Each state passes axe-core."""
    make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat", password=PASSWORD)
    call = make_call(status=CallStatus.DELIBERATION, awarding_body_name="Ministère de l'Économie")

    _login(page, "secretariat@example.org")
    page.goto(f"/admin/appels/{call.slug}/notification-des-decisions")
    assert "Ministère de l'Économie" in page.locator("#sans-signataire").inner_text()
    page.get_by_role("link", name="Indiquer le signataire des lettres").click()
    form = page.locator("#formulaire-signataire")
    form.get_by_label(re.compile("^Nom du signataire")).fill("Camille Durand www.exemple.fr")
    form.get_by_label(re.compile("^Qualité du signataire")).fill("La directrice générale du Trésor")
    form.get_by_role("button", name="Enregistrer le signataire").click()
    assert "sans adresse web" in page.locator("#signatory_name-desc-error").inner_text()
    assert page.locator("#signatory_title").input_value() == "La directrice générale du Trésor"
    assert page.locator("#signatory_name").get_attribute("aria-invalid") == "true"
    check_accessibility(page, context="signatory refused")
    page.locator("#signatory_name").fill("Camille Durand")
    page.get_by_role("button", name="Enregistrer le signataire").click()
    assert "Le signataire des lettres de décision a été enregistré." in page.locator(".fr-alert--success").inner_text()
    check_accessibility(page, context="settings page with the signatory form")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "call_signatory.png"), full_page=True)
    page.goto(f"/admin/appels/{call.slug}/notification-des-decisions")
    assert page.locator("#sans-signataire").count() == 0
