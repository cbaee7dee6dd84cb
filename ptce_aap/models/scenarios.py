"""Saved scenarios of the selection simulator (issue 11 point 6)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, utcnow


class SelectionScenario(db.Model):
    """A run of the simulator kept under a name: the parameters as the secretariat set them (``params``), the
    proposal as it was (``result``: laureates with their amounts, waiting list, totals, the costs of the
    constraints, and the ``fingerprint`` of the scores, amounts and statuses it was computed from), and the
    score it ranked by (``score_kind``: ``raw`` or ``calibrated``). Written and deleted only by
    ``services.scenarios`` (audited); a scenario is applied through ``services.decisions.decide_many``."""

    __tablename__ = "selection_scenarios"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "name"),
        sa.CheckConstraint("score_kind IN ('raw', 'calibrated')", name="score_kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[dict] = mapped_column(JSONType, default=dict)
    score_kind: Mapped[str] = mapped_column(sa.String(16))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    call = relationship("Call")
    created_by = relationship("User")
