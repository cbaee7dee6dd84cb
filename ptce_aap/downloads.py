"""Serving a dossier's file, whoever reads it (applicant, admin, reviewer): after the view's access check
(``permissions.can_download_attachment`` and the role's own gate), a redirect to a short-lived presigned URL
of the storage backend the file lives in — the app never streams the file itself. Only files whose checks are
over are served: never one still waiting for (or failing) its antivirus scan."""

from __future__ import annotations

from flask import redirect
from flask_babel import gettext as _

from ptce_aap.domain.filetypes import mime_for
from ptce_aap.enums import AttachmentStatus
from ptce_aap.models.dossiers import Attachment
from ptce_aap.storage import storage_for
from ptce_aap.web import render_error

DOWNLOADABLE = (AttachmentStatus.READY,)
# Seconds a download link stays valid: enough to follow the redirect, too short to pass the link around.
LINK_EXPIRES = 60


def serve_attachment(attachment: Attachment, *, quarantined_message: str | None = None):
    """The response to a download whose access was checked: 403 for a quarantined file, 404 for one that is
    not available, else a redirect to a presigned URL valid ``LINK_EXPIRES`` seconds."""
    if attachment.status == AttachmentStatus.QUARANTINED:
        return render_error(403, quarantined_message or _(
            "Ce fichier a été bloqué par l'antivirus : il ne peut pas être téléchargé."))
    if attachment.status not in DOWNLOADABLE:
        return render_error(404, _("Ce fichier n'est pas disponible : il n'a pas été reçu ou a été refusé."))
    url = storage_for(attachment.storage_backend).presigned_get(
        attachment.storage_key, expires=LINK_EXPIRES, filename=attachment.filename,
        content_type=attachment.mime or mime_for(attachment.filename))
    return redirect(url)
