"""Assignments of dossiers to reviewers, conflicts of interest, reviews and regional opinions.

History survives: a reviewer (user) with assignments or conflicts cannot be deleted, an assignment
with a review cannot be deleted, a grid criterion with scores cannot be deleted (all RESTRICT).
Accounts that acted are disabled, not deleted.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import AssignmentStatus, ConflictSource, OpinionStatus, Recommendation, ReviewStage
from ptce_aap.extensions import db
from ptce_aap.models.base import UTCDateTime, enum_column, utcnow


class Assignment(db.Model):
    """A dossier given to a reviewer at one stage (regional or national), with a due date.

    ``institution_id`` is the reviewer's institution frozen when assigned (the ≥ 2 institutions rule
    and the API's ``reviewer_institution`` read it, not the user's current one). A decline keeps the
    row: ``status`` becomes ``declined``/``declined_conflict`` with ``declined_at`` and the reason.
    """

    __tablename__ = "assignments"
    __table_args__ = (sa.UniqueConstraint("dossier_id", "reviewer_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="RESTRICT"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    stage: Mapped[ReviewStage] = mapped_column(enum_column(ReviewStage), default=ReviewStage.NATIONAL)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id", ondelete="RESTRICT"))
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus), default=AssignmentStatus.ASSIGNED)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")

    dossier = relationship("Dossier")
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    institution = relationship("Institution")
    # passive_deletes="all": the ORM leaves the review alone, so the database's RESTRICT answers.
    review: Mapped[Review | None] = relationship(back_populates="assignment", uselist=False, passive_deletes="all")


# Each target column of a conflict, for the "exactly one target" check and the uniqueness indexes.
CONFLICT_TARGETS = ("pole_id", "siren", "department", "institution_id")


def _exactly_one_target() -> str:
    return " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in CONFLICT_TARGETS) + " = 1"


class ConflictOfInterest(db.Model):
    """A reviewer's conflict for one call, on exactly one target: a pole, a member structure or
    structure porteuse (by SIREN), a department, or an institution.

    ``source`` says who found it: the reviewer (declared), an admin, or the detection (SIREN or
    co-editor match, SPEC §9). An admin may clear a detected conflict (``cleared_*``): the row stays,
    and a cleared conflict no longer blocks. One row per reviewer × call × target (partial unique
    indexes, one per target column).
    """

    __tablename__ = "conflicts_of_interest"
    __table_args__ = (
        sa.CheckConstraint(_exactly_one_target(), name="exactly_one_target"),
        sa.CheckConstraint("siren IS NULL OR length(siren) = 9", name="siren_9_digits"),
        sa.CheckConstraint("(cleared_at IS NULL) = (cleared_by_id IS NULL)", name="cleared_with_author"),
        *(sa.Index(f"uq_conflicts_of_interest_{column}", "call_id", "reviewer_id", column, unique=True,
                   postgresql_where=sa.text(f"{column} IS NOT NULL"), sqlite_where=sa.text(f"{column} IS NOT NULL"))
          for column in CONFLICT_TARGETS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    pole_id: Mapped[int | None] = mapped_column(sa.ForeignKey("poles.id", ondelete="CASCADE"))
    siren: Mapped[str | None] = mapped_column(sa.String(9))
    department: Mapped[str | None] = mapped_column(sa.String(3))
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id", ondelete="CASCADE"))
    source: Mapped[ConflictSource] = mapped_column(enum_column(ConflictSource), default=ConflictSource.DECLARED)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    declared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    cleared_reason: Mapped[str] = mapped_column(sa.Text, default="")

    reviewer = relationship("User", foreign_keys=[reviewer_id])
    call = relationship("Call")

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None


class Review(db.Model):
    """A reviewer's evaluation for one assignment. Nothing writes it yet: the reviewer pages will, through
    one review service; ``permissions.can_edit_review`` already says who may.

    ``version`` is the optimistic lock of the autosave (SQLAlchemy's version counter, as on
    ``Dossier``): the review service touches the review on every save, scores included, so a stale
    save raises ``StaleDataError``.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="RESTRICT"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))
    confidential_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    assignment: Mapped[Assignment] = relationship(back_populates="review")
    scores: Mapped[list[ReviewScore]] = relationship(back_populates="review", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class ReviewScore(db.Model):
    """A score (0..criterion.max_score) and comment for one criterion. The upper bound lives on
    another table, so the review service checks it; the database refuses negative scores."""

    __tablename__ = "review_scores"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "criterion_id"),
        sa.CheckConstraint("score IS NULL OR score >= 0", name="score_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="RESTRICT"), index=True)
    score: Mapped[int | None] = mapped_column()
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion = relationship("Criterion")


class RegionalOpinion(db.Model):
    """A regional group's avis and rank for one dossier of its call (calls with regional instruction).

    Drafted, then submitted before ``Call.regional_deadline_at``; the national committee reads the
    submitted ones side by side. Ranks are unique within a group among submitted opinions — the
    service checks it (a database constraint would refuse the swaps of a re-ranking).
    """

    __tablename__ = "regional_opinions"
    __table_args__ = (
        sa.UniqueConstraint("dossier_id", "group_id"),
        sa.CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
        sa.CheckConstraint("status <> 'submitted' OR (recommendation IS NOT NULL AND submitted_at IS NOT NULL)",
                           name="submitted_is_complete"),
        sa.Index("ix_regional_opinions_group_id_rank", "group_id", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="RESTRICT"), index=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("regional_groups.id", ondelete="RESTRICT"))
    status: Mapped[OpinionStatus] = mapped_column(enum_column(OpinionStatus), default=OpinionStatus.DRAFT)
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))
    rank: Mapped[int | None] = mapped_column()
    motivation: Mapped[str] = mapped_column(sa.Text, default="")
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
    group = relationship("RegionalGroup")
