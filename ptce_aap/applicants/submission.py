"""Applicant pages around submission: submit (with its confirmation), the receipt, withdrawal, and the
decision letter once notified."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.applicants import forms, sections
from ptce_aap.applicants._common import viewable_dossier
from ptce_aap.applicants.blueprint import bp
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.eligibility import siren_of
from ptce_aap.enums import DossierStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.permissions import can_read_decision_letter, can_submit_dossier, can_withdraw_dossier, require
from ptce_aap.services import decision_letters, submission
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.storage import get_storage
from ptce_aap.web import domain_error_response, domain_errors


@bp.route("/dossiers/<int:dossier_id>/deposer", methods=["GET", "POST"])
@domain_errors(back=lambda dossier_id: url_for("applicants.submit", dossier_id=dossier_id))
def submit(dossier_id: int):
    d = viewable_dossier(dossier_id, full=True)
    if d.status != DossierStatus.DRAFT:
        flash(_("Ce dossier a déjà été déposé."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    require(can_submit_dossier(current_user, d))
    now = utcnow()
    form = forms.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            submission.submit_dossier(d, by=current_user, now=utcnow())
        except submission.AlreadySubmitted as exc:  # a double click: the first one did it
            return domain_error_response(exc, back=url_for("applicants.dossier", dossier_id=dossier_id))
        db.session.commit()
        if dossier_checks.pending_verification(d):  # the page's box says what waits for them, and why
            flash(_("Votre dossier a été déposé sous le n° %(n)s.", n=d.receipt_number), "success")
        else:
            flash(_("Votre dossier a été déposé. Récépissé n° %(n)s : il vous est aussi envoyé par courriel.",
                    n=d.receipt_number), "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    problems = submission.blocking_problems(d, now=now)
    advice = [] if problems else [r for r in eligibility_service.live_advice(d, now=now).failed
                                  if r.code != "deadline"]
    return render_template("applicants/submit.html", dossier=d, call=d.call, problems=problems,
                           late=now >= d.call.closes_at, form=form, sections=dict(sections.section_list()),
                           advice=advice)


@bp.route("/dossiers/<int:dossier_id>/recepisse")
def receipt(dossier_id: int):
    d = viewable_dossier(dossier_id)
    if not d.receipt_key:
        if dossier_checks.pending_verification(d):
            flash(_("Le récépissé sera établi dès que les documents du dossier auront été vérifiés (antivirus, "
                    "empreinte) ; il vous sera aussi envoyé par courriel."), "info")
        else:
            flash(_("Le récépissé est en cours de préparation : réessayez dans quelques instants."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    url = get_storage().presigned_get(d.receipt_key, expires=120, filename=f"recepisse-{d.receipt_number}.pdf",
                                      content_type="application/pdf")
    return redirect(url)


@bp.route("/dossiers/<int:dossier_id>/lettre-de-decision")
def decision_letter(dossier_id: int):
    d = viewable_dossier(dossier_id)
    require(can_read_decision_letter(current_user, d))
    decision = decision_letters.notified_decision(d)
    require(decision is not None)
    if not decision.letter_sha256:
        flash(_("La lettre de décision est en cours de préparation : réessayez dans quelques instants."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    url = get_storage().presigned_get(decision.letter_key, expires=120,
                                      filename=decision_letters.letter_filename(decision),
                                      content_type=decision_letters.LETTER_MIME)
    return redirect(url)


@bp.route("/dossiers/<int:dossier_id>/retrait", methods=["GET", "POST"])
@domain_errors(back=lambda dossier_id: url_for("applicants.dossier", dossier_id=dossier_id))
def withdraw(dossier_id: int):
    d = viewable_dossier(dossier_id)
    if not can_withdraw_dossier(current_user, d):
        flash(_("Ce dossier ne peut pas être retiré."), "error")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    form = forms.WithdrawForm()
    if form.validate_on_submit():
        submission.withdraw_dossier(d, by=current_user, reason=form.reason.data or "")
        db.session.commit()
        flash(_("Le dossier a été retiré. Il ne sera pas examiné par le comité, et sa structure porteuse ne "
                "peut plus déposer de dossier dans cet appel à projets."), "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    return render_template("applicants/withdraw.html", dossier=d, form=form, siren=siren_of(d.carrier_siret))
