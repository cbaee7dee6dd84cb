"""In Chromium: the decision form adds a payment tranche in place (no reload, focus on its date, announced),
the staged payment is recorded with its tranches, and the form and the session page pass axe-core."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ptce_aap.enums import CallStatus, PaymentTerms
from ptce_aap.services import committee
from ptce_aap.services.decisions import current_decision
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, email):
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_tranches_are_added_in_place_and_the_staged_payment_is_recorded(page, db, make_call, make_reviewed_dossier,
                                                                         make_pool_member, admin_user):
    call = make_call(envelope_eur=Decimal("200000"))
    dossier = make_reviewed_dossier(call=call, pole_name="Pôle des Tisserands")  # asks 90,000
    make_pool_member(call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=admin_user)
    db.session.commit()
    _log_in(page, admin_user.email)
    page.goto(f"/admin/dossiers/{dossier.id}/decision?seance={session.id}")
    page.evaluate("window.__rowsMark = 'same page'")
    page.locator("label[for=outcome-0]").click()
    page.get_by_label(re.compile(r"^Montant accordé")).fill("80 000")
    page.get_by_label(re.compile(r"^Motivation")).fill("Ancrage territorial fort, coopération solide.")
    page.locator("label", has_text="Versement échelonné").click()
    for n, (day, amount) in enumerate([("2027-01-15", "50 000"), ("2027-06-15", "30 000")], start=1):
        page.get_by_role("button", name="Ajouter une tranche").click()
        assert page.evaluate("window.__rowsMark") == "same page"  # no reload
        assert page.evaluate("document.activeElement.id") == f"tranches-{n - 1}-on"
        assert page.locator("#tranches-rows-status").inner_text() == f"Tranche n° {n} ajoutée"
        page.get_by_label(f"Date de la tranche n° {n}", exact=True).fill(day)
        page.get_by_label(f"Montant (€) de la tranche n° {n}", exact=True).fill(amount)
    check_accessibility(page, context="decision form with tranches added in place")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "decision-form-tranches.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer la décision", exact=True).click()
    page.locator("#messages").wait_for()
    assert page.url.endswith(f"/admin/seances/{session.id}#decisions")
    db.session.expire_all()
    decision = current_decision(dossier)
    assert decision.payment_terms == PaymentTerms.STAGED and decision.session_id == session.id
    assert [t["amount_eur"] for t in decision.payment_schedule] == ["50000.00", "30000.00"]
    check_accessibility(page, context="committee session page with a decision")
    page.screenshot(path=str(ARTIFACTS / "committee-session.png"), full_page=True)


def test_the_committee_pages_pass_axe(page, db, make_call, make_reviewed_dossier, make_pool_member, admin_user):
    call = make_call(envelope_eur=Decimal("200000"))
    dossier = make_reviewed_dossier(call=call, pole_name="Pôle des Tisserands")
    member = make_pool_member(call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=admin_user)
    committee.set_attendance(session, [committee.AttendanceInput(member.institution_id, True, "Jeanne Martin")],
                             by=admin_user)
    committee.set_agenda(session, [dossier.id], by=admin_user)
    db.session.commit()
    _log_in(page, admin_user.email)
    for path in (f"/admin/appels/{call.slug}/decisions", f"/admin/appels/{call.slug}/seances",
                 f"/admin/seances/{session.id}/presences", f"/admin/seances/{session.id}/modifier",
                 f"/admin/dossiers/{dossier.id}"):
        page.goto(path)
        check_accessibility(page, context=path)
    # The errors of the decision form, announced beside their fields.
    page.goto(f"/admin/dossiers/{dossier.id}/decision")
    page.get_by_role("button", name="Enregistrer la décision", exact=True).click()
    page.locator("#error-summary").wait_for()
    check_accessibility(page, context="decision form with errors")
