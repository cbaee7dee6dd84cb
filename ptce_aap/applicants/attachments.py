"""Attachment pages of a dossier: list, upload (presigned or through the app), confirm, download, delete.

Two ways to send a file end in the same ``services.attachments.confirm_upload``:

- JavaScript (``static/attachments.js``): ``televersement`` (JSON) gives a presigned POST for a staging
  key, the browser sends the file straight to the store, then ``confirmer`` moves it to its final key
  (which no form can write) and verifies it there;
- no JavaScript: the form posts the file to ``envoi``, which streams it into the store at its final key.

Every view loads the dossier through ``viewable_dossier`` (404 for someone else's) and the attachment
through ``_attachment_of`` (404 unless it belongs to that dossier).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.applicants._common import checks_for, viewable_dossier
from ptce_aap.applicants.blueprint import bp
from ptce_aap.applicants.sections import SECTION_TITLES
from ptce_aap.domain.eligibility_documents import without_advice
from ptce_aap.downloads import DOWNLOADABLE, serve_attachment
from ptce_aap.enums import AttachmentStatus
from ptce_aap.extensions import db
from ptce_aap.i18n import translate
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.permissions import can_download_attachment, can_edit_dossier, require
from ptce_aap.services import attachments as service
from ptce_aap.services.eligibility import refused_after_submission
from ptce_aap.web import domain_error_response, domain_errors, load_or_404, settle


def _attachment_of(dossier: Dossier, attachment_id: int, *, lock: bool = False) -> Attachment:
    """The attachment if it belongs to ``dossier`` (404 otherwise). ``lock``: hold its row until the commit,
    so that a double click on "confirm" or a delete during processing happen one after the other."""
    return load_or_404(Attachment, attachment_id, dossier_id=dossier.id, for_update=lock)


def _page_url(dossier: Dossier, code: str | None = None) -> str:
    url = url_for("applicants.attachments", dossier_id=dossier.id)
    return f"{url}#doc-{code}" if code else url


def _json_error(message: str, status: int):
    return jsonify({"ok": False, "message": translate(message)}), status


def _render_page(d: Dossier, *, errors: dict | None = None, replacing: Attachment | None = None,
                 deleting: Attachment | None = None, status: int = 200):
    problems = [p for p in checks_for(d) if p.section == "pieces"]
    document_types = service.ordered_document_types(d.call)
    known = {dt.code for dt in document_types}
    by_type: dict[str, list[Attachment]] = {dt.code: [] for dt in document_types}
    orphans = []
    for attachment in d.attachments:
        (by_type[attachment.document_type_code] if attachment.document_type_code in known
         else orphans).append(attachment)
    now = utcnow()
    return render_template(
        "applicants/attachments.html", dossier=d, call=d.call, problems=problems, section="pieces",
        section_label=SECTION_TITLES["pieces"], can_edit=can_edit_dossier(current_user, d),
        can_edit_type={dt.code: can_edit_dossier(current_user, d, document_type=dt.code) for dt in document_types},
        document_types=document_types, by_type=by_type, orphans=orphans, errors=errors or {},
        replacing=replacing, deleting=deleting, stale={a.id for a in d.attachments if service.is_stale(a, now)},
        limit=service.upload_limit(d), accept=service.ACCEPT_ATTRIBUTE,
        formats=service.FORMATS_TEXT, multi_file_types=service.MULTI_FILE_TYPES, downloadable=DOWNLOADABLE,
        refused_late={a.id for a in d.attachments if refused_after_submission(a, d)}, without_advice=without_advice,
        Status=AttachmentStatus), status


@bp.route("/dossiers/<int:dossier_id>/pieces")
def attachments(dossier_id: int):
    d = viewable_dossier(dossier_id, full=True)
    replacing = None
    replaces = request.args.get("remplacer", type=int)
    if replaces is not None and can_edit_dossier(current_user, d):
        replacing = next((a for a in d.attachments if a.id == replaces), None)
    return _render_page(d, replacing=replacing)


@bp.route("/dossiers/<int:dossier_id>/pieces/etat")
def attachments_state(dossier_id: int):
    """The status of each file, polled by the page while some are being checked."""
    d = viewable_dossier(dossier_id)
    rows = db.session.execute(sa.select(Attachment.id, Attachment.status, Attachment.scan_status)
                              .where(Attachment.dossier_id == d.id).order_by(Attachment.id)).all()
    return jsonify({"attachments": [{"id": row.id, "status": row.status.value, "label": row.status.label,
                                     "scan_status": row.scan_status.value} for row in rows]})


@bp.route("/dossiers/<int:dossier_id>/pieces/televersement", methods=["POST"])
@domain_errors(as_json=True)
def start_upload(dossier_id: int):
    """JSON ``{document_type, filename, size, content_type}`` → the row and a presigned POST."""
    d = viewable_dossier(dossier_id)
    if not can_edit_dossier(current_user, d):
        return _json_error(service.NOT_EDITABLE, 409)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Requête invalide : des données JSON sont attendues."), 400)
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        return _json_error(_("Requête invalide : la taille du fichier est attendue."), 400)
    attachment = service.start_upload(
        d, document_type_code=str(data.get("document_type") or ""), filename=str(data.get("filename") or ""),
        size=size, content_type=str(data.get("content_type") or ""), by=current_user)
    db.session.commit()
    post = service.upload_form(attachment, d)
    return jsonify({
        "ok": True, "attachment_id": attachment.id, "url": post["url"], "fields": post["fields"],
        "confirm_url": url_for("applicants.confirm_upload", dossier_id=d.id, attachment_id=attachment.id),
        "delete_url": url_for("applicants.delete_attachment", dossier_id=d.id, attachment_id=attachment.id),
    }), 201


@bp.route("/dossiers/<int:dossier_id>/pieces/<int:attachment_id>/confirmer", methods=["POST"])
@domain_errors(as_json=True)
def confirm_upload(dossier_id: int, attachment_id: int):
    """After the browser's direct upload: move the object out of the form's reach and verify it (JSON
    ``{replaces}`` optional)."""
    d = viewable_dossier(dossier_id)
    attachment = _attachment_of(d, attachment_id, lock=True)
    if not can_edit_dossier(current_user, d):
        return _json_error(service.NOT_EDITABLE, 409)
    data = request.get_json(silent=True) or {}
    replaces = data.get("replaces") if isinstance(data, dict) else None
    service.confirm_upload(attachment, d, by=current_user, replaces_id=replaces if isinstance(replaces, int) else None)
    db.session.commit()
    message = _("« %(name)s » a bien été reçu. Sa vérification (antivirus, empreinte) prend quelques instants.",
                name=attachment.filename)
    flash(message, "success")
    return jsonify({"ok": True, "message": message, "status": attachment.status.value,
                    "redirect": _page_url(d, attachment.document_type_code)})


@bp.route("/dossiers/<int:dossier_id>/pieces/envoi", methods=["POST"])
def upload_through_app(dossier_id: int):
    """The form without JavaScript: the file is streamed into the store, then verified."""
    d = viewable_dossier(dossier_id, full=True)
    if not can_edit_dossier(current_user, d):
        flash(translate(service.NOT_EDITABLE), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    code = request.form.get("document_type", "")
    replaces = request.form.get("replaces", type=int)
    upload = request.files.get("fichier")
    try:
        if upload is None or not upload.filename:
            raise service.AttachmentRefused(_("Choisissez un fichier à envoyer."), status=400)
        attachment = service.start_upload(d, document_type_code=code, filename=upload.filename, size=None,
                                          content_type=upload.mimetype, by=current_user)
        service.receive_upload(attachment, d, upload.stream)
        service.confirm_upload(attachment, d, by=current_user, replaces_id=replaces)
    except service.AttachmentRefused as exc:  # the page again, the message beside the document type
        settle(exc)
        d = viewable_dossier(dossier_id, full=True)
        replacing = next((a for a in d.attachments if a.id == replaces), None)
        return _render_page(d, errors={code: exc.message}, replacing=replacing, status=exc.status)
    db.session.commit()
    flash(_("« %(name)s » a bien été reçu. Sa vérification (antivirus, empreinte) prend quelques instants.",
            name=attachment.filename), "success")
    return redirect(_page_url(d, attachment.document_type_code))


@bp.route("/dossiers/<int:dossier_id>/pieces/<int:attachment_id>/telecharger")
def download_attachment(dossier_id: int, attachment_id: int):
    d = viewable_dossier(dossier_id)
    attachment = _attachment_of(d, attachment_id)
    require(can_download_attachment(current_user, attachment))
    return serve_attachment(attachment, quarantined_message=_(
        "Ce fichier a été bloqué par l'antivirus : il ne peut pas être téléchargé. "
        "Supprimez-le et envoyez une version saine du document."))


@bp.route("/dossiers/<int:dossier_id>/pieces/<int:attachment_id>/supprimer", methods=["GET", "POST"])
def delete_attachment(dossier_id: int, attachment_id: int):
    """GET: the page with a confirmation box (works without JavaScript). POST: delete."""
    d = viewable_dossier(dossier_id, full=True)
    attachment = _attachment_of(d, attachment_id)
    wants_json = request.is_json or request.accept_mimetypes.best == "application/json"
    if not can_edit_dossier(current_user, d):
        if wants_json:
            return _json_error(service.NOT_EDITABLE, 409)
        flash(translate(service.NOT_EDITABLE), "info")
        return redirect(_page_url(d))
    if request.method == "GET":
        return _render_page(d, deleting=attachment)
    attachment = _attachment_of(d, attachment_id, lock=True)
    name, code = attachment.filename, attachment.document_type_code
    try:
        service.delete_by_user(attachment, d, by=current_user)
    except service.AttachmentRefused as exc:
        return domain_error_response(exc, back=_page_url(d, code), as_json=wants_json)
    db.session.commit()
    if wants_json:
        return jsonify({"ok": True})
    flash(_("« %(name)s » a été supprimé.", name=name), "success")
    return redirect(_page_url(d, code))
