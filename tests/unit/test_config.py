"""Which configuration the app picks, from the environment alone."""

import pytest

from ptce_aap import create_app
from ptce_aap.settings import ENV_SETTINGS, ConfigError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No setting in the environment. The rate limiter is one object for the process (a Flask extension
    bound to the last app created): it is put back as it was, so that the made-up Redis host of these
    apps does not reach the apps of tests run after them in the same process."""
    from ptce_aap.extensions import limiter

    saved = dict(limiter.__dict__)
    for name in [*ENV_SETTINGS, "PTCE_ENV", "RQ_QUEUE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PTCE_INSTANCE_PATH", str(tmp_path))
    yield monkeypatch
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


def test_embedded_default_without_any_variable(clean_env, tmp_path):
    app = create_app()
    assert app.config["ENV_NAME"] == "embedded"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'ptce_aap.sqlite3'}"
    assert app.config["STORAGE_BACKEND"] == "local"
    assert app.config["LOCAL_STORAGE_DIR"] == str(tmp_path / "storage")
    assert app.config["JOBS_INLINE"] is True
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["MAIL_SERVER"] is None
    # A development secret is generated once and kept in instance/.
    assert len(app.config["SECRET_KEY"]) >= 32
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_variables_override_the_file(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://u@db.example/ptce")
    clean_env.setenv("REDIS_URL", "redis://cache.example:6379/0")
    clean_env.setenv("S3_BUCKET", "ptce-docs")
    clean_env.setenv("S3_ENDPOINT_URL", "https://s3.example")
    clean_env.setenv("MAIL_SERVER", "smtp.example")
    clean_env.setenv("MAIL_PORT", "2525")
    clean_env.setenv("PUBLIC_BASE_URL", "https://ptce.example.gouv.fr")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/ptce"
    assert app.config["JOBS_INLINE"] is False
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://cache.example:6379/0"
    assert app.config["STORAGE_BACKEND"] == "s3"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["PUBLIC_BASE_URL"] == "https://ptce.example.gouv.fr"


def test_production_refuses_to_start_without_secret_key(clean_env):
    clean_env.setenv("PTCE_ENV", "production")
    clean_env.setenv("DATABASE_URL", "postgresql://u@db.example/ptce")
    clean_env.setenv("REDIS_URL", "redis://cache.example:6379/0")
    clean_env.setenv("S3_BUCKET", "ptce-docs")
    clean_env.setenv("MAIL_SERVER", "smtp.example")
    clean_env.setenv("PUBLIC_BASE_URL", "https://ptce.example.gouv.fr")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    clean_env.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        create_app()
    clean_env.setenv("SECRET_KEY", "x" * 40)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["DEVELOPMENT"] is False


def test_production_names_every_missing_setting(clean_env):
    clean_env.setenv("PTCE_ENV", "production")
    clean_env.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError) as excinfo:
        create_app()
    assert "DATABASE_URL, REDIS_URL, S3_BUCKET, MAIL_SERVER, PUBLIC_BASE_URL" in str(excinfo.value)


def test_unknown_environment_is_refused(clean_env):
    clean_env.setenv("PTCE_ENV", "staging")
    with pytest.raises(ConfigError, match="expected one of embedded, production, testing"):
        create_app()
