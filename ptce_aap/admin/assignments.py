"""The admin's assignment pages of a call: who reviews which dossier (with loads and declines), the automatic
proposal and its confirmation, one dossier's candidates (manual add), removal after confirmation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.assignment import Reason, ReviewerIn, SolverFailed, match_score
from ptce_aap.enums import AssignmentStatus, ReviewStage
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import Assignment
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import assignments as service
from ptce_aap.web import domain_errors, load_or_404, on_lost_race, page_arg

PER_PAGE = 50
HANDLE_SHOWN = 10  # dossiers listed (with a suggested replacement) in the « à traiter » box
FILTERS = {"tous": _l("Tous les dossiers"), "incomplets": _l("Rapporteurs manquants"),
           "complets": _l("Complets"), "refus": _l("Avec un refus ou un conflit")}
REASONS = {
    Reason.NO_REVIEWER: _l("aucun rapporteur sans conflit d’intérêts"),
    Reason.ONE_INSTITUTION: _l("une seule institution sans conflit d’intérêts"),
    Reason.TOO_FEW: _l("pas assez de rapporteurs sans conflit d’intérêts"),
    Reason.CAPACITY: _l("les rapporteurs disponibles ont atteint leur charge maximale"),
}


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


@dataclass
class Coverage:
    """Who really reviews what on the call's eligible dossiers: an assignment counts (toward K and the
    reviewer's load) when it is live and no conflict of interest blocks it; a blocked one is a hole to fill."""

    counted: dict[int, int] = field(default_factory=dict)  # dossier id → assignments that count
    declined: set[int] = field(default_factory=set)  # dossiers with a declined assignment
    conflicted: dict[int, list[int]] = field(default_factory=dict)  # dossier id → reviewers blocked on it
    loads: dict[int, int] = field(default_factory=dict)  # reviewer id → assignments that count
    blocked: set[tuple[int, int]] = field(default_factory=set)

    def to_handle(self, dossier_id: int, k: int) -> bool:
        """A conflicted assignment to remove, or a decline not yet replaced."""
        return dossier_id in self.conflicted or (dossier_id in self.declined and self.counted[dossier_id] < k)


def _coverage(call: Call, dossier_ids: list[int]) -> Coverage:
    """In three to seven queries whatever the numbers (``service.blocked_pairs`` is bulk)."""
    coverage = Coverage(counted=dict.fromkeys(dossier_ids, 0))
    rows = db.session.execute(
        sa.select(Assignment.dossier_id, Assignment.reviewer_id, Assignment.status).join(Dossier)
        .where(Dossier.call_id == call.id, Dossier.status.in_(service.ELIGIBLE),
               Assignment.stage == ReviewStage.NATIONAL)).all()
    live = {r for _d, r, status in rows if status in service.LIVE}
    coverage.blocked = service.blocked_pairs(call, reviewer_ids=live) if live else set()
    for dossier_id, reviewer_id, status in rows:
        if status in service.DECLINED:
            coverage.declined.add(dossier_id)
        elif status in service.LIVE:
            if (dossier_id, reviewer_id) in coverage.blocked:
                coverage.conflicted.setdefault(dossier_id, []).append(reviewer_id)
            else:
                coverage.counted[dossier_id] = coverage.counted.get(dossier_id, 0) + 1
                coverage.loads[reviewer_id] = coverage.loads.get(reviewer_id, 0) + 1
    return coverage


def _pool(call: Call):
    """The call's pool, by name, in one query."""
    return db.session.scalars(
        sa.select(ReviewerPoolMember).join(User, User.id == ReviewerPoolMember.user_id)
        .where(ReviewerPoolMember.call_id == call.id)
        .options(joinedload(ReviewerPoolMember.user), joinedload(ReviewerPoolMember.institution))
        .order_by(sa.func.lower(User.full_name), User.id)).all()


def _to_handle(call: Call, coverage: Coverage, order: list[int]):
    """The first ``HANDLE_SHOWN`` dossiers with a decline or a conflict to handle, each with its suggested
    replacement (one solve for them all): ``([(dossier, [reviewers blocked], [suggested users])], total)``."""
    ids = [i for i in order if coverage.to_handle(i, call.reviewers_per_dossier)]
    if not ids:
        return [], 0
    shown = ids[:HANDLE_SHOWN]
    state = service.load_state(call)
    try:
        suggestions = service.suggest_replacements(state, shown)
    except SolverFailed:  # the page still lists what to handle; the dossier's own page suggests again
        suggestions = {}
    blocked_ids = {r for i in shown for r in coverage.conflicted.get(i, [])}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(blocked_ids)))} \
        if blocked_ids else {}
    return [(state.dossiers[i], [people[r] for r in coverage.conflicted.get(i, [])], suggestions.get(i, []))
            for i in shown], len(ids)


@bp.route("/appels/<slug>/affectations")
def assignments(slug: str):
    call = _call(slug)
    k = call.reviewers_per_dossier
    chosen = request.args.get("filtre", "tous")
    chosen = chosen if chosen in FILTERS else "tous"
    order = list(db.session.scalars(
        sa.select(Dossier.id).where(Dossier.call_id == call.id, Dossier.status.in_(service.ELIGIBLE))
        .order_by(sa.func.lower(Dossier.pole_name), Dossier.id)))
    coverage = _coverage(call, order)
    keep = {"tous": lambda i: True, "incomplets": lambda i: coverage.counted[i] < k,
            "complets": lambda i: coverage.counted[i] >= k,
            "refus": lambda i: i in coverage.declined or i in coverage.conflicted}[chosen]
    chosen_ids = [i for i in order if keep(i)]
    total = len(chosen_ids)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    page_ids = chosen_ids[(page - 1) * PER_PAGE: page * PER_PAGE]
    by_id = {d.id: d for d in db.session.scalars(sa.select(Dossier).where(Dossier.id.in_(page_ids)))} \
        if page_ids else {}
    dossiers = [by_id[i] for i in page_ids]
    rows = db.session.scalars(
        sa.select(Assignment).where(Assignment.dossier_id.in_(page_ids), Assignment.stage == ReviewStage.NATIONAL)
        .options(joinedload(Assignment.reviewer), joinedload(Assignment.institution),
                 joinedload(Assignment.review))
        .order_by(Assignment.id)).all() if page_ids else []
    by_dossier = {i: [] for i in page_ids}
    for a in rows:
        by_dossier[a.dossier_id].append(a)
    handle, handle_total = _to_handle(call, coverage, order)
    args = {"filtre": chosen} if chosen != "tous" else {}
    return render_template(
        "admin/assignments.html", call=call, k=k, dossiers=dossiers, by_dossier=by_dossier,
        blocked=coverage.blocked, counted=coverage.counted, handle=handle, handle_total=handle_total,
        pool=[(m, coverage.loads.get(m.user_id, 0)) for m in _pool(call)], page=page, pages=pages, total=total,
        filters=FILTERS, chosen=chosen, args=args, eligible=len(order),
        missing=sum(1 for i in order if coverage.counted[i] < k), Status=AssignmentStatus)


@bp.route("/appels/<slug>/affectations/proposition")
def assignment_proposal(slug: str):
    call = _call(slug)
    try:
        view = service.propose(call)
    except SolverFailed:
        flash(_("Le calcul de la proposition n’a pas abouti dans le temps imparti. Réessayez dans un instant."),
              "error")
        return redirect(url_for("admin.assignments", slug=slug))
    proposal, state = view.proposal, view.state
    users = {m.user_id: m for m in state.pool.values()}
    new_by_dossier: dict[int, list[int]] = {}
    for dossier_id, reviewer_id in proposal.new:
        new_by_dossier.setdefault(dossier_id, []).append(reviewer_id)
    reviewers_of = {a.reviewer_id: a.reviewer for a in state.assignments}
    return render_template(
        "admin/assignment_proposal.html", call=call, proposal=proposal, state=state, members=users,
        new_by_dossier=new_by_dossier, reviewers_of=reviewers_of, reasons=REASONS,
        form=forms.ProposalForm(formdata=None, pairs=view.pairs_text, fingerprint=view.fingerprint),
        pool=sorted(state.pool.values(), key=lambda m: (-proposal.loads.get(m.user_id, 0),
                                                        m.user.display_name.lower())))


@bp.route("/appels/<slug>/affectations/confirmer", methods=["POST"])
@on_lost_race(_l("Cette proposition a déjà été confirmée (un double clic, un autre onglet ou un autre "
                 "administrateur) : ses affectations n'ont été créées qu'une fois."))
@domain_errors(back=lambda slug: url_for("admin.assignment_proposal", slug=slug))
def assignment_confirm(slug: str):
    call = _call(slug)
    form = forms.ProposalForm()
    if not form.validate_on_submit():
        flash(_("La proposition envoyée n’est pas valide : elle a été recalculée."), "error")
        return redirect(url_for("admin.assignment_proposal", slug=slug))
    created = service.confirm(call, service.parse_pairs(form.pairs.data), form.fingerprint.data, by=current_user)
    db.session.commit()
    flash(_("%(num)d affectations ont été créées ; chaque rapporteur concerné est prévenu par courriel.",
            num=len(created)) if created else _("Aucune affectation à créer."), "success")
    return redirect(url_for("admin.assignments", slug=slug))


@bp.route("/appels/<slug>/affectations/dossiers/<int:dossier_id>")
def assignment_dossier(slug: str, dossier_id: int):
    call = _call(slug)
    dossier = load_or_404(Dossier, dossier_id, call_id=call.id)
    state = service.load_state(call)
    suggestion = {u.id for u in service.suggest_replacement(dossier, state)} if dossier.id in state.dossiers else set()
    rows = [a for a in state.assignments if a.dossier_id == dossier.id]
    target = state.inputs([dossier.id])[0]
    candidates = []
    for member in state.pool.values():
        if any(a.reviewer_id == member.user_id for a in rows):
            continue
        score = match_score(target[0], ReviewerIn(member.user_id, None, None, frozenset(member.activity_domains or []),
                                                  frozenset(member.region_codes or []))) if target else 0
        candidates.append({"member": member, "load": state.loads.get(member.user_id, 0), "match": score,
                           "problem": service.check_manual(state, dossier, member.user_id),
                           "suggested": member.user_id in suggestion})
    candidates.sort(key=lambda c: (not c["suggested"], c["problem"] is not None, c["load"], -c["match"],
                                   c["member"].user.display_name.lower()))
    return render_template("admin/assignment_dossier.html", call=call, dossier=dossier, rows=rows,
                           candidates=candidates, state=state, form=forms.ConfirmForm(),
                           eligible=dossier.id in state.dossiers)


@bp.route("/appels/<slug>/affectations/dossiers/<int:dossier_id>/ajouter", methods=["POST"])
@domain_errors(back=lambda slug, dossier_id: url_for("admin.assignment_dossier", slug=slug, dossier_id=dossier_id))
def assignment_add(slug: str, dossier_id: int):
    call = _call(slug)
    dossier = load_or_404(Dossier, dossier_id, call_id=call.id)
    form = forms.AddReviewerForm()
    if form.validate_on_submit():
        reviewer = load_or_404(User, form.reviewer_id.data)
        service.assign(dossier, reviewer, by=current_user)
        db.session.commit()
        flash(_("%(name)s est affecté au dossier « %(pole)s » et en est prévenu par courriel.",
                name=reviewer.display_name, pole=dossier.pole_name), "success")
        return redirect(url_for("admin.assignments", slug=slug, _anchor=f"dossier-{dossier.id}"))
    return redirect(url_for("admin.assignment_dossier", slug=slug, dossier_id=dossier_id))


@bp.route("/affectations/<int:assignment_id>/retirer", methods=["GET", "POST"])
@domain_errors(back=lambda assignment_id: url_for("admin.assignment_remove", assignment_id=assignment_id))
def assignment_remove(assignment_id: int):
    assignment = load_or_404(Assignment, assignment_id, options=(joinedload(Assignment.dossier),))
    call = assignment.dossier.call
    require(can_manage_call(current_user, call))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        dossier_id = assignment.dossier_id
        name = assignment.reviewer.display_name
        service.unassign(assignment, by=current_user)
        db.session.commit()
        flash(_("%(name)s n’est plus affecté à ce dossier.", name=name), "success")
        return redirect(url_for("admin.assignments", slug=call.slug, _anchor=f"dossier-{dossier_id}"))
    return render_template("admin/assignment_remove.html", call=call, assignment=assignment, form=form,
                           removable=assignment.status == AssignmentStatus.ASSIGNED and assignment.review is None)
