"""ptce_aap: the platform of the interministerial call for projects for PTCE."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ptce_aap.settings import ROOT, load_config


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI, error handlers.

    The app's modules are imported here, not at the top: every ``import ptce_aap.<module>`` runs this
    file first, and importing one module (a domain rule in a unit test, a job in a worker) must not
    load the whole web app. Nothing in ``ptce_aap`` imports this package back (the RQ worker finds the
    factory by name, ``jobs.APP_FACTORY``).
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("PTCE_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    load_config(app, overrides)

    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from ptce_aap import logging_setup

    logging_setup.init_app(app)

    from ptce_aap.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from ptce_aap import i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Europe/Paris")
    i18n.init_app(app)

    from ptce_aap import auth_setup, caching, security, web

    auth_setup.init_app(app)
    security.init_app(app)
    caching.init_app(app)
    web.init_app(app)

    from ptce_aap.admin import bp as admin_bp
    from ptce_aap.api import bp as api_bp
    from ptce_aap.applicants import bp as applicants_bp
    from ptce_aap.auth import bp as auth_bp
    from ptce_aap.public import bp as public_bp
    from ptce_aap.reviewers import bp as reviewers_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/compte")
    app.register_blueprint(applicants_bp, url_prefix="/porteur")
    app.register_blueprint(reviewers_bp, url_prefix="/rapporteur")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")

    from ptce_aap import cli, jobs, tasks  # noqa: F401  (tasks: registers every background job)
    from ptce_aap.storage import routes as storage_routes

    storage_routes.init_app(app)
    jobs.init_app(app)
    cli.init_app(app)
    return app
