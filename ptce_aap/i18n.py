"""Language and time zone: French by default, English on request; datetimes shown in Europe/Paris."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, session
from flask_babel import format_decimal, get_locale
from flask_login import current_user

PARIS = ZoneInfo("Europe/Paris")


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


def to_paris(value: datetime | None) -> datetime | None:
    return value.astimezone(PARIS) if value else None


def format_paris(value: datetime | None, with_time: bool = True) -> str:
    """``23/11/2026 à 17:00 (heure de Paris)`` — explicit, whatever the server's zone."""
    if value is None:
        return ""
    local = value.astimezone(PARIS)
    if str(get_locale()) == "en":
        return local.strftime("%d/%m/%Y %H:%M (Paris time)" if with_time else "%d/%m/%Y")
    return local.strftime("%d/%m/%Y à %H:%M (heure de Paris)" if with_time else "%d/%m/%Y")


def format_eur(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return f"{format_decimal(value, format='#,##0.##')} €"


def init_app(app) -> None:
    app.jinja_env.filters["paris"] = format_paris
    app.jinja_env.filters["eur"] = format_eur
