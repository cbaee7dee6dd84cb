"""The secretariat's « Notification des décisions » of a call: the current decisions not notified yet (each
letter previewed as a PDF marked « Projet — non notifié »), those notified with their date, and « Notifier »
after a confirmation that counts the letters of each kind (``services.decision_letters.notify_decisions``); without
a signatory (a call setting), a notice that the letters are signed by the awarding body, and where to set one.
Admin only (the blueprint's gate and ``can_manage_call`` / ``can_notify_decisions``)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.enums import CallStatus
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.permissions import can_manage_call, can_notify_decisions, require
from ptce_aap.services import calls as call_service
from ptce_aap.services import decision_letters
from ptce_aap.storage import get_storage
from ptce_aap.web import domain_errors, load_or_404


def _page(slug: str) -> str:
    return url_for("admin.decision_notices", slug=slug)


@bp.route("/appels/<slug>/notification-des-decisions")
def decision_notices(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    pending, done, blocked = decision_letters.overview(call)
    return render_template("admin/decision_notices.html", call=call, pending=pending, done=done, blocked=blocked,
                           counts=decision_letters.counts(pending), deliberating=call.status == CallStatus.DELIBERATION,
                           signatory_editable=call_service.signatory_editable(call))


@bp.route("/appels/<slug>/notification-des-decisions/<int:decision_id>/lettre.pdf")
def decision_letter_preview(slug: str, decision_id: int):
    """The letter of one current decision: rendered now and marked « Projet — non notifié » until notified, the
    stored letter once sent."""
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    decision = load_or_404(Decision, decision_id)
    require(decision.dossier.call_id == call.id and decision.is_current)
    if decision.letter_sha256:  # notified and stored: the very letter that was sent
        return redirect(get_storage().presigned_get(decision.letter_key, expires=120,
                                                    filename=decision_letters.letter_filename(decision),
                                                    content_type=decision_letters.LETTER_MIME))
    pdf = decision_letters.render_letter_pdf(decision.id, draft=decision.notified_at is None)
    return Response(pdf, mimetype=decision_letters.LETTER_MIME, headers={
        "Content-Disposition": f'inline; filename="{decision_letters.letter_filename(decision)}"',
        "Cache-Control": "no-store"})


@bp.route("/appels/<slug>/notification-des-decisions/notifier", methods=["GET", "POST"])
@domain_errors(back=lambda slug: _page(slug))
def notify_decisions(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    if not can_notify_decisions(current_user, call):
        flash(_("Les décisions se notifient pendant la délibération de l’appel."), "error")
        return redirect(_page(slug))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        notified = decision_letters.notify_decisions(call, by=current_user)
        db.session.commit()
        if notified:
            flash(ngettext("%(num)d décision notifiée : les lettres partent par courriel.",
                           "%(num)d décisions notifiées : les lettres partent par courriel.", len(notified)),
                  "success")
        else:
            flash(_("Aucune décision à notifier : toutes l’ont déjà été."), "info")
        return redirect(_page(slug))
    pending, _done, _blocked = decision_letters.overview(call)
    if not pending:
        flash(_("Aucune décision à notifier : toutes l’ont déjà été."), "info")
        return redirect(_page(slug))
    return render_template("admin/decision_notify.html", call=call, form=form, total=len(pending),
                           counts=decision_letters.counts(pending))


