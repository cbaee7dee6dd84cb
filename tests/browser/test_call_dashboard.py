"""The secretariat opens a call's dashboard from the administration home: its figures are images named by their
captions, with their data tables beside them, and the page passes axe-core; a screenshot is kept for review."""

import re
from datetime import timedelta

import pytest

from ptce_aap.enums import AssignmentStatus, Role
from ptce_aap.models.base import utcnow
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser
PASSWORD = "Mot-de-passe-2026!"


def test_the_call_dashboard_reads_without_colour_and_passes_axe(page, db, make_call, make_dossier, make_user,
                                                                make_assignment):
    from ptce_aap.services import eligibility, submission

    admin = make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat",
                      password=PASSWORD)
    call = make_call(slug="aap-tableau", title="Appel PTCE du tableau de bord")
    start = (utcnow() - timedelta(days=4)).replace(hour=10, minute=0, second=0, microsecond=0)
    reviewer = make_user(roles=(Role.REVIEWER,), full_name="Louise Martin", institution="ANCT")
    for i, (region, departments) in enumerate([("84", ["69", "01"]), ("84", ["69"]), ("76", ["34", "30"]),
                                               ("04", ["974"])]):
        owner = make_user()
        dossier = make_dossier(call=call, owner=owner, complete=True, pole_name=f"Pôle {i}")
        submission.submit_dossier(dossier, by=owner, now=start + timedelta(days=i % 3))
        dossier.region_code, dossier.departments = region, departments
        eligibility.run_check(dossier, by=admin)
        db.session.commit()
        make_assignment(dossier, reviewer, status=AssignmentStatus.SUBMITTED if i % 2 else AssignmentStatus.ASSIGNED)

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("secretariat@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/admin/")
    page.get_by_role("link", name=re.compile("^Tableau de bord Appel PTCE du tableau de bord")).click()

    assert page.locator("h1").inner_text() == "Tableau de bord de l’appel"
    chart = page.get_by_role("img", name=re.compile(r"^4 dépôts du "))
    assert chart.is_visible()
    assert page.get_by_role("img", name=re.compile("^Carte de France par département")).is_visible()
    assert page.locator('#carte-departements [data-department="69"]').get_attribute("data-count") == "2"
    assert page.get_by_role("table", name="Dépôts par jour (données du graphique)").is_visible()
    assert "2 sur 4 rendues (50 %)" in page.locator("#rapporteurs").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "call_dashboard.png"), full_page=True)
    check_accessibility(page, context="call dashboard")
