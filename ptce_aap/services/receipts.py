"""The récépissé de dépôt: a PDF (WeasyPrint) stored next to the attachments and mailed to the pole.

Made by the ``generate_receipt`` task after submission; idempotent (same key, same content). Nothing here
commits: the task does.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import render_template

from ptce_aap import storage as file_storage
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.text import one_line
from ptce_aap.enums import AttachmentStatus, DossierStatus, MessageKind
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.messages import DossierMessage
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url


def revision_of(dossier: Dossier) -> int:
    """How many times the receipt was re-issued: once per request for complements answered or closed (the
    dossier was submitted again, with the same number)."""
    return db.session.scalar(sa.select(sa.func.count(DossierMessage.id)).where(
        DossierMessage.dossier_id == dossier.id, DossierMessage.kind == MessageKind.REQUEST,
        sa.or_(DossierMessage.answered_at.is_not(None), DossierMessage.closed_at.is_not(None)))) or 0


def _last_request_closed(dossier: Dossier) -> bool:
    """The latest request that ended was closed by the secretariat without an answer."""
    last = db.session.scalar(sa.select(DossierMessage).where(
        DossierMessage.dossier_id == dossier.id, DossierMessage.kind == MessageKind.REQUEST,
        sa.or_(DossierMessage.answered_at.is_not(None), DossierMessage.closed_at.is_not(None)))
        .order_by(DossierMessage.id.desc()))
    return last is not None and last.answered_at is None


def render_receipt_pdf(dossier: Dossier, *, revision: int = 0) -> bytes:
    from weasyprint import HTML  # heavy (Pango, fonts): loaded by the process that renders a receipt only

    html = render_template("pdf/receipt.html", dossier=dossier, call=dossier.call,
                           pole_name=one_line(dossier.pole_name, max_length=200),
                           carrier_legal_name=one_line(dossier.carrier_legal_name, max_length=200),
                           submitted_at=format_paris(dossier.submitted_at),
                           attachments=sorted((a for a in dossier.attachments if a.status == AttachmentStatus.READY),
                                              key=lambda a: (a.document_type_code, a.id)),
                           labels={dt.code: dt.label for dt in dossier.call.document_types},
                           revision=revision, reissued_at=format_paris(utcnow()) if revision else "")
    return HTML(string=html).write_pdf()


def receipt_key(dossier: Dossier, revision: int = 0) -> str:
    suffix = f"-v{revision + 1}" if revision else ""
    return f"receipts/{dossier.call_id}/{dossier.id}/{dossier.receipt_number}{suffix}.pdf"


def issue_receipt(dossier_id: int) -> str:
    """Store the receipt of a submitted dossier (unless already there) and queue its mail to every
    person of the pole (once per dossier and person). Returns what happened; the caller commits."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None or dossier.receipt_number is None:
        return "missing"
    if dossier_checks.pending_verification(dossier):  # scheduled once they are verified (``submission``)
        return "waiting for the verification of its documents"
    storage = file_storage.get_storage()
    revision = revision_of(dossier)
    key = receipt_key(dossier, revision)
    if dossier.receipt_key != key or not storage.exists(key):
        pdf = render_receipt_pdf(dossier, revision=revision)
        storage.put(key, io.BytesIO(pdf), content_type="application/pdf")
        # Not through the ORM's versioned UPDATE: the receipt is no change of the dossier, and the other jobs of
        # the submission (eligibility check…) update the dossier meanwhile on another worker — a versioned
        # UPDATE would then fail (StaleDataError) and the PDF be rendered again at the retry.
        db.session.execute(sa.update(Dossier).where(Dossier.id == dossier.id).values(receipt_key=key)
                           .execution_options(synchronize_session="fetch"))
    members = db.session.scalars(
        sa.select(PoleMembership).where(PoleMembership.pole_id == dossier.pole_id).order_by(PoleMembership.id)
    ).all()
    for membership in members:
        user = membership.user
        notify(user.email, "submission_receipt", {
            "name": one_line(user.display_name, max_length=80),
            "pole_name": one_line(dossier.pole_name, max_length=200), "receipt_number": dossier.receipt_number,
            "submitted_at_text": format_paris(dossier.submitted_at),
            "link": external_url("applicants.dossier", dossier_id=dossier.id),
            # Withdrawn before this job ran: the mail must not announce the examination.
            "withdrawn": dossier.status == DossierStatus.WITHDRAWN,
            # Submitted again after a request for complements: the same number, the documents' new fingerprints.
            "reissued": bool(revision), "request_closed": bool(revision) and _last_request_closed(dossier),
        }, dedupe_key=f"submission_receipt:{dossier.id}:{user.id}" + (f":v{revision + 1}" if revision else ""),
            user=user, attachments=[{
            "filename": f"recepisse-{dossier.receipt_number}.pdf", "mime": "application/pdf", "storage_key": key}])
    return "issued"
