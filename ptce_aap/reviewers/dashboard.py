"""The reviewer's dashboard: the dossiers assigned to them across calls, with the state of their review,
the due date and the region; filters, sort, pagination and their progress (« 7 / 12 évalués »).

A reviewer's assignments are few (their maximum load): they are loaded at once (four queries whatever
their number), filtered by the conflict rule of ``permissions`` in bulk, then filtered, sorted and paged
here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ptce_aap.domain import geography
from ptce_aap.domain.text import french_sort_key
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review
from ptce_aap.permissions import DECLINED, REVIEWER_READABLE, conflicted_dossier_ids
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.web import page_arg

PER_PAGE = 20
STATES = {"todo": _l("À commencer"), "draft": _l("En cours"), "done": _l("Remise")}
STATE_BADGES = {"todo": "new", "draft": "info", "done": "success"}
SORTS = ("echeance", "pole", "etat", "region")


@dataclass
class Row:
    assignment: Assignment
    dossier: Dossier
    call: Call
    review: Review | None
    due_at: datetime | None

    @property
    def state(self) -> str:
        if self.review is None:
            return "todo"
        return "done" if self.review.submitted_at is not None else "draft"

    @property
    def region(self) -> str:
        region = geography.regions().get(self.dossier.region_code or "")
        return region.name if region else ""


def assigned_rows(user) -> list[Row]:
    """Every live assignment of ``user`` they may still see (no conflict, the dossier neither withdrawn nor
    ineligible: as ``reviewer_assignment``), with its dossier, call, review."""
    rows = db.session.execute(
        sa.select(Assignment, Dossier, Call, Review)
        .join(Dossier, Dossier.id == Assignment.dossier_id)
        .join(Call, Call.id == Dossier.call_id)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.reviewer_id == user.id, Assignment.status.not_in(DECLINED),
               Dossier.status.in_(REVIEWER_READABLE))).all()
    blocked = conflicted_dossier_ids(user, [d for _a, d, _c, _r in rows])
    return [Row(a, d, c, r, a.due_at or c.review_deadline_at) for a, d, c, r in rows if d.id not in blocked]


def _sort_key(sort: str):
    far = datetime.max.replace(tzinfo=None)
    if sort == "pole":
        return lambda r: (r.dossier.pole_name or "").casefold()
    if sort == "etat":
        return lambda r: (list(STATES).index(r.state), (r.dossier.pole_name or "").casefold())
    if sort == "region":
        return lambda r: (r.region.casefold(), (r.dossier.pole_name or "").casefold())
    return lambda r: (r.due_at.replace(tzinfo=None) if r.due_at else far, (r.dossier.pole_name or "").casefold())


@bp.route("/")
def dashboard():
    rows = assigned_rows(current_user)
    done = sum(1 for r in rows if r.state == "done")
    calls = sorted({r.call.id: r.call for r in rows}.values(), key=lambda c: c.title)
    regions = sorted({r.dossier.region_code: r.region for r in rows if r.dossier.region_code}.items(),
                     key=lambda item: french_sort_key(item[1]))
    call_slug = request.args.get("appel", "")
    state = request.args.get("etat", "")
    region = request.args.get("region", "")
    sort = request.args.get("tri", "echeance")
    sort = sort if sort in SORTS else "echeance"
    shown = [r for r in rows if (not call_slug or r.call.slug == call_slug) and (not state or r.state == state)
             and (not region or r.dossier.region_code == region)]
    shown.sort(key=_sort_key(sort), reverse=request.args.get("ordre") == "desc")
    pages = max(1, math.ceil(len(shown) / PER_PAGE))
    page = min(page_arg(), pages)
    args = {k: v for k, v in {"appel": call_slug, "etat": state, "region": region, "tri": sort,
                              "ordre": request.args.get("ordre", "")}.items() if v}
    return render_template(
        "reviewers/dashboard.html", rows=shown[(page - 1) * PER_PAGE: page * PER_PAGE], total=len(rows),
        done=done, matching=len(shown), calls=calls, regions=regions, states=STATES, state_badges=STATE_BADGES,
        filters={"appel": call_slug, "etat": state, "region": region, "tri": sort}, page=page, pages=pages,
        args=args)
