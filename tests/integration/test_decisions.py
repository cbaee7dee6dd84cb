"""The decision service: one write path, every rule of a decision, history kept, envelope held."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, DecisionOutcome, DossierStatus, PaymentTerms
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import CallCategory
from ptce_aap.models.decisions import Decision
from ptce_aap.services.decisions import (
    DecisionInput,
    Tranche,
    current_decision,
    decide,
    decide_many,
    granted_total,
    history,
)
from ptce_aap.services.dossiers import set_dossier_status


@pytest.fixture
def deliberating(make_call):
    """A call whose dossiers are built while it is open (``reviewed``), then deliberating."""
    return make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))


@pytest.fixture
def reviewed(db, deliberating, make_reviewed_dossier):
    """``reviewed(n)``: n reviewed dossiers of ``deliberating`` (which then deliberates), in build order."""
    def _make(n: int = 1, call=None):
        call = call or deliberating
        dossiers = [make_reviewed_dossier(call=call, pole_name=f"Pôle {i}") for i in range(n)]
        call.status = CallStatus.DELIBERATION  # test set-up: the call's own path is tested in test_calls
        db.session.commit()
        return dossiers
    return _make


def laureate(amount="80000", **values) -> DecisionInput:
    data = dict(outcome=DecisionOutcome.LAUREATE, motivation="Projet solide, ancrage territorial fort.",
                amount_eur=Decimal(amount), reference="DEC-2026-001", committee_date=date(2026, 12, 3),
                payment_terms=PaymentTerms.SINGLE)
    data.update(values)
    return DecisionInput(**data)


def problems_of(excinfo) -> dict:
    return {field: str(message) for field, message in excinfo.value.problems}


def test_a_laureate_is_recorded_audited_and_the_dossier_waits_for_notification(db, deliberating,
                                                                               reviewed, admin_user):
    dossier, = reviewed()
    decision = decide(dossier, laureate(), by=admin_user)
    db.session.commit()
    assert current_decision(dossier) == decision
    assert (decision.outcome, decision.amount_eur, decision.decided_by_id) == (
        DecisionOutcome.LAUREATE, Decimal("80000.00"), admin_user.id)
    assert decision.committee_date == date(2026, 12, 3)
    assert dossier.status == DossierStatus.REVIEWED  # the applicant learns it from the letter, not before
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "decision.recorded")).one()
    assert (event.object_id, event.actor_id) == (str(dossier.id), admin_user.id)
    assert event.summary["after"]["amount_eur"] == "80000.00"


def test_a_correction_keeps_the_history_and_needs_a_reason(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    first = decide(dossier, laureate(), by=admin_user)
    db.session.commit()
    with pytest.raises(DomainError) as excinfo:
        decide(dossier, laureate("60000"), by=admin_user)
    assert "correction_reason" in problems_of(excinfo)
    db.session.rollback()
    second = decide(dossier, laureate("60000", correction_reason="Erreur de saisie du montant."), by=admin_user)
    db.session.commit()
    assert [d.id for d in history(dossier)] == [second.id, first.id]
    db.session.refresh(first)
    assert (first.is_current, second.supersedes_id, second.amount_eur) == (False, first.id, Decimal("60000.00"))
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "decision.corrected")).one()
    assert event.summary["before"]["amount_eur"] == "80000.00"
    assert event.summary["reason"] == "Erreur de saisie du montant."


def test_every_problem_of_a_decision_is_reported_at_once(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()  # asks 90,000
    with pytest.raises(DomainError) as excinfo:
        decide(dossier, laureate("95000", motivation="  ", payment_terms=None), by=admin_user)
    found = problems_of(excinfo)
    assert set(found) == {"motivation", "amount_eur", "payment_terms"}
    assert "plafond de ce dossier (90\u202f000 €)" in found["amount_eur"]
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


@pytest.mark.parametrize("amount, ok", [("90000", True), ("90000.01", False), ("0", False), ("-1", False)])
def test_the_amount_is_at_most_the_request(db, deliberating, reviewed, admin_user, amount, ok):
    dossier, = reviewed()
    if ok:
        assert decide(dossier, laureate(amount), by=admin_user).amount_eur == Decimal(amount)
    else:
        with pytest.raises(DomainError) as excinfo:
            decide(dossier, laureate(amount), by=admin_user)
        assert set(problems_of(excinfo)) == {"amount_eur"}


def test_the_call_cap_and_the_category_cap_hold(db, deliberating, reviewed, admin_user):
    deliberating.max_amount_eur = Decimal("70000")
    dossier, = reviewed()
    with pytest.raises(DomainError):
        decide(dossier, laureate("70000.01"), by=admin_user)
    db.session.rollback()
    db.session.add(CallCategory(call_id=deliberating.id, code="emergence", label="Émergence",
                                max_amount_eur=Decimal("50000")))
    dossier.category_code = "emergence"
    db.session.commit()
    with pytest.raises(DomainError) as excinfo:
        decide(dossier, laureate("50000.01"), by=admin_user)
    assert "50\u202f000 €" in problems_of(excinfo)["amount_eur"]
    db.session.rollback()
    assert decide(dossier, laureate("50000"), by=admin_user).amount_eur == Decimal("50000")


def test_the_envelope_holds_across_decisions(db, deliberating, reviewed, admin_user):
    one, two, three = reviewed(3)
    decide(one, laureate("90000"), by=admin_user)
    decide(two, laureate("90000"), by=admin_user)
    db.session.commit()
    assert granted_total(deliberating) == Decimal("180000.00")
    with pytest.raises(DomainError) as excinfo:
        decide(three, laureate("20000.01"), by=admin_user)
    assert "dépassée de 0,01 €" in problems_of(excinfo)["amount_eur"]
    db.session.rollback()
    assert decide(three, laureate("20000"), by=admin_user).amount_eur == Decimal("20000")
    db.session.commit()
    # Lowering a laureate's own amount is not counted twice.
    decide(one, laureate("80000", correction_reason="Budget revu."), by=admin_user)
    db.session.commit()
    assert granted_total(deliberating) == Decimal("190000.00")


def test_others_get_no_amount_and_a_motivation(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    with pytest.raises(DomainError) as excinfo:
        decide(dossier, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="",
                                      amount_eur=Decimal("10")), by=admin_user)
    assert set(problems_of(excinfo)) == {"motivation", "amount_eur"}
    db.session.rollback()
    decision = decide(dossier, DecisionInput(outcome=DecisionOutcome.WAITLISTED, motivation="Classé 12e.",
                                             payment_terms=PaymentTerms.SINGLE), by=admin_user)
    assert (decision.amount_eur, decision.payment_terms, decision.payment_schedule) == (None, None, [])


def test_tranches_add_up_and_follow_each_other(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    staged = dict(payment_terms=PaymentTerms.STAGED)
    cases = [
        ([Tranche(date(2027, 1, 15), Decimal("80000"))], "au moins deux"),
        ([Tranche(date(2027, 1, 15), Decimal("40000")), Tranche(date(2027, 1, 15), Decimal("40000"))], "se suivent"),
        ([Tranche(date(2027, 1, 15), Decimal("40000")), Tranche(date(2027, 6, 15), Decimal("30000"))],
         "totalisent 70\u202f000 €"),
        ([Tranche(date(2027, 1, 15), Decimal("0")), Tranche(date(2027, 6, 15), Decimal("80000"))], "supérieur à zéro"),
    ]
    for tranches, message in cases:
        with pytest.raises(DomainError) as excinfo:
            decide(dossier, laureate(tranches=tranches, **staged), by=admin_user)
        assert message in problems_of(excinfo)["tranches"]
        db.session.rollback()
    decision = decide(dossier, laureate(tranches=[Tranche(date(2027, 1, 15), Decimal("48000")),
                                                  Tranche(date(2027, 6, 15), Decimal("32000"))], **staged),
                      by=admin_user)
    assert decision.payment_schedule == [{"date": "2027-01-15", "amount_eur": "48000.00"},
                                         {"date": "2027-06-15", "amount_eur": "32000.00"}]
    with pytest.raises(DomainError) as excinfo:
        decide(dossier, laureate(tranches=[Tranche(date(2027, 1, 15), Decimal("1"))],
                                 correction_reason="x"), by=admin_user)
    assert "versement échelonné" in problems_of(excinfo)["tranches"]


def test_decisions_only_while_the_call_deliberates(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    deliberating.status = CallStatus.REVIEW
    db.session.commit()
    with pytest.raises(DomainError, match="délibération"):
        decide(dossier, laureate(), by=admin_user)


def test_only_a_reviewed_dossier_is_decided(db, deliberating, make_eligible_dossier, reviewed, admin_user):
    dossier = make_eligible_dossier(call=deliberating)
    reviewed(0)
    with pytest.raises(DomainError, match="pas prêt"):
        decide(dossier, laureate(), by=admin_user)


def test_a_notified_decision_moves_only_where_the_dossier_may(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    waiting = decide(dossier, DecisionInput(outcome=DecisionOutcome.WAITLISTED, motivation="Classé 12e."),
                     by=admin_user)
    set_dossier_status(dossier, DossierStatus.WAITLISTED, by=admin_user)
    waiting.notified_at = waiting.decided_at
    db.session.commit()
    with pytest.raises(DomainError, match="notifiée"):
        decide(dossier, DecisionInput(outcome=DecisionOutcome.WAITLISTED, motivation="Toujours 12e.",
                                      correction_reason="Rappel"), by=admin_user)
    db.session.rollback()
    promoted = decide(dossier, laureate(correction_reason="Désistement d'un lauréat."), by=admin_user)
    assert promoted.supersedes_id == waiting.id


def test_decide_many_is_all_or_nothing_and_counts_the_batch(db, deliberating, reviewed, admin_user):
    one, two, three = reviewed(3)
    with pytest.raises(DomainError):
        decide_many(deliberating, [(one, laureate("90000")), (two, laureate("90000")), (three, laureate("30000"))],
                    by=admin_user)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    rows = decide_many(deliberating, [(one, laureate("90000")), (two, laureate("90000")),
                                      (three, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Hors sujet."))],
                       by=admin_user)
    db.session.commit()
    assert [r.outcome for r in rows] == [DecisionOutcome.LAUREATE, DecisionOutcome.LAUREATE, DecisionOutcome.REJECTED]
    assert granted_total(deliberating) == Decimal("180000.00")


def test_decide_many_refuses_a_dossier_of_another_call(db, deliberating, make_call, reviewed, admin_user):
    other, = reviewed(call=make_call())
    reviewed(0)
    with pytest.raises(DomainError, match="autre appel"):
        decide_many(deliberating, [(other, laureate())], by=admin_user)


def test_a_correction_that_changes_nothing_is_refused(db, deliberating, reviewed, admin_user):
    dossier, = reviewed()
    decide(dossier, laureate(), by=admin_user)
    db.session.commit()
    with pytest.raises(DomainError, match="ne change rien"):
        decide(dossier, laureate(correction_reason="Double clic."), by=admin_user)
    db.session.rollback()
    assert decide(dossier, laureate(correction_reason="Référence.", reference="DEC-2026-002"),
                  by=admin_user).reference == "DEC-2026-002"
