"""Public pages: home, calls, language switch, health check."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, session, url_for

from ptce_aap.extensions import db, limiter
from ptce_aap.public import bp

logger = logging.getLogger("ptce_aap.health")


@bp.route("/")
def home():
    return render_template("public/home.html")


@bp.route("/appels")
def calls():
    return render_template("public/calls.html")


@bp.route("/langue/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.form.get("next") or url_for("public.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.home")
    return redirect(target)


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Each part answers "ok" or names its error; 503 when one fails."""
    from ptce_aap import jobs
    from ptce_aap.storage import get_storage

    checks = {
        "database": lambda: db.session.execute(sa.text("SELECT 1")).scalar_one() and "ok",
        "storage": lambda: get_storage().healthcheck(),
        "queue": jobs.healthcheck,
    }
    result, healthy = {}, True
    for name, check in checks.items():
        try:
            result[name] = check()
        except Exception as exc:
            db.session.rollback()
            healthy = False
            result[name] = f"error: {type(exc).__name__}"
            logger.warning("health check failed: %s: %s", name, exc)
    result["status"] = "ok" if healthy else "error"
    result["jobs"] = "inline" if current_app.config["JOBS_INLINE"] else "rq"
    result["storage_backend"] = current_app.config["STORAGE_BACKEND"]
    return jsonify(result), 200 if healthy else 503


@bp.route("/accessibilite")
def accessibility():
    from flask_babel import gettext as _

    return render_template("public/page.html", title=_("Déclaration d’accessibilité"), paragraphs=[
        _("L’administration s’engage à rendre ce service accessible conformément à l’article 47 de la loi "
          "n° 2005-102 du 11 février 2005. Ce service est partiellement conforme au référentiel général "
          "d’amélioration de l’accessibilité (RGAA) version 4.1 : un audit complet reste à réaliser."),
        _("Si vous n’arrivez pas à accéder à un contenu ou à un service, contactez le secrétariat de l’appel "
          "à projets pour être orienté vers une alternative accessible."),
    ])


@bp.route("/mentions-legales")
def legal():
    from flask_babel import gettext as _

    return render_template("public/page.html", title=_("Mentions légales et données personnelles"), paragraphs=[
        _("Les données saisies sont traitées par le secrétariat de l’appel à projets pour l’instruction des "
          "candidatures (mission d’intérêt public). Elles sont conservées pendant la durée de l’appel puis "
          "archivées selon les règles applicables aux subventions publiques."),
        _("Vous pouvez exercer vos droits d’accès, de rectification et d’effacement auprès du secrétariat."),
    ])
