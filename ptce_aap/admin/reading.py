"""The admin's reading view of any dossier (every section, documents, eligibility, history and audit trail),
its print version, and the download of its documents (checked, then a short-lived presigned URL)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.downloads import serve_attachment
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.permissions import can_download_attachment, can_view_dossier, require
from ptce_aap.services import reading as reading_service
from ptce_aap.web import load_or_404


def _readable(dossier_id: int) -> Dossier:
    dossier = load_or_404(Dossier, dossier_id, options=reading_service.READING_OPTIONS)
    require(can_view_dossier(current_user, dossier))
    return dossier


@bp.route("/dossiers/<int:dossier_id>/lecture")
def dossier_read(dossier_id: int):
    dossier = _readable(dossier_id)
    return render_template("admin/dossier_read.html", dossier=dossier, call=dossier.call,
                           reading=reading_service.build_reading(dossier, with_audit=True),
                           download_endpoint="admin.download_attachment")


@bp.route("/dossiers/<int:dossier_id>/lecture/impression")
def dossier_print(dossier_id: int):
    dossier = _readable(dossier_id)
    return render_template("reading/print.html", dossier=dossier, reading=reading_service.build_reading(dossier),
                           back_url_endpoint="admin.dossier_read", printing=True, now=utcnow())


@bp.route("/dossiers/<int:dossier_id>/pieces/<int:attachment_id>/telecharger")
def download_attachment(dossier_id: int, attachment_id: int):
    dossier = load_or_404(Dossier, dossier_id)
    require(can_view_dossier(current_user, dossier))
    attachment = load_or_404(Attachment, attachment_id, dossier_id=dossier.id)
    require(can_download_attachment(current_user, attachment))
    return serve_attachment(attachment)
