"""In Chromium: what is typed survives the end of the session (logout in another tab), and the withdrawal
rule (one dossier per pole per call) is said on the withdrawal page and applied to a new dossier."""

import re

import pytest

from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier
from ptce_aap.services import submission
from tests.browser.conftest import check_accessibility
from tests.browser.test_account_journey import tick_box
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, email):
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_text_typed_after_logout_in_another_tab_is_restored_and_saved_after_login(page, make_dossier, applicant,
                                                                                   db):
    dossier = make_dossier(owner=applicant)
    key = f"ptce-draft:{applicant.id}:{dossier.id}:projet"
    page.goto("/compte/connexion")
    _log_in(page, applicant.email)
    section = f"/porteur/dossiers/{dossier.id}/projet"
    page.goto(section)

    # Another tab of this browser logs out: the same cookie, the logout form's POST with its page's token. (Sent
    # through the browser context's request API rather than a second tab: closing a second tab hung Chromium in
    # two clean-clone runs, with no request of the app under way.)
    dashboard = page.context.request.get("/porteur/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text()).group(1)
    assert page.context.request.post("/compte/deconnexion", form={"csrf_token": token}).ok
    assert "/compte/connexion" in page.context.request.get("/porteur/").url  # the session has ended

    typed = "Un pôle qui relie les recycleries de la vallée de la Drôme."
    page.get_by_label("Résumé du projet").fill(typed)
    page.wait_for_function(f"() => (JSON.parse(localStorage.getItem('{key}') || 'null') || {{}}).failed")
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    assert "/compte/connexion" in page.url and "next=" in page.url
    _log_in(page, applicant.email)
    # Back on the section, the page puts the text back and saves it.
    page.wait_for_url(re.compile(rf"{section}$"))
    page.locator("#messages").get_by_text("ont été enregistrées").wait_for()
    assert page.get_by_label("Résumé du projet").input_value() == typed
    assert page.evaluate(f"localStorage.getItem('{key}')") is None  # saved: nothing left in the browser
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).summary == typed
    check_accessibility(page, context="section after restoring a draft")

    # An explicit logout here removes any draft this browser still keeps.
    page.evaluate(f"localStorage.setItem('{key}', JSON.stringify({{fields: [], at: 0}}))")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ptce-draft:'))") == []


def test_withdrawal_says_it_is_final_for_the_carrier_and_a_new_dossier_is_refused(page, make_dossier, applicant,
                                                                                   db):
    first = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(first, by=applicant, now=utcnow())
    db.session.commit()
    page.goto("/compte/connexion")
    _log_in(page, applicant.email)

    page.goto(f"/porteur/dossiers/{first.id}/retrait")
    warning = page.locator("#retrait-definitif").inner_text()
    assert "Le retrait est définitif" in warning and "SIREN 732829320" in warning
    check_accessibility(page, context="withdrawal")
    tick_box(page, "Je confirme le retrait de ce dossier")
    page.get_by_role("button", name="Retirer définitivement le dossier").click()
    assert "ne peut plus déposer de dossier dans cet appel" in page.locator("#messages").inner_text()

    second = make_dossier(call=first.call, owner=applicant, pole_name="Pôle Coopérations du Val (bis)",
                          complete=True)
    second.carrier_siret = first.carrier_siret  # the same structure porteuse applies again
    db.session.commit()
    page.goto(f"/porteur/dossiers/{second.id}/deposer")
    assert "Le retrait est définitif" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=re.compile("Je confirme le dépôt")).count() == 0
    page.goto(f"/porteur/dossiers/{second.id}/identite")
    siret_error = page.locator("#carrier_siret-desc-error, .fr-error-text").first.inner_text()
    assert "SIREN 732829320" in siret_error
    check_accessibility(page, context="identity with a SIREN already withdrawn")
