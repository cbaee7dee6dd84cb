"""Language: French by default, English on request. Formatting (amounts, Paris time) is ``ptce_aap.formatting``."""

from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_babel import get_locale, gettext
from flask_login import current_user

from ptce_aap import formatting
from ptce_aap.domain.messages import Message


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs: mails and PDFs are French
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def translate(value):
    """A message of the domain (``domain.messages.Message``, or its JSON as stored in eligibility results) in
    the reader's language; anything else as it is."""
    if isinstance(value, dict) and ("msgid" in value or "join" in value):
        value = Message.from_json(value)
    if isinstance(value, Message):
        return value.translate(gettext, str(get_locale() or "fr"))
    return value


def init_app(app) -> None:
    """Template filters for amounts, numbers and Paris time (``ptce_aap.formatting``), and ``tr`` for the
    domain's messages."""
    formatting.init_app(app)
    app.jinja_env.filters["tr"] = translate
