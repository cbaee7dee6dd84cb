"""Flask extensions, created unbound and initialised in ``create_app``."""

import sqlite3
from functools import cached_property

import flask_babel
from flask import g
from flask_babel import Babel, Domain
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Constraint names are fixed so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@event.listens_for(Engine, "connect")
def _enforce_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite ignores foreign keys unless asked, per connection: RESTRICT and CASCADE hold there too.
    (Migrations turn this off while they rebuild tables: migrations/env.py.)"""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _looked_up_translations():
    """The request's translations if ``RequestDomain`` looked them up already, else None. ``g`` is read once
    (each attribute read through Flask's context proxy costs ~2 µs on this machine)."""
    try:
        return g._get_current_object()._flask_babel.babel_translations
    except (RuntimeError, AttributeError):  # no app context, or nothing looked up yet
        return None


class RequestDomain(Domain):
    """flask_babel's message domain, whose translations are looked up once per request instead of on every
    ``gettext``: flask_babel resolves its context three times, the locale (``str`` of a ``babel.Locale``) and
    its cache on each call, ~15–25 µs, and the scoring form translates ~300 strings. They are kept in
    flask_babel's own slot of the request's context, ``babel_translations``, which ``flask_babel.refresh()``
    clears and ``force_locale()`` empties then restores: they are always those of the locale flask_babel
    would use (it too keeps the locale once per request)."""

    def get_translations(self):
        translations = _looked_up_translations()
        if translations is None:
            translations = super().get_translations()
            ctx = flask_babel._get_current_context()
            if ctx is not None:
                ctx.babel_translations = translations
        return translations


def request_translations():
    """The translations of the request (``RequestDomain``), for the templates' ``_()``: flask_babel's own
    callables add a lookup of the domain (~6 µs) to each of the page's ~170 calls."""
    translations = _looked_up_translations()
    return translations if translations is not None else flask_babel.get_translations()


class PtceBabel(Babel):
    """flask_babel with ``RequestDomain`` as its domain."""

    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = PtceBabel()
limiter = Limiter(key_func=get_remote_address)
