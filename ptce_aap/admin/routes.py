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
from ptce_aap.admin import messages as admin_messages
from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.decisions import decision_history
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.eligibility import RULE_LABELS
from ptce_aap.domain.messages import N_
from ptce_aap.enums import CallStatus, DossierStatus, NotificationStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, DossierTransition
from ptce_aap.models.messages import DossierMessage
from ptce_aap.models.outbox import JobRun, Notification
from ptce_aap.permissions import (
    can_administer,
    can_close_request,
    can_manage_call,
    can_request_complements,
    can_view_dossier,
    can_write_to_pole,
    require,
)
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import messages as message_service
from ptce_aap.services.notifications import retry_failed_notification
from ptce_aap.web import domain_errors, load_or_404, page_arg, show_on_form

PER_PAGE = 50
CALL_ORDER = [CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEW, CallStatus.DELIBERATION, CallStatus.DRAFT,
              CallStatus.PUBLISHED, CallStatus.ARCHIVED]


def _page_arg() -> int:
    page = page_arg()
    return max(page, 1)


@bp.route("/")
def dashboard():
    # Dossiers déposés: submitted and still in the running; those the pole withdrew are counted apart.
    withdrawn_flag = Dossier.status == DossierStatus.WITHDRAWN
    submitted: dict[int, int] = {}
    withdrawn: dict[int, int] = {}
    for call_id, is_withdrawn, count in db.session.execute(
            sa.select(Dossier.call_id, withdrawn_flag, sa.func.count(Dossier.id))
            .where(Dossier.status != DossierStatus.DRAFT).group_by(Dossier.call_id, withdrawn_flag)):
        (withdrawn if is_withdrawn else submitted)[call_id] = count
    calls = db.session.scalars(sa.select(Call).order_by(Call.closes_at.desc())).all()
    calls.sort(key=lambda c: CALL_ORDER.index(c.status))
    failed_notifications = db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.status == NotificationStatus.FAILED)) or 0
    return render_template("admin/dashboard.html", calls=calls, submitted=submitted, withdrawn=withdrawn,
                           failed_notifications=failed_notifications)


@bp.route("/appels/<slug>/eligibilite", methods=["GET", "POST"])
def rerun_eligibility(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        run = eligibility_service.rerun_for_call(call, by=current_user)
        db.session.commit()
        flash(_("La vérification de l’éligibilité des dossiers a été lancée."), "info")
        return redirect(url_for("admin.job_progress", run_id=run.id))
    return render_template("admin/rerun_confirm.html", call=call, form=form,
                           count=eligibility_service.checkable_count(call))


@bp.route("/taches/<int:run_id>")
def job_progress(run_id: int):
    run = load_or_404(JobRun, run_id)
    require(can_administer(current_user))
    call_id = eligibility_service.call_id_of_run(run)
    call = db.session.get(Call, call_id) if call_id else None
    return render_template("admin/job.html", run=run, call=call, progress=eligibility_service.progress(run))


@bp.route("/taches/<int:run_id>.json")
def job_progress_json(run_id: int):
    run = load_or_404(JobRun, run_id)
    require(can_administer(current_user))
    response = jsonify(eligibility_service.progress(run))
    response.headers["Cache-Control"] = "no-store"
    return response


# What the dossier page reads besides the dossier.
DOSSIER_PAGE = (selectinload(Dossier.members), selectinload(Dossier.call),
                selectinload(Dossier.transitions).selectinload(DossierTransition.actor))


def _render_dossier(dossier: Dossier, override_form: forms.OverrideForm, *, message_form=None,
                    complements_form=None):
    history = eligibility_service.check_history(dossier)
    latest = history[0][0] if history else None
    latest_run = next((check for check, _actor in history if not check.is_override), None)
    return render_template(
        "admin/dossier.html", dossier=dossier, call=dossier.call, latest=latest, latest_run=latest_run,
        history=history, rule_labels=RULE_LABELS, form=override_form, confirm_form=forms.ConfirmForm(),
        decisions=decision_history(dossier),
        can_check=dossier.status in eligibility_service.CHECKABLE,
        **admin_messages.page_context(dossier, message_form=message_form, complements_form=complements_form))


@bp.route("/dossiers/<int:dossier_id>")
def dossier(dossier_id: int):
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    require(can_view_dossier(current_user, d))
    return _render_dossier(d, forms.OverrideForm(formdata=None))


def _again(dossier_id: int, **typed):
    """The dossier page again after a refused form: what was typed kept, each message beside its field."""
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    return _render_dossier(d, forms.OverrideForm(formdata=None), **typed), 400


def _to_thread(dossier_id: int):
    return redirect(url_for("admin.dossier", dossier_id=dossier_id) + "#echanges")


@bp.route("/dossiers/<int:dossier_id>/message", methods=["POST"])
def send_message(dossier_id: int):
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    require(can_view_dossier(current_user, d))
    form = forms.MessageForm()
    if not can_write_to_pole(current_user, d):
        flash(_("Ce dossier n'a pas encore été déposé : le pôle ne peut pas encore être contacté ici."), "error")
        return _to_thread(dossier_id)
    if not form.validate_on_submit():
        return _again(dossier_id, message_form=form)
    try:
        message_service.send_message(d, body=form.message_body.data, by=current_user)
    except DomainError as exc:
        show_on_form(exc, form)
        return _again(dossier_id, message_form=form)
    db.session.commit()
    flash(_("Votre message a été envoyé au porteur du dossier."), "success")
    return _to_thread(dossier_id)


@bp.route("/dossiers/<int:dossier_id>/complements", methods=["POST"])
def request_complements(dossier_id: int):
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    require(can_view_dossier(current_user, d))
    form = admin_messages.build_complements_form(d, formdata=request.form)
    if not can_request_complements(current_user, d):
        flash(_("Des compléments ne peuvent plus être demandés pour ce dossier."), "error")
        return _to_thread(dossier_id)
    if not form.validate_on_submit():
        return _again(dossier_id, complements_form=form)
    try:
        message_service.request_complements(
            d, body=form.request_body.data, sections=form.sections.data or [], document_types=form.document_types.data or [],
            due_on=form.due_on.data, due_time=form.due_time.data, by=current_user, now=utcnow())
    except DomainError as exc:
        show_on_form(exc, form)
        return _again(dossier_id, complements_form=form)
    db.session.commit()
    flash(_("La demande de compléments a été envoyée : seules les parties et pièces demandées sont modifiables "
            "par le porteur jusqu'à sa réponse."), "success")
    return _to_thread(dossier_id)


@bp.route("/dossiers/<int:dossier_id>/complements/<int:message_id>/clore", methods=["POST"])
@domain_errors(back=lambda dossier_id, message_id: url_for("admin.dossier", dossier_id=dossier_id) + "#echanges")
def close_request(dossier_id: int, message_id: int):
    d = load_or_404(Dossier, dossier_id)
    require(can_view_dossier(current_user, d))
    request_row = load_or_404(DossierMessage, message_id, dossier_id=d.id)
    if forms.ConfirmForm().validate_on_submit():
        if not can_close_request(current_user, request_row):
            flash(_("Cette demande de compléments n'est plus ouverte."), "info")
            return _to_thread(dossier_id)
        message_service.close_request(request_row, by=current_user, now=utcnow())
        db.session.commit()
        flash(_("La demande de compléments a été close : le dossier est de nouveau déposé, tel qu'il est."), "success")
    return _to_thread(dossier_id)


@bp.route("/dossiers/<int:dossier_id>/verdict", methods=["POST"])
def override_verdict(dossier_id: int):
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    require(can_view_dossier(current_user, d))
    form = forms.OverrideForm()
    if not form.validate_on_submit():
        return _render_dossier(d, form), 400
    try:
        eligibility_service.override(d, is_eligible=form.is_eligible, reason=form.reason.data, by=current_user)
    except DomainError as exc:  # the form again, with the reason typed and the error beside it
        show_on_form(exc, form)
        return _render_dossier(load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE), form), 400
    db.session.commit()
    flash(_("Le verdict d’éligibilité a été enregistré avec son motif."), "success")
    return redirect(url_for("admin.dossier", dossier_id=dossier_id))


@bp.route("/dossiers/<int:dossier_id>/verifier", methods=["POST"])
@domain_errors(back=lambda dossier_id: url_for("admin.dossier", dossier_id=dossier_id))
def recheck(dossier_id: int):
    d = load_or_404(Dossier, dossier_id, options=DOSSIER_PAGE)
    require(can_view_dossier(current_user, d))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        if dossier_checks.pending_verification(d):
            raise DomainError(N_("Des pièces de ce dossier sont encore en cours de vérification (antivirus, "
                                "empreinte) : l’éligibilité sera vérifiée automatiquement dès qu’elles le seront."))
        before = d.status
        check = eligibility_service.run_check(d, by=current_user)
        if d.status != before:
            eligibility_service.notify_result(d, check)
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


def _notifications_url(**_args) -> str:
    return url_for("admin.notifications", page=request.args.get("page", type=int))


@bp.route("/notifications/<int:notification_id>/renvoyer", methods=["POST"])
@domain_errors(back=_notifications_url)
def resend_notification(notification_id: int):
    load_or_404(Notification, notification_id)
    require(can_administer(current_user))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        notification = retry_failed_notification(notification_id, by=current_user)
        db.session.commit()
        flash(_("Le courriel à %(email)s a été remis en file d’envoi.", email=notification.recipient), "success")
    return redirect(_notifications_url())
