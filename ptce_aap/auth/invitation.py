"""A new reviewer's welcome page: the invitation link mailed when an administrator adds them to a call's
pool opens « Bienvenue — choisissez votre mot de passe »; the password set, the address is verified, the
person is logged in and lands on the call's conflicts page (their first step). Writes go through
``services.reviewer_invitations``."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ptce_aap import tokens
from ptce_aap.auth.blueprint import bp
from ptce_aap.auth.forms import WelcomePasswordForm
from ptce_aap.auth.routes import rate_limited
from ptce_aap.auth_setup import start_session
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.services import accounts, reviewer_invitations


def _invalid(exc: tokens.TokenError):
    used = getattr(exc, "used", False)
    return render_template("auth/invalid_link.html", kind="reviewer_invitation", expired=exc.expired,
                           used=used), 400


@bp.route("/invitation-rapporteur/<token>", methods=["GET", "POST"])
@rate_limited
def reviewer_invitation(token: str):
    """GET shows the form (a mail scanner opening the link changes nothing); POST sets the password."""
    try:
        invitation = reviewer_invitations.read_invitation(token)
    except tokens.TokenError as exc:
        return _invalid(exc)
    form = WelcomePasswordForm(owner_email=invitation.user.email)
    if form.validate_on_submit():
        try:
            invitation = reviewer_invitations.accept_invitation(token, form.password.data)
        except tokens.TokenError as exc:  # used in another tab meanwhile
            db.session.rollback()
            return _invalid(exc)
        except DomainError as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
        else:
            accounts.record_login(invitation.user)
            db.session.commit()
            start_session(invitation.user)
            flash(_("Bienvenue %(name)s : votre compte est activé. Première étape : déclarez ici vos éventuels "
                    "conflits d’intérêts avec les pôles candidats à « %(call)s », avant que des dossiers vous "
                    "soient attribués.", name=invitation.user.display_name, call=invitation.call.title), "success")
            return redirect(url_for("reviewers.conflicts", slug=invitation.call.slug))
    return render_template("auth/reviewer_invitation.html", form=form, token=token, invitation=invitation,
                           days=max(1, tokens.max_age_of(tokens.REVIEWER_INVITATION) // 86400),
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"])
