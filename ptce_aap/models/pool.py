"""A call's reviewer pool and, for calls with regional instruction, its regional groups."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, utcnow


class RegionalGroup(db.Model):
    """The reviewers of one region for one call; they give the region's avis and ranking
    (``RegionalOpinion``) before ``Call.regional_deadline_at``. Members are pool rows pointing here."""

    __tablename__ = "regional_groups"
    __table_args__ = (sa.UniqueConstraint("call_id", "region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(3))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    call = relationship("Call")
    members: Mapped[list[ReviewerPoolMember]] = relationship(back_populates="regional_group")


class ReviewerPoolMember(db.Model):
    """A person who may review for one call, for one institution (the ≥ 2 institutions rule counts
    these), with a capacity (``None``: no limit), an optional regional group and an expertise used by
    the assignment optimiser: ``activity_domains`` (``ActivityDomain`` values) and ``region_codes``."""

    __tablename__ = "reviewer_pool_members"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "user_id"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id", ondelete="RESTRICT"))
    regional_group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("regional_groups.id", ondelete="SET NULL"), index=True)
    capacity: Mapped[int | None] = mapped_column()
    activity_domains: Mapped[list] = mapped_column(JSONType, default=list)
    region_codes: Mapped[list] = mapped_column(JSONType, default=list)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    call = relationship("Call")
    user = relationship("User", foreign_keys=[user_id])
    institution = relationship("Institution")
    regional_group: Mapped[RegionalGroup | None] = relationship(back_populates="members")
