"""The admin's scores page of a call (/admin/appels/<slug>/notes, 100 dossiers a page, sorted over the whole
call): per dossier the weighted mean of its submitted reviews, the calibrated score, the spread with its « désaccord » badge and the reviews handed
in out of those expected, with the reviewers (names, institutions, totals, confidential notes); sortable,
exported as CSV. A submitted review can be reopened from here, with a reason (audited).

The page reads a constant number of queries whatever the number of dossiers: the scores of the whole call come
from plain columns and sums made by the database (``scores_table``), the reviewers only for the 100 rows shown
(``add_reviewers``, one query) — no ORM object per row (1,000 dossiers: see bench/README.md)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import aliased

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain import scores
from ptce_aap.enums import AssignmentStatus, DossierStatus, Recommendation
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review
from ptce_aap.permissions import DECLINED, can_manage_call, can_reopen_review, require
from ptce_aap.reviewers.forms import ReopenReviewForm
from ptce_aap.services import reviews as review_service
from ptce_aap.web import load_or_404, page_arg, show_on_form

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
    """One reviewer of a dossier, as the table shows it (plain values read in one query, no ORM objects)."""

    assignment_id: int
    reviewer_name: str
    institution: str
    status: AssignmentStatus
    review_id: int | None = None
    recommendation: Recommendation | None = None
    confidential_note: str = ""
    total: Decimal | None = None
    calibrated: Decimal | None = None
    uncalibrated: bool = False


@dataclass(frozen=True)
class DossierRef:
    id: int
    pole_name: str


@dataclass
class ScoreRow:
    dossier: DossierRef
    score: scores.DossierScore = EMPTY
    reviewers: list[ReviewerLine] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(1 for line in self.reviewers if line.status not in DECLINED)


def scores_table(call: Call) -> tuple[list[ScoreRow], scores.Calibration, dict[int, Decimal]]:
    """Every submitted (non-draft) dossier of the call with its score, in three queries (its id and name,
    and the reviews' totals summed by the database); the reviewers are added by ``add_reviewers``, for
    the rows shown only."""
    dossiers = db.session.execute(sa.select(Dossier.id, Dossier.pole_name).where(
        Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT)).all()
    rows = {d_id: ScoreRow(DossierRef(d_id, name or "")) for d_id, name in dossiers}
    totals = review_service.submitted_totals(call.id)
    by_dossier, calibration = scores.call_scores(totals, call.disagreement_threshold)
    for dossier_id, score in by_dossier.items():
        if dossier_id in rows:
            rows[dossier_id].score = score
    return list(rows.values()), calibration, {t.review_id: t.total for t in totals}


def add_reviewers(call: Call, rows: list[ScoreRow], calibration: scores.Calibration,
                  total_of: dict[int, Decimal]) -> None:
    """Fill each row's reviewers (names, institutions, reviews) in one query of plain columns."""
    by_id = {row.dossier.id: row for row in rows}
    if not by_id:
        return
    frozen, own = aliased(Institution), aliased(Institution)
    query = (sa.select(Assignment.id, Assignment.dossier_id, Assignment.reviewer_id, Assignment.status,
                       User.full_name, User.email, sa.func.coalesce(frozen.name, own.name), Review.id,
                       Review.recommendation, Review.confidential_note)
             .join(User, User.id == Assignment.reviewer_id)
             .outerjoin(frozen, frozen.id == Assignment.institution_id)
             .outerjoin(own, own.id == User.institution_id)
             .outerjoin(Review, Review.assignment_id == Assignment.id)
             .join(Dossier, Dossier.id == Assignment.dossier_id)
             .where(Dossier.call_id == call.id)
             .order_by(Assignment.id))
    if len(by_id) <= PER_PAGE:
        query = query.where(Assignment.dossier_id.in_(list(by_id)))
    for (a_id, dossier_id, reviewer_id, status, full_name, email, institution, review_id, recommendation,
         note) in db.session.execute(query):
        row = by_id.get(dossier_id)
        if row is None:
            continue
        line = ReviewerLine(a_id, full_name or email, institution or "—", status, review_id, recommendation,
                            note or "")
        if review_id is not None and review_id in total_of:
            line.total = scores.rounded(total_of[review_id])
            line.calibrated = scores.rounded(calibration.calibrated[review_id])
            line.uncalibrated = reviewer_id in calibration.uncalibrated_reviewers
        row.reviewers.append(line)


def _sorted(call: Call):
    sort = request.args.get("tri", "moyenne")
    sort = sort if sort in SORTS else "moyenne"
    reverse = request.args.get("ordre") == "inverse"
    table, calibration, total_of = scores_table(call)
    return sorted(table, key=SORTS[sort], reverse=reverse), sort, reverse, calibration, total_of


@bp.route("/appels/<slug>/notes")
def scores_page(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    table, sort, reverse, calibration, total_of = _sorted(call)
    pages = max(1, math.ceil(len(table) / PER_PAGE))
    page = min(page_arg(), pages)
    args = {"tri": sort} | ({"ordre": "inverse"} if reverse else {})
    shown = table[(page - 1) * PER_PAGE: page * PER_PAGE]
    add_reviewers(call, shown, calibration, total_of)
    return render_template("admin/scores.html", call=call, rows=shown,
                           total=len(table), page=page, pages=pages, args=args, sort=sort, reverse=reverse,
                           threshold=call.disagreement_threshold)


def _number(value) -> str:
    return "" if value is None else str(value).replace(".", ",")


@bp.route("/appels/<slug>/notes.csv")
def scores_csv(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    table, _sort, _reverse, calibration, total_of = _sorted(call)
    add_reviewers(call, table, calibration, total_of)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_("Dossier"), _("Pôle"), _("Moyenne pondérée (/100)"), _("Note calibrée (/100)"),
                     _("Écart (part de l'échelle)"), _("Désaccord"), _("Évaluations remises"),
                     _("Évaluations attendues"), _("Rapporteurs")])
    for row in table:
        people = " | ".join(f"{line.reviewer_name} ({line.institution}) : {_number(line.total)}"
                            for line in row.reviewers if line.status not in DECLINED)
        writer.writerow([row.dossier.id, row.dossier.pole_name, _number(row.score.mean),
                         _number(row.score.calibrated), _number(row.score.spread),
                         _("oui") if row.score.disagreement else _("non"), row.score.submitted, row.expected, people])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="notes-{call.slug}.csv"'})


def _institution(assignment: Assignment) -> str:
    institution = assignment.institution or assignment.reviewer.institution
    return institution.name if institution else "—"


@bp.route("/evaluations/<int:review_id>/reouvrir", methods=["GET", "POST"])
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
