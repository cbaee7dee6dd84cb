"""Notification of the committee's decisions: the decision letters (PDF, WeasyPrint) and their mails.

``notify_decisions(call, by=)`` notifies, in one transaction, every current decision of a deliberating call
not notified yet: the dossier takes the decided status (``services.dossiers.set_dossier_status``), the
decision gets ``notified_at`` and its ``letter_key``, the action is audited and an ``issue_decision_letter``
job is queued through the outbox (dedupe key per decision). After the commit, that job stores the letter
(idempotent: same key, same content) with its SHA-256 in the audit, and queues one mail per person of the
pole (owner and co-editors) with the letter attached (``notifications.notify``, dedupe key per decision and
person). If the process dies after the commit, the outbox row is still there (``flask ptce tick``
dispatches it) and a failed job is retried; a second « Notifier » finds nothing left to notify.

The letter is French whatever the reader's language: it is an administrative act. Views check who
(``permissions.can_manage_call``, ``can_read_decision_letter``); nothing here commits.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import render_template
from sqlalchemy.orm import joinedload

from ptce_aap import audit, jobs
from ptce_aap import storage as file_storage
from ptce_aap.domain import geography
from ptce_aap.domain.formatting import format_amount, format_date, format_datetime, format_long_date
from ptce_aap.domain.messages import N_, Money
from ptce_aap.domain.text import one_line
from ptce_aap.enums import DOSSIER_TRANSITIONS, CallStatus, DecisionOutcome, PaymentTerms
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.permissions import DECIDABLE
from ptce_aap.services.decisions import OUTCOME_STATUS, granted_total
from ptce_aap.services.dossiers import set_dossier_status
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

# The letter speaks French: these are not UI strings (the admin's preview in English shows the same letter).
OUTCOME_TEXT = {DecisionOutcome.LAUREATE: "lauréat", DecisionOutcome.WAITLISTED: "inscrit sur la liste complémentaire",
                DecisionOutcome.REJECTED: "non retenu"}
PAYMENT_TEXT = {PaymentTerms.SINGLE: "en une seule fois", PaymentTerms.STAGED: "en plusieurs tranches",
                PaymentTerms.OTHER: "selon les modalités prévues par la convention"}
LETTER_MIME = "application/pdf"


def letter_key(decision: Decision, dossier: Dossier) -> str:
    """Where the letter is stored: fixed at notification (a retried job writes the same key), with a random
    part so that a key is never reused (nor guessed)."""
    return f"letters/{dossier.call_id}/{dossier.id}/decision-{decision.id}-{secrets.token_hex(8)}.pdf"


def letter_filename(decision: Decision) -> str:
    """« decision-PTCE-2013-000009.pdf »: the dossier's receipt number names the file the pole keeps (a
    corrected decision adds its own number)."""
    dossier = decision.dossier
    name = dossier.receipt_number or f"dossier-{dossier.id}"
    return f"decision-{name}.pdf" if decision.supersedes_id is None else f"decision-{name}-{decision.id}.pdf"


def _lines(schedule: list[dict]) -> list[dict]:
    return [{"date": format_date(date.fromisoformat(t["date"])), "amount": format_amount(Decimal(t["amount_eur"]))}
            for t in schedule]


def address_lines(dossier: Dossier) -> list[str]:
    """The structure's address as a letter is addressed: the street, then « code postal COMMUNE » on a line of
    its own (the postal code from the commune's INSEE code when the commune has only one and the address names
    none)."""
    street = one_line(dossier.address or "", max_length=300)
    if dossier.commune_name and dossier.commune_name.lower() in street.lower():
        return [street]  # the applicant wrote the commune in the address already
    postal = "" if re.search(r"\b\d{5}\b", street) else (geography.postal_code(dossier.commune_insee) or "")
    town = " ".join(p for p in (postal, dossier.commune_name.upper()) if p)
    return [line for line in (street, town) if line]


def postal_address(dossier: Dossier) -> str:
    return ", ".join(address_lines(dossier))


def letter_context(decision: Decision) -> dict:
    """What the letter says, as French text (amounts and dates formatted)."""
    dossier, call = decision.dossier, decision.dossier.call
    return {
        "call": call, "dossier": dossier, "decision": decision,
        "pole_name": one_line(dossier.pole_name, max_length=200),
        "carrier_legal_name": one_line(dossier.carrier_legal_name, max_length=200),
        "address": postal_address(dossier), "address_lines": address_lines(dossier),
        "outcome": decision.outcome.value, "outcome_text": OUTCOME_TEXT[decision.outcome],
        "amount_text": format_amount(decision.amount_eur) if decision.amount_eur is not None else "",
        "payment_text": PAYMENT_TEXT.get(decision.payment_terms, ""),
        "tranches": _lines(decision.payment_schedule or []),
        "period": (format_date(decision.payment_period_start), format_date(decision.payment_period_end))
        if decision.payment_period_start or decision.payment_period_end else None,
        "committee_date": format_date(decision.committee_date) if decision.committee_date else "",
        "agreement_date": format_date(decision.agreement_date) if decision.agreement_date else "",
        "decided_on": format_date(decision.decided_at),
        # the letter is dated the day it is notified (a preview, today)
        "letter_date": format_long_date(decision.notified_at or utcnow()),
        "awarding_body": one_line(call.awarding_body_name, max_length=200),
        "signatory_name": one_line(call.signatory_name or "", max_length=200),
        "signatory_title": one_line(call.signatory_title or "", max_length=200),
    }


def render_letter_pdf(decision_id: int, draft: bool = False) -> bytes:
    """The letter of one decision; ``draft`` marks it « Projet — non notifié » (the admin's preview)."""
    from weasyprint import HTML  # heavy (Pango, fonts): loaded by the process that renders a letter only

    decision = db.session.get(Decision, decision_id)
    html = render_template("pdf/decision_letter.html", draft=draft, **letter_context(decision))
    return HTML(string=html).write_pdf()


# --- what is waiting -------------------------------------------------------------------------------------

def _current(call: Call):
    return (sa.select(Decision).join(Dossier, Dossier.id == Decision.dossier_id)
            .where(Dossier.call_id == call.id, Decision.is_current)
            .options(joinedload(Decision.dossier)).order_by(Dossier.pole_name, Dossier.id))


def notifiable(decision: Decision) -> bool:
    """A current decision not notified yet, whose dossier may still take the decided status."""
    status = decision.dossier.status
    return (decision.notified_at is None and status in DECIDABLE
            and OUTCOME_STATUS[decision.outcome] in DOSSIER_TRANSITIONS[status])


def overview(call: Call) -> tuple[list[Decision], list[Decision], list[Decision]]:
    """The call's current decisions: to notify, already notified, blocked (the dossier moved since: withdrawn…)."""
    pending, done, blocked = [], [], []
    for decision in db.session.scalars(_current(call)).unique():
        if decision.notified_at is not None:
            done.append(decision)
        else:
            (pending if notifiable(decision) else blocked).append(decision)
    return pending, done, blocked


def counts(decisions: list[Decision]) -> dict[DecisionOutcome, int]:
    return {outcome: sum(1 for d in decisions if d.outcome == outcome) for outcome in DecisionOutcome}


# --- notifying ---------------------------------------------------------------------------------------------

def notify_decisions(call: Call, *, by) -> list[Decision]:
    """Notify every current decision of ``call`` not notified yet; returns those notified (none on a second
    press). The rows are locked: two presses at once notify each decision once. The caller commits."""
    if call.status != CallStatus.DELIBERATION:
        raise DomainError(N_("Les décisions se notifient pendant la délibération de l'appel."))
    rows = db.session.scalars(_current(call).where(Decision.notified_at.is_(None))
                              .with_for_update(of=Decision)).unique().all()
    granted = granted_total(call)
    if granted > call.envelope_eur:  # decided one by one, never above it; checked again before anything goes out
        raise DomainError(N_("Les décisions accordent %(granted)s pour une enveloppe de %(envelope)s : corrigez-les "
                             "avant de les notifier.", granted=Money(granted), envelope=Money(call.envelope_eur)))
    now, notified = utcnow(), []
    for decision in rows:
        if not notifiable(decision):
            continue
        dossier = decision.dossier
        set_dossier_status(dossier, OUTCOME_STATUS[decision.outcome], by=by, expected_from=DECIDABLE,
                           details={"decision_id": decision.id})
        decision.notified_at = now
        decision.letter_key = letter_key(decision, dossier)
        audit.record("decision.notified", dossier, actor=by, summary={
            "decision_id": decision.id, "after": {"outcome": decision.outcome.value,
                                                  "notified_at": now.isoformat(), "letter_key": decision.letter_key}})
        jobs.schedule("issue_decision_letter", dedupe_key=f"decision_letter:{decision.id}", decision_id=decision.id)
        notified.append(decision)
    return notified


def issue_letter(decision_id: int) -> str:
    """Store the letter of a notified decision (unless already there) and queue its mail to every person of
    the pole (once per decision and person). Run by the ``issue_decision_letter`` task, which commits."""
    decision = db.session.get(Decision, decision_id)
    if decision is None or decision.notified_at is None or not decision.letter_key:
        return "missing"
    dossier = decision.dossier
    if decision.letter_sha256 is None:
        # Stored by an earlier try that died before its commit: the same file, fingerprinted now.
        storage = file_storage.get_storage()
        if storage.exists(decision.letter_key):
            pdf = b"".join(storage.iter_chunks(decision.letter_key))
        else:
            pdf = render_letter_pdf(decision.id)
            storage.put(decision.letter_key, io.BytesIO(pdf), content_type=LETTER_MIME)
        decision.letter_sha256 = hashlib.sha256(pdf).hexdigest()
        audit.record("decision.letter_stored", dossier, actor=None, summary={
            "decision_id": decision.id, "after": {"letter_key": decision.letter_key,
                                                  "sha256": decision.letter_sha256, "size": len(pdf)}})
    members = db.session.scalars(sa.select(PoleMembership).where(PoleMembership.pole_id == dossier.pole_id)
                                 .options(joinedload(PoleMembership.user)).order_by(PoleMembership.id)).all()
    for membership in members:
        user = membership.user
        notify(user.email, "decision", {
            "name": one_line(user.display_name, max_length=80),
            "pole_name": one_line(dossier.pole_name, max_length=200),
            "call_title": one_line(dossier.call.title, max_length=200),
            "outcome_text": OUTCOME_TEXT[decision.outcome],
            "amount_text": format_amount(decision.amount_eur) if decision.amount_eur is not None else "",
            "motivation": decision.motivation,
            "notified_at_text": format_datetime(decision.notified_at),
            "link": external_url("applicants.dossier", dossier_id=dossier.id),
        }, dedupe_key=f"decision_letter:{decision.id}:{user.id}", user=user, attachments=[{
            "filename": letter_filename(decision), "mime": LETTER_MIME, "storage_key": decision.letter_key}])
    return "issued"


def notified_decision(dossier: Dossier) -> Decision | None:
    """The last decision notified to the dossier's people (what they may read, with its letter), else ``None``.
    A correction not notified yet does not hide the letter they received."""
    return db.session.scalars(sa.select(Decision).where(Decision.dossier_id == dossier.id,
                                                        Decision.notified_at.is_not(None))
                              .order_by(Decision.notified_at.desc(), Decision.id.desc()).limit(1)).first()
