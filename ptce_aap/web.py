"""Cross-cutting web pieces: DSFR static files, template globals, error pages, and the request order's helpers:
``load_or_404`` (load), ``permissions.require`` (check access), ``domain_errors`` / the app's ``DomainError``
handler (a refused action becomes a flash or a JSON error, after a rollback)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ptce_aap import permissions
from ptce_aap.domain.messages import N_
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.i18n import translate
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
            items.append({"endpoint": "reviewers.dashboard", "label": _("Mes dossiers à évaluer")})
        if current_user.has_role(Role.ADMIN):
            items.append({"endpoint": "admin.dashboard", "label": _("Administration")})
    return items


# Templates ask the same questions as views: ``{% if can_edit_dossier(current_user, dossier) %}``.
PREDICATES = {name: getattr(permissions, name) for name in dir(permissions) if name.startswith("can_")}

MAX_PAGE = 10_000


def page_arg(name: str = "page") -> int:
    """The page number asked for, kept within 1..MAX_PAGE (a huge number would overflow the SQL OFFSET)."""
    return min(max(request.args.get(name, 1, type=int) or 1, 1), MAX_PAGE)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _accepts_json() -> bool:
    return _is_api() or request.accept_mimetypes.best == "application/json"


def wants_json() -> bool:
    """The request expects JSON back: the API, a fetch() asking for JSON, or one sending JSON."""
    return _accepts_json() or request.is_json


# --- load ------------------------------------------------------------------------------------------------

# Subclasses first: BigInteger and SmallInteger are Integers too.
_INT_MAX = {sa.BigInteger: 2**63 - 1, sa.SmallInteger: 2**15 - 1, sa.Integer: 2**31 - 1}


def _fits_key(model, ident) -> bool:
    """Whether ``ident`` can be a value of the model's integer primary key (a larger number would make the
    database raise an overflow: that address simply does not exist)."""
    if not isinstance(ident, int) or isinstance(ident, bool):
        return True
    column = sa.inspect(model).primary_key[0]
    limit = next((v for t, v in _INT_MAX.items() if isinstance(column.type, t)), 2**63 - 1)
    return 0 < ident <= limit


def key_or_404(model, ident) -> None:
    """404 when ``ident`` cannot be a primary key of ``model`` (for an id a service looks up itself)."""
    if not _fits_key(model, ident):
        abort(404)


def load_or_404(model, ident=None, *, options=(), for_update: bool = False, **by):
    """The row of ``model`` with primary key ``ident`` (or matching ``by``, e.g. ``slug=…``), or 404.

    Access is checked by the caller, right after: ``require(can_…(current_user, obj))``.
    """
    query = sa.select(model)
    if ident is not None:
        if not _fits_key(model, ident):
            abort(404)
        query = query.where(sa.inspect(model).primary_key[0] == ident)
    for name, value in by.items():
        query = query.where(getattr(model, name) == value)
    query = query.options(*options)
    obj = db.session.scalar(query.with_for_update() if for_update else query)
    if obj is None:
        abort(404)
    return obj


# --- a refused action ------------------------------------------------------------------------------------

def _safe_referrer() -> str | None:
    """The page the user came from, if it is on this site (else None)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def settle(exc: DomainError) -> None:
    """End the transaction of a refused action: roll back, unless the refusal itself is to be kept."""
    if exc.persist:
        db.session.commit()
    else:
        db.session.rollback()


def domain_error_response(exc: DomainError, *, back: str | None = None, as_json: bool | None = None):
    """The one place a ``DomainError`` becomes a response: roll back, then a JSON error for a JSON request
    (or ``as_json``), else a flash and a redirect to ``back`` (default: the page the user came from, or this
    page for a GET)."""
    settle(exc)
    if wants_json() if as_json is None else as_json:
        body = {"ok": False, "message": translate(exc.message)} | ({"field": exc.field} if exc.field else {})
        if len(exc.problems) > 1:
            body["problems"] = [{"field": field, "message": translate(message)} for field, message in exc.problems]
        return jsonify(body), exc.status
    flash(translate(exc.message), exc.category)
    return redirect(back or _safe_referrer() or (request.full_path if request.method == "GET" else "/"))


def domain_errors(back: Callable[..., str] | None = None, *, as_json: bool | None = None):
    """View decorator: a ``DomainError`` raised by the view goes back to ``back(**view_args)`` (a flash),
    or becomes a JSON error (a JSON request, or ``as_json``)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except DomainError as exc:
                return domain_error_response(exc, back=back(**kwargs) if back else None, as_json=as_json)

        return wrapped

    return decorator


def show_on_form(exc: DomainError, form) -> None:
    """Roll back, then show each problem next to its field when the form has it, as an alert otherwise (for a
    view that renders the form again with what was typed)."""
    settle(exc)
    for name, message in exc.problems:
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = [*field.errors, translate(message)]
        else:
            flash(translate(message), exc.category)


ERROR_TITLES = {
    400: N_("Requête invalide"),
    401: N_("Authentification requise"),
    403: N_("Accès refusé"),
    404: N_("Page non trouvée"),
    405: N_("Méthode non autorisée"),
    409: N_("Action déjà faite"),
    413: N_("Fichier trop volumineux"),
    429: N_("Trop de tentatives"),
    500: N_("Erreur inattendue"),
    503: N_("Service momentanément indisponible"),
}

UNKNOWN_ERROR = N_("Erreur")

ERROR_TEXTS = {
    400: N_("La requête n'a pas pu être traitée. Si vous envoyiez un formulaire, rechargez la page et réessayez."),
    401: N_("Connectez-vous pour accéder à cette page."),
    403: N_("Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: N_("La page que vous cherchez est introuvable. Vérifiez l'adresse ou revenez à l'accueil."),
    405: N_("Cette action n'est pas possible sur cette page."),
    409: N_("Cette action vient d'être faite en même temps ailleurs (un autre onglet, un double clic ou une "
            "autre personne) : rien n'a été fait en double. Rechargez la page pour voir où elle en est."),
    413: N_("Le fichier envoyé dépasse la taille autorisée."),
    429: N_("Vous avez fait trop de tentatives. Patientez quelques minutes avant de réessayer."),
    500: N_("Une erreur inattendue s'est produite. L'équipe technique a été prévenue ; vos données "
            "enregistrées ne sont pas perdues."),
    503: N_("Le service est momentanément indisponible. Réessayez dans quelques instants."),
}


# The API's own words where the web's speak of pages (SPEC §7: every error under /api/ is JSON).
API_ERROR_TEXTS = ERROR_TEXTS | {
    404: N_("Aucune ressource de l'API à cette adresse (la liste des adresses : /api/v1/openapi.json)."),
    405: N_("Cette méthode n'est pas acceptée ici : l'API est en lecture seule et ne répond qu'aux requêtes GET."),
    429: N_("Trop de requêtes avec ce jeton : réessayez après le délai indiqué par l'en-tête Retry-After."),
}


def render_error(code: int, description: str | None = None, *, as_json: bool | None = None):
    title = _(ERROR_TITLES.get(code, UNKNOWN_ERROR))
    texts = API_ERROR_TEXTS if _is_api() else ERROR_TEXTS
    text = description or _(texts.get(code, ERROR_TEXTS[500]))
    if _accepts_json() if as_json is None else as_json:
        return jsonify({"error": {"code": code, "title": title, "message": text,
                                  "request_id": g.get("request_id")}}), code
    return render_template("errors/error.html", code=code, title=title, text=text,
                           request_id=g.get("request_id")), code


def http_error_response(exc: HTTPException):
    """The error page (or JSON error) of an HTTP error; blueprints that handle one themselves fall back to it."""
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


# A lost race: two requests changed the same row at once (a double clic, two tabs, two admins). The second one
# fails at flush or commit (``StaleDataError``: the optimistic lock; ``IntegrityError``: a unique constraint);
# ``lost_race_response`` rolls it back and answers 409 with the house error page (or JSON), never a 500. A view
# says what happened in its own words with ``@on_lost_race(_l("…"))`` (placed under ``@bp.route``).

def on_lost_race(message):
    """View decorator: the message of the 409 page when a concurrent request won the race on this view."""

    def decorator(view):
        view._lost_race_message = message
        return view

    return decorator


def lost_race_response(exc: Exception):
    db.session.rollback()
    logger.info("lost race on %s: %s", request.endpoint, type(exc).__name__)
    view = current_app.view_functions.get(request.endpoint or "")
    message = getattr(view, "_lost_race_message", None)
    return render_error(409, str(message) if message else None)


# A part the app needs is unreachable for a moment: the database (its host restarting, a fail-over), Redis (the
# queue), the object store. The request fails calmly with a 503 page (JSON under /api/ and for fetch()), never a
# 500 with its trace; nothing half-done stays (the transaction is rolled back) and the next request after the
# part is back works without restarting the app (the engine's ``pool_pre_ping`` replaces dead connections).

def _unavailable_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sa.exc.OperationalError, sa.exc.InterfaceError]
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError  # Redis mode only
        from redis.exceptions import TimeoutError as RedisTimeoutError  # Redis mode only
    except ImportError:  # pragma: no cover (redis is a dependency; the embedded mode never raises these)
        pass
    else:
        errors += [RedisConnectionError, RedisTimeoutError]
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError  # S3 mode only
        from botocore.exceptions import HTTPClientError  # S3 mode only
    except ImportError:  # pragma: no cover
        pass
    else:
        errors += [BotoConnectionError, HTTPClientError]
    return tuple(errors)


STORAGE_UNAVAILABLE = N_("Le stockage des fichiers est momentanément indisponible. Réessayez dans quelques "
                         "instants.")


def unavailable_response(exc: BaseException):
    """503 after a rollback; the page is drawn without the database (as a visitor: the user, expired by the
    rollback, would be reloaded from the database that is gone)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 (the connection is gone: the pool discards it)
        db.session.close()
    g._login_user = AnonymousUserMixin()
    g.outbox_pending = False  # nothing was committed: nothing for the dispatch after the request
    logger.warning("service unavailable on %s: %s: %s", request.endpoint, type(exc).__name__,
                   str(exc).splitlines()[0][:300] if str(exc) else "")
    as_json = wants_json() or request.headers.get("X-Autosave") == "1"  # static/dossier.js reads the message
    description = _(STORAGE_UNAVAILABLE) if type(exc).__module__.startswith("botocore") else None
    response = make_response(render_error(503, description, as_json=as_json))
    response.headers["Retry-After"] = "30"
    response.headers["Cache-Control"] = "no-store"
    return response


def _autosave_rate_limit() -> str:
    return current_app.config["AUTOSAVE_RATE_LIMIT"]


def _not_an_autosave() -> bool:
    return request.headers.get("X-Autosave") != "1"


def _per_user() -> str:
    return f"autosave:{getattr(current_user, 'id', None) or request.remote_addr}"


def autosave_rate_limited(view):
    """The autosave requests of a view (``X-Autosave: 1``) are limited per user (``AUTOSAVE_RATE_LIMIT``); past
    it they get 429 JSON, which static/dossier.js shows calmly before trying again. A person never reaches it."""
    return limiter.limit(_autosave_rate_limit, key_func=_per_user, methods=["POST"],
                         exempt_when=_not_an_autosave)(view)


def refuse_nul_in_url() -> None:
    """No address or query parameter of the app holds a NUL character; PostgreSQL refuses one in any text it is
    given (a 500 where a visitor only typed ``/appels/%00``): 404 for the path, 400 for a parameter."""
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def init_app(app) -> None:
    app.before_request(refuse_nul_in_url)

    @app.route("/dsfr/<path:filename>")
    def dsfr_static(filename):
        return send_from_directory(DSFR_DIST, filename, max_age=86400)

    @app.context_processor
    def _globals():
        return {"navigation": navigation, "languages": app.config["LANGUAGES"], "Role": Role,
                "get_locale": get_locale, **PREDICATES}

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return domain_error_response(exc)

    app.register_error_handler(StaleDataError, lost_race_response)
    app.register_error_handler(IntegrityError, lost_race_response)
    for error in _unavailable_errors():
        app.register_error_handler(error, unavailable_response)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        if app.testing and not app.config.get("RENDER_500_IN_TESTS"):
            raise exc  # tests see the real traceback; test_errors turns the calm 500 page back on
        logger.exception("unhandled error")
        return render_error(500)
