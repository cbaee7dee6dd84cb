"""Cross-cutting web pieces: DSFR static files, template globals, error pages."""

from __future__ import annotations

import logging

from flask import g, jsonify, make_response, render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ptce_aap.enums import Role
from ptce_aap.extensions import db
from ptce_aap.settings import ROOT

DSFR_DIST = ROOT / "node_modules" / "@gouvfr" / "dsfr" / "dist"

logger = logging.getLogger("ptce_aap.web")


def navigation() -> list[dict]:
    """Main navigation entries for the current user's roles."""
    items = [{"endpoint": "public.calls", "label": _("Appels à projets")}]
    if getattr(current_user, "is_authenticated", False):
        if current_user.has_role(Role.APPLICANT):
            items.append({"endpoint": "applicants.dashboard", "label": _("Mes dossiers")})
        if current_user.has_role(Role.REVIEWER):
            items.append({"endpoint": "reviewers.dashboard", "label": _("Mes évaluations")})
        if current_user.has_role(Role.ADMIN):
            items.append({"endpoint": "admin.dashboard", "label": _("Administration")})
    return items


MAX_PAGE = 10_000


def page_arg(name: str = "page") -> int:
    """The page number asked for, kept within 1..MAX_PAGE (a huge number would overflow the SQL OFFSET)."""
    return min(max(request.args.get(name, 1, type=int) or 1, 1), MAX_PAGE)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


ERROR_TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Page non trouvée",
    405: "Méthode non autorisée",
    413: "Fichier trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur inattendue",
    503: "Service momentanément indisponible",
}

ERROR_TEXTS = {
    400: "La requête n'a pas pu être traitée. Si vous envoyiez un formulaire, rechargez la page et réessayez.",
    401: "Connectez-vous pour accéder à cette page.",
    403: "Vous n'avez pas les droits nécessaires pour accéder à cette page.",
    404: "La page que vous cherchez est introuvable. Vérifiez l'adresse ou revenez à l'accueil.",
    405: "Cette action n'est pas possible sur cette page.",
    413: "Le fichier envoyé dépasse la taille autorisée.",
    429: "Vous avez fait trop de tentatives. Patientez quelques minutes avant de réessayer.",
    500: "Une erreur inattendue s'est produite. L'équipe technique a été prévenue ; vos données "
         "enregistrées ne sont pas perdues.",
    503: "Le service est momentanément indisponible. Réessayez dans quelques instants.",
}


def render_error(code: int, description: str | None = None):
    title = _(ERROR_TITLES.get(code, "Erreur"))
    text = description or _(ERROR_TEXTS.get(code, ERROR_TEXTS[500]))
    if _wants_json():
        return jsonify({"error": {"code": code, "title": title, "message": text,
                                  "request_id": g.get("request_id")}}), code
    return render_template("errors/error.html", code=code, title=title, text=text,
                           request_id=g.get("request_id")), code


def init_app(app) -> None:
    @app.route("/dsfr/<path:filename>")
    def dsfr_static(filename):
        return send_from_directory(DSFR_DIST, filename, max_age=86400)

    @app.context_processor
    def _globals():
        from flask_babel import get_locale

        return {"navigation": navigation, "languages": app.config["LANGUAGES"], "Role": Role,
                "get_locale": get_locale}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        description = None
        if exc.code == 400 and getattr(exc, "description", "").startswith("The CSRF"):
            description = _("Le formulaire a expiré ou n'est pas valide. Rechargez la page et réessayez : "
                            "ce que vous aviez saisi n'a pas été enregistré.")
        response = make_response(render_error(exc.code, description))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        if app.testing and not app.config.get("RENDER_500_IN_TESTS"):
            raise exc  # tests see the real traceback; test_errors turns the calm 500 page back on
        logger.exception("unhandled error")
        return render_error(500)
