"""Administrator (secretariat) pages: calls, a call's dossiers with their eligibility, re-runs and their
progress, a dossier's checks and override, failed notifications. Every view requires the admin role."""

from __future__ import annotations

import math

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.eligibility import RULE_LABELS
from ptce_aap.enums import CallStatus, DossierStatus, NotificationStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.models.outbox import JobRun, Notification
from ptce_aap.permissions import blueprint_role_gate, can_administer, require
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.web import page_arg

blueprint_role_gate(bp, Role.ADMIN)

PER_PAGE = 50
CALL_ORDER = [CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEW, CallStatus.DELIBERATION, CallStatus.DRAFT,
              CallStatus.PUBLISHED, CallStatus.ARCHIVED]
LISTED_STATUSES = [s for s in DossierStatus if s != DossierStatus.DRAFT]
SORTS = {
    "pole": lambda: sa.func.lower(Dossier.pole_name),
    "statut": lambda: sa.case(*[(Dossier.status == s, i) for i, s in enumerate(DossierStatus)], else_=99),
    "depot": lambda: Dossier.submitted_at,
}


def _page_arg() -> int:
    page = page_arg()
    return max(page, 1)


@bp.route("/")
def dashboard():
    counts = db.session.execute(
        sa.select(Dossier.call_id, sa.func.count(Dossier.id)).where(Dossier.status != DossierStatus.DRAFT)
        .group_by(Dossier.call_id)).all()
    submitted = dict(counts)
    calls = db.session.scalars(sa.select(Call).order_by(Call.closes_at.desc())).all()
    calls.sort(key=lambda c: CALL_ORDER.index(c.status))
    failed_notifications = db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.status == NotificationStatus.FAILED)) or 0
    return render_template("admin/dashboard.html", calls=calls, submitted=submitted,
                           failed_notifications=failed_notifications)


def _load_call(slug: str) -> Call:
    call = db.first_or_404(sa.select(Call).where(Call.slug == slug))
    require(can_administer(current_user))
    return call


@bp.route("/appels/<slug>/dossiers")
def call_dossiers(slug: str):
    call = _load_call(slug)
    status = request.args.get("statut", "")
    status = DossierStatus(status) if status in {s.value for s in LISTED_STATUSES} else None
    sort = request.args.get("tri", "depot")
    sort = sort if sort in SORTS else "depot"
    descending = request.args.get("ordre") == "desc"
    page = _page_arg()

    conditions = [Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT]
    if status is not None:
        conditions.append(Dossier.status == status)
    total = db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    key = SORTS[sort]()
    latest_id = eligibility_service.latest_check_id_subquery()
    rows = db.session.execute(
        sa.select(Dossier, EligibilityCheck)
        .outerjoin(EligibilityCheck, EligibilityCheck.id == latest_id)
        .where(*conditions)
        .order_by(key.desc().nulls_last() if descending else key.asc().nulls_last(), Dossier.id)
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    by_status = dict(db.session.execute(
        sa.select(Dossier.status, sa.func.count(Dossier.id))
        .where(Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT)
        .group_by(Dossier.status)).all())
    args = {"statut": status.value if status else None, "tri": sort, "ordre": "desc" if descending else None}
    return render_template(
        "admin/call_dossiers.html", call=call, rows=rows, total=total, page=page, pages=pages,
        status=status, sort=sort, descending=descending, statuses=LISTED_STATUSES, by_status=by_status,
        args={k: v for k, v in args.items() if v}, form=forms.ConfirmForm(),
        checkable=sum(by_status.get(s, 0) for s in eligibility_service.CHECKABLE))


@bp.route("/appels/<slug>/eligibilite", methods=["GET", "POST"])
def rerun_eligibility(slug: str):
    call = _load_call(slug)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        run = eligibility_service.rerun_for_call(call, by=current_user)
        db.session.commit()
        flash(_("La vérification de l’éligibilité des dossiers a été lancée."), "info")
        return redirect(url_for("admin.job_progress", run_id=run.id))
    return render_template("admin/rerun_confirm.html", call=call, form=form,
                           count=eligibility_service.checkable_count(call))


def _load_run(run_id: int) -> JobRun:
    run = db.get_or_404(JobRun, run_id)
    require(can_administer(current_user))
    return run


@bp.route("/taches/<int:run_id>")
def job_progress(run_id: int):
    run = _load_run(run_id)
    call_id = eligibility_service.call_id_of_run(run)
    call = db.session.get(Call, call_id) if call_id else None
    return render_template("admin/job.html", run=run, call=call, progress=eligibility_service.progress(run))


@bp.route("/taches/<int:run_id>.json")
def job_progress_json(run_id: int):
    run = _load_run(run_id)
    response = jsonify(eligibility_service.progress(run))
    response.headers["Cache-Control"] = "no-store"
    return response


def _load_dossier(dossier_id: int) -> Dossier:
    dossier = db.first_or_404(
        sa.select(Dossier).where(Dossier.id == dossier_id)
        .options(selectinload(Dossier.members), selectinload(Dossier.call)))
    require(can_administer(current_user))
    return dossier


def _render_dossier(dossier: Dossier, override_form: forms.OverrideForm):
    history = eligibility_service.check_history(dossier)
    latest = history[0][0] if history else None
    latest_run = next((check for check, _actor in history if not check.is_override), None)
    return render_template(
        "admin/dossier.html", dossier=dossier, call=dossier.call, latest=latest, latest_run=latest_run,
        history=history, rule_labels=RULE_LABELS, form=override_form, confirm_form=forms.ConfirmForm(),
        can_check=dossier.status in eligibility_service.CHECKABLE)


@bp.route("/dossiers/<int:dossier_id>")
def dossier(dossier_id: int):
    d = _load_dossier(dossier_id)
    return _render_dossier(d, forms.OverrideForm(formdata=None))


@bp.route("/dossiers/<int:dossier_id>/verdict", methods=["POST"])
def override_verdict(dossier_id: int):
    d = _load_dossier(dossier_id)
    form = forms.OverrideForm()
    if form.validate_on_submit():
        try:
            eligibility_service.override(d, is_eligible=form.is_eligible, reason=form.reason.data, by=current_user)
        except DomainError as exc:
            db.session.rollback()
            if exc.field == "reason":
                form.reason.errors = [*form.reason.errors, exc.message]
            else:
                flash(exc.message, "error")
            return _render_dossier(_load_dossier(dossier_id), form), 400
        db.session.commit()
        flash(_("Le verdict d’éligibilité a été enregistré avec son motif."), "success")
        return redirect(url_for("admin.dossier", dossier_id=dossier_id))
    return _render_dossier(d, form), 400


@bp.route("/dossiers/<int:dossier_id>/verifier", methods=["POST"])
def recheck(dossier_id: int):
    d = _load_dossier(dossier_id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        before = d.status
        try:
            check = eligibility_service.run_check(d, by=current_user)
            if d.status != before:
                eligibility_service.notify_result(d, check)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Les conditions d’éligibilité ont été vérifiées de nouveau."), "success")
    return redirect(url_for("admin.dossier", dossier_id=dossier_id))


@bp.route("/notifications")
def notifications():
    page = _page_arg()
    condition = Notification.status == NotificationStatus.FAILED
    total = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(condition)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    rows = db.session.scalars(sa.select(Notification).where(condition).order_by(Notification.id.desc())
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("admin/notifications.html", notifications=rows, total=total, page=page, pages=pages,
                           form=forms.ConfirmForm())


@bp.route("/notifications/<int:notification_id>/renvoyer", methods=["POST"])
def resend_notification(notification_id: int):
    from ptce_aap.services.notifications import retry_failed_notification

    db.get_or_404(Notification, notification_id)
    require(can_administer(current_user))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        try:
            notification = retry_failed_notification(notification_id, by=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Le courriel à %(email)s a été remis en file d’envoi.", email=notification.recipient), "success")
    return redirect(url_for("admin.notifications", page=request.args.get("page", type=int)))
