"""The admin's assignment pages of a call: who reviews which dossier (with loads and declines), the automatic
proposal and its confirmation, one dossier's candidates (manual add), removal after confirmation."""

from __future__ import annotations

import math

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
FILTERS = {"tous": _l("Tous les dossiers"), "incomplets": _l("Rapporteurs manquants"),
           "complets": _l("Complets"), "refus": _l("Avec un refus")}
REASONS = {
    Reason.NO_REVIEWER: _l("aucun rapporteur sans conflit d’intérêts"),
    Reason.ONE_INSTITUTION: _l("un seul organisme sans conflit d’intérêts"),
    Reason.TOO_FEW: _l("pas assez de rapporteurs sans conflit d’intérêts"),
    Reason.CAPACITY: _l("les rapporteurs disponibles ont atteint leur charge maximale"),
}


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


def _live_count():
    return sa.select(sa.func.count(Assignment.id)).where(
        Assignment.dossier_id == Dossier.id, Assignment.stage == ReviewStage.NATIONAL,
        Assignment.status.in_(service.LIVE)).correlate(Dossier).scalar_subquery()


def _declined_count():
    return sa.select(sa.func.count(Assignment.id)).where(
        Assignment.dossier_id == Dossier.id, Assignment.status.in_(service.DECLINED)).correlate(Dossier) \
        .scalar_subquery()


def _pool_with_loads(call: Call):
    """``[(member, load)]`` of the call's pool, by name, in two queries."""
    members = db.session.scalars(
        sa.select(ReviewerPoolMember).join(User, User.id == ReviewerPoolMember.user_id)
        .where(ReviewerPoolMember.call_id == call.id)
        .options(joinedload(ReviewerPoolMember.user), joinedload(ReviewerPoolMember.institution))
        .order_by(sa.func.lower(User.full_name), User.id)).all()
    loads = dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count(Assignment.id)).join(Dossier)
        .where(Dossier.call_id == call.id, Dossier.status.in_(service.ELIGIBLE),
               Assignment.stage == ReviewStage.NATIONAL, Assignment.status.in_(service.LIVE))
        .group_by(Assignment.reviewer_id)).all())
    return [(m, loads.get(m.user_id, 0)) for m in members]


@bp.route("/appels/<slug>/affectations")
def assignments(slug: str):
    call = _call(slug)
    k = call.reviewers_per_dossier
    chosen = request.args.get("filtre", "tous")
    chosen = chosen if chosen in FILTERS else "tous"
    live, declined = _live_count(), _declined_count()
    base = [Dossier.call_id == call.id, Dossier.status.in_(service.ELIGIBLE)]
    conditions = {"tous": [], "incomplets": [live < k], "complets": [live >= k], "refus": [declined > 0]}
    counts = db.session.execute(sa.select(
        sa.func.count(Dossier.id), sa.func.count(Dossier.id).filter(live < k),
        sa.func.count(Dossier.id).filter(sa.and_(declined > 0, live < k))).where(*base)).one()
    total = db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(*base, *conditions[chosen])) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    dossiers = db.session.scalars(
        sa.select(Dossier).where(*base, *conditions[chosen])
        .order_by(sa.func.lower(Dossier.pole_name), Dossier.id).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    rows = db.session.scalars(
        sa.select(Assignment).where(Assignment.dossier_id.in_([d.id for d in dossiers]),
                                    Assignment.stage == ReviewStage.NATIONAL)
        .options(joinedload(Assignment.reviewer), joinedload(Assignment.institution),
                 joinedload(Assignment.review))
        .order_by(Assignment.id)).all() if dossiers else []
    by_dossier = {d.id: [] for d in dossiers}
    for a in rows:
        by_dossier[a.dossier_id].append(a)
    blocked = service.blocked_pairs(call, dossier_ids=list(by_dossier),
                                    reviewer_ids={a.reviewer_id for a in rows}) if rows else set()
    args = {"filtre": chosen} if chosen != "tous" else {}
    return render_template(
        "admin/assignments.html", call=call, k=k, dossiers=dossiers, by_dossier=by_dossier, blocked=blocked,
        pool=_pool_with_loads(call), page=page, pages=pages, total=total, filters=FILTERS, chosen=chosen,
        args=args, eligible=counts[0], missing=counts[1], declines=counts[2], LIVE=service.LIVE,
        Status=AssignmentStatus)


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
