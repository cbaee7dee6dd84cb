"""Calls for projects (appels à projets), their grid, categories and required documents."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import CallStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, Money, UTCDateTime, enum_column, utcnow


class Call(db.Model):
    """An appel à projets. Status changes go through ``services.calls.set_call_status``."""

    __tablename__ = "calls"
    __table_args__ = (
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint("envelope_eur >= 0", name="envelope_not_negative"),
        sa.CheckConstraint("max_amount_eur >= 0", name="max_amount_not_negative"),
        sa.CheckConstraint("max_state_share > 0 AND max_state_share <= 1", name="state_share_fraction"),
        sa.CheckConstraint("reviewers_per_dossier >= 1", name="reviewers_per_dossier_positive"),
        sa.CheckConstraint("max_upload_bytes > 0", name="max_upload_positive"),
        sa.CheckConstraint("disagreement_threshold > 0 AND disagreement_threshold <= 1",
                           name="disagreement_threshold_fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CallStatus] = mapped_column(enum_column(CallStatus), default=CallStatus.DRAFT, index=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Regional groups give their avis and ranking before this (calls with regional instruction).
    regional_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    envelope_eur: Mapped[Decimal] = mapped_column(Money())
    max_amount_eur: Mapped[Decimal] = mapped_column(Money())
    # Maximum share of the project budget the State may fund, as a fraction (0.5 = 50 %).
    max_state_share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=Decimal("0.5"))
    reviewers_per_dossier: Mapped[int] = mapped_column(default=2)
    has_regional_instruction: Mapped[bool] = mapped_column(default=False)
    # Reviews of one dossier "disagree" when their weighted scores lie further apart than this fraction
    # of the grid's scale (0.3 = 30 %); the ranking table flags such dossiers.
    disagreement_threshold: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=Decimal("0.3"))
    max_upload_bytes: Mapped[int] = mapped_column(default=20 * 1024 * 1024)
    # {rule_code: {"mode": "blocking|advisory|off", **parameters}}
    eligibility_settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    awarding_body_name: Mapped[str] = mapped_column(sa.String(200), default="")
    awarding_body_siret: Mapped[str] = mapped_column(sa.String(14), default="")
    # Who signs the decision letters for the awarding body (name, then title: « La directrice générale… »).
    signatory_name: Mapped[str] = mapped_column(sa.String(200), default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan")
    categories: Mapped[list[CallCategory]] = relationship(
        back_populates="call", order_by="CallCategory.position", cascade="all, delete-orphan")
    document_types: Mapped[list[DocumentType]] = relationship(
        back_populates="call", order_by="DocumentType.position", cascade="all, delete-orphan")

    def is_open_at(self, moment: datetime) -> bool:
        return self.status == CallStatus.OPEN and self.opens_at <= moment < self.closes_at

    def __repr__(self) -> str:
        return f"<Call {self.slug}>"


class Criterion(db.Model):
    """One line of the scoring grid (SPEC §4). A criterion that has scores cannot be deleted
    (``review_scores.criterion_id`` is RESTRICT): a grid is edited only while the call is a draft."""

    __tablename__ = "criteria"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "code"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint("max_score > 0", name="max_score_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))
    guidance: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[int] = mapped_column()
    max_score: Mapped[int] = mapped_column(default=5)
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="criteria")


class CallCategory(db.Model):
    """Optional category of a call (émergence, développement…) with its own cap."""

    __tablename__ = "call_categories"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "code"),
        sa.CheckConstraint("max_amount_eur IS NULL OR max_amount_eur >= 0", name="max_amount_not_negative"),
        sa.CheckConstraint("quota IS NULL OR quota >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))
    max_amount_eur: Mapped[Decimal | None] = mapped_column(Money())
    quota: Mapped[int | None] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="categories")


class DocumentType(db.Model):
    """A kind of attachment the call asks for (statuts, RIB…)."""

    __tablename__ = "document_types"
    __table_args__ = (sa.UniqueConstraint("call_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    is_required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="document_types")
