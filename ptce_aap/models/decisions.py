"""Committee decisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import DecisionOutcome
from ptce_aap.extensions import db
from ptce_aap.models.base import Money, UTCDateTime, enum_column, utcnow


class Decision(db.Model):
    """The committee's decision on a dossier. Nothing writes it yet: the committee pages will, through one
    decision service that also moves the dossier with ``set_dossier_status``; ``permissions.can_decide``
    already says who may."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(enum_column(DecisionOutcome))
    amount_eur: Mapped[Decimal | None] = mapped_column(Money())
    motivation: Mapped[str] = mapped_column(sa.Text, default="")
    committee_date: Mapped[date | None] = mapped_column(sa.Date)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
