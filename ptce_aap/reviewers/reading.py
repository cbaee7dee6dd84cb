"""A reviewer's reading view of a dossier assigned to them, its print version and the download of its
documents. Every view passes ``permissions.can_read_as_reviewer`` (``reviewer_assignment``: assigned, not
declined, no conflict of interest): otherwise 404, so that a dossier's existence is not even confirmed."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ptce_aap.downloads import serve_attachment
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.permissions import can_download_attachment, can_read_as_reviewer, require
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.services import reading as reading_service
from ptce_aap.web import load_or_404


def readable_dossier(dossier_id: int, *, full: bool = True) -> Dossier:
    """The dossier if the current reviewer may read it (404 otherwise); ``full``: with everything the reading
    view shows (``services.reading.READING_OPTIONS``). For every reviewer page of a dossier."""
    dossier = load_or_404(Dossier, dossier_id, options=reading_service.READING_OPTIONS if full else ())
    require(can_read_as_reviewer(current_user, dossier))
    return dossier


@bp.route("/dossiers/<int:dossier_id>")
def dossier(dossier_id: int):
    d = readable_dossier(dossier_id)
    return render_template("reviewers/dossier.html", dossier=d, call=d.call,
                           reading=reading_service.build_reading(d), download_endpoint="reviewers.download_attachment")


@bp.route("/dossiers/<int:dossier_id>/impression")
def dossier_print(dossier_id: int):
    d = readable_dossier(dossier_id)
    return render_template("reading/print.html", dossier=d, reading=reading_service.build_reading(d),
                           back_url_endpoint="reviewers.dossier", printing=True, now=utcnow())


@bp.route("/dossiers/<int:dossier_id>/pieces/<int:attachment_id>/telecharger")
def download_attachment(dossier_id: int, attachment_id: int):
    d = readable_dossier(dossier_id, full=False)
    attachment = load_or_404(Attachment, attachment_id, dossier_id=d.id)
    require(can_download_attachment(current_user, attachment))
    return serve_attachment(attachment)
