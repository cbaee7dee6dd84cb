"""Bearer authentication, rate limit and headers of the API blueprint."""

from __future__ import annotations

import hashlib

from flask import current_app, g, request
from flask_babel import gettext as _

from ptce_aap.api.blueprint import bp
from ptce_aap.enums import ApiScope, Role
from ptce_aap.extensions import db, limiter
from ptce_aap.models.base import utcnow
from ptce_aap.services import api_tokens
from ptce_aap.web import render_error

PUBLIC_ENDPOINTS = {"api.openapi"}
# endpoint → the scope a token needs for it (``needs``); a route without one is refused to every token.
SCOPES: dict[str, ApiScope] = {}


def needs(scope: ApiScope):
    """View decorator (under ``@bp.get``): the token must hold ``scope``, else 403."""

    def decorator(view):
        SCOPES[f"{bp.name}.{view.__name__}"] = scope
        return view

    return decorator


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


_UNREAD = object()


def presented_token():
    """The token the request presents, if it is a known one (looked up once per request — kept on the request,
    not on ``g``, which an app context can share between requests), else None."""
    cache = request._get_current_object().__dict__
    found = cache.get("_presented_token", _UNREAD)
    if found is _UNREAD:
        raw = bearer()
        found = api_tokens.authenticate(raw) if raw else None
        cache["_presented_token"] = found
    return found


def _rate_key() -> str:
    """Counted per token that is known and usable (its digest: never the token itself in the limiter's store);
    anything else — no token, a made-up, expired or revoked one — per address, so that inventing bearer values
    gives no fresh allowance."""
    token = presented_token()
    if token is not None and token.is_usable_at(utcnow()):
        return "api:" + hashlib.sha256(bearer().encode()).hexdigest()[:32]
    return f"api-ip:{request.remote_addr}"


def _api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One allowance for the whole API per token (or address), not one per route: a shared scope.
limiter.shared_limit(_api_rate_limit, scope="api", key_func=_rate_key)(bp)


def unauthorized(message: str):
    response, code = render_error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="ptce-api"'
    return response, code


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    raw = bearer()
    if raw is None:
        return unauthorized(_("Un jeton d'API est requis (en-tête « Authorization: Bearer … »)."))
    token = presented_token()
    if token is None or not token.is_usable_at(utcnow()):
        return unauthorized(_("Ce jeton d'API est inconnu, expiré ou révoqué."))
    if not token.user.is_active or not token.user.has_role(Role.ADMIN):
        return render_error(403, _("L'API est réservée aux administrateurs."))
    needed = SCOPES.get(request.endpoint)
    if needed is None:
        return render_error(403, _("Cette adresse de l'API n'est ouverte à aucun jeton."))
    if needed.value not in (token.scopes or ()):
        return render_error(403, _("Ce jeton n'a pas le droit « %(scope)s » (%(label)s) qu'exige cette adresse "
                                   "de l'API.", scope=needed.value, label=needed.label))
    g.api_token = token
    if api_tokens.touch(token):
        db.session.commit()
    return None


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
