"""The admin's scores page of a call (/admin/appels/<slug>/notes, 100 dossiers a page, sorted over the whole
call): per dossier the weighted mean of its submitted reviews, the calibrated score, the spread with its « désaccord » badge and the reviews handed
in out of those expected, with the reviewers (names, institutions, totals, confidential notes); sortable,
exported as CSV. A submitted review can be reopened from here, with a reason (audited).

The page reads a constant number of queries whatever the number of dossiers: the scores of the whole call from
the totals summed by the database (``services.ranking.call_scores``, shared with the ranking and the simulator),
the reviewers for the rows shown only (``attach_reviewers``)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload, load_only, selectinload

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain import scores
from ptce_aap.errors import DomainError
from ptce_aap.exports import csv_response
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review
from ptce_aap.permissions import DECLINED, can_manage_call, can_reopen_review, require
from ptce_aap.reviewers.forms import ReopenReviewForm
from ptce_aap.services import assignments as assignment_service
from ptce_aap.services import ranking as ranking_service
from ptce_aap.services import reviews as review_service
from ptce_aap.web import load_or_404, on_lost_race, page_arg, show_on_form

SORTS = {
    "moyenne": lambda r: (r.score.mean is None, -(r.score.mean or 0)),
    "calibree": lambda r: (r.score.calibrated is None, -(r.score.calibrated or 0)),
    "ecart": lambda r: (r.score.spread is None, -(r.score.spread or 0)),
    "pole": lambda r: (r.dossier.pole_name or "").casefold(),
}
PER_PAGE = 100
EMPTY = scores.DossierScore(None, None, None, False, 0, False)


@dataclass
class ReviewerLine:
    assignment: Assignment
    total: Decimal | None = None
    calibrated: Decimal | None = None
    uncalibrated: bool = False
    conflicted: bool = False  # a conflict of interest blocks this assignment now
    single_review: bool = False  # the reviewer handed in one review only in the call

    @property
    def counts(self) -> bool:
        """A live assignment (not declined, not blocked by a conflict): a review is expected from it."""
        return self.assignment.status not in DECLINED and not self.conflicted


@dataclass
class ScoreRow:
    dossier: Dossier
    score: scores.DossierScore = EMPTY
    reviewers: list[ReviewerLine] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(1 for line in self.reviewers if line.counts)

    @property
    def withdrawn(self) -> int:
        """Reviewers who declined or are in conflict: listed, not expected."""
        return len(self.reviewers) - self.expected

    @property
    def uncalibrated(self) -> list[ReviewerLine]:
        """The lines whose submitted review could not be calibrated."""
        return [line for line in self.reviewers if line.total is not None and line.uncalibrated]


def score_rows(call: Call) -> tuple[list[ScoreRow], ranking_service.CallScores]:
    """Every dossier of the call still competing (submitted, not withdrawn nor ineligible) with its score, the
    totals read in bulk (three queries); no reviewers yet (``attach_reviewers``, for the rows shown)."""
    dossiers = db.session.scalars(sa.select(Dossier).options(load_only(*ranking_service.COLUMNS)).where(
        Dossier.call_id == call.id, Dossier.status.not_in(review_service.UNSCORED))).all()
    computed = ranking_service.call_scores(call)
    return [ScoreRow(d, computed.by_dossier.get(d.id, EMPTY)) for d in dossiers], computed


def attach_reviewers(call: Call, rows: list[ScoreRow], computed: ranking_service.CallScores, *,
                     every_row: bool = False) -> None:
    """The reviewers of ``rows`` (their assignments, totals, calibration and conflicts), in two queries
    whatever the number of rows; ``every_row``: the rows are the whole call (read by the call, not by ids)."""
    if not rows:
        return
    by_id = {row.dossier.id: row for row in rows}
    query = (sa.select(Assignment).options(joinedload(Assignment.reviewer), joinedload(Assignment.institution),
                                           selectinload(Assignment.review)).order_by(Assignment.id))
    if every_row:
        query = query.join(Dossier, Dossier.id == Assignment.dossier_id).where(Dossier.call_id == call.id)
    else:
        query = query.where(Assignment.dossier_id.in_(list(by_id)))
    assignments = db.session.scalars(query).all()
    total_of = {t.review_id: t.total for t in computed.totals}
    reviews_by = Counter(t.reviewer_id for t in computed.totals)
    calibration = computed.calibration
    live = {a.reviewer_id for a in assignments if a.status not in DECLINED}
    blocked = assignment_service.blocked_pairs(call, reviewer_ids=live) if live else set()
    for assignment in assignments:
        row = by_id.get(assignment.dossier_id)
        if row is None:
            continue
        review = assignment.review
        line = ReviewerLine(assignment, conflicted=(assignment.dossier_id, assignment.reviewer_id) in blocked,
                            single_review=reviews_by[assignment.reviewer_id] == 1)
        if review is not None and review.id in total_of:
            line.total = scores.rounded(total_of[review.id])
            line.calibrated = scores.rounded(calibration.calibrated[review.id])
            line.uncalibrated = assignment.reviewer_id in calibration.uncalibrated_reviewers
        row.reviewers.append(line)


def scores_table(call: Call) -> list[ScoreRow]:
    """Every competing dossier of the call with its score and its reviewers (the CSV, the whole call)."""
    rows, computed = score_rows(call)
    attach_reviewers(call, rows, computed, every_row=True)
    return rows


def _sorted(call: Call, *, every_row: bool) -> tuple[list[ScoreRow], ranking_service.CallScores, str, bool]:
    sort = request.args.get("tri", "moyenne")
    sort = sort if sort in SORTS else "moyenne"
    reverse = request.args.get("ordre") == "inverse"
    rows, computed = score_rows(call)
    if every_row:
        attach_reviewers(call, rows, computed, every_row=True)
    return sorted(rows, key=SORTS[sort], reverse=reverse), computed, sort, reverse


@bp.route("/appels/<slug>/notes")
def scores_page(slug: str):
    """Sorted over the whole call by the scores alone; the reviewers are loaded for the rows shown only."""
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    table, computed, sort, reverse = _sorted(call, every_row=False)
    pages = max(1, math.ceil(len(table) / PER_PAGE))
    page = min(page_arg(), pages)
    shown = table[(page - 1) * PER_PAGE: page * PER_PAGE]
    attach_reviewers(call, shown, computed)
    args = {"tri": sort} | ({"ordre": "inverse"} if reverse else {})
    return render_template("admin/scores.html", call=call, rows=shown,
                           total=len(table), page=page, pages=pages, args=args, sort=sort, reverse=reverse,
                           threshold=call.disagreement_threshold)


def _number(value) -> str:
    return "" if value is None else str(value).replace(".", ",")


@bp.route("/appels/<slug>/notes.csv")
def scores_csv(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    table, _computed, _sort, _reverse = _sorted(call, every_row=True)
    header = [_("Dossier"), _("Pôle"), _("Moyenne pondérée (/100)"), _("Note calibrée (/100)"),
              _("Écart (part de l'échelle)"), _("Désaccord"), _("Évaluations remises"), _("Évaluations attendues"),
              _("Rapporteurs"), _("Statut du dossier")]

    def rows():
        for row in table:
            people = " | ".join(
                f"{line.assignment.reviewer.display_name} ({_institution(line.assignment)}) : {_number(line.total)}"
                for line in row.reviewers if line.counts or line.total is not None)
            yield [row.dossier.id, row.dossier.pole_name, _number(row.score.mean), _number(row.score.calibrated),
                   _number(row.score.spread), _("oui") if row.score.disagreement else _("non"),
                   row.score.submitted, row.expected, people, row.dossier.status.label]

    return csv_response(f"notes-{call.slug}.csv", header, rows())


def _institution(assignment: Assignment) -> str:
    institution = assignment.institution or assignment.reviewer.institution
    return institution.name if institution else "—"


@bp.route("/evaluations/<int:review_id>/reouvrir", methods=["GET", "POST"])
@on_lost_race(_l("Cette évaluation a déjà été rouverte (par vous dans un autre onglet ou par un autre "
                 "administrateur) : elle ne l'a été qu'une fois."))
def reopen_review(review_id: int):
    review = load_or_404(Review, review_id)
    require(can_reopen_review(current_user, review), hide=False)
    call = review.assignment.dossier.call
    form = ReopenReviewForm()
    if form.validate_on_submit():
        try:
            review_service.reopen_review(review, by=current_user, reason=form.reason.data)
            db.session.commit()
        except DomainError as exc:
            show_on_form(exc, form)
        else:
            flash(_("L'évaluation est rouverte : son rapporteur peut de nouveau la modifier."), "success")
            return redirect(url_for("admin.scores_page", slug=call.slug))
    return render_template("admin/reopen_review.html", review=review, call=call, form=form,
                           institution=_institution(review.assignment)), 200 if request.method == "GET" else 422
