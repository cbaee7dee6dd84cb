"""Public pages: home, calls, language switch, health check."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from datetime import datetime

import sqlalchemy as sa
from flask import abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ptce_aap import jobs
from ptce_aap.domain import france_map
from ptce_aap.domain.rules_text import explain_rules
from ptce_aap.enums import CallStatus
from ptce_aap.extensions import db, limiter
from ptce_aap.formatting import format_eur, format_paris
from ptce_aap.markdown import render_markdown
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_view_call, require
from ptce_aap.public.blueprint import bp
from ptce_aap.services import publication as publication_service
from ptce_aap.storage import get_storage
from ptce_aap.urls import safe_next
from ptce_aap.web import page_arg

logger = logging.getLogger("ptce_aap.health")

CLOSED_CALLS_PER_PAGE = 10


@bp.route("/")
def home():
    return render_template("public/home.html")


@bp.route("/appels")
def calls():
    """Published calls in three sections: open, upcoming, closed (the last one paginated)."""
    now = utcnow()
    current = db.session.scalars(
        sa.select(Call).where(Call.status == CallStatus.OPEN, Call.closes_at > now)
        .order_by(Call.closes_at, Call.opens_at, Call.id)).all()
    open_calls = [call for call in current if call.opens_at <= now]
    upcoming_calls = sorted((call for call in current if call.opens_at > now),
                            key=lambda call: (call.opens_at, call.id))
    closed_page = db.paginate(
        sa.select(Call).where(Call.status != CallStatus.DRAFT,
                              sa.or_(Call.status != CallStatus.OPEN, Call.closes_at <= now))
        .order_by(Call.closes_at.desc(), Call.id.desc()),
        page=page_arg(), per_page=CLOSED_CALLS_PER_PAGE, error_out=False)
    return render_template("public/calls.html", open_calls=open_calls, upcoming_calls=upcoming_calls,
                           closed_page=closed_page, CallStatus=CallStatus)


@bp.route("/appels/<slug>")
def call(slug: str):
    """A call's public page: calendar, amounts, eligibility rules, documents, grid, submit button."""
    call = db.session.scalar(
        sa.select(Call).where(Call.slug == slug)
        .options(selectinload(Call.criteria), selectinload(Call.categories), selectinload(Call.document_types)))
    if call is None:
        abort(404)
    require(can_view_call(current_user, call))
    now = utcnow()
    locale = str(get_locale())
    rules = explain_rules(call.eligibility_settings, max_amount_eur=call.max_amount_eur,
                          max_state_share=call.max_state_share, closes_at=call.closes_at, gettext=gettext,
                          format_amount=format_eur, format_datetime=format_paris, locale=locale)
    published = publication_service.current(call)
    laureates = published.snapshot.get("laureates", []) if published is not None else []
    return render_template(
        "public/call.html", call=call, now=now, phase=_phase(call, now), rules=rules, published=published,
        laureates=laureates, laureate_map=france_map.france_map(_department_counts(laureates)) if laureates else None,
        description=render_markdown(call.description_md),
        required_documents=[d for d in call.document_types if d.is_required],
        optional_documents=[d for d in call.document_types if not d.is_required], CallStatus=CallStatus)


def _department_counts(laureates: list[dict]) -> dict[str, int]:
    """How many published laureates cover each department."""
    counts: dict[str, int] = {}
    for laureate in laureates:
        for code in dict.fromkeys(laureate.get("departments") or ()):
            counts[code] = counts.get(code, 0) + 1
    return counts


def _phase(call: Call, now: datetime) -> str:
    """Where the call stands for applicants: draft, upcoming, open (accepts dossiers) or closed."""
    if call.status == CallStatus.DRAFT:
        return "draft"
    if call.is_open_at(now):
        return "open"
    if call.status == CallStatus.OPEN and now < call.opens_at:
        return "upcoming"
    return "closed"


@bp.route("/langue/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("public.home"))


@bp.route("/healthz/live")
@limiter.exempt
def healthz_live():
    """Liveness: the process answers (no database, storage or queue call)."""
    return jsonify({"status": "ok"})


def _may_see_health_details() -> bool:
    """Loopback requests (a probe on the host) and those bearing ``HEALTHZ_TOKEN`` see each part's state."""
    token = current_app.config.get("HEALTHZ_TOKEN")
    if token and hmac.compare_digest(token.encode(), request.headers.get("X-Healthz-Token", "").encode()):
        return True
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Readiness: 200 when each part answers, 503 otherwise. The public sees the status only; loopback
    requests or ones with the health token see each part ("ok" or its error's name) and the set-up."""
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
    status = {"status": "ok" if healthy else "error"}
    if _may_see_health_details():
        result |= status | {"jobs": "inline" if current_app.config["JOBS_INLINE"] else "rq",
                            "storage_backend": current_app.config["STORAGE_BACKEND"]}
    else:
        result = status
    return jsonify(result), 200 if healthy else 503


@bp.route("/accessibilite")
def accessibility():
    return render_template("public/page.html", title=_("Déclaration d’accessibilité"), paragraphs=[
        _("L’administration s’engage à rendre ce service accessible conformément à l’article 47 de la loi "
          "n° 2005-102 du 11 février 2005. Ce service est partiellement conforme au référentiel général "
          "d’amélioration de l’accessibilité (RGAA) version 4.1 : un audit complet reste à réaliser."),
        _("Si vous n’arrivez pas à accéder à un contenu ou à un service, contactez le secrétariat de l’appel "
          "à projets pour être orienté vers une alternative accessible."),
    ])


@bp.route("/mentions-legales")
def legal():
    return render_template("public/page.html", title=_("Mentions légales et données personnelles"), paragraphs=[
        _("Les données saisies sont traitées par le secrétariat de l’appel à projets pour l’instruction des "
          "candidatures (mission d’intérêt public). Elles sont conservées pendant la durée de l’appel puis "
          "archivées selon les règles applicables aux subventions publiques."),
        _("Vous pouvez exercer vos droits d’accès, de rectification et d’effacement auprès du secrétariat."),
    ])
