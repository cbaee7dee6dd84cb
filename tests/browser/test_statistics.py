"""The secretariat opens a call's statistics from its navigation: the charts and maps are images named by their
captions, with their data tables beside them, and the page passes axe-core; a screenshot is kept for review."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms, Role
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser
PASSWORD = "Mot-de-passe-2026!"


def test_the_call_statistics_read_without_colour_and_pass_axe(page, db, make_call, make_reviewed_dossier, make_user):
    from ptce_aap.services.decisions import DecisionInput, decide

    admin = make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat",
                      password=PASSWORD)
    call = make_call(slug="aap-statistiques", title="Appel PTCE des statistiques",
                     categories=[{"code": "emergence", "label": "Émergence"}])
    dossiers = []
    for i, (region, departments) in enumerate([("84", ["69", "01"]), ("84", ["69"]), ("53", ["35"]),
                                               ("04", ["974"])]):
        dossier = make_reviewed_dossier(call=call, pole_name=f"Pôle {i}", members=3 + i)
        dossier.region_code, dossier.departments = region, departments
        dossier.category_code = "emergence" if i % 2 else None
        dossiers.append(dossier)
    call.status = CallStatus.DELIBERATION
    other = make_call(slug="aap-suivant", title="Appel PTCE suivant")
    make_reviewed_dossier(call=other, pole_name="Pôle suivant", members=6)
    db.session.commit()
    for dossier in dossiers[:2]:
        decide(dossier, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Projet solide.",
                                      amount_eur=Decimal("45000"), committee_date=date(2026, 12, 3),
                                      payment_terms=PaymentTerms.SINGLE), by=admin)
    db.session.commit()

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("secretariat@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/admin/appels/{call.slug}/tableau-de-bord")
    page.locator("#pages-appel").get_by_role("link", name="Statistiques").click()

    assert page.locator("h1").inner_text() == "Statistiques de l’appel"
    assert page.get_by_role("img", name=re.compile(r"^Par région : dossiers déposés \(barre n° 1\) et lauréats "
                                                   r"\(barre n° 2\)\.")).is_visible()
    assert page.get_by_role("img", name=re.compile("^Carte de France par département : nombre de pôles lauréats"))\
        .is_visible()
    assert page.get_by_role("table", name="Par région (données du graphique)").is_visible()
    assert page.locator('#regions tr[data-key="84"] td[data-col="montant"]').inner_text().replace("\u202f", " ") \
        == "90 000 €"
    assert page.locator('#membres-par-pole td[data-col="mediane"]').inner_text() == "4,5"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "call_statistics.png"), full_page=True)
    check_accessibility(page, context="call statistics")

    # The calls compared, from the administration home: a column group per call.
    page.goto("/admin/")
    page.get_by_role("link", name="Statistiques des appels").click()
    assert page.locator("h1").inner_text() == "Statistiques des appels à projets"
    assert page.get_by_role("checkbox", name="Appel PTCE suivant").is_checked()
    assert page.locator('#synthese tr[data-call="ensemble"] td[data-col="dossiers"]').inner_text() == "5"
    assert page.locator('#regions tr[data-key="84"] td[data-col="aap-statistiques-dossiers"]').inner_text() == "2"
    page.screenshot(path=str(ARTIFACTS / "statistics_compared.png"), full_page=True)
    check_accessibility(page, context="statistics of several calls")
