"""The committee's decisions, admin side: a call's « Décisions » page (/admin/appels/<slug>/decisions: the
dossiers awaiting or having a decision, their current decision, the envelope used and left; filtered by
outcome, 50 a page, a constant number of queries) and the decision form of one dossier
(/admin/dossiers/<id>/decision, ``?seance=<id>`` for a decision taken in a committee session). The form posts
to ``services.decisions.decide``; without JavaScript « Ajouter une tranche » posts the form and the server
adds the row (static/rows.js adds it in place)."""

from __future__ import annotations

import math

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.decision_forms import DecisionForm, TrancheForm
from ptce_aap.enums import DecisionOutcome, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.i18n import translate
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import CommitteeSession, Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import DECIDABLE, can_decide, can_manage_call, require
from ptce_aap.services import decisions as decision_service
from ptce_aap.web import load_or_404, page_arg, settle

PER_PAGE = 50
# The dossiers of the « Décisions » page: reviewed (awaiting a decision) or decided.
LISTED = DECIDABLE | {DossierStatus.LAUREATE, DossierStatus.REJECTED}
FILTERS = {"aucune": None, **{o.value: o for o in DecisionOutcome}}


def envelope(call: Call) -> dict:
    granted = decision_service.granted_total(call)
    return {"envelope": call.envelope_eur, "granted": granted, "left": call.envelope_eur - granted}


@bp.route("/appels/<slug>/decisions")
def call_decisions(slug: str):
    call = load_or_404(Call, slug=slug, options=(selectinload(Call.categories),))
    require(can_manage_call(current_user, call))
    chosen = request.args.get("decision", "")
    chosen = chosen if chosen in FILTERS else ""
    current = sa.and_(Decision.dossier_id == Dossier.id, Decision.is_current)
    conditions = [Dossier.call_id == call.id, Dossier.status.in_(LISTED)]
    if chosen == "aucune":
        conditions.append(Decision.id.is_(None))
    elif chosen:
        conditions.append(Decision.outcome == FILTERS[chosen])
    base = sa.select(Dossier, Decision).outerjoin(Decision, current).where(*conditions)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    rows = db.session.execute(base.order_by(sa.func.lower(Dossier.pole_name), Dossier.id)
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    categories = {c.code: c for c in call.categories}
    caps = {dossier.id: decision_service.amount_cap(dossier, categories) for dossier, _decision in rows}
    counts = dict(db.session.execute(
        sa.select(Decision.outcome, sa.func.count(Decision.id)).join(Dossier, Dossier.id == Decision.dossier_id)
        .where(Dossier.call_id == call.id, Decision.is_current).group_by(Decision.outcome)).all())
    return render_template("admin/decisions.html", call=call, rows=rows, caps=caps, total=total, page=page,
                           pages=pages, chosen=chosen, outcomes=list(DecisionOutcome), counts=counts,
                           args={"decision": chosen} if chosen else {}, **envelope(call))


def _session_arg(dossier: Dossier) -> CommitteeSession | None:
    """The session named by ``?seance=``, of the dossier's call (else 404)."""
    session_id = request.args.get("seance", type=int)
    if session_id is None:
        return None
    return load_or_404(CommitteeSession, session_id, call_id=dossier.call_id)


def decision_history(dossier: Dossier) -> list[tuple[Decision, User | None]]:
    """Every decision of the dossier with who recorded it, the newest first (one query)."""
    return db.session.execute(
        sa.select(Decision, User).outerjoin(User, User.id == Decision.decided_by_id)
        .where(Decision.dossier_id == dossier.id).order_by(Decision.decided_at.desc(), Decision.id.desc())).all()


def _back(dossier: Dossier, session: CommitteeSession | None) -> str:
    if session is not None:
        return url_for("admin.committee_session", session_id=session.id) + "#decisions"
    return url_for("admin.dossier", dossier_id=dossier.id) + "#decision"


def _render(dossier: Dossier, form: DecisionForm, session: CommitteeSession | None, previous: Decision | None,
            tranche_errors: list[str], status: int = 200):
    call = dossier.call
    return render_template(
        "admin/decision_form.html", dossier=dossier, call=call, form=form, session=session, previous=previous,
        cap=decision_service.amount_cap(dossier), tranche_errors=tranche_errors,
        prototype=TrancheForm(formdata=None, prefix="tranches-__i__-"),
        focus=request.form.get("row_action", ""), back=_back(dossier, session), **envelope(call)), status


def _row_action(form: DecisionForm) -> bool:
    """« Ajouter une tranche » / « Retirer la tranche n » without JavaScript: the form again, nothing saved."""
    action, _sep, index = request.form.get("row_action", "").partition(":")
    if action == "add_tranche":
        if len(form.tranches.entries) < (form.tranches.max_entries or 12):
            form.tranches.append_entry()
        return True
    if action == "remove_tranche" and index.isascii() and index.isdigit():
        kept = [e.form.data for i, e in enumerate(form.tranches.entries) if i != int(index)]
        while form.tranches.entries:
            form.tranches.pop_entry()
        for data in kept:
            form.tranches.append_entry(data)
        return True
    return bool(action)  # a row button we do not know: the form again, never a decision recorded by mistake


def _show(exc: DomainError, form: DecisionForm, tranche_errors: list[str]) -> None:
    """Each problem of the service beside its field, unless the field already shows why it could not be read."""
    settle(exc)
    for name, message in exc.problems:
        field = getattr(form, name, None) if name and name != "tranches" else None
        if name == "tranches":
            tranche_errors.append(translate(message))
        elif field is not None:
            if not field.errors:
                field.errors = [*field.errors, translate(message)]
        else:
            flash(translate(message), exc.category)


@bp.route("/dossiers/<int:dossier_id>/decision", methods=["GET", "POST"])
def decide(dossier_id: int):
    dossier = load_or_404(Dossier, dossier_id, options=(selectinload(Dossier.call),))
    require(can_decide(current_user, dossier), hide=False)
    session = _session_arg(dossier)
    previous = decision_service.current_decision(dossier)
    if request.method == "GET":
        form = DecisionForm(formdata=None)
        if previous is not None:
            form.fill(previous)
        if session is not None:
            form.committee_date.data = session.held_on.isoformat()
        return _render(dossier, form, session, previous, [])
    form = DecisionForm()
    if not form.validate() or _row_action(form):
        return _render(dossier, form, session, previous, [], 200 if request.form.get("row_action") else 400)
    data = form.read()
    tranche_errors: list[str] = []
    try:
        decision_service.decide(dossier, data, by=current_user, session=session)
    except DomainError as exc:
        _show(exc, form, tranche_errors)
        return _render(dossier, form, session, previous, tranche_errors, 400)
    if form.has_read_errors():
        db.session.rollback()  # a value could not be read: nothing is recorded, the form shows why
        return _render(dossier, form, session, previous, tranche_errors, 400)
    db.session.commit()
    flash(_("La décision sur « %(pole)s » est enregistrée.", pole=dossier.pole_name or _("Dossier sans nom"))
          if previous is None else _("La décision sur « %(pole)s » est corrigée ; la précédente reste dans "
                                     "l'historique.", pole=dossier.pole_name or _("Dossier sans nom")), "success")
    return redirect(_back(dossier, session))
