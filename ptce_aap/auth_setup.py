"""Flask-Login wiring: sessions name the user and its session token (rotated on password change)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login.utils import login_url

from ptce_aap.extensions import db, login_manager
from ptce_aap.models.accounts import User
from ptce_aap.urls import safe_next


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.headers.get("X-Autosave") == "1" or request.accept_mimetypes.best == "application/json":
            response = jsonify({"ok": False, "login": True, "message": _(
                "Votre session a expiré : vos dernières saisies sont toujours dans la page. Connectez-vous "
                "dans un autre onglet, puis cliquez sur « Enregistrer ».")})
            response.status_code = 401
            return response
        flash(str(login_manager.login_message), login_manager.login_message_category)
        target = safe_next(request.full_path if request.query_string else request.path)
        return redirect(login_url(login_manager.login_view, next_url=target))

    @login_manager.user_loader
    def load_user(value: str):
        user_id, _, token = value.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_token != token or not user.is_active:
            return None
        return user
