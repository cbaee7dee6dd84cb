"""The thread between the secretariat and a pole about one dossier: messages, requests for complements
(« demande de correction ») and the applicant's answers.

A request names the sections (``domain.sections`` codes) and document types (the call's codes) it reopens,
until ``due_at``; while it is open (neither answered nor closed) the dossier is « compléments demandés » and
only those parts may change (``permissions.dossier_accepts_changes``). Written by ``services.messages`` only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import MessageKind
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, enum_column, utcnow


class DossierMessage(db.Model):
    """One line of a dossier's thread. ``files``: for an answer, the documents received for the request
    ([{"document_type", "filename", "sha256", "size"}], a record that survives a later replacement)."""

    __tablename__ = "dossier_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    sections: Mapped[list] = mapped_column(JSONType, default=list)
    document_types: Mapped[list] = mapped_column(JSONType, default=list)
    files: Mapped[list] = mapped_column(JSONType, default=list)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dossier_messages.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author = relationship("User")
    dossier = relationship("Dossier")

    @property
    def is_open(self) -> bool:
        """A request neither answered nor closed."""
        return self.kind == MessageKind.REQUEST and self.answered_at is None and self.closed_at is None

    def is_overdue(self, now: datetime) -> bool:
        return self.due_at is not None and now >= self.due_at
