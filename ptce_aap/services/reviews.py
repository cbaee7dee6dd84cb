"""The one write path of reviews: start, save (autosave and button, under the optimistic lock), submit
(locked afterwards), reopen by an admin. Views check who (``permissions.can_edit_review``,
``reviewer_assignment``, ``can_reopen_review``); this module checks the state and the values, audits every
change and never commits.

What may be saved when:
- any save (autosave included): a score is an integer in 0..criterion.max_score (or none yet); a draft may
  be incomplete, so nothing else is refused while the reviewer writes;
- submit: every criterion scored, a comment for every score at either end of the scale (0 or the maximum:
  the committee's decisions must be motivated), a recommendation. ``submission_problems`` lists what is
  missing, field by field, for the form to show them all at once.

``Assignment.status`` follows the review (in progress once started, submitted once handed in, back in
progress when reopened): the reminders read it. It moves through ``set_assignment_status`` (the
transitions of ``ASSIGNMENT_TRANSITIONS``), before the review itself changes.

The dossier follows its reviews (through ``set_dossier_status``): an eligible dossier is *in review* once
a first review starts, *reviewed* once every live assignment's review is submitted, and back *in review*
when one is reopened. A review of a decided or withdrawn dossier cannot be reopened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ptce_aap import audit
from ptce_aap.domain import scores
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.enums import AssignmentStatus, DossierStatus, Recommendation
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Criterion
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review, ReviewScore
from ptce_aap.permissions import REVIEWABLE
from ptce_aap.services.assignments import set_assignment_status
from ptce_aap.services.dossiers import set_dossier_status
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

LIVE_EXCLUDED = (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT)
CLOSED_DOSSIERS = frozenset({DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED,
                             DossierStatus.WITHDRAWN})
# Left out of the scores (page, CSV, calibration): no longer competing.
UNSCORED = (DossierStatus.WITHDRAWN, DossierStatus.INELIGIBLE, DossierStatus.DRAFT)
AUTOSAVE_AUDIT_WINDOW = timedelta(minutes=10)
COMMENT_MAX = 5000
NOTE_MAX = 5000
REASON_MAX = 1000


class ReviewConflict(DomainError):
    """The review changed since the form was loaded (another tab): nothing is lost, the versions are compared."""

    def __init__(self, current_version: int):
        super().__init__(N_("Cette évaluation a été modifiée entre-temps, dans un autre onglet. Vos saisies "
                            "n'ont pas été perdues : comparez les deux versions ci-dessous."))
        self.current_version = current_version


@dataclass
class ReviewValues:
    """What the form carries: per criterion id a score (None: not yet) and a comment; the recommendation
    (None: not yet) and the confidential note to the committee."""

    scores: dict[int, tuple[int | None, str]]
    recommendation: Recommendation | None
    confidential_note: str


def criteria_of(review_or_assignment) -> list[Criterion]:
    assignment = getattr(review_or_assignment, "assignment", review_or_assignment)
    return list(assignment.dossier.call.criteria)


def lines(review: Review, criteria: list[Criterion]) -> list[scores.Line]:
    by_criterion = {s.criterion_id: s.score for s in review.scores}
    return [scores.Line(c.weight, c.max_score, by_criterion.get(c.id)) for c in criteria]


def _under_review(dossier) -> None:
    """A review is started, saved and submitted only while its dossier is under review (not withdrawn,
    ineligible or decided)."""
    if dossier.status not in REVIEWABLE:
        raise DomainError(N_("Le dossier est « %(status)s » : il n'est plus en instruction, son évaluation ne peut "
                             "plus être modifiée.", status=dossier.status))


def start_review(assignment: Assignment, *, by) -> Review:
    """The assignment's review, created (empty) the first time the reviewer opens the form."""
    if assignment.review is not None:
        return assignment.review
    _under_review(assignment.dossier)
    if assignment.status in (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT):
        raise DomainError(N_("Vous avez décliné ce dossier : vous ne pouvez pas l'évaluer."))
    if assignment.status != AssignmentStatus.IN_PROGRESS:
        set_assignment_status(assignment, AssignmentStatus.IN_PROGRESS)
    review = Review(assignment=assignment)
    db.session.add(review)
    db.session.flush()
    audit.record("review.started", review, actor=by, summary={"after": {"dossier": assignment.dossier_id}})
    dossier = assignment.dossier
    if dossier.status == DossierStatus.ELIGIBLE:
        set_dossier_status(dossier, DossierStatus.IN_REVIEW, by=by, expected_from=DossierStatus.ELIGIBLE)
    return review


def _all_submitted(dossier_id: int) -> bool:
    """Every live assignment of the dossier has a submitted review (and there is at least one)."""
    rows = db.session.execute(
        sa.select(Review.submitted_at).select_from(Assignment)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.dossier_id == dossier_id, Assignment.status.not_in(LIVE_EXCLUDED))).all()
    return bool(rows) and all(submitted_at is not None for (submitted_at,) in rows)


def check_values(values: ReviewValues, criteria: list[Criterion]) -> None:
    """The values any save refuses: a score outside 0..max, or a text too long."""
    known = {c.id: c for c in criteria}
    for criterion_id, (score, comment) in values.scores.items():
        criterion = known.get(criterion_id)
        if criterion is None:
            raise DomainError(N_("Ce critère ne fait pas partie de la grille de cet appel."))
        if score is not None and not (isinstance(score, int) and 0 <= score <= criterion.max_score):
            raise DomainError(N_("La note doit être un nombre entier de 0 à %(max)s.", max=criterion.max_score),
                              field=f"score_{criterion_id}")
        if len(comment) > COMMENT_MAX:
            raise DomainError(N_("Le commentaire ne peut pas dépasser %(max)s caractères.", max=COMMENT_MAX),
                              field=f"comment_{criterion_id}")
    if len(values.confidential_note) > NOTE_MAX:
        raise DomainError(N_("La note confidentielle ne peut pas dépasser %(max)s caractères.", max=NOTE_MAX),
                          field="confidential_note")


def _recently_audited(review: Review, by, now: datetime) -> bool:
    """A ``review.updated`` row by the same person on this review within ``AUTOSAVE_AUDIT_WINDOW``."""
    return db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.action == "review.updated", AuditEvent.object_type == "reviews",
        AuditEvent.object_id == str(review.id), AuditEvent.actor_id == getattr(by, "id", None),
        AuditEvent.at > now - AUTOSAVE_AUDIT_WINDOW).limit(1)) is not None


def save_review(review: Review, values: ReviewValues, *, by, expected_version: int | None,
                autosave: bool = False) -> list[str]:
    """Store what was typed (a draft may be incomplete). Returns the fields changed (audited if any).

    Audit of autosaves, coalesced: an autosave is audited only when no ``review.updated`` of the same person
    on the review exists in the last ``AUTOSAVE_AUDIT_WINDOW`` (one row per writing session of 10 minutes, not
    one per pause in the typing); a save with the button is always audited, and so is the submission (with
    the final total), so the trail keeps who wrote when and what was handed in.

    A stale ``expected_version`` raises ``ReviewConflict``; the review is touched on every save so that
    its version moves (a concurrent save raises ``StaleDataError`` at flush)."""
    if review.submitted_at is not None:
        raise DomainError(N_("Cette évaluation a été remise : elle n'est plus modifiable."))
    _under_review(review.assignment.dossier)
    if expected_version is not None and expected_version != review.version:
        raise ReviewConflict(review.version)
    criteria = criteria_of(review)
    check_values(values, criteria)
    existing = {s.criterion_id: s for s in review.scores}
    changed: list[str] = []
    for criterion in criteria:
        if criterion.id not in values.scores:
            continue
        score, comment = values.scores[criterion.id]
        row = existing.get(criterion.id)
        if row is None:
            if score is None and not comment:
                continue
            row = ReviewScore(criterion_id=criterion.id, score=None, comment="")
            review.scores.append(row)
        if row.score != score:
            changed.append(f"score:{criterion.code}")
            row.score = score
        if row.comment != comment:
            changed.append(f"comment:{criterion.code}")
            row.comment = comment
    if review.recommendation != values.recommendation:
        changed.append("recommendation")
        review.recommendation = values.recommendation
    if review.confidential_note != values.confidential_note:
        changed.append("confidential_note")
        review.confidential_note = values.confidential_note
    review.updated_at = utcnow()  # moves the version even when only a score row changed
    if changed and not (autosave and _recently_audited(review, by, review.updated_at)):
        audit.record("review.updated", review, actor=by, summary={"fields": changed})
    return changed


def submission_problems(review: Review, criteria: list[Criterion] | None = None) -> list[tuple[str, str]]:
    """``[(field, message), …]``: what the review lacks to be submitted (empty: it can be)."""
    criteria = criteria if criteria is not None else criteria_of(review)
    by_criterion = {s.criterion_id: s for s in review.scores}
    problems = []
    for c in criteria:
        row = by_criterion.get(c.id)
        if row is None or row.score is None:
            problems.append((f"score_{c.id}", N_("Notez le critère « %(label)s ».", label=c.label)))
        elif row.score in (0, c.max_score) and not row.comment.strip():
            problems.append((f"comment_{c.id}", N_("Motivez la note %(score)s / %(max)s du critère « %(label)s » : "
                                                   "un commentaire est obligatoire pour une note extrême.",
                                                   score=row.score, max=c.max_score, label=c.label)))
    if review.recommendation is None:
        problems.append(("recommendation", N_("Choisissez un avis : favorable, réservé ou défavorable.")))
    return problems


def submit_review(review: Review, *, by, expected_version: int | None = None, now: datetime | None = None) -> None:
    """Hand the review in: complete, then locked (only an admin can reopen it)."""
    if review.submitted_at is not None:
        raise DomainError(N_("Cette évaluation a déjà été remise."))
    _under_review(review.assignment.dossier)
    if expected_version is not None and expected_version != review.version:
        raise ReviewConflict(review.version)
    criteria = criteria_of(review)
    problems = submission_problems(review, criteria)
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field)
    set_assignment_status(review.assignment, AssignmentStatus.SUBMITTED)
    review.submitted_at = now or utcnow()
    db.session.flush()
    dossier = review.assignment.dossier
    if dossier.status == DossierStatus.IN_REVIEW and _all_submitted(dossier.id):
        set_dossier_status(dossier, DossierStatus.REVIEWED, by=by, expected_from=DossierStatus.IN_REVIEW)
    total = scores.rounded_total(lines(review, criteria))
    audit.record("review.submitted", review, actor=by, summary={"after": {
        "total": str(total), "recommendation": review.recommendation.value}})


def reopen_review(review: Review, *, by, reason: str) -> None:
    """An admin gives a submitted review back to its reviewer, with a reason (audited); the reviewer is told
    by mail (queued in the outbox, sent once the caller commits)."""
    reason = (reason or "").strip()
    if review.submitted_at is None:
        raise DomainError(N_("Cette évaluation n'a pas été remise : elle est déjà modifiable."))
    dossier = review.assignment.dossier
    if dossier.status in CLOSED_DOSSIERS:
        raise DomainError(N_("Le dossier est « %(status)s » : ses évaluations ne peuvent plus être rouvertes.",
                             status=dossier.status))
    if not reason:
        raise DomainError(N_("Indiquez le motif de la réouverture."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(N_("Le motif ne peut pas dépasser %(max)s caractères.", max=REASON_MAX), field="reason")
    before = review.submitted_at
    set_assignment_status(review.assignment, AssignmentStatus.IN_PROGRESS)
    review.submitted_at = None
    if dossier.status == DossierStatus.REVIEWED:
        set_dossier_status(dossier, DossierStatus.IN_REVIEW, by=by, expected_from=DossierStatus.REVIEWED,
                           reason=reason)
    audit.record("review.reopened", review, actor=by, summary={
        "before": {"submitted_at": before.isoformat()}, "after": {"submitted_at": None}, "reason": reason})
    reviewer = review.assignment.reviewer
    notify(reviewer.email, "review_reopened", {
        "name": one_line(reviewer.display_name, max_length=80), "pole_name": one_line(dossier.pole_name, max_length=200),
        "call_title": dossier.call.title, "reason": reason,
        "link": external_url("reviewers.review", dossier_id=dossier.id)},
        dedupe_key=f"review_reopened:{review.id}:{before:%Y%m%d%H%M%S%f}", user=reviewer)


def reopening(review: Review) -> AuditEvent | None:
    """While a review stands reopened (not submitted again), the audit event of its last reopening: who, when
    and why (its ``summary["reason"]``), shown to the reviewer above the form. None otherwise."""
    if review.id is None or review.submitted_at is not None:
        return None
    return db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "review.reopened", AuditEvent.object_type == Review.__tablename__,
        AuditEvent.object_id == str(review.id)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))


# --- reading (constant number of queries) ------------------------------------------------------------------

def submitted_totals(call_id: int) -> list[scores.ReviewTotal]:
    """Every complete submitted review of the call with its exact weighted total: the sums are made by the
    database, one row per review (two queries whatever the number of reviews)."""
    criteria = db.session.execute(sa.select(Criterion.weight, Criterion.max_score).where(
        Criterion.call_id == call_id)).all()
    den = sum(weight * max_score for weight, max_score in criteria)
    if not den:
        return []
    rows = db.session.execute(
        sa.select(Review.id, Assignment.reviewer_id, Assignment.dossier_id,
                  sa.func.sum(Criterion.weight * ReviewScore.score), sa.func.count(ReviewScore.score))
        .join(Assignment, Assignment.id == Review.assignment_id)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .join(Criterion, Criterion.id == ReviewScore.criterion_id)
        .join(Dossier, Dossier.id == Assignment.dossier_id)
        .where(Review.submitted_at.is_not(None), Criterion.call_id == call_id, Dossier.status.not_in(UNSCORED))
        .group_by(Review.id, Assignment.reviewer_id, Assignment.dossier_id)).all()
    return [scores.ReviewTotal(review_id, reviewer_id, dossier_id, scores.total_from_sums(int(num), den))
            for review_id, reviewer_id, dossier_id, num, scored in rows if scored == len(criteria)]


def totals_fingerprint(call_id: int, *, in_database: bool | None = None) -> str:
    """A digest of everything ``submitted_totals`` depends on, read in one query (two off PostgreSQL): each
    counted review's id, reviewer, dossier, version and submission time (a review counts while it is submitted
    and its dossier is not withdrawn, ineligible nor a draft), and the call's criteria (id, weight, maximum).

    A submitted review's scores cannot change (``save_review`` refuses it): they change only by reopening and
    submitting again, which moves the review's ``version`` and ``submitted_at``; a reopened review, or one of a
    dossier that leaves the competition, drops out of the rows. So equal fingerprints mean equal totals — and
    this reads the reviews' rows only, not their scores (the scores' sums cost ~4× more at 5,000 dossiers).

    On PostgreSQL the database makes the digest (``md5`` of the ordered rows: one short row back); elsewhere
    (SQLite, the embedded default) the rows are read and hashed here. ``in_database`` forces one way (tests)."""
    if in_database is None:
        in_database = db.session.get_bind().dialect.name == "postgresql"
    counted = [Dossier.call_id == call_id, Review.submitted_at.is_not(None), Dossier.status.not_in(UNSCORED)]
    fields = (Review.id, Assignment.reviewer_id, Assignment.dossier_id, Review.version, Review.submitted_at)
    criteria_fields = (Criterion.id, Criterion.weight, Criterion.max_score)
    if in_database:
        def digest(columns, order):
            line = sa.func.concat_ws(":", *columns)
            ordered = sa.func.string_agg(line, aggregate_order_by(sa.literal_column("','"), order))
            return sa.func.md5(sa.func.coalesce(ordered, ""))

        criteria = (sa.select(digest(criteria_fields, Criterion.id)).where(Criterion.call_id == call_id)
                    .scalar_subquery())
        row = db.session.execute(
            sa.select(digest(fields, Review.id), criteria)
            .select_from(Review).join(Assignment, Assignment.id == Review.assignment_id)
            .join(Dossier, Dossier.id == Assignment.dossier_id).where(*counted)).one()
        return f"pg:{row[0]}:{row[1]}"
    reviews = db.session.execute(
        sa.select(*fields).join(Assignment, Assignment.id == Review.assignment_id)
        .join(Dossier, Dossier.id == Assignment.dossier_id).where(*counted).order_by(Review.id)).all()
    criteria = db.session.execute(sa.select(*criteria_fields).where(Criterion.call_id == call_id)
                                  .order_by(Criterion.id)).all()
    text = repr([tuple(r) for r in reviews]) + "|" + repr([tuple(c) for c in criteria])
    return "py:" + hashlib.sha256(text.encode()).hexdigest()
