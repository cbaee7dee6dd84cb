"""The admin's conflicts of interest of a call: the three sources side by side, set a conflict on any
target, re-run the detection, clear a detected conflict with a reason, remove a declared or set one.
Writes go through ``services.conflicts``."""

from __future__ import annotations

import math

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.forms import ConfirmForm
from ptce_aap.admin.pool_forms import AdminConflictForm, ClearForm
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import ConflictSource
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.permissions import can_manage_pool, require
from ptce_aap.services import conflicts as conflict_service
from ptce_aap.web import domain_errors, load_or_404, page_arg, show_on_form

MAX_ID = 2**31 - 1
PER_PAGE = 100


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_pool(current_user, call))
    return call


def _pool_users(call: Call) -> list[User]:
    return db.session.scalars(
        sa.select(User).join(ReviewerPoolMember, ReviewerPoolMember.user_id == User.id)
        .where(ReviewerPoolMember.call_id == call.id).order_by(sa.func.lower(User.full_name), User.id)).all()


def _render(call: Call, form: AdminConflictForm, status: int = 200):
    source = request.args.get("source", "")
    source = ConflictSource(source) if source in {s.value for s in ConflictSource} else None
    total = conflict_service.count_of_call(call, source=source)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    rows = conflict_service.conflicts_of_call(call, source=source, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    poles = conflict_service.submitted_poles(call)
    names = dict(poles)
    institutions = conflict_service.institution_names(c.institution_id for c, *_rest in rows)
    return render_template(
        "admin/conflicts.html", call=call, rows=rows, total=total, page=page, pages=pages, form=form,
        confirm_form=ConfirmForm(), source=source, sources=list(ConflictSource),
        args={"source": source.value} if source else {},
        describe=lambda c: conflict_service.describe(c, names, institutions),
        reason_of=conflict_service.reason_of), status


@bp.route("/appels/<slug>/conflits", methods=["GET", "POST"])
def conflicts(slug: str):
    call = _call(slug)
    reviewers = _pool_users(call)
    poles = conflict_service.submitted_poles(call)
    if request.method == "GET":
        return _render(call, AdminConflictForm(formdata=None, reviewers=reviewers, poles=poles))
    # Ids that are not the call's (another call's pole, someone outside the pool) do not exist here.
    reviewer_id = ascii_int(request.form.get("reviewer_id", ""), maximum=MAX_ID)
    if request.form.get("reviewer_id") and reviewer_id not in {u.id for u in reviewers}:
        abort(404)
    if request.form.get("kind") == "pole" and request.form.get("pole_id") and \
            ascii_int(request.form.get("pole_id"), maximum=MAX_ID) not in dict(poles):
        abort(404)
    form = AdminConflictForm(reviewers=reviewers, poles=poles)
    if form.validate_on_submit():
        reviewer = db.session.get(User, reviewer_id)
        try:
            conflict_service.add_conflict(call, reviewer, kind=form.kind.data, value=form.target_value(),
                                          reason=form.reason.data or "", by=current_user)
        except DomainError as exc:  # the form again, what was typed kept, the error beside its field
            show_on_form(exc, form)
        else:
            db.session.commit()
            flash(_("Le conflit d’intérêts a été enregistré : ce rapporteur n’a plus accès aux dossiers concernés."),
                  "success")
            return redirect(url_for("admin.conflicts", slug=call.slug))
    return _render(call, form, 400)


@bp.route("/appels/<slug>/conflits/detection", methods=["POST"])
@domain_errors(back=lambda slug: url_for("admin.conflicts", slug=slug))
def conflicts_detect(slug: str):
    call = _call(slug)
    if ConfirmForm().validate_on_submit():
        added, removed = conflict_service.detect_conflicts(call, by=current_user)
        db.session.commit()
        flash(_("Détection relancée : %(added)s conflit(s) ajouté(s), %(removed)s retiré(s) car ils ne se "
                "vérifient plus.", added=added, removed=removed), "success")
    return redirect(url_for("admin.conflicts", slug=call.slug))


def _conflict(call: Call, conflict_id: int) -> ConflictOfInterest:
    return load_or_404(ConflictOfInterest, conflict_id, call_id=call.id)


@bp.route("/appels/<slug>/conflits/<int:conflict_id>/lever", methods=["GET", "POST"])
@domain_errors(back=lambda slug, conflict_id: url_for("admin.conflicts", slug=slug))
def conflict_clear(slug: str, conflict_id: int):
    call = _call(slug)
    conflict = _conflict(call, conflict_id)
    if conflict.source != ConflictSource.DETECTED or not conflict.is_active:
        raise DomainError(_("Seul un conflit détecté et encore actif peut être levé."))
    form = ClearForm()
    if form.validate_on_submit():
        conflict_service.clear_conflict(conflict, reason=form.reason.data, by=current_user)
        db.session.commit()
        flash(_("Le conflit a été levé ; le motif reste visible avec lui."), "success")
        return redirect(url_for("admin.conflicts", slug=call.slug))
    names = dict(conflict_service.submitted_poles(call))
    institutions = conflict_service.institution_names([conflict.institution_id])
    return render_template("admin/conflict_clear.html", call=call, conflict=conflict, form=form,
                           target=conflict_service.describe(conflict, names, institutions),
                           reason_of=conflict_service.reason_of), \
        (400 if request.method == "POST" else 200)


@bp.route("/appels/<slug>/conflits/<int:conflict_id>/suppression", methods=["POST"])
@domain_errors(back=lambda slug, conflict_id: url_for("admin.conflicts", slug=slug))
def conflict_remove(slug: str, conflict_id: int):
    call = _call(slug)
    conflict = _conflict(call, conflict_id)
    if ConfirmForm().validate_on_submit():
        conflict_service.remove_conflict(conflict, by=current_user)
        db.session.commit()
        flash(_("Le conflit d’intérêts a été supprimé."), "success")
    return redirect(url_for("admin.conflicts", slug=call.slug))
