"""Flask-Login wiring and how a session ends.

A session names the user and the account's session token (``User.get_id``); it is accepted while:

- the token is the account's current one: logging out, changing or resetting the password and
  "log out my other sessions" rotate it, so a copied cookie dies with them;
- it was used within ``PERMANENT_SESSION_LIFETIME`` (idle limit, 8 h: the cookie's signed timestamp);
- it was opened less than ``SESSION_ABSOLUTE_LIFETIME`` ago (12 h), however active it has been;
- it comes from the browser (User-Agent) it was opened in.
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, flash, jsonify, redirect, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
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
        if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 9) or not token:
            return None  # ASCII digits that fit the id column only
        if not _session_still_valid():
            _forget_login()
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_token != token or not user.is_active:
            return None
        return user


AUTH_AT = "auth_at"  # when the session was opened (epoch seconds)
AUTH_UA = "auth_ua"  # digest of the User-Agent it was opened with


def _now() -> int:
    return int(time.time())


def _user_agent_digest() -> str:
    return hashlib.sha256(request.headers.get("User-Agent", "").encode()).hexdigest()[:16]


def _session_still_valid() -> bool:
    """Absolute lifetime and browser of the current session. A session opened before these keys
    existed gets them now (so its 12 h start now, bounded like any other)."""
    now = _now()
    opened = session.get(AUTH_AT)
    if not isinstance(opened, int):
        session[AUTH_AT] = opened = now
    if now - opened >= current_app.config["SESSION_ABSOLUTE_LIFETIME"]:
        return False
    ua = session.setdefault(AUTH_UA, _user_agent_digest())
    return ua == _user_agent_digest()


def _forget_login() -> None:
    for key in ("_user_id", "_fresh", "_id", AUTH_AT, AUTH_UA):
        session.pop(key, None)


def start_session(user) -> None:
    """Log ``user`` in on a fresh session (only the chosen language survives)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True  # idle limit: PERMANENT_SESSION_LIFETIME, refreshed by each request
    session[AUTH_AT] = _now()
    session[AUTH_UA] = _user_agent_digest()
    login_user(user)


def keep_session(user) -> None:
    """After the account's session token rotated: this session goes on (same opening time), the
    others are over."""
    login_user(user)
