"""The committee's decisions, admin side, through the test client (CSRF on): the decision form (every problem
beside its field at once, typed values kept, tranches added without JavaScript), the history on the dossier
page, the call's « Décisions » page (filters, envelope, pagination, queries constant in N)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms
from ptce_aap.models.decisions import Decision
from ptce_aap.services.decisions import DecisionInput, current_decision, decide
from tests.fixtures.queries import count_queries


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def field_error(body: str, field_id: str) -> str:
    m = re.search(rf'id="{re.escape(field_id)}-desc-error"[^>]*>(?:<p[^>]*>)?([^<]+)<', body)
    return m.group(1).strip() if m else ""


@pytest.fixture
def deliberating(db, make_call, make_reviewed_dossier):
    """A call (envelope 200,000, cap 100,000) and ``reviewed(n)`` dossiers asking 90,000, then deliberating."""
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))

    def reviewed(n: int = 1):
        call.status = CallStatus.OPEN
        db.session.commit()
        dossiers = [make_reviewed_dossier(call=call, pole_name=f"Pôle {i:03d}") for i in range(n)]
        call.status = CallStatus.DELIBERATION
        db.session.commit()
        return dossiers

    return call, reviewed


def form_data(**values) -> dict:
    data = {"outcome": "laureate", "amount_eur": "80 000", "motivation": "Ancrage territorial fort.",
            "reference": "DEC-2026-01", "committee_date": "2026-12-03", "agreement_date": "",
            "payment_terms": "unique", "payment_period_start": "", "payment_period_end": "", "correction_reason": ""}
    data.update(values)
    return data


def test_a_decision_is_recorded_from_the_form_and_shown_in_the_history(client, db, login_as, admin_user,
                                                                        deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    page = text(client.get(f"/admin/dossiers/{dossier.id}/decision"))
    assert "90 000 €" in page.replace("\u202f", " ")  # the cap (the request) is shown
    response = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data())
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/dossiers/{dossier.id}#decision")
    decision = current_decision(dossier)
    assert (decision.outcome, decision.amount_eur, decision.decided_by_id) == (
        DecisionOutcome.LAUREATE, Decimal("80000.00"), admin_user.id)
    body = text(client.get(f"/admin/dossiers/{dossier.id}"))
    assert "est enregistrée" in body
    assert 'id="historique-decisions"' in body and "Ancrage territorial fort." in body and admin_user.full_name in body


def test_every_problem_is_shown_beside_its_field_at_once_and_what_was_typed_stays(client, db, login_as, admin_user,
                                                                                   deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(
        amount_eur="95 000,50", motivation="  ", payment_terms="", payment_period_start="2027-03-01",
        payment_period_end="2027-01-01", agreement_date="31/02/2027", reference="Réf. à garder"))
    assert response.status_code == 400
    body = text(response)
    assert "plafond de ce dossier" in field_error(body, "amount_eur")
    assert "motivation est obligatoire" in field_error(body, "motivation")
    assert "modalités de versement" in field_error(body, "payment_terms")
    assert "précède son début" in field_error(body, "payment_period_end")
    assert "date valide" in field_error(body, "agreement_date")
    assert 'value="95 000,50"' in body and 'value="Réf. à garder"' in body
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


def test_an_unreadable_amount_says_why_and_nothing_is_recorded(client, db, login_as, admin_user, deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(amount_eur="8e4"))
    assert response.status_code == 400
    assert "exposant" in field_error(text(response), "amount_eur")
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


def test_a_date_that_cannot_be_read_records_nothing_even_when_all_else_is_right(client, db, login_as, admin_user,
                                                                                deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(agreement_date="demain"))
    assert response.status_code == 400 and "date valide" in field_error(text(response), "agreement_date")
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


def test_tranches_are_added_without_javascript_and_recorded(client, db, login_as, admin_user, deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    added = client.post(f"/admin/dossiers/{dossier.id}/decision",
                        data=form_data(payment_terms="echelonne", row_action="add_tranche",
                                       **{"tranches-0-on": "2027-01-15", "tranches-0-amount_eur": "50 000"}))
    assert added.status_code == 200
    body = text(added)
    assert 'name="tranches-1-on"' in body and 'value="50 000"' in body
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    # Tranches that do not add up: said beside the list.
    wrong = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(
        payment_terms="echelonne", **{"tranches-0-on": "2027-01-15", "tranches-0-amount_eur": "50 000",
                                      "tranches-1-on": "15/06/2027", "tranches-1-amount_eur": "20 000"}))
    assert wrong.status_code == 400 and "totalisent 70" in text(wrong)
    ok = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(
        payment_terms="echelonne", **{"tranches-0-on": "2027-01-15", "tranches-0-amount_eur": "50 000",
                                      "tranches-1-on": "15/06/2027", "tranches-1-amount_eur": "30 000"}))
    assert ok.status_code == 302
    decision = current_decision(dossier)
    assert decision.payment_terms == PaymentTerms.STAGED
    assert decision.payment_schedule == [{"date": "2027-01-15", "amount_eur": "50000.00"},
                                         {"date": "2027-06-15", "amount_eur": "30000.00"}]
    page = text(client.get(f"/admin/dossiers/{dossier.id}")).replace("\u202f", " ")
    assert "15/06/2027 — 30 000 €" in page


def test_a_correction_needs_its_reason_and_keeps_the_first_version(client, db, login_as, admin_user, deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    assert client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data()).status_code == 302
    form = text(client.get(f"/admin/dossiers/{dossier.id}/decision"))
    assert 'value="80 000"' in form and "correction_reason" in form  # starts from the current decision
    refused = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(amount_eur="60 000"))
    assert refused.status_code == 400 and "dites pourquoi" in field_error(text(refused), "correction_reason")
    done = client.post(f"/admin/dossiers/{dossier.id}/decision",
                       data=form_data(amount_eur="60 000", correction_reason="Budget revu en séance."))
    assert done.status_code == 302
    body = text(client.get(f"/admin/dossiers/{dossier.id}"))
    assert body.count("data-decision=") == 2 and "Budget revu en séance." in body


def test_the_form_is_closed_outside_the_deliberation(client, db, login_as, admin_user, deliberating):
    call, reviewed = deliberating
    dossier, = reviewed()
    call.status = CallStatus.REVIEW
    db.session.commit()
    login_as(admin_user)
    assert client.get(f"/admin/dossiers/{dossier.id}/decision").status_code == 403
    assert client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data()).status_code == 403


def _decide(dossier, admin, outcome=DecisionOutcome.REJECTED, amount=None):
    decide(dossier, DecisionInput(outcome=outcome, motivation="Motif.", amount_eur=amount,
                                  payment_terms=PaymentTerms.SINGLE if amount else None), by=admin)


def test_the_decisions_page_filters_shows_the_envelope_and_pages(client, db, login_as, admin_user, deliberating):
    call, reviewed = deliberating
    dossiers = reviewed(3)
    _decide(dossiers[0], admin_user, DecisionOutcome.LAUREATE, Decimal("75000"))
    _decide(dossiers[1], admin_user)
    db.session.commit()
    login_as(admin_user)
    body = text(client.get(f"/admin/appels/{call.slug}/decisions")).replace("\u202f", " ")
    assert re.search(r"data-granted>75 000 €", body) and re.search(r"data-left>125 000 €", body)
    assert body.count("data-dossier=") == 3
    laureates = text(client.get(f"/admin/appels/{call.slug}/decisions?decision=laureate"))
    assert f'data-dossier="{dossiers[0].id}"' in laureates and laureates.count("data-dossier=") == 1
    none = text(client.get(f"/admin/appels/{call.slug}/decisions?decision=aucune"))
    assert f'data-dossier="{dossiers[2].id}"' in none and none.count("data-dossier=") == 1
    assert client.get(f"/admin/appels/{call.slug}/decisions?decision=inconnue&page=99999999").status_code == 200
    assert client.get(f"/admin/appels/{call.slug}/decisions?decision=%00").status_code == 400  # no NUL anywhere


def test_the_decisions_page_reads_the_same_number_of_queries_whatever_n(client, db, login_as, admin_user,
                                                                         deliberating):
    call, reviewed = deliberating

    def add(n):
        for dossier in reviewed(n):
            _decide(dossier, admin_user)
        db.session.commit()

    def count():
        db.session.expire_all()
        with count_queries(db) as statements:
            assert client.get(f"/admin/appels/{call.slug}/decisions").status_code == 200
        return len(statements)

    login_as(admin_user)
    add(2)
    count()
    few = count()
    add(4)
    assert count() == few


def test_two_laureates_decided_at_the_same_instant_cannot_overrun_the_envelope(client, db, login_as, admin_user,
                                                                               deliberating, app):
    """The envelope is read under a lock on the call: of two decisions posted together whose sum exceeds it,
    one is recorded and the other refused with the envelope's message."""
    from ptce_aap.services.decisions import granted_total
    from tests.integration._race import race_many

    call, reviewed = deliberating
    first, second, third = reviewed(3)
    decide(first, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Déjà décidé.",
                                amount_eur=Decimal("60000"), payment_terms=PaymentTerms.SINGLE), by=admin_user)
    db.session.commit()  # 140,000 left: room for one more 90,000, not two
    login_as(admin_user)
    codes = race_many(app, client, [(f"/admin/dossiers/{d.id}/decision", form_data(amount_eur="90 000"))
                                    for d in (second, third)])
    db.session.expire_all()
    assert sorted(codes) == [302, 400]
    assert granted_total(call) == Decimal("150000.00")
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 2


def test_a_laureate_moved_to_the_waiting_list_keeps_no_amount_and_needs_no_clearing(client, db, login_as,
                                                                                   admin_user, deliberating):
    """The form comes back filled with the laureate's amount and tranches: choosing « liste complémentaire »
    does not ask to clear them — they are not read for another outcome."""
    _call, reviewed = deliberating
    dossier, = reviewed()
    login_as(admin_user)
    assert client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data()).status_code == 302
    response = client.post(f"/admin/dossiers/{dossier.id}/decision", data=form_data(
        outcome="waitlisted", correction_reason="Enveloppe réduite.", **{"tranches-0-on": "2027-01-15",
                                                                         "tranches-0-amount_eur": "abc"}))
    assert response.status_code == 302, text(response)
    decision = current_decision(dossier)
    assert (decision.outcome, decision.amount_eur, decision.payment_terms) == (DecisionOutcome.WAITLISTED, None, None)


def test_moving_to_deliberation_says_how_many_dossiers_still_wait_for_reviews(client, db, login_as, admin_user,
                                                                             make_call, make_eligible_dossier,
                                                                             make_reviewed_dossier):
    call = make_call()
    make_reviewed_dossier(call=call, pole_name="Pôle instruit")
    make_eligible_dossier(call=call, pole_name="Pôle en attente A")
    make_eligible_dossier(call=call, pole_name="Pôle en attente B")
    call.status = CallStatus.REVIEW
    db.session.commit()
    login_as(admin_user)
    body = " ".join(text(client.get(f"/admin/appels/{call.slug}/statut/deliberation")).split())
    assert "2 dossiers n’ont pas toutes leurs évaluations" in body
