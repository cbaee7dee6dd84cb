"""Committee sessions and decisions.

Who holds the outcome: ``Decision`` rows hold the committee's outcome and its history; the current
decision of a dossier (``is_current``) is authoritative. ``Dossier.status`` follows it, set through
``services.dossiers.set_dossier_status`` when the decision is notified (before that the applicant sees
``reviewed``); it is never written from anywhere else, and never read back to know what was decided.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import DecisionOutcome, PaymentTerms
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, Money, UTCDateTime, enum_column, utcnow


class CommitteeSession(db.Model):
    """A meeting of the selection committee of a call: when, where, the agenda (``agenda``: the ids of the
    dossiers in discussion order), who attended (``CommitteeAttendance`` rows, one per institution convened)
    and its minutes (procès-verbal PDF, stored under ``minutes_key`` with its SHA-256, made at
    ``minutes_generated_at``). Written by ``services.committee`` only."""

    __tablename__ = "committee_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    held_on: Mapped[date] = mapped_column(sa.Date)
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    agenda_md: Mapped[str] = mapped_column(sa.Text, default="")
    # The agenda: dossier ids in the order the committee discusses them.
    agenda: Mapped[list] = mapped_column(JSONType, default=list)
    minutes_key: Mapped[str | None] = mapped_column(sa.String(300))
    minutes_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    minutes_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    minutes_generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    call = relationship("Call")
    attendance: Mapped[list[CommitteeAttendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="CommitteeAttendance.id")
    # passive_deletes="all": the ORM leaves the decisions alone, so the database's RESTRICT answers.
    decisions: Mapped[list[Decision]] = relationship(back_populates="session", passive_deletes="all")


class CommitteeAttendance(db.Model):
    """One institution at a committee session, with the names of the people who sat for it."""

    __tablename__ = "committee_attendances"
    __table_args__ = (sa.UniqueConstraint("session_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("committee_sessions.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id", ondelete="RESTRICT"))
    attendees: Mapped[str] = mapped_column(sa.Text, default="")
    is_present: Mapped[bool] = mapped_column(default=True)

    session: Mapped[CommitteeSession] = relationship(back_populates="attendance")
    institution = relationship("Institution")


class Decision(db.Model):
    """The committee's decision on a dossier. Written only by ``services.decisions.decide`` (who may:
    ``permissions.can_decide``); the dossier's status follows it when it is notified.

    History: a correction never overwrites. It adds a new row whose ``supersedes_id`` names the
    previous one and sets the previous row's ``is_current`` to false, in the same flush. At most one
    current decision per dossier (partial unique index ``uq_decisions_current``); a decision is
    superseded at most once (unique ``supersedes_id``). The open-data file (SCDL) reads
    ``reference`` (referenceDecision), ``agreement_date`` (dateConvention), ``payment_terms``
    (conditionsVersement) and the payment period (datesPeriodeVersement). The letter PDF is stored
    under ``letter_key``.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        sa.Index("uq_decisions_current", "dossier_id", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current")),
        sa.CheckConstraint("amount_eur IS NULL OR amount_eur >= 0", name="amount_not_negative"),
        sa.CheckConstraint("outcome <> 'laureate' OR amount_eur IS NOT NULL", name="laureate_has_amount"),
        sa.CheckConstraint("payment_period_end IS NULL OR payment_period_start IS NULL "
                           "OR payment_period_end >= payment_period_start", name="payment_period_ordered"),
        sa.CheckConstraint("supersedes_id IS NULL OR supersedes_id <> id", name="not_superseding_itself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="RESTRICT"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("committee_sessions.id", ondelete="RESTRICT"), index=True)
    is_current: Mapped[bool] = mapped_column(default=True)
    supersedes_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("decisions.id", ondelete="RESTRICT"), unique=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(enum_column(DecisionOutcome))
    amount_eur: Mapped[Decimal | None] = mapped_column(Money())
    motivation: Mapped[str] = mapped_column(sa.Text, default="")
    # The session's date when there is a session; set directly for decisions taken without one.
    committee_date: Mapped[date | None] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    agreement_date: Mapped[date | None] = mapped_column(sa.Date)
    payment_terms: Mapped[PaymentTerms | None] = mapped_column(enum_column(PaymentTerms))
    # Tranches of a staged payment: [{"date": "AAAA-MM-JJ", "amount_eur": "1234.00"}] (empty otherwise).
    payment_schedule: Mapped[list] = mapped_column(JSONType, default=list)
    payment_period_start: Mapped[date | None] = mapped_column(sa.Date)
    payment_period_end: Mapped[date | None] = mapped_column(sa.Date)
    # Why this decision superseded the previous one (empty for a first decision).
    correction_reason: Mapped[str] = mapped_column(sa.Text, default="")
    letter_key: Mapped[str | None] = mapped_column(sa.String(300))
    # SHA-256 of the stored letter (hex), set when the letter job stores it (also in the audit).
    letter_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
    session: Mapped[CommitteeSession | None] = relationship(back_populates="decisions")
    supersedes: Mapped[Decision | None] = relationship(remote_side=[id])
