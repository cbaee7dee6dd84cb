"""Routes of the read-only API v1 (SPEC §7). Each list page runs a constant number of queries whatever its size.

Decisions: an administrator reads each dossier's *current* decision, notified or not (the same as the decisions
page of the back office). Drafts are the applicants' unsent work: they are neither listed nor served.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ptce_aap.api import serialize
from ptce_aap.api.auth import needs
from ptce_aap.api.blueprint import bp
from ptce_aap.api.openapi import document
from ptce_aap.downloads import DOWNLOADABLE, serve_attachment
from ptce_aap.enums import ApiScope, DossierStatus
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.models.reviews import Assignment, Review
from ptce_aap.permissions import can_download_attachment, require
from ptce_aap.services import api_tokens as token_service
from ptce_aap.services import decisions as decision_service
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import ranking
from ptce_aap.web import MAX_PAGE, load_or_404, render_error

PER_PAGE = 50


class BadPage(Exception):
    pass


@bp.errorhandler(BadPage)
def _bad_page(_exc):
    return render_error(400, _("Le paramètre « page » doit être un nombre entier de 1 à %(max)s.", max=MAX_PAGE))


def page_number() -> int:
    raw = request.args.get("page", "1")
    if len(raw) > 6 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadPage
    return int(raw)


def paginated(query, page: int):
    """(rows of the page, total) for a select ordered by the caller: two queries."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return rows, total


def submitted(query):
    return query.where(Dossier.status != DossierStatus.DRAFT)


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/calls")
@needs(ApiScope.CALLS)
def calls():
    page = page_number()
    rows, total = paginated(sa.select(Call).order_by(Call.opens_at.desc(), Call.id.desc()), page)
    return jsonify(serialize.page([serialize.call_item(c) for c in rows], page, total, PER_PAGE))


@bp.get("/calls/<slug>")
@needs(ApiScope.CALLS)
def call(slug: str):
    row = load_or_404(Call, slug=slug, options=(selectinload(Call.criteria), selectinload(Call.categories)))
    return jsonify(serialize.call_detail(row))


def _dossier_items(call_row: Call, dossiers: list[Dossier]) -> list[dict]:
    checks = eligibility_service.latest_checks(d.id for d in dossiers)
    scores = ranking.call_scores(call_row).by_dossier if dossiers else {}
    return [serialize.dossier_item(d, checks.get(d.id), scores.get(d.id)) for d in dossiers]


@bp.get("/calls/<slug>/dossiers")
@needs(ApiScope.DOSSIERS)
def call_dossiers(slug: str):
    page = page_number()
    call_row = load_or_404(Call, slug=slug)
    rows, total = paginated(submitted(sa.select(Dossier).where(Dossier.call_id == call_row.id))
                            .order_by(Dossier.id), page)
    return jsonify(serialize.page(_dossier_items(call_row, rows), page, total, PER_PAGE))


def _reviews(dossier: Dossier) -> list[dict]:
    codes = {c.id: c.code for c in dossier.call.criteria}
    rows = db.session.execute(
        sa.select(Review, Institution.name).join(Assignment, Assignment.id == Review.assignment_id)
        .outerjoin(Institution, Institution.id == Assignment.institution_id)
        .where(Assignment.dossier_id == dossier.id, Review.submitted_at.is_not(None))
        .options(selectinload(Review.scores)).order_by(Review.submitted_at, Review.id)).all()
    return [serialize.review(r, name, codes) for r, name in rows]


def _download_url(a: Attachment) -> str | None:
    if a.status not in DOWNLOADABLE:
        return None
    return url_for("api.attachment", dossier_id=a.dossier_id, attachment_id=a.id, _external=True)


def _submitted_dossier(dossier_id: int, options=()) -> Dossier:
    row = load_or_404(Dossier, dossier_id, options=options)
    if row.status == DossierStatus.DRAFT:
        abort(404)
    return row


@bp.get("/dossiers/<int:dossier_id>")
@needs(ApiScope.DOSSIERS)
def dossier(dossier_id: int):
    row = _submitted_dossier(dossier_id, options=(
        selectinload(Dossier.members), selectinload(Dossier.financing_lines), selectinload(Dossier.attachments)))
    body = _dossier_items(row.call, [row])[0] | {
        "structure_porteuse": serialize.structure_porteuse(row),
        "members": [serialize.member(m) for m in row.members],
        "financing_plan": [serialize.financing_line(f) for f in row.financing_lines],
        "attachments": [serialize.attachment(a, _download_url(a)) for a in row.attachments],
        "reviews": _reviews(row),
        "decision": serialize.decision(decision_service.current_decision(row)),
    }
    return jsonify(body)


@bp.get("/dossiers/<int:dossier_id>/attachments/<int:attachment_id>")
@needs(ApiScope.DOSSIERS)
def attachment(dossier_id: int, attachment_id: int):
    """A file of a submitted dossier, as the back office serves it: the same access rule, only checked files, a
    redirect to a short-lived presigned URL; the download is audited."""
    row = _submitted_dossier(dossier_id)
    file = load_or_404(Attachment, attachment_id, dossier_id=row.id)
    require(can_download_attachment(g.api_token.user, file))
    if file.status in DOWNLOADABLE:
        token_service.record_download(g.api_token, file)
        db.session.commit()
    return serve_attachment(file)


@bp.get("/calls/<slug>/decisions")
@needs(ApiScope.DECISIONS)
def call_decisions(slug: str):
    page = page_number()
    call_row = load_or_404(Call, slug=slug)
    query = (sa.select(Decision, Dossier.pole_name).join(Dossier, Dossier.id == Decision.dossier_id)
             .where(Dossier.call_id == call_row.id, Decision.is_current, Dossier.status != DossierStatus.DRAFT))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(Decision.dossier_id).limit(PER_PAGE)
                              .offset((page - 1) * PER_PAGE)).all()
    return jsonify(serialize.page([serialize.decision_item(d, name) for d, name in rows], page, total, PER_PAGE))
