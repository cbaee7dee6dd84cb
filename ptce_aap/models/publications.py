"""Versioned publication of a call's results (SPEC §5, §9)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, utcnow


class Publication(db.Model):
    """One published version of a call's laureates. Each correction is a new version (1, 2…); the
    previous one gets ``superseded_at`` and stays reachable. At most one version per call is not
    superseded (partial unique index ``uq_publications_current``).

    ``snapshot`` is the published data as it was (laureate rows); ``files`` lists the generated files
    as ``[{"kind": "csv|json|html", "key", "sha256", "size"}]`` (``key`` in the storage backend).
    """

    __tablename__ = "publications"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "version"),
        sa.Index("uq_publications_current", "call_id", unique=True,
                 postgresql_where=sa.text("superseded_at IS NULL"),
                 sqlite_where=sa.text("superseded_at IS NULL")),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict] = mapped_column(JSONType, default=dict)
    files: Mapped[list] = mapped_column(JSONType, default=list)
    change_note: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    call = relationship("Call")
    published_by = relationship("User")

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None
