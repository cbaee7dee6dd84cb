"""Flask-Login wiring: sessions name the user and its session token (rotated on password change)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ptce_aap.extensions import db, login_manager
from ptce_aap.models.accounts import User


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(value: str):
        user_id, _, token = value.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_token != token or not user.is_active:
            return None
        return user
