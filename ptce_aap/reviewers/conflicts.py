"""A reviewer's conflicts of interest for a call of their pool: declare one (on a pole of the call by its
name, a structure by SIREN, a department, their institution's involvement), see what was set or detected
for them, withdraw what they declared.

What a reviewer learns here: the names of the poles that submitted a dossier to the call (the list of
applicants is not secret to the committee, and one cannot declare a conflict on a pole one cannot name),
and, for their own conflicts, the target and reason. Nothing else of a dossier: no members, no SIRENs
other than what they typed or their own institution's, and nothing about other reviewers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.domain.money import ascii_int
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.permissions import can_declare_conflicts, can_withdraw_conflict, require
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.reviewers.conflict_forms import ConfirmForm, ConflictForm
from ptce_aap.services import conflicts as conflict_service
from ptce_aap.web import domain_errors, load_or_404, show_on_form


@bp.context_processor
def _my_pool_calls():
    def my_pool_calls() -> list[Call]:
        """The calls whose pool the current reviewer is in (for the dashboard's links)."""
        return db.session.scalars(sa.select(Call).join(ReviewerPoolMember, ReviewerPoolMember.call_id == Call.id)
                                  .where(ReviewerPoolMember.user_id == current_user.id)
                                  .order_by(Call.closes_at.desc())).all()

    return {"my_pool_calls": my_pool_calls}


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_declare_conflicts(current_user, call))
    return call


def _render(call: Call, form: ConflictForm, poles, status: int = 200):
    rows = conflict_service.conflicts_of_call(call, reviewer_id=current_user.id)
    member = conflict_service.pool_member(call, current_user.id)
    institutions = conflict_service.institution_names([member.institution_id, *(c.institution_id for c, *_r in rows)])
    names = dict(poles)
    return render_template(
        "reviewers/conflicts.html", call=call, rows=rows, form=form, confirm_form=ConfirmForm(), poles=poles,
        institution=institutions.get(member.institution_id),
        describe=lambda c: conflict_service.describe(c, names, institutions),
        reason_of=conflict_service.reason_of), status


@bp.route("/appels/<slug>/conflits", methods=["GET", "POST"])
def conflicts(slug: str):
    call = _call(slug)
    poles = conflict_service.submitted_poles(call)
    if request.method == "GET":
        return _render(call, ConflictForm(formdata=None, poles=poles), poles)
    if request.form.get("kind") == "pole" and request.form.get("pole_id") and \
            ascii_int(request.form.get("pole_id"), maximum=2**31 - 1) not in dict(poles):
        abort(404)  # not a pole of this call
    form = ConflictForm(poles=poles)
    if form.validate_on_submit():
        try:
            conflict_service.add_conflict(call, current_user, kind=form.kind.data, value=form.target_value(),
                                          reason=form.reason.data or "", by=current_user)
        except DomainError as exc:  # the form again, what was typed kept, the error beside its field
            show_on_form(exc, form)
        else:
            db.session.commit()
            flash(_("Votre conflit d’intérêts a été enregistré : les dossiers concernés ne vous seront pas "
                    "attribués."), "success")
            return redirect(url_for("reviewers.conflicts", slug=call.slug))
    return _render(call, form, poles, 400)


@bp.route("/appels/<slug>/conflits/<int:conflict_id>/retrait", methods=["POST"])
@domain_errors(back=lambda slug, conflict_id: url_for("reviewers.conflicts", slug=slug))
def conflict_withdraw(slug: str, conflict_id: int):
    call = _call(slug)
    conflict = load_or_404(ConflictOfInterest, conflict_id, call_id=call.id)
    require(conflict.reviewer_id == current_user.id)  # another reviewer's conflict does not exist here
    require(can_withdraw_conflict(current_user, conflict), hide=False)
    if ConfirmForm().validate_on_submit():
        conflict_service.withdraw_conflict(conflict, by=current_user)
        db.session.commit()
        flash(_("Votre déclaration a été retirée."), "success")
    return redirect(url_for("reviewers.conflicts", slug=call.slug))
