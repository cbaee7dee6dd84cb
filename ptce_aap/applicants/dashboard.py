"""Applicant (porteur) pages: the dashboard of one's dossiers, and starting a dossier for a call."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ptce_aap.applicants import forms
from ptce_aap.applicants.blueprint import bp
from ptce_aap.enums import AttachmentStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Attachment, Dossier, DossierTransition, Pole, PoleMembership
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.web import load_or_404, show_on_form


@bp.route("/")
def dashboard():
    rows = db.session.execute(
        sa.select(Dossier, Call)
        .join(Call, Call.id == Dossier.call_id)
        .join(PoleMembership, PoleMembership.pole_id == Dossier.pole_id)
        .where(PoleMembership.user_id == current_user.id)
        .options(selectinload(Dossier.transitions).joinedload(DossierTransition.actor))
        .order_by(Dossier.updated_at.desc())
    ).all()
    submitted = [d.id for d, _call in rows if d.receipt_number and not d.receipt_key]
    # Files still being verified, per submitted dossier whose receipt waits for them: one query for all cards
    # (also when none waits, so that the page's queries do not depend on its dossiers).
    verifying = dict(db.session.execute(
        sa.select(Attachment.dossier_id, sa.func.count()).where(
            Attachment.dossier_id.in_(submitted), Attachment.status == AttachmentStatus.PROCESSING)
        .group_by(Attachment.dossier_id)).all())
    return render_template("applicants/dashboard.html", rows=rows, verifying=verifying)


@bp.route("/appels/<slug>/nouveau", methods=["GET", "POST"])
def new_dossier(slug: str):
    call = load_or_404(Call, slug=slug)
    if not dossier_service.accepts_submissions(call, utcnow()):
        flash(_("Cet appel à projets n'accepte pas de nouveau dossier."), "error")
        return redirect(url_for("public.call", slug=call.slug))
    poles = db.session.scalars(
        sa.select(Pole).join(PoleMembership).where(PoleMembership.user_id == current_user.id).order_by(Pole.name)
    ).all()
    existing = {d.pole_id: d for d in db.session.scalars(
        sa.select(Dossier).where(Dossier.call_id == call.id, Dossier.pole_id.in_([p.id for p in poles])))}
    form = forms.NewDossierForm()
    form.pole_id.choices = [("", _("Un nouveau pôle"))] + [
        (str(p.id), p.name) for p in poles if p.id not in existing]
    if not form.validate_on_submit():
        return _render_new(call, form, existing)
    pole = next((p for p in poles if str(p.id) == form.pole_id.data and p.id not in existing), None)
    try:
        dossier = dossier_service.start_dossier(call, pole_name=form.pole_name.data or "", by=current_user,
                                                pole=pole)
    except DomainError as exc:  # shown beside the pole name, with what was typed
        show_on_form(exc, form)
        return _render_new(call, form, existing)
    try:
        db.session.commit()
    except IntegrityError:  # the same pole's dossier created twice at once (double click)
        db.session.rollback()
        twin = db.session.scalar(sa.select(Dossier).where(Dossier.call_id == call.id,
                                                          Dossier.pole_id == getattr(pole, "id", None)))
        if twin is None:
            raise
        return redirect(url_for("applicants.dossier", dossier_id=twin.id))
    flash(_("Le dossier a été créé. Vous pouvez le remplir en plusieurs fois : chaque section est "
            "enregistrée automatiquement."), "success")
    return redirect(url_for("applicants.dossier", dossier_id=dossier.id))


def _render_new(call: Call, form, existing: dict):
    return render_template("applicants/new_dossier.html", call=call, form=form, existing=list(existing.values()))
