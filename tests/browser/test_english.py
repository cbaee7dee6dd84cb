"""In Chromium, in English: what the scripts write while typing (budget totals, character counters) is
English too, and the English pages stay accessible."""

import re

import pytest

from tests.browser.conftest import check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_live_budget_text_and_counters_are_in_english(page, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True)
    page.goto("/compte/connexion")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Email address").fill(applicant.email)
    page.get_by_label(re.compile(r"^Password")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/porteur/"))

    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Amount of expense no. 1").fill("151000")
    balance = page.locator("#balance")
    balance.get_by_text("Difference between resources and expenses").wait_for()
    assert "€" in balance.inner_text() and "Écart" not in balance.inner_text()
    page.get_by_label("Amount of expense no. 1").fill("150000")
    balance.get_by_text("The financing plan is balanced.").wait_for()
    check_accessibility(page, context="budget section in English")

    page.goto(f"/porteur/dossiers/{dossier.id}/projet")
    counter = page.locator("#summary-counter")
    counter.get_by_text(re.compile(r"^\d+ / 1500 characters$")).wait_for()
    assert "caractères" not in counter.inner_text()
