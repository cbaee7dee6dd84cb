"""The reviewer's scoring page of one dossier (/rapporteur/dossiers/<id>/evaluation): the reading view
(``templates/reading/_dossier.html``) beside the scoring form, autosaved like the applicants' sections (same script, same optimistic
lock and never-lose-a-word: ``applicants.drafts`` and the field-by-field merge of ``applicants.merge``),
then submitted after a confirmation. Others' reviews of the dossier are shown once one's own is submitted.

Every view goes through ``permissions.reviewer_assignment`` (404 for a dossier not assigned, declined or
in conflict), JSON autosave included."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ptce_aap.applicants import drafts, merge
from ptce_aap.domain import scores
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.i18n import translate
from ptce_aap.models.accounts import User
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review
from ptce_aap.permissions import (
    can_edit_review,
    can_see_others_reviews,
    has_role,
    require,
    reviewer_assignment,
)
from ptce_aap.reviewers import forms
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.services import reading as reading_service
from ptce_aap.services import reviews as review_service
from ptce_aap.web import (
    autosave_rate_limited,
    domain_error_response,
    domain_errors,
    load_or_404,
    on_lost_race,
    show_on_form,
)

DRAFT_SECTION = "evaluation"


def assigned(dossier_id: int, *, full: bool = False) -> tuple[Dossier, Assignment]:
    """The dossier and the current reviewer's live assignment on it, or 404 (not assigned, declined, conflict);
    ``full``: the dossier with everything the reading view shows (``services.reading.READING_OPTIONS``), for
    the page (a save does not read it)."""
    dossier = load_or_404(Dossier, dossier_id, options=reading_service.READING_OPTIONS if full else ())
    assignment = reviewer_assignment(current_user, dossier) if has_role(current_user, Role.REVIEWER) else None
    require(assignment is not None)
    return dossier, assignment


def others_reviews(dossier: Dossier, own: Review | None) -> list[Review] | None:
    """The other reviewers' submitted reviews of the dossier, or None while they must stay hidden."""
    if not can_see_others_reviews(current_user, dossier, own):
        return None
    return list(db.session.scalars(
        sa.select(Review).join(Assignment, Assignment.id == Review.assignment_id)
        .where(Assignment.dossier_id == dossier.id, Review.submitted_at.is_not(None),
               Review.id != (own.id if own else None))
        .options(selectinload(Review.scores),
                 selectinload(Review.assignment).joinedload(Assignment.reviewer).joinedload(User.institution),
                 selectinload(Review.assignment).joinedload(Assignment.institution))
        .order_by(Review.submitted_at)))


def _render(dossier, assignment, review, form, *, conflict=None, problems=None, status=200):
    criteria = review_service.criteria_of(assignment)
    return render_template(
        "reviewers/review.html", dossier=dossier, call=dossier.call, assignment=assignment, review=review,
        form=form, criteria=criteria, conflict=conflict, problems=problems or [],
        editable=review.submitted_at is None, others=others_reviews(dossier, review),
        reopened=review_service.reopening(review),
        total=scores.rounded_total(review_service.lines(review, criteria), partial=True),
        draft_state=drafts.draft_state(dossier, DRAFT_SECTION),
        reading=reading_service.build_reading(_with_reading(dossier)),
        due_at=assignment.due_at or dossier.call.review_deadline_at), status


def _with_reading(dossier: Dossier) -> Dossier:
    """The dossier with what the reading view shows: as the page loaded it (``assigned(full=True)``), or loaded
    again with it (after a save, whose commit expired it; a POST loads the dossier alone)."""
    loaded = not sa.inspect(dossier).unloaded & {"members", "financing_lines", "attachments", "transitions", "call"}
    return dossier if loaded else reading_service.load_dossier(dossier.id)


def _attach(form, problems) -> None:
    for field, message in problems:
        message = translate(message)  # a domain message, in the reader's language
        target = getattr(form, field, None)
        if target is not None and message not in target.errors:
            target.errors = [*target.errors, message]


@bp.route("/dossiers/<int:dossier_id>/evaluation", methods=["GET", "POST"])
@autosave_rate_limited
def review(dossier_id: int):
    dossier, assignment = assigned(dossier_id, full=request.method == "GET")
    autosave = request.headers.get("X-Autosave") == "1"
    review = assignment.review
    if review is None:
        try:
            review = review_service.start_review(assignment, by=current_user)
            db.session.commit()
        except DomainError as exc:
            return domain_error_response(exc, back=url_for("reviewers.dashboard"), as_json=autosave)
    criteria = review_service.criteria_of(assignment)
    form_class = forms.review_form_class(criteria)
    if request.method == "GET" or not can_edit_review(current_user, review):
        if request.method == "POST":
            if autosave:
                return jsonify({"ok": False, "message": _("Cette évaluation a été remise : elle n'est plus "
                                                          "modifiable.")}), 409
            flash(_("Cette évaluation a été remise : elle n'est plus modifiable."), "info")
            return redirect(url_for("reviewers.review", dossier_id=dossier.id))
        return _render(dossier, assignment, review, forms.saved_form(review, criteria, form_class))
    form = form_class(formdata=request.form)
    form.validate()  # only a value outside the choices (not typable) is refused, by the service below
    try:
        review_service.save_review(review, form.values(), by=current_user, expected_version=form.expected_version(),
                                   autosave=autosave)
        db.session.flush()  # the version lock: a save in another tab since raises StaleDataError here
        # What the script is answered, read before the commit expires the review, its dossier, call and grid
        # (six queries to read them again).
        answer = _autosaved(review, criteria) if autosave else None
        db.session.commit()
    except (review_service.ReviewConflict, StaleDataError):
        db.session.rollback()
        if autosave:
            return jsonify({"ok": False, "conflict": True, "message": _(
                "Cette évaluation a été modifiée ailleurs. L'enregistrement automatique est suspendu : cliquez "
                "sur « Enregistrer » pour comparer les versions.")}), 409
        return _merge_or_conflict(dossier_id, form)
    except DomainError as exc:
        if autosave:
            return domain_error_response(exc, as_json=True)
        show_on_form(exc, form)
        return _render(dossier, assignment, review, form, status=422)
    if autosave:
        return jsonify(answer)
    return _saved(dossier, assignment, review, form)


def _autosaved(review, criteria) -> dict:
    """The answer to an autosave: the new version (the lock of the next save), the saved values (the base of
    the next merge), the running total, when."""
    return {"ok": True, "version": review.version, "base": forms.saved_form(review, criteria).base.data,
            "total": str(scores.rounded_total(review_service.lines(review, criteria), partial=True)),
            "saved_at": _("Enregistré automatiquement : %(time)s", time=format_paris(review.updated_at))}


def _saved(dossier, assignment, review, form, *, merged: bool = False):
    criteria = review_service.criteria_of(assignment)
    drafts.say_if_restored()
    drafts.mark_saved(dossier, DRAFT_SECTION)
    if request.form.get("then") == "submit":
        problems = review_service.submission_problems(review, criteria)
        if problems:
            fresh = forms.saved_form(review, criteria)
            _attach(fresh, problems)
            return _render(dossier, assignment, review, fresh, problems=problems, status=422)
        return redirect(url_for("reviewers.submit_review", dossier_id=dossier.id))
    flash(_("Évaluation enregistrée. Entre-temps, d'autres champs avaient été modifiés ailleurs : ces "
            "modifications ont été conservées avec les vôtres.") if merged else _("Évaluation enregistrée."),
          "success")
    return redirect(url_for("reviewers.review", dossier_id=dossier.id))


def _merge_or_conflict(dossier_id: int, mine):
    """Saved over a newer version: merge field by field; only fields both sides changed are shown to choose.
    What was typed stays in the form either way."""
    dossier, assignment = assigned(dossier_id)
    review = assignment.review
    criteria = review_service.criteria_of(assignment)
    if review.submitted_at is not None:
        flash(_("Cette évaluation a été remise entre-temps (dans un autre onglet) : elle n'est plus modifiable."),
              "warning")
        return _render(dossier, assignment, review, mine, status=409)
    theirs = forms.saved_form(review, criteria)
    take_theirs, conflicts = merge.three_way(merge.load(mine.base.data), mine.snapshot(), theirs.snapshot())
    if take_theirs:
        mine = type(mine)(formdata=merge.merged_formdata(mine, theirs, take_theirs), meta={"csrf": False})
    mine.version.data, mine.base.data = str(review.version), theirs.base.data
    if conflicts:
        differing = [{"label": _label(mine, key, criteria), "mine": mine[key].data or "—",
                      "theirs": theirs[key].data or "—"} for key in conflicts]
        return _render(dossier, assignment, review, mine, conflict=differing, status=409)
    try:
        review_service.save_review(review, mine.values(), by=current_user, expected_version=review.version)
        db.session.commit()
    except (review_service.ReviewConflict, StaleDataError):
        db.session.rollback()
        return _merge_or_conflict(dossier_id, mine)
    except DomainError as exc:
        show_on_form(exc, mine)
        return _render(dossier, assignment, review, mine, status=409)
    return _saved(dossier, assignment, review, mine, merged=True)


def _label(form, key: str, criteria) -> str:
    for c in criteria:
        if key == f"score_{c.id}":
            return _("Note : %(label)s", label=c.label)
        if key == f"comment_{c.id}":
            return _("Commentaire : %(label)s", label=c.label)
    return str(form[key].label.text)


@bp.route("/dossiers/<int:dossier_id>/evaluation/remise", methods=["GET", "POST"])
@on_lost_race(_l("Cette évaluation a déjà été remise (un double clic ou un autre onglet) : elle n'a été remise "
                 "qu'une fois. Rechargez la page de l'évaluation."))
@domain_errors(back=lambda dossier_id: url_for("reviewers.review", dossier_id=dossier_id))
def submit_review(dossier_id: int):
    dossier, assignment = assigned(dossier_id)
    review = assignment.review
    if review is None or not can_edit_review(current_user, review):
        return redirect(url_for("reviewers.review", dossier_id=dossier.id))
    criteria = review_service.criteria_of(assignment)
    form = forms.SubmitReviewForm()
    problems = review_service.submission_problems(review, criteria)
    if request.method == "POST" and form.validate():
        review_service.submit_review(review, by=current_user, expected_version=form.expected_version())
        db.session.commit()
        flash(_("Votre évaluation est remise. Vous pouvez maintenant lire celles des autres rapporteurs."),
              "success")
        return redirect(url_for("reviewers.review", dossier_id=dossier.id))
    if problems:
        flash(_("Votre évaluation n'est pas complète : complétez les points signalés avant de la remettre."),
              "warning")
        return redirect(url_for("reviewers.review", dossier_id=dossier.id))
    form.version.data = str(review.version)
    by_criterion = {s.criterion_id: s for s in review.scores}
    return render_template(
        "reviewers/submit.html", dossier=dossier, call=dossier.call, review=review, form=form,
        rows=[(c, by_criterion.get(c.id)) for c in criteria],
        total=scores.rounded_total(review_service.lines(review, criteria)))


@bp.errorhandler(CSRFError)
def expired_form(exc: CSRFError):
    """A refused CSRF token on a review save: never an error page that loses what was typed."""
    def show_again():
        dossier, assignment = assigned(request.view_args["dossier_id"])
        review = assignment.review
        if review is None or not can_edit_review(current_user, review):
            return None
        form = forms.review_form_class(review_service.criteria_of(assignment))(formdata=request.form,
                                                                               meta={"csrf": False})
        return lambda: _render(dossier, assignment, review, form, status=400)

    return drafts.keep_typed_text(exc, endpoint="reviewers.review", show_again=show_again)
