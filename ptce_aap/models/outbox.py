"""The transactional outbox, mail notifications and tracked background jobs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ptce_aap.enums import JobKind, JobStatus, NotificationStatus, OutboxStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, enum_column, utcnow


class OutboxEntry(db.Model):
    """A job to run, written in the same transaction as the change that wants it.

    ``jobs.dispatch_outbox`` enqueues pending rows after commit; if Redis is down the rows wait.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(100))
    kwargs: Mapped[dict] = mapped_column(JSONType, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus), default=OutboxStatus.PENDING,
                                                 index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notification(db.Model):
    """A mail to send. ``dedupe_key`` makes sure the same message is never sent twice."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    template: Mapped[str] = mapped_column(sa.String(80))
    context: Mapped[dict] = mapped_column(JSONType, default=dict)
    # [{"filename", "storage_key" | "generator", "mime"}] resolved when sending.
    attachments: Mapped[list] = mapped_column(JSONType, default=list)
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobRun(db.Model):
    """Progress of a long background job, polled by the UI. ``kind`` says what it does and
    ``call_id`` which call it works on (``None`` for jobs not tied to a call); ``name`` is a label."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.CheckConstraint("done >= 0 AND total >= 0", name="progress_not_negative"),
        sa.Index("ix_job_runs_call_id_kind", "call_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind))
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
