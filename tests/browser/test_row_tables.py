"""In Chromium (issue 9 points 7 and 11): rows of the members and budget lists are added in place (no reload,
focus on the new row's first field, announced); the live totals while typing are the totals the server saves,
whatever is typed; at 1280 and 1920 px the member rows are readable (no field cut, « Retirer » on screen)."""

import re

import pytest

from ptce_aap.models.dossiers import Dossier
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

LONG_NAMES = [
    "Société coopérative d'intérêt collectif Les Jardins de Crest",
    "Communauté de communes du Crestois et du Pays de Saillans",
    "Centre de recherche et d'enseignement supérieur agronomique",
    "Association intermédiaire pour l'emploi en vallée de la Drôme",
]


def _log_in(page, email):
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _same_page(page):
    """Mark the document: the mark survives only if the page was not reloaded."""
    page.evaluate("window.__rowsMark = 'same page'")
    return lambda: page.evaluate("window.__rowsMark") == "same page"


def test_a_member_row_is_added_in_place_focused_announced_and_saved(page, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/membres")
    still_here = _same_page(page)
    page.get_by_role("button", name="Ajouter un membre").click()
    assert still_here()  # no reload
    assert page.evaluate("document.activeElement.id") == "members-3-name"
    assert page.locator("#members-rows-status").inner_text() == "Membre n° 4 ajouté : saisissez son nom."
    page.keyboard.type(LONG_NAMES[0])  # the focus is in the new row's first field
    page.get_by_label("SIRET du membre n° 4", exact=True).fill("44306184100047")
    page.get_by_label("Catégorie du membre n° 4", exact=True).select_option(label="Entreprise de l'ESS")
    page.get_by_label("Département du membre n° 4", exact=True).select_option("26")
    page.get_by_label("Rôle du membre n° 4", exact=True).select_option(label="Partenaire")
    page.get_by_role("button", name="Ajouter un membre").click()  # a second one: numbered on
    assert page.evaluate("document.activeElement.id") == "members-4-name"
    assert still_here()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "members-added-in-place.png"))
    check_accessibility(page, context="members with rows added in place")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.locator("#messages").wait_for()
    db.session.expire_all()
    members = db.session.get(Dossier, dossier.id).members
    assert [m.name for m in members][-1] == LONG_NAMES[0] and len(members) == 4  # the blank row is not stored
    assert (members[-1].department, members[-1].role.value) == ("26", "partenaire")

    # Enter in a field saves: it does not press row 1's « Retirer ».
    page.get_by_label("Nom du membre n° 2", exact=True).fill("Structure membre 2 bis")
    page.get_by_label("Nom du membre n° 2", exact=True).press("Enter")
    page.locator("#messages").wait_for()
    db.session.expire_all()
    assert [m.name for m in db.session.get(Dossier, dossier.id).members][:2] == [
        "Structure membre 1", "Structure membre 2 bis"]


# What people type, valid or not: the live total must be what the server saves.
TYPED_EXPENSES = ["150 000", "5'000", "5.000", "1e3", "-2 000", "12 500,50", "2 000 €", "7\u202f000,5", "0x10"]


def test_live_totals_are_the_saved_totals(page, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    still_here = _same_page(page)
    for i, typed in enumerate(TYPED_EXPENSES, start=3):
        page.get_by_role("button", name="Ajouter une dépense").click()
        assert page.evaluate("document.activeElement.id") == f"expenses-{i - 1}-label"
        page.keyboard.type(f"Poste {i}")
        page.get_by_label(f"Montant de la dépense n° {i}", exact=True).fill(typed)
    page.get_by_role("button", name="Ajouter une ressource").click()
    assert page.locator("#resources-rows-status").inner_text() == "Ressource n° 3 ajoutée : choisissez son origine."
    assert page.evaluate("document.activeElement.id") == "resources-2-source"
    page.get_by_label("Montant de la ressource n° 3", exact=True).fill("20 000")
    for label in ("Origine de la ressource n° 3", "Financeur de la ressource n° 3", "Intitulé de la ressource n° 3",
                  "Statut de la ressource n° 3", "Poste de dépense n° 3", "Supprimer la ressource n° 3"):
        assert page.get_by_label(label, exact=True).or_(page.get_by_role("button", name=label, exact=True)).count() \
            == 1, label
    assert still_here()
    live = {key: page.locator(selector).inner_text() for key, selector in
            [("expenses", "#total-expense"), ("resources", "#total-resource"), ("balance", "#balance")]}
    # 180 000 (saved lines) + 150 000 + 5 000 + 12 500,50 + 2 000 + 7 000,50; « 5.000 », « 1e3 », « -2 000 »,
    # « 0x10 » are refused by the server, so they count for nothing here either.
    assert live["expenses"] == "356\u202f501 €"
    assert live["resources"] == "200\u202f000 €"
    assert live["balance"] == ("Écart entre ressources et dépenses : -156\u202f501 €. Montants non comptés tant "
                               "qu’ils ne sont pas corrigés : 4.")
    check_accessibility(page, context="budget with rows added in place")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.locator("#messages").wait_for()
    saved = {key: page.locator(selector).inner_text() for key, selector in
             [("expenses", "#total-expense"), ("resources", "#total-resource"), ("balance", "#balance")]}
    assert saved == live
    db.session.expire_all()
    amounts = [ln.amount_eur for ln in db.session.get(Dossier, dossier.id).financing_lines if ln.label.startswith("Poste")]
    assert sum(a for a in amounts if a is not None) == 176501
    # The refused amounts are on their lines, with their reason.
    assert "Le montant doit être positif ou nul." in page.locator("#expenses-6-amount_eur-desc-error").inner_text()
    assert "sans exposant" in page.locator("#expenses-5-amount_eur-desc-error").inner_text()
    assert page.get_by_label("Montant de la dépense n° 7", exact=True).get_attribute("aria-describedby") == \
        "expenses-6-amount_eur-desc-error"


CLIPPED = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const found = [];
  document.querySelectorAll('#members [data-row] input:not([type=checkbox]), #members [data-row] select, '
                            + '#members [data-row] label, #members [data-row] legend, #members [data-row] button')
    .forEach(el => {
      const style = getComputedStyle(el);
      if (el.closest('.fr-sr-only') || el.classList.contains('fr-sr-only')) { return; }
      let over = el.scrollWidth > el.clientWidth + 1;
      if (el.tagName === 'SELECT') {  // a select does not scroll: measure its chosen option's text
        canvas.font = style.font;
        const text = el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : '';
        const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        over = canvas.measureText(text).width > room;
      }
      if (over) { found.push(el.id || el.htmlFor || el.textContent.trim().slice(0, 40)); }
    });
  return found;
}"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_member_rows_are_readable_on_a_desktop_screen(page, make_dossier, applicant, db, width):
    dossier = make_dossier(owner=applicant, complete=True, members=15)
    for i, member in enumerate(dossier.members):
        member.name = LONG_NAMES[i % len(LONG_NAMES)]
    dossier.members[3].category = dossier.members[3].category.__class__("research")
    db.session.commit()
    page.set_viewport_size({"width": width, "height": 1000})
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/membres")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    assert page.evaluate(CLIPPED) == []
    buttons = page.get_by_role("button", name=re.compile(r"^Retirer le membre n° "))
    assert buttons.count() == 15
    for i in range(15):
        box = buttons.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.get_by_label("SIRET du membre n° 15", exact=True).input_value() == dossier.members[14].siret
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#members-3").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"members-{width}.png"))
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"budget-{width}.png"), full_page=True)
    check_accessibility(page, context=f"budget at {width} px")
    page.goto(f"/porteur/dossiers/{dossier.id}/membres")
    check_accessibility(page, context=f"members at {width} px")


def test_row_lists_fit_a_phone(page, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True, members=4)
    page.set_viewport_size({"width": 375, "height": 800})
    _log_in(page, applicant.email)
    for section in ("membres", "budget"):
        page.goto(f"/porteur/dossiers/{dossier.id}/{section}")
        page.get_by_role("button", name=re.compile("^Ajouter un")).first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, section
        box = page.get_by_role("button", name=re.compile(r"^(Retirer|Supprimer) ")).last.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    check_accessibility(page, context="budget on a phone")


def test_save_pressed_while_an_autosave_is_on_its_way_is_not_a_conflict(page, make_dossier, applicant, db):
    """« Enregistrer » right after typing: the autosave still on its way is awaited, then the form is sent with
    the version it got — not taken for someone else's edit (the conflict screen against oneself)."""
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    held = []

    def autosave_answered_late(route):  # the server saves it at once; its answer reaches the page later
        if route.request.headers.get("x-autosave") == "1":
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route(re.compile(r"/budget$"), autosave_answered_late)
    page.get_by_role("button", name="Ajouter une dépense").click()
    page.keyboard.type("Communication")
    page.get_by_label("Montant de la dépense n° 3", exact=True).fill("8 000")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no autosave was sent"
    page.get_by_label("Montant de la dépense n° 3", exact=True).fill("9 000")  # typed after the autosave left
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_timeout(300)
    route, response = held.pop()
    route.fulfill(response=response)
    assert "Section enregistrée" in page.locator("#messages").inner_text()
    assert page.locator("#conflit").count() == 0
    db.session.expire_all()
    lines = db.session.get(Dossier, dossier.id).financing_lines
    assert [(ln.label, ln.amount_eur) for ln in lines if ln.label == "Communication"] == [("Communication", 9000)]


def test_an_amount_format_error_shows_as_soon_as_the_field_is_left(page, make_dossier, applicant):
    """No need to save to learn that « 1e3 » or « -5 » is refused: the message appears under the field when
    the focus leaves it (the server's parser rules and words), typing is not blocked, and it goes once fixed."""
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    still_here = _same_page(page)
    page.get_by_role("button", name="Ajouter une dépense").click()
    amount = page.get_by_label("Montant de la dépense n° 3", exact=True)
    amount.click()
    page.keyboard.type("1e3")
    assert amount.input_value() == "1e3"  # typing is not blocked
    assert page.locator("#expenses-2-amount_eur-desc-error").count() == 0  # not while typing
    page.keyboard.press("Tab")
    error = page.locator("#expenses-2-amount_eur-desc-error")
    assert error.inner_text() == ("« 1e3 » n'est pas accepté. Écrivez le nombre en chiffres, sans exposant : "
                                  "1000 et non 1e3.")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "expenses-2-amount_eur-desc-error" in amount.get_attribute("aria-describedby")
    page.locator('#amount-status', has_text='1e3').wait_for()  # a locator: the page's CSP forbids eval'd strings
    check_accessibility(page, context="budget with an amount error shown on leaving the field")
    total = page.get_by_label("Budget total du projet")
    total.fill("-5")
    total.blur()
    assert "Le montant doit être positif ou nul." in page.locator("#total_budget_eur-desc-error").inner_text()
    amount.fill("1 000")  # fixed: the message goes
    assert page.locator("#expenses-2-amount_eur-desc-error").count() == 0
    assert amount.get_attribute("aria-invalid") is None
    # Left by a click on a button: the button is not moved away under the pointer, the message comes after.
    amount.fill("-5")
    page.get_by_role("button", name="Ajouter une dépense").click()
    assert page.evaluate("document.activeElement.id") == "expenses-3-label"
    page.locator("#expenses-2-amount_eur-desc-error").filter(has_text="Le montant doit être positif ou nul.").wait_for()
    assert still_here()


def test_saved_amounts_keep_their_grouping_and_english_follows_the_page_language(page, make_dossier, applicant,
                                                                               db):
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    page.get_by_role("button", name="Ajouter une dépense").click()
    page.get_by_label("Poste de dépense n° 3", exact=True).fill("Loyer")
    page.get_by_label("Montant de la dépense n° 3", exact=True).fill("8 500,50")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.locator("#messages").wait_for()
    assert page.get_by_label("Montant de la dépense n° 3", exact=True).input_value() == "8 500,50"
    applicant.locale = "en"
    db.session.commit()
    page.goto(f"/porteur/dossiers/{dossier.id}/budget")
    amount = page.get_by_label("Amount of expense no. 3", exact=True)
    assert amount.input_value() == "8 500.50"
    before = page.locator("#total-expense").inner_text()
    amount.fill("8 500.75")  # the live total, in English too, as the server writes it
    assert page.locator("#total-expense").inner_text() != before
    assert "." in page.locator("#total-expense").inner_text() and "," in page.locator("#total-expense").inner_text()


VISIBLE_REGIONS = """() => Array.from(document.querySelectorAll('[data-region]'))
  .filter(el => el.getClientRects().length > 0).map(el => el.getAttribute('data-region'))"""


def test_the_department_picker_hides_empty_regions_and_puts_the_chosen_one_first(page, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True, members=3)
    _log_in(page, applicant.email)
    page.goto(f"/porteur/dossiers/{dossier.id}/identite")
    page.get_by_label("Région", exact=True).select_option(label="Bretagne")
    assert page.locator("[data-region]").first.get_attribute("data-region") == "53"  # first, as the hint says
    assert page.get_by_label("Afficher seulement les départements de la région choisie").is_checked()
    visible = page.evaluate(VISIBLE_REGIONS)
    ticked = page.evaluate("""() => Array.from(new Set(Array.from(document.querySelectorAll(
        '[data-region] input:checked')).map(b => b.closest('[data-region]').getAttribute('data-region'))))""")
    assert visible[0] == "53" and sorted(visible) == sorted({"53", *ticked})  # no empty region on screen
    page.get_by_label("Rechercher un département").fill("zzz")
    status = page.locator("#departments-status")
    status.filter(has_text="Aucun département ne correspond").wait_for()
    assert status.get_attribute("aria-live") == "polite"
    assert sorted(page.evaluate(VISIBLE_REGIONS)) == sorted(ticked)
    page.get_by_label("Rechercher un département").fill("")
    page.locator("label[for=departments-region-only]").click()  # DSFR: the label covers the box
    assert not page.get_by_label("Afficher seulement les départements de la région choisie").is_checked()
    page.wait_for_function("document.querySelectorAll('[data-region]').length === "
                           "Array.from(document.querySelectorAll('[data-region]')).filter("
                           "el => el.getClientRects().length > 0).length")
    order = page.evaluate(VISIBLE_REGIONS)
    names = [page.locator(f"#departments-region-{code}").inner_text() for code in order]
    assert names[0] == "Bretagne" and names.index("Île-de-France") == names.index("Hauts-de-France") + 1
    page.get_by_label("Région", exact=True).select_option(label="Île-de-France")
    order = page.evaluate("() => Array.from(document.querySelectorAll('[data-region]')).map(el => "
                          "el.getAttribute('data-region'))")
    assert order[0] == "11" and order[1:4] == ["84", "27", "53"]  # Bretagne back in its alphabetical place
    check_accessibility(page, context="department picker")


def test_the_grid_editor_leaves_room_above_its_button(page, make_user, make_call):
    from ptce_aap.enums import CallStatus, Role

    make_user("grille@example.org", roles=(Role.ADMIN,), full_name="Camille Grille")
    call = make_call(status=CallStatus.DRAFT)
    _log_in(page, "grille@example.org")
    page.goto(f"/admin/appels/{call.slug}/grille")
    gap = page.evaluate("""() => {
      const button = Array.from(document.querySelectorAll('button')).find(b => b.textContent.trim() === 'Ajouter le critère');
      const field = document.getElementById('max_score');
      return button.getBoundingClientRect().top - field.getBoundingClientRect().bottom;
    }""")
    assert gap >= 24
