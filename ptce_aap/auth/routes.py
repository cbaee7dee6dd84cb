"""Accounts: registration, email verification, login, logout, password reset.

No page tells whether an address has an account: registration, a new verification link and a
forgotten password all end on the same "check your mailbox" page, and a failed login always gives
the same message.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.exceptions import HTTPException

from ptce_aap import tokens
from ptce_aap.auth.blueprint import bp
from ptce_aap.auth.forms import ConfirmEmailForm, EmailForm, LoginForm, RegisterForm, ResetPasswordForm
from ptce_aap.auth_setup import start_session
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.i18n import translate
from ptce_aap.models.dossiers import Pole
from ptce_aap.services import accounts, coeditors
from ptce_aap.urls import safe_next


def _auth_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# Each POST that checks a password or sends a mail is limited per client address.
rate_limited = limiter.limit(_auth_rate_limit, methods=["POST"])


def home_for(user) -> str:
    """Where a user lands after logging in: the space of their highest role."""
    if user.has_role(Role.ADMIN):
        return url_for("admin.dashboard")
    if user.has_role(Role.REVIEWER):
        return url_for("reviewers.dashboard")
    if user.has_role(Role.APPLICANT):
        return url_for("applicants.dashboard")
    return url_for("public.home")


def _check_email_page(reason: str, email: str, then: str | None = None):
    session["check_email"] = {"reason": reason, "email": email, **({"next": then} if then else {})}
    return redirect(url_for("auth.check_email"))


def invitation_at(path: str | None) -> dict | None:
    """``{"email", "pole_name"}`` of the valid invitation a path of this site leads to (the link mailed to
    a co-editor, ``/porteur/invitations/<token>``), else None: the login and sign-up pages then say where
    the person is going, and the invitation is carried through sign-up and verification."""
    if not path:
        return None
    try:
        endpoint, args = current_app.url_map.bind_to_environ(request.environ).match(urlsplit(path).path)
    except HTTPException:
        return None
    if endpoint != "applicants.accept_invitation":
        return None
    invitation = coeditors.invitation_or_none(args["token"])
    if invitation is None:
        return None
    pole = db.session.get(Pole, invitation.pole_id)
    return {"email": invitation.email, "pole_name": pole.name if pole else "",
            "used": invitation.accepted_at is not None}


@bp.route("/inscription", methods=["GET", "POST"])
@rate_limited
def register():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_for(current_user))
    invitation = invitation_at(next_url)
    form = RegisterForm()
    if request.method == "GET" and invitation and not invitation["used"]:
        form.email.data = invitation["email"]  # the invitation is bound to this address
    if form.validate_on_submit():
        try:
            accounts.register_applicant(form.email.data, form.password.data, full_name=form.full_name.data,
                                        then=next_url)
        except DomainError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "", None)
            (field.errors if field is not None else form.form_errors).append(translate(exc.message))
        else:
            db.session.commit()
            return _check_email_page("register", form.email.data, next_url)
    return render_template("auth/register.html", form=form, next_url=next_url, invitation=invitation,
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"])


@bp.route("/verifiez-vos-courriels")
def check_email():
    """The single answer to registration, new verification link and forgotten password."""
    info = session.get("check_email") or {}
    reason = info.get("reason", "register")
    max_age = tokens.max_age_of(tokens.RESET_PASSWORD if reason == "reset" else tokens.VERIFY_EMAIL)
    return render_template("auth/check_email.html", reason=reason, email=info.get("email", ""),
                           hours=max(1, max_age // 3600), next_url=safe_next(info.get("next")))


@bp.route("/verifier/<token>", methods=["GET", "POST"])
@rate_limited
def verify_email(token: str):
    """GET shows a form (a mail scanner opening the link changes nothing); POST with the password
    chosen at registration verifies the address and logs in."""
    try:
        user = accounts.read_verification_token(token)
    except tokens.TokenError as exc:
        return _invalid_link("verify", expired=exc.expired)
    then = accounts.verification_then(token)  # where they were going when they signed up (an invitation)
    if user.is_email_verified:
        if current_user.is_authenticated and current_user.id == user.id:
            flash(_("Votre adresse électronique est déjà vérifiée."), "info")
            return redirect(then or home_for(user))
        flash(_("Votre adresse électronique est déjà vérifiée. Vous pouvez vous connecter."), "info")
        return redirect(url_for("auth.login", next=then) if then else url_for("auth.login"))
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        try:
            user = accounts.confirm_email(token, form.password.data)
        except tokens.TokenError as exc:
            db.session.rollback()
            return _invalid_link("verify", expired=exc.expired)
        except accounts.LoginError:
            db.session.commit()  # the audit of the failure
            form.password.errors.append(_(
                "Ce n’est pas le mot de passe choisi lors de l’inscription avec cette adresse. Si vous ne "
                "le retrouvez pas, créez votre compte à nouveau ou demandez un nouveau mot de passe."))
        else:
            accounts.record_login(user)
            db.session.commit()
            start_session(user)
            flash(_("Votre adresse électronique est vérifiée. Bienvenue sur la plateforme !"), "success")
            return redirect(then or home_for(user))
    return render_template("auth/confirm_email.html", form=form, token=token, email=user.email)


@bp.route("/verification/renvoyer", methods=["GET", "POST"])
@rate_limited
def resend_verification():
    next_url = safe_next(request.args.get("next"))
    form = EmailForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"].strip().lower()[:254]
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data, then=next_url)
        db.session.commit()
        return _check_email_page("resend", form.email.data, next_url)
    return render_template("auth/resend_verification.html", form=form, next_url=next_url)


@bp.route("/connexion", methods=["GET", "POST"])
@rate_limited
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_for(current_user))
    form = LoginForm()
    error = unverified_email = None
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.LoginError as exc:
            db.session.commit()  # the audit of the failure
            if exc.reason == "unverified":
                unverified_email = form.email.data
            else:
                error = _("Adresse électronique ou mot de passe incorrect.")
        else:
            accounts.record_login(user)
            db.session.commit()
            start_session(user)
            flash(_("Vous êtes connecté(e). Bonjour %(name)s !", name=user.display_name), "success")
            return redirect(next_url or home_for(user))
    return render_template("auth/login.html", form=form, error=error, unverified_email=unverified_email,
                           next_url=next_url, invitation=invitation_at(next_url))


@bp.route("/deconnexion", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.record_logout(current_user._get_current_object())  # rotates the session token
        db.session.commit()
        logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Vous êtes déconnecté(e)."), "info")
    return redirect(url_for("public.home"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@rate_limited
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        return _check_email_page("reset", form.email.data)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
@rate_limited
def reset_password(token: str):
    try:
        user = accounts.user_for_reset_token(token)
    except tokens.TokenError as exc:
        return _invalid_link("reset", expired=exc.expired)
    form = ResetPasswordForm(owner_email=user.email)
    first = user.password_hash is None  # an account created for them (reviewer invited): no password yet
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            form.password.errors.append(translate(exc.message))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            flash(_("Votre mot de passe est enregistré. Connectez-vous avec votre adresse électronique et ce "
                    "mot de passe.") if first else
                  _("Votre mot de passe a été modifié. Connectez-vous avec votre nouveau mot de passe."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, token=token, first=first,
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"])


def _invalid_link(kind: str, *, expired: bool):
    return render_template("auth/invalid_link.html", kind=kind, expired=expired), 400
