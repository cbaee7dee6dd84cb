import pytest

from tests.browser.conftest import check_accessibility

pytestmark = pytest.mark.browser


def test_home_page_is_french_dsfr_and_accessible(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "fr"
    # The DSFR stylesheet is served and applied: the Marianne block is set in capitals by its CSS.
    assert page.locator(".fr-header .fr-logo").inner_text().replace("\n", " ") == "RÉPUBLIQUE FRANÇAISE"
    assert page.locator("h1").inner_text() == (
        "Appel à projets en faveur des pôles territoriaux de coopération économique")
    assert page.evaluate("document.documentElement.getAttribute('data-fr-js')") == "true"
    check_accessibility(page, context="home")


def test_skip_link_moves_focus_to_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#contenu"


def test_language_switch_to_english(page):
    page.goto("/")
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
