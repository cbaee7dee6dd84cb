"""``Attachment.status`` has one write path, ``set_attachment_status``, guarded by ``ATTACHMENT_TRANSITIONS``."""

import itertools

import pytest
import sqlalchemy as sa

from ptce_aap.enums import ATTACHMENT_TRANSITIONS, AttachmentStatus, ScanStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.dossiers import Attachment
from ptce_aap.services.attachments import set_attachment_status

ALLOWED = {(start, to) for start, targets in ATTACHMENT_TRANSITIONS.items() for to in targets}


def _attachment(db, dossier, status: AttachmentStatus) -> Attachment:
    attachment = Attachment(dossier_id=dossier.id, document_type_code="statuts", filename="statuts.pdf",
                            storage_backend="local", storage_key=f"dossiers/{dossier.id}/x/{status.value}.pdf",
                            status=status, scan_status=ScanStatus.PENDING)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def test_the_table_covers_every_status_and_ends_in_final_states():
    assert set(ATTACHMENT_TRANSITIONS) == set(AttachmentStatus)
    assert sorted(ALLOWED) == sorted([
        (AttachmentStatus.UPLOADING, AttachmentStatus.PROCESSING),
        (AttachmentStatus.UPLOADING, AttachmentStatus.REJECTED),
        (AttachmentStatus.PROCESSING, AttachmentStatus.READY),
        (AttachmentStatus.PROCESSING, AttachmentStatus.QUARANTINED),
        (AttachmentStatus.PROCESSING, AttachmentStatus.REJECTED),
    ])


@pytest.mark.parametrize(("start", "to"), list(itertools.product(AttachmentStatus, AttachmentStatus)),
                         ids=lambda s: s.value)
def test_a_move_is_made_only_when_the_table_allows_it(app, db, make_dossier, start, to):
    attachment = _attachment(db, make_dossier(), start)
    if (start, to) in ALLOWED:
        set_attachment_status(attachment, to)
        assert attachment.status == to
    else:
        with pytest.raises(DomainError) as refused:
            set_attachment_status(attachment, to)
        assert refused.value.message == f"Transition impossible : {start.label} → {to.label}."
        assert attachment.status == start


def test_expected_from_refuses_a_row_changed_meanwhile(app, db, make_dossier):
    attachment = _attachment(db, make_dossier(), AttachmentStatus.REJECTED)
    with pytest.raises(DomainError) as refused:
        set_attachment_status(attachment, AttachmentStatus.READY, expected_from=AttachmentStatus.PROCESSING)
    assert refused.value.message == "Ce fichier n'est plus « Vérification en cours » mais « Refusé »."
    db.session.flush()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Attachment.status).where(Attachment.id == attachment.id)) == (
        AttachmentStatus.REJECTED)


def test_expected_from_accepts_the_status_it_names(app, db, make_dossier):
    attachment = _attachment(db, make_dossier(), AttachmentStatus.PROCESSING)
    set_attachment_status(attachment, AttachmentStatus.QUARANTINED,
                          expected_from=(AttachmentStatus.PROCESSING, AttachmentStatus.UPLOADING))
    assert attachment.status == AttachmentStatus.QUARANTINED
