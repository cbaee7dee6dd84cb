"""Poles, their dossiers (candidatures) and everything a dossier holds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ptce_aap.enums import (
    AttachmentStatus,
    DossierStatus,
    FinancingKind,
    FundingSource,
    FundingStatus,
    GovernanceForm,
    LegalForm,
    MemberCategory,
    MemberRole,
    ScanStatus,
)
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, Money, UTCDateTime, enum_column, siren_from_siret, utcnow


class Pole(db.Model):
    """A PTCE. Its people (creator and co-editors) are ``PoleMembership`` rows."""

    __tablename__ = "poles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[PoleMembership]] = relationship(back_populates="pole", cascade="all, delete-orphan")


class PoleMembership(db.Model):
    """A person who may edit the pole's dossiers; ``is_owner`` for the creator."""

    __tablename__ = "pole_memberships"
    __table_args__ = (sa.UniqueConstraint("pole_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pole_id: Mapped[int] = mapped_column(sa.ForeignKey("poles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_owner: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pole: Mapped[Pole] = relationship(back_populates="memberships")
    user = relationship("User")


class Invitation(db.Model):
    """A co-editor invitation; the mailed link carries a signed token naming this row."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    pole_id: Mapped[int] = mapped_column(sa.ForeignKey("poles.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Dossier(db.Model):
    """One pole's candidature to one call.

    Status changes only through ``services.dossiers.set_dossier_status``; ``version`` is the
    optimistic lock (SQLAlchemy's version counter): a stale save raises ``StaleDataError``.
    The outcome statuses (laureate, waitlisted, rejected) follow the current ``Decision`` once it is
    notified; the decision is authoritative (see ``models.decisions``). ``carrier_siren`` is derived
    from ``carrier_siret`` on assignment (``siren_from_siret``), for conflict detection and earlier laureates.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "pole_id"),
        sa.Index("ix_dossiers_call_id_status", "call_id", "status"),
        sa.CheckConstraint("total_budget_eur IS NULL OR total_budget_eur >= 0", name="total_budget_not_negative"),
        sa.CheckConstraint("amount_requested_eur IS NULL OR amount_requested_eur >= 0",
                           name="amount_requested_not_negative"),
        sa.CheckConstraint("jobs_existing_fte IS NULL OR jobs_existing_fte >= 0", name="jobs_existing_not_negative"),
        sa.CheckConstraint("jobs_to_create_fte IS NULL OR jobs_to_create_fte >= 0",
                           name="jobs_to_create_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"))
    pole_id: Mapped[int] = mapped_column(sa.ForeignKey("poles.id"), index=True)
    status: Mapped[DossierStatus] = mapped_column(
        enum_column(DossierStatus), default=DossierStatus.DRAFT, index=True)
    version: Mapped[int] = mapped_column(default=1)
    category_code: Mapped[str | None] = mapped_column(sa.String(40))

    # Identity
    pole_name: Mapped[str] = mapped_column(sa.String(200), default="")
    carrier_legal_name: Mapped[str] = mapped_column(sa.String(200), default="")
    carrier_siret: Mapped[str] = mapped_column(sa.String(20), default="")
    carrier_siren: Mapped[str] = mapped_column(sa.String(9), default="", index=True)
    carrier_legal_form: Mapped[LegalForm | None] = mapped_column(enum_column(LegalForm))
    carrier_rna: Mapped[str] = mapped_column(sa.String(10), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    commune_insee: Mapped[str] = mapped_column(sa.String(5), default="")
    commune_name: Mapped[str] = mapped_column(sa.String(200), default="")
    region_code: Mapped[str] = mapped_column(sa.String(3), default="", index=True)
    departments: Mapped[list] = mapped_column(JSONType, default=list)
    territory_types: Mapped[list] = mapped_column(JSONType, default=list)
    cooperation_start_year: Mapped[int | None] = mapped_column()

    # Activity, cooperation and governance
    activity_domains: Mapped[list] = mapped_column(JSONType, default=list)
    activity_other: Mapped[str] = mapped_column(sa.String(200), default="")
    # {CooperationForm value: description} for the forms the pole practises.
    cooperation: Mapped[dict] = mapped_column(JSONType, default=dict)
    governance_form: Mapped[GovernanceForm | None] = mapped_column(enum_column(GovernanceForm))
    governance_text: Mapped[str] = mapped_column(sa.Text, default="")

    # Project
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    strategy: Mapped[str] = mapped_column(sa.Text, default="")
    innovation: Mapped[str] = mapped_column(sa.Text, default="")
    territorial_anchoring: Mapped[str] = mapped_column(sa.Text, default="")
    expected_impacts: Mapped[str] = mapped_column(sa.Text, default="")
    jobs_existing_fte: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    jobs_to_create_fte: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    jobs_text: Mapped[str] = mapped_column(sa.Text, default="")
    rd_partners: Mapped[str] = mapped_column(sa.Text, default="")

    # Values typed into a draft that could not be stored in their typed column (e.g. "12 000 euros"
    # in an amount): kept here as typed, {field: raw}, and flagged until corrected.
    raw_inputs: Mapped[dict] = mapped_column(JSONType, default=dict)

    # Money
    total_budget_eur: Mapped[Decimal | None] = mapped_column(Money())
    amount_requested_eur: Mapped[Decimal | None] = mapped_column(Money())

    # Lifecycle
    receipt_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_key: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    call = relationship("Call")
    pole: Mapped[Pole] = relationship()
    members: Mapped[list[Member]] = relationship(
        back_populates="dossier", order_by="Member.position", cascade="all, delete-orphan")
    financing_lines: Mapped[list[FinancingLine]] = relationship(
        back_populates="dossier", order_by="FinancingLine.position", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="dossier", order_by="Attachment.id", cascade="all, delete-orphan")
    transitions: Mapped[list[DossierTransition]] = relationship(
        back_populates="dossier", order_by="DossierTransition.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @validates("carrier_siret")
    def _derive_carrier_siren(self, _key, siret: str) -> str:
        self.carrier_siren = siren_from_siret(siret)
        return siret


class Member(db.Model):
    """A member structure of the pole (a PTCE groups about fifteen). ``siren`` is derived from
    ``siret`` on assignment (``siren_from_siret``; ``""`` without a valid SIRET), indexed for conflict detection."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    siret: Mapped[str] = mapped_column(sa.String(20), default="")
    siren: Mapped[str] = mapped_column(sa.String(9), default="", index=True)
    category: Mapped[MemberCategory | None] = mapped_column(enum_column(MemberCategory))
    department: Mapped[str] = mapped_column(sa.String(3), default="")
    role: Mapped[MemberRole | None] = mapped_column(enum_column(MemberRole))
    is_legal_person: Mapped[bool] = mapped_column(default=True)
    joined_on: Mapped[date | None] = mapped_column(sa.Date)

    dossier: Mapped[Dossier] = relationship(back_populates="members")

    @validates("siret")
    def _derive_siren(self, _key, siret: str) -> str:
        self.siren = siren_from_siret(siret)
        return siret


class FinancingLine(db.Model):
    """A line of the cellule d'animation budget (expense) or of the financing plan (resource)."""

    __tablename__ = "financing_lines"
    __table_args__ = (sa.CheckConstraint("amount_eur IS NULL OR amount_eur >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[FinancingKind] = mapped_column(enum_column(FinancingKind))
    source: Mapped[FundingSource | None] = mapped_column(enum_column(FundingSource))
    funder: Mapped[str] = mapped_column(sa.String(200), default="")
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    amount_eur: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[FundingStatus | None] = mapped_column(enum_column(FundingStatus))

    dossier: Mapped[Dossier] = relationship(back_populates="financing_lines")


class Attachment(db.Model):
    """A document uploaded for a dossier. ``storage_backend`` names where ``storage_key`` lives.

    ``status`` changes only through ``services.attachments.set_attachment_status``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    document_type_code: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(255))
    storage_backend: Mapped[str] = mapped_column(sa.String(20))
    storage_key: Mapped[str] = mapped_column(sa.String(300), unique=True)
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    declared_mime: Mapped[str] = mapped_column(sa.String(120), default="")
    mime: Mapped[str | None] = mapped_column(sa.String(120))
    page_count: Mapped[int | None] = mapped_column()
    status: Mapped[AttachmentStatus] = mapped_column(
        enum_column(AttachmentStatus), default=AttachmentStatus.UPLOADING)
    scan_status: Mapped[ScanStatus] = mapped_column(enum_column(ScanStatus), default=ScanStatus.PENDING)
    rejection_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier: Mapped[Dossier] = relationship(back_populates="attachments")


class DossierTransition(db.Model):
    """One status change of a dossier, with who and when (the applicant's timeline)."""

    __tablename__ = "dossier_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[DossierStatus | None] = mapped_column(enum_column(DossierStatus))
    to_status: Mapped[DossierStatus] = mapped_column(enum_column(DossierStatus))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="transitions")
    actor = relationship("User")


class EligibilityCheck(db.Model):
    """One run of the eligibility rules on a dossier (history kept), or an admin's override."""

    __tablename__ = "eligibility_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    is_eligible: Mapped[bool] = mapped_column()
    # [{"code", "passed", "mode", "message"}]
    results: Mapped[list] = mapped_column(JSONType, default=list)
    is_override: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
