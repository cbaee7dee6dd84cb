"""The API joins the rest of the world (issue 12, new-user pass): a dossier's ``receipt_number``, a decision's
``reference`` (the open-data file's ``referenceDecision``) and ``notified_at``; a dossier's files downloaded by
their ``download_url`` — admins only, a file of that dossier only, checked files only, each download audited."""

from __future__ import annotations

import os

import pytest
import requests
import sqlalchemy as sa

from ptce_aap.enums import AttachmentStatus, ScanStatus
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.decisions import Decision
from ptce_aap.services import publication
from tests.integration import test_api, test_publication
from tests.integration.test_api import is_iso, new_token
from tests.integration.test_attachments import _stored
from tests.integration.test_publication import read_csv
from tests.unit.test_documents import pdf_bytes

full_dossier = test_api.full_dossier  # fixtures shared with those files
decided = test_publication.decided


@pytest.fixture
def bearer(db, admin_user):
    token, raw = new_token(db, admin_user)
    return {"Authorization": f"Bearer {raw}"}, token


def downloads(db) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.downloaded")
                              .order_by(AuditEvent.id)).all()


# --- receipts, references, notification ------------------------------------------------------------------

def test_decisions_carry_the_open_data_reference_and_the_notification(db, client, admin_user, bearer,
                                                                       decided):
    call, dossiers = decided
    headers, _token = bearer
    dossiers[0].receipt_number = "PTCE-2026-000042"  # set-up: the submission path is tested in test_submission
    db.session.commit()
    publication.publish(call, by=admin_user)
    db.session.commit()
    csv_rows = read_csv(client.get(f"/appels/{call.slug}/laureats.csv").data)

    items = client.get(f"/api/v1/calls/{call.slug}/decisions", headers=headers).get_json()["items"]
    by_dossier = {i["dossier_id"]: i for i in items}
    assert [by_dossier[d.id]["reference"] for d in dossiers] == ["DEC-2026-001", "DEC-2026-002", "DEC-2026-003"]
    laureates = {i["reference"]: i for i in items if i["outcome"] == "laureate"}
    assert sorted(laureates) == sorted(r["referenceDecision"] for r in csv_rows)  # the join key of the file
    for row in csv_rows:
        assert laureates[row["referenceDecision"]]["amount_eur"] == float(row["montant"])
    current = {d.dossier_id: d for d in db.session.scalars(sa.select(Decision).where(Decision.is_current))}
    notified = {i["dossier_id"]: i["notified_at"] for i in items}
    assert notified == {d.id: current[d.id].notified_at.isoformat() for d in dossiers}
    assert all(is_iso(v) for v in notified.values())

    body = client.get(f"/api/v1/dossiers/{dossiers[0].id}", headers=headers).get_json()
    assert body["receipt_number"] == "PTCE-2026-000042"
    assert body["decision"]["reference"] == "DEC-2026-001"
    assert body["decision"]["notified_at"] == notified[dossiers[0].id]
    listed = client.get(f"/api/v1/calls/{call.slug}/dossiers", headers=headers).get_json()["items"]
    assert {i["id"]: i["receipt_number"] for i in listed} == {
        dossiers[0].id: "PTCE-2026-000042", dossiers[1].id: None, dossiers[2].id: None}


def test_a_reference_is_written_as_the_open_data_file_writes_it(db, client, bearer, full_dossier):
    from ptce_aap.services import decisions as decision_service

    headers, _token = bearer
    decision = decision_service.current_decision(full_dossier)
    item = client.get("/api/v1/calls/aap-api/decisions", headers=headers).get_json()["items"][0]
    assert (item["reference"], item["notified_at"]) == (None, None)  # none typed, not notified yet
    decision.reference = "=DEC  2026\n004"  # a formula start and odd spacing, cleaned as in the CSV
    db.session.commit()
    item = client.get("/api/v1/calls/aap-api/decisions", headers=headers).get_json()["items"][0]
    assert item["reference"] == "DEC 2026 004"


# --- downloads -------------------------------------------------------------------------------------------

@pytest.fixture
def stored(db, full_dossier):
    data = pdf_bytes(1)
    return _stored(db, full_dossier, data, filename="Budget prévisionnel.pdf", code="budget"), data


def test_a_file_is_downloaded_by_its_download_url_and_audited(db, client, admin_user, bearer, full_dossier,
                                                               stored):
    headers, token = bearer
    attachment, data = stored
    body = client.get(f"/api/v1/dossiers/{full_dossier.id}", headers=headers).get_json()
    listed = {a["id"]: a for a in body["attachments"]}
    url = f"http://localhost/api/v1/dossiers/{full_dossier.id}/attachments/{attachment.id}"
    assert listed[attachment.id]["download_url"] == url
    assert listed[attachment.id]["filename"] == "Budget prévisionnel.pdf"

    response = client.get(url, headers=headers)
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    location = response.headers["Location"]
    assert location.startswith(os.environ["S3_ENDPOINT_URL"])
    assert "Expires=60" in location or "X-Amz-Expires=60" in location
    assert requests.get(location, timeout=10).content == data
    [event] = downloads(db)
    assert (event.actor_id, event.object_type, event.object_id) == (admin_user.id, "attachments", str(attachment.id))
    assert event.summary == {"after": {"via": "api", "token": token.prefix, "dossier_id": full_dossier.id,
                                       "filename": "Budget prévisionnel.pdf", "sha256": attachment.sha256}}
    assert client.get(url).status_code == 401  # the URL alone is not enough
    assert len(downloads(db)) == 1


def test_a_file_of_another_dossier_is_not_found_through_this_one(db, client, bearer, full_dossier, stored,
                                                                  make_reviewed_dossier):
    headers, _token = bearer
    attachment, _data = stored
    other = make_reviewed_dossier(call=full_dossier.call, pole_name="Pôle Voisin")
    response = client.get(f"/api/v1/dossiers/{other.id}/attachments/{attachment.id}", headers=headers)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == 404 and "Location" not in response.headers
    assert client.get(f"/api/v1/dossiers/{full_dossier.id}/attachments/999999", headers=headers).status_code == 404
    assert client.get(f"/api/v1/dossiers/{full_dossier.id}/attachments/{2**40}", headers=headers).status_code == 404
    assert downloads(db) == []


def test_a_file_of_a_draft_is_not_served(db, client, bearer, make_dossier):
    headers, _token = bearer
    draft = make_dossier(complete=True)
    attachment = _stored(db, draft, pdf_bytes(1))
    assert client.get(f"/api/v1/dossiers/{draft.id}/attachments/{attachment.id}", headers=headers).status_code == 404
    assert downloads(db) == []


@pytest.mark.parametrize(("status", "scan", "code", "message"), [
    (AttachmentStatus.QUARANTINED, ScanStatus.INFECTED, 403,
     "Ce fichier a été bloqué par l'antivirus : il ne peut pas être téléchargé."),
    (AttachmentStatus.PROCESSING, ScanStatus.PENDING, 404,
     "Ce fichier n'est pas disponible : il n'a pas été reçu ou a été refusé."),
    (AttachmentStatus.REJECTED, ScanStatus.NOT_SCANNED, 404,
     "Ce fichier n'est pas disponible : il n'a pas été reçu ou a été refusé."),
])
def test_only_checked_files_are_served(db, client, bearer, full_dossier, status, scan, code, message):
    headers, _token = bearer
    attachment = _stored(db, full_dossier, pdf_bytes(1), status=status, scan=scan)
    body = client.get(f"/api/v1/dossiers/{full_dossier.id}", headers=headers).get_json()
    assert {a["id"]: a["download_url"] for a in body["attachments"]}[attachment.id] is None
    response = client.get(f"/api/v1/dossiers/{full_dossier.id}/attachments/{attachment.id}", headers=headers)
    assert response.status_code == code and "Location" not in response.headers
    assert response.get_json()["error"]["message"] == message
    assert downloads(db) == []
