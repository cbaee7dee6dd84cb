"""On a phone (375 px), pages do not scroll sideways: wide tables scroll inside their own box."""

import re

import pytest

from tests.browser.conftest import check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_member_and_budget_tables_fit_a_phone(page, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True, members=6)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(applicant.email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    for section in ("membres", "budget", "pieces", ""):
        page.goto(f"/porteur/dossiers/{dossier.id}/{section}".rstrip("/"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, section
    page.goto(f"/porteur/dossiers/{dossier.id}/membres")
    check_accessibility(page, context="members on a phone")
