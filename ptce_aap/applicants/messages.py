"""The applicant's side of the thread with the secretariat: the answer to a request for complements (the
request, what it reopens — links to those sections and documents —, the documents received since, and
« Répondre », which submits the dossier again), and the reply to a plain message (text only; the dossier does
not change)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.applicants import forms
from ptce_aap.applicants._common import viewable_dossier
from ptce_aap.applicants.blueprint import bp
from ptce_aap.applicants.sections import SECTION_TITLES
from ptce_aap.enums import MessageKind
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.models.base import utcnow
from ptce_aap.models.messages import DossierMessage
from ptce_aap.permissions import can_answer_message
from ptce_aap.services import messages as service
from ptce_aap.web import load_or_404, show_on_form


def _render(d, request_row, form, status: int = 200):
    received = [a for a in d.attachments if a.created_at >= request_row.created_at
                and (a.document_type_code in request_row.document_types or "pieces" in request_row.sections)]
    return render_template(
        "applicants/answer.html", dossier=d, call=d.call, request_row=request_row, form=form,
        section_titles=SECTION_TITLES, type_labels={dt.code: dt.label for dt in d.call.document_types},
        received=received), status


@bp.route("/dossiers/<int:dossier_id>/demandes/<int:message_id>/repondre", methods=["GET", "POST"])
@limiter.limit("20 per hour", key_func=lambda: f"answer:{current_user.id}", methods=["POST"])
def answer_request(dossier_id: int, message_id: int):
    d = viewable_dossier(dossier_id, full=True)
    request_row = load_or_404(DossierMessage, message_id, dossier_id=d.id, kind=MessageKind.REQUEST)
    if not can_answer_message(current_user, request_row):
        flash(_("Cette demande de compléments n'attend plus de réponse (elle a reçu sa réponse, a été close, ou sa "
                "date limite est passée)."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#echanges")
    form = forms.AnswerForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            service.answer_request(request_row, body=form.body.data, by=current_user, now=utcnow())
        except DomainError as exc:  # the page again, the answer typed kept, the reason beside it or above
            show_on_form(exc, form)
            d = viewable_dossier(dossier_id, full=True)
            request_row = load_or_404(DossierMessage, message_id, dossier_id=d.id)
            return _render(d, request_row, form, 422)
        db.session.commit()
        flash(_("Votre réponse a été envoyée au secrétariat. Votre dossier est de nouveau déposé, avec le même numéro "
                "de récépissé (%(n)s) ; le récépissé mis à jour vous est envoyé par courriel.", n=d.receipt_number),
              "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#echanges")
    return _render(d, request_row, form, 400 if request.method == "POST" else 200)


@bp.route("/dossiers/<int:dossier_id>/messages/<int:message_id>/repondre", methods=["GET", "POST"])
@limiter.limit("20 per hour", key_func=lambda: f"answer:{current_user.id}", methods=["POST"])
def reply_to_message(dossier_id: int, message_id: int):
    d = viewable_dossier(dossier_id)
    message_row = load_or_404(DossierMessage, message_id, dossier_id=d.id, kind=MessageKind.MESSAGE)
    if not can_answer_message(current_user, message_row):
        flash(_("Ce dossier a été retiré : il n'est plus possible d'écrire au secrétariat à son sujet ici."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#echanges")
    form = forms.ReplyForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            service.reply_to_message(message_row, body=form.body.data, by=current_user, now=utcnow())
        except DomainError as exc:  # the page again, the text typed kept, the reason beside it
            show_on_form(exc, form)
            return render_template("applicants/reply.html", dossier=d, message_row=message_row, form=form), 422
        db.session.commit()
        flash(_("Votre message a été envoyé au secrétariat de l'appel."), "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#echanges")
    return render_template("applicants/reply.html", dossier=d, message_row=message_row, form=form), \
        400 if request.method == "POST" else 200
