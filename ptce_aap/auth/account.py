"""The account page (``/compte/``): change the password, log out the other sessions."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ptce_aap.auth.blueprint import bp
from ptce_aap.auth.forms import ChangePasswordForm, EndSessionsForm
from ptce_aap.auth.routes import rate_limited
from ptce_aap.auth_setup import keep_session
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.i18n import translate
from ptce_aap.services import accounts


def _page(password_form=None, sessions_form=None, status=200):
    return render_template(
        "auth/account.html", user=current_user,
        password_form=password_form or ChangePasswordForm(formdata=None, owner_email=current_user.email),
        sessions_form=sessions_form or EndSessionsForm(formdata=None),
        min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        idle_hours=_hours(current_app.config["PERMANENT_SESSION_LIFETIME"]),
        absolute_hours=_hours(current_app.config["SESSION_ABSOLUTE_LIFETIME"])), status


def _hours(lifetime) -> int:
    seconds = lifetime.total_seconds() if hasattr(lifetime, "total_seconds") else lifetime
    return max(1, round(seconds / 3600))


@bp.route("/")
@login_required
def account():
    return _page()


@bp.route("/mot-de-passe", methods=["POST"])
@login_required
@rate_limited
def change_password():
    form = ChangePasswordForm(owner_email=current_user.email)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except DomainError as exc:
            db.session.commit()  # the audit of the failure
            if exc.field == "current_password":
                form.current_password.errors.append(_("Ce n’est pas votre mot de passe actuel."))
            else:  # the password rules, already translated
                form.password.errors.append(translate(exc.message))
        else:
            db.session.commit()
            keep_session(user)
            flash(_("Votre mot de passe est modifié. Vos autres sessions ont été fermées."), "success")
            return redirect(url_for("auth.account"))
    return _page(password_form=form, status=400)


@bp.route("/sessions/fermer", methods=["POST"])
@login_required
def end_other_sessions():
    form = EndSessionsForm()
    if not form.validate_on_submit():
        return _page(sessions_form=form, status=400)
    user = current_user._get_current_object()
    accounts.end_other_sessions(user)
    db.session.commit()
    keep_session(user)
    flash(_("Vos autres sessions sont fermées. Celle-ci reste ouverte."), "success")
    return redirect(url_for("auth.account"))
