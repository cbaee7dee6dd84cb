"""Applicant pages for a pole's co-editors: invite, remove, cancel an invitation, accept one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.applicants import forms
from ptce_aap.applicants._common import viewable_dossier
from ptce_aap.applicants.blueprint import bp
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.models.accounts import User
from ptce_aap.models.dossiers import Invitation, Pole
from ptce_aap.permissions import can_manage_pole, is_pole_member, require
from ptce_aap.services import coeditors
from ptce_aap.web import domain_error_response, domain_errors, key_or_404


def _editors_url(dossier_id: int, **args) -> str:
    return url_for("applicants.dossier", dossier_id=dossier_id, **args) + "#coediteurs"


@bp.route("/dossiers/<int:dossier_id>/coediteurs", methods=["POST"])
@limiter.limit("20 per hour", key_func=lambda: f"invite:{current_user.id}")
def invite_coeditor(dossier_id: int):
    d = viewable_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        flash(_("Saisissez l'adresse électronique de la personne à inviter."), "error")
        return redirect(_editors_url(d.id))
    try:
        coeditors.invite(d.pole, form.email.data, by=current_user)
    except DomainError as exc:  # back to the form, the address still typed in it
        return domain_error_response(exc, back=_editors_url(d.id, invite=form.email.data))
    db.session.commit()
    flash(_("Invitation envoyée à %(email)s.", email=form.email.data.strip()), "success")
    return redirect(_editors_url(d.id))


@bp.route("/dossiers/<int:dossier_id>/coediteurs/<int:user_id>/retirer", methods=["POST"])
@domain_errors(back=lambda dossier_id, **_args: _editors_url(dossier_id))
def remove_coeditor(dossier_id: int, user_id: int):
    d = viewable_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    key_or_404(User, user_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    coeditors.remove(d.pole, user_id, by=current_user)
    db.session.commit()
    flash(_("La personne a été retirée des éditeurs du dossier."), "success")
    return redirect(_editors_url(d.id))


@bp.route("/dossiers/<int:dossier_id>/invitations/<int:invitation_id>/annuler", methods=["POST"])
@domain_errors(back=lambda dossier_id, **_args: _editors_url(dossier_id))
def cancel_invitation(dossier_id: int, invitation_id: int):
    d = viewable_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    key_or_404(Invitation, invitation_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    invitation = coeditors.cancel(d.pole, invitation_id, by=current_user)
    db.session.commit()
    flash(_("L'invitation envoyée à %(email)s est annulée.", email=invitation.email), "success")
    return redirect(_editors_url(d.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = coeditors.read_invitation(token)
    except DomainError as exc:  # the page explains what is wrong with the link
        return render_template("applicants/invitation.html", error=exc.message, invitation=None, form=None), 400
    pole = db.session.get(Pole, invitation.pole_id)
    if invitation.accepted_at is not None:  # used: never « Accepter » again
        return _used(invitation, pole, status=409 if request.method == "POST" else 200)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        try:
            coeditors.accept(token, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            return render_template("applicants/invitation.html", error=exc.message, invitation=invitation,
                                   pole=pole, form=None), 403
        db.session.commit()
        flash(_("Vous pouvez désormais compléter les dossiers du pôle « %(name)s ».", name=pole.name), "success")
        return redirect(_pole_url(pole))
    return render_template("applicants/invitation.html", invitation=invitation, pole=pole, form=form, error=None)


def _pole_url(pole: Pole) -> str:
    """The pole's dossier (its latest one), where an accepted invitation leads; the dashboard if none."""
    dossier_id = coeditors.latest_dossier_id(pole.id)
    return url_for("applicants.dossier", dossier_id=dossier_id) if dossier_id else url_for("applicants.dashboard")


def _used(invitation: Invitation, pole: Pole, *, status: int):
    member = is_pole_member(current_user, pole.id)
    return render_template("applicants/invitation.html", invitation=invitation, pole=pole, form=None, error=None,
                           used=True, dossier_url=_pole_url(pole) if member else None), status
