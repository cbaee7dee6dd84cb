"""The secretariat publishes a call's results in the browser (preview, confirmation, « Publier »); the public call
page then shows the laureates' table, the map of France and the open-data files. Every page passes axe-core."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms, Role
from ptce_aap.services import decision_letters
from ptce_aap.services.decisions import DecisionInput, decide
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser
PASSWORD = "Mot-de-passe-2026!"


def test_publish_the_results_then_read_them_on_the_call_page(page, make_user, make_call, make_reviewed_dossier, db):
    admin = make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat",
                      password=PASSWORD)
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))
    laureate = make_reviewed_dossier(call=call, pole_name="Pôle du Val")
    rejected = make_reviewed_dossier(call=call, pole_name="Pôle des Monts")
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(laureate, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Projet solide.",
                                   amount_eur=Decimal("80000"), reference="DEC-1", committee_date=date(2026, 12, 3),
                                   payment_terms=PaymentTerms.SINGLE), by=admin)
    decide(rejected, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Trop récent."), by=admin)
    decision_letters.notify_decisions(call, by=admin)
    db.session.commit()

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(admin.email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/admin/appels/{call.slug}/publication")
    assert page.locator("h1").inner_text() == "Publication des résultats"
    assert page.locator("#apercu tbody tr").count() == 1
    check_accessibility(page, context="publication page")
    page.get_by_role("link", name="Publier les résultats").click()
    assert "1 lauréat sera rendu public" in page.locator("#a-publier").inner_text()
    check_accessibility(page, context="confirmation")
    page.get_by_role("button", name="Confirmer la publication").click()
    assert "Version 1 publiée" in page.locator(".fr-alert--success").inner_text()
    assert page.locator("#versions tbody tr").count() == 1
    check_accessibility(page, context="after publication")

    page.context.clear_cookies()
    page.goto(f"/appels/{call.slug}")
    section = page.locator("#resultats")
    assert "Pôle du Val" in section.inner_text() and "Pôle des Monts" not in page.content()
    svg = page.locator("#carte-laureats svg")
    assert svg.get_attribute("role") == "img"
    assert "Carte de France" in page.locator("#carte-laureats-legende").inner_text()
    assert page.locator("#table-laureats-departements tbody tr").count() == len(set(laureate.departments))
    check_accessibility(page, context="public call page with its laureates")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "publication_public.png"), full_page=True)
    page.get_by_role("link", name="Toutes les versions publiées et leurs empreintes SHA-256").click()
    assert page.locator("#versions tbody tr").count() == 1
    check_accessibility(page, context="versions")
