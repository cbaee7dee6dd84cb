"""Configuration: defaults, then ``config/<PTCE_ENV>.py``, then environment variables, then overrides.

``PTCE_ENV`` picks the file: ``embedded`` (default), ``production`` or ``testing``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
ENVIRONMENTS = ("embedded", "production", "testing")

# Settings read from the environment when set, with their type.
ENV_SETTINGS: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "S3_ENDPOINT_URL": str,
    "S3_BUCKET": str,
    "S3_REGION": str,
    "AWS_ACCESS_KEY_ID": str,
    "AWS_SECRET_ACCESS_KEY": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_USE_TLS": bool,
    "MAIL_USE_SSL": bool,
    "MAIL_TIMEOUT": int,
    "RQ_QUEUE": str,
    "MAIL_DEFAULT_SENDER": str,
    "PUBLIC_BASE_URL": str,
    "STORAGE_BACKEND": str,
    "LOCAL_STORAGE_DIR": str,
    "CLAMD_ADDRESS": str,
    "HEALTHZ_TOKEN": str,
    "RATELIMIT_STORAGE_URI": str,
    "LOG_LEVEL": str,
    "PROXY_HOPS": int,
    "SECRETARIAT_EMAIL": str,
}

DEFAULTS = {
    "DEVELOPMENT": True,
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "REDIS_URL": None,
    "RQ_QUEUE": "ptce",
    "STORAGE_BACKEND": None,
    "LOCAL_STORAGE_DIR": None,
    "S3_ENDPOINT_URL": None,
    "S3_BUCKET": None,
    "S3_REGION": "fr-par",
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_TIMEOUT": 30,
    "MAIL_DEFAULT_SENDER": "PTCE — appel à projets <ne-pas-repondre@ptce.example.gouv.fr>",
    "MAIL_MAX_ATTEMPTS": 5,
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "CLAMD_ADDRESS": None,
    "HEALTHZ_TOKEN": None,  # sent as the X-Healthz-Token header, shows /healthz's details beyond loopback
    "CLAMD_TIMEOUT": 60,
    "PASSWORD_HASH_PROFILE": "default",
    "PASSWORD_MIN_LENGTH": 12,
    "EMAIL_TOKEN_MAX_AGE": 48 * 3600,
    "RESET_TOKEN_MAX_AGE": 3600,
    "INVITATION_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "REVIEWER_INVITATION_TOKEN_MAX_AGE": 14 * 24 * 3600,  # a reviewer's invitation: long enough to be read
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
    # Autosave (sections, reviews) per user: far above a person typing (one save per pause of 0.8–1.5 s).
    "AUTOSAVE_RATE_LIMIT": "60 per minute",
    # The read-only API, per token (SPEC §7): a script paging through a call stays far below it.
    "API_RATE_LIMIT": "120 per minute",
    "RATELIMIT_STORAGE_URI": None,
    # Redis unreachable: the limits go on in this process's memory (a login form stays limited, a page does not
    # fail), and the limiter goes back to Redis once it answers; never hang a request on a silent Redis.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_HEADERS_ENABLED": True,
    "MAX_CONTENT_LENGTH": 30 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_NAME": "ptce_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,  # idle limit of a session (refreshed by each request)
    "SESSION_ABSOLUTE_LIFETIME": 12 * 3600,  # however active, a session ends this long after login
    # The call secretariat's address, given to applicants whose dossier can no longer be changed (pages, mails).
    "SECRETARIAT_EMAIL": None,
    "INVITATIONS_PER_POLE_PER_DAY": 10,  # counted in the database over the last 24 h
    "INVITATIONS_PER_USER_PER_DAY": 20,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session it is tied to
    "SESSION_REFRESH_EACH_REQUEST": True,
    "PROXY_HOPS": 0,
    "BABEL_DEFAULT_LOCALE": "fr",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
    "LANGUAGES": {"fr": "Français", "en": "English"},
    "LOG_LEVEL": "INFO",
    "REQUIRED_SETTINGS": [],
}


class ConfigError(RuntimeError):
    """Raised when the app must not start with the configuration it was given."""


def _parse(value: str, kind: type):
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on", "oui"}
    return kind(value)


def load_config(app, overrides: dict | None = None) -> None:
    env = os.environ.get("PTCE_ENV", "embedded")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"PTCE_ENV={env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile(str(CONFIG_DIR / f"{env}.py"))
    app.config["ENV_NAME"] = env
    for name, kind in ENV_SETTINGS.items():
        if os.environ.get(name):
            key = "SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name
            app.config[key] = _parse(os.environ[name], kind)
    app.config.update(overrides or {})
    _check_required(app)
    _derive(app)
    _check(app)


def _derive(app) -> None:
    cfg = app.config
    instance = Path(app.instance_path)
    uri = cfg.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        instance.mkdir(parents=True, exist_ok=True)
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'ptce_aap.sqlite3'}"
    elif uri.startswith("postgres://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    if not cfg.get("STORAGE_BACKEND"):
        cfg["STORAGE_BACKEND"] = "s3" if cfg.get("S3_BUCKET") else "local"
    if not cfg.get("LOCAL_STORAGE_DIR"):
        cfg["LOCAL_STORAGE_DIR"] = str(instance / "storage")
    cfg.setdefault("MAIL_OUTBOX_DIR", str(instance / "mail"))
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    cfg["JOBS_INLINE"] = not cfg.get("REDIS_URL")
    if not cfg.get("SECRET_KEY") and cfg["DEVELOPMENT"]:
        cfg["SECRET_KEY"] = _development_secret(instance)


def _development_secret(instance: Path) -> str:
    """A random key kept in instance/ so sessions survive restarts of the embedded app."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _check_required(app) -> None:
    """Before any default is derived: production must be told everything explicitly."""
    cfg = app.config
    missing = [name for name in cfg.get("REQUIRED_SETTINGS", []) if not cfg.get(name)]
    if not cfg.get("SECRET_KEY") and not cfg["DEVELOPMENT"]:
        missing.insert(0, "SECRET_KEY")
    if missing:
        names = ", ".join(dict.fromkeys("DATABASE_URL" if n == "SQLALCHEMY_DATABASE_URI" else n for n in missing))
        raise ConfigError(f"missing required setting(s) for PTCE_ENV={cfg['ENV_NAME']}: {names}")


def _check(app) -> None:
    cfg = app.config
    if not cfg["DEVELOPMENT"] and len(cfg["SECRET_KEY"]) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters outside development")
    if cfg["STORAGE_BACKEND"] not in {"local", "s3"}:
        raise ConfigError(f"STORAGE_BACKEND={cfg['STORAGE_BACKEND']!r}: expected 'local' or 's3'")
    if cfg["STORAGE_BACKEND"] == "s3" and not cfg.get("S3_BUCKET"):
        raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET")
