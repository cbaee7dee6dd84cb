"""Uploads with odd input, through the real routes (CSRF on): on S3 (moto, presigned POST) and on the local
backend (the app's /stockage route, the form without JavaScript). Each gives a clear French refusal beside the
field or as a JSON error, never a 500, and nothing is stored or served under a dangerous name.

``test_attachments.py`` covers the main flows (disguised PNG/exe, unknown extensions, sizes over the limit
declared and stored, an upload that never reached the store, two confirmations at once); this module covers
the rest of the edges."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
import requests
import sqlalchemy as sa

from ptce_aap.enums import AttachmentStatus
from ptce_aap.models.dossiers import Attachment
from ptce_aap.models.outbox import OutboxEntry
from ptce_aap.storage import get_storage
from tests.integration.test_attachments import (  # noqa: F401 (local_app is a fixture)
    JSON,
    _clean_up,
    _confirm,
    _login,
    _reload,
    _send_to_store,
    _start,
    _text,
    _upload,
    _url,
    local_app,
)
from tests.unit.test_documents import pdf_bytes, png_bytes

HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
KEY_NAME = re.compile(r"dossiers/\d+/[0-9a-f]{32}/[A-Za-z0-9_-]+(\.[a-z0-9]+)?")


def _rows(db) -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def _download_disposition(client, dossier, attachment_id: int) -> str:
    response = client.get(_url(dossier, f"/{attachment_id}/telecharger"))
    assert response.status_code == 302
    fetched = requests.get(response.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    return fetched.headers["Content-Disposition"]


# --- Contents that lie about their type ------------------------------------------------------------

def test_an_html_page_renamed_pdf_is_refused_and_not_kept(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, response = _upload(client, dossier, HTML_PAGE, filename="statuts.pdf")
    assert response.status_code == 422
    assert response.get_json()["message"].startswith(
        "« statuts.pdf » a été refusé : son contenu n'est pas un document PDF comme l'indique son extension")
    row = _reload(db, attachment_id)
    assert row.status == AttachmentStatus.REJECTED and not get_storage().exists(row.storage_key)


def test_the_declared_type_is_not_trusted_either_way(client, login_as, make_dossier, applicant, db, worker):
    """A real PDF the browser calls image/png is a PDF; a PNG the browser calls application/pdf, named .png,
    is a PNG: the content decides, never what the browser declared."""
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1)
    started = _start(client, dossier, filename="statuts.pdf", size=len(data), content_type="image/png").get_json()
    assert started["fields"]["Content-Type"] == "application/pdf"  # the form is signed for the extension's type
    assert _send_to_store(started, data, "statuts.pdf").status_code == 204
    assert _confirm(client, dossier, started["attachment_id"]).status_code == 200
    image = png_bytes()
    started = _start(client, dossier, code="autre", filename="plan.png", size=len(image),
                     content_type="application/pdf").get_json()
    assert _send_to_store(started, image, "plan.png").status_code == 204
    assert _confirm(client, dossier, started["attachment_id"]).status_code == 200
    worker()
    assert [(r.filename, r.status, r.mime, r.declared_mime) for r in _rows(db)] == [
        ("statuts.pdf", AttachmentStatus.READY, "application/pdf", "image/png"),
        ("plan.png", AttachmentStatus.READY, "image/png", "application/pdf")]


# --- Sizes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, -1])
def test_a_declared_empty_file_is_refused_before_upload(client, login_as, make_dossier, applicant, db, size):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _start(client, dossier, size=size)
    assert (response.status_code, response.get_json()["message"]) == (422, "« statuts.pdf » est vide.")
    assert _rows(db) == []


def test_an_empty_object_is_refused_at_confirmation(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, response = _upload(client, dossier, b"", size=100)
    assert (response.status_code, response.get_json()["message"]) == (422, "« statuts.pdf » est vide.")
    assert _reload(db, attachment_id).status == AttachmentStatus.REJECTED


def test_the_presigned_post_policy_bounds_the_size_and_the_type(client, login_as, make_call, make_dossier,
                                                               applicant, db):
    """moto does not enforce the policy (FACTS.md): what S3 would enforce is read from the signed policy; the
    confirmation checks the size again (``test_attachments``)."""
    call = make_call(max_upload_bytes=2000)
    dossier = make_dossier(owner=applicant, call=call)
    login_as(applicant)
    fields = _start(client, dossier, size=1000).get_json()["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = [c for c in policy["conditions"] if isinstance(c, list)]
    assert ["content-length-range", 1, 2000] in conditions
    assert {"Content-Type": "application/pdf"} in policy["conditions"]


def test_the_local_upload_route_refuses_an_object_over_the_limit(local_app, make_call, make_dossier, applicant, db,  # noqa: F811
                                                                 tmp_path):
    call = make_call(max_upload_bytes=2000)
    dossier = make_dossier(owner=applicant, call=call)
    client = _login(local_app, applicant)
    started = _start(client, dossier, size=1000).get_json()
    sent = client.post("/stockage/depot", content_type="multipart/form-data",
                       data={**started["fields"], "file": (io.BytesIO(pdf_bytes(1) + b"%" * 5000), "statuts.pdf")})
    assert 400 <= sent.status_code < 500
    confirmed = _confirm(client, dossier, started["attachment_id"])
    assert confirmed.status_code in (409, 422)
    assert confirmed.get_json()["message"] in (
        "Le fichier n'a pas été reçu : l'envoi a peut-être été interrompu. Réessayez.",
        "Le fichier dépasse la taille maximale de 2\u202f000 octets.")
    assert [p for p in (tmp_path / "stockage").rglob("*") if p.is_file() and ".meta" not in p.parts] == []


def test_a_file_over_the_limit_through_the_form_is_refused_beside_the_field(local_app, make_call, make_dossier,  # noqa: F811
                                                                          applicant, db, tmp_path):
    call = make_call(max_upload_bytes=2000)
    dossier = make_dossier(owner=applicant, call=call)
    client = _login(local_app, applicant)
    response = client.post(_url(dossier, "/envoi"), content_type="multipart/form-data", data={
        "document_type": "statuts", "fichier": (io.BytesIO(pdf_bytes(1) + b"%" * 5000), "statuts.pdf")})
    assert response.status_code == 422
    page = _text(response)
    assert "Le fichier dépasse la taille maximale de" in page and "fr-upload-group--error" in page
    assert [p for p in (tmp_path / "stockage").rglob("*") if p.is_file() and ".meta" not in p.parts] == []


# --- Names -----------------------------------------------------------------------------------------

ODD_NAMES = [
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\windows\\x.pdf", "x.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("bell\x07\x1b[31m\r\n.pdf", "bell[31m.pdf"),
    ("rapport\u202efdp.pdf", "rapportfdp.pdf"),
    ("Budget pre\u0301visionnel.pdf", "Budget prévisionnel.pdf"),  # NFD, as macOS sends it
    ("CON.pdf", "_CON.pdf"),
    ("lpt1.tar.pdf", "_lpt1.tar.pdf"),
    ("nul .pdf", "_nul .pdf"),
    ('statuts";filename=evil.exe.pdf', 'statuts";filename=evil.exe.pdf'),
    ("  .statuts.pdf  ", "statuts.pdf"),
]


@pytest.mark.parametrize(("sent", "kept"), ODD_NAMES)
def test_odd_names_are_cleaned_and_served_under_a_safe_name(client, login_as, make_dossier, applicant, db, worker,
                                                            sent, kept):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1)
    attachment_id, response = _upload(client, dossier, data, filename=sent)
    assert response.status_code == 200, response.get_json()
    worker()
    row = _reload(db, attachment_id)
    assert (row.filename, row.status) == (kept, AttachmentStatus.READY)
    assert KEY_NAME.fullmatch(row.storage_key), row.storage_key
    stem = row.storage_key.rsplit("/", 1)[-1].split(".")[0].upper()
    assert stem not in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
    disposition = _download_disposition(client, dossier, attachment_id)
    ascii_name = re.fullmatch(r'attachment; filename="([^"]*)"(; filename\*=UTF-8\'\'[A-Za-z0-9%._~-]+)?',
                              disposition)
    assert ascii_name, disposition
    assert not any(c in ascii_name.group(1) for c in '/\\\x00\r\n";') and not ascii_name.group(1).startswith(".")


@pytest.mark.parametrize(("sent", "message"), [
    ("...", "Choisissez un fichier à envoyer."),
    ("", "Choisissez un fichier à envoyer."),
    ("\u202e\u200b", "Choisissez un fichier à envoyer."),
    ("facture\u202efdp.exe", "« facturefdp.exe » n'est pas d'un format accepté."),
    ("....pdf", "« pdf » n'est pas d'un format accepté."),
])
def test_names_that_leave_nothing_usable_are_refused(client, login_as, make_dossier, applicant, db, sent, message):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _start(client, dossier, filename=sent)
    assert response.status_code in (400, 422)
    assert response.get_json()["message"].startswith(message)
    assert _rows(db) == []


@pytest.mark.parametrize(("sent", "kept"), [("../../x.pdf", "x.pdf"), ("CON.pdf", "_CON.pdf"),
                                            ("a\u202egnp.pdf", "agnp.pdf")])
def test_odd_names_through_the_form_without_javascript(local_app, make_dossier, applicant, db, tmp_path,  # noqa: F811
                                                       sent, kept):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    response = client.post(_url(dossier, "/envoi"), content_type="multipart/form-data", data={
        "document_type": "statuts", "fichier": (io.BytesIO(pdf_bytes(1)), sent)})
    assert response.status_code == 302
    [row] = _rows(db)
    assert (row.filename, row.status) == (kept, AttachmentStatus.READY)
    assert KEY_NAME.fullmatch(row.storage_key)
    stored = [p.relative_to(tmp_path / "stockage").as_posix() for p in (tmp_path / "stockage").rglob("*")
              if p.is_file() and ".meta" not in p.parts]
    assert stored == [row.storage_key]
    location = client.get(_url(dossier, f"/{row.id}/telecharger")).headers["Location"]
    served = client.get(location)
    assert served.status_code == 200
    assert f'filename="{kept}"' in served.headers["Content-Disposition"]


# --- Odd JSON and confirmations ---------------------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "message"), [
    ({"document_type": "statuts", "filename": "statuts.pdf", "size": "100"}, 400,
     "Requête invalide : la taille du fichier est attendue."),
    ({"document_type": "statuts", "filename": "statuts.pdf", "size": 1.5}, 400,
     "Requête invalide : la taille du fichier est attendue."),
    ({"document_type": "statuts", "filename": "statuts.pdf", "size": True}, 400,
     "Requête invalide : la taille du fichier est attendue."),
    ({"document_type": "statuts", "filename": "statuts.pdf", "size": 10 ** 30}, 422,
     "Le fichier dépasse la taille maximale de"),
    ({"document_type": "statuts", "filename": ["a.pdf"], "size": 100}, 422, "« ['a.pdf'] » n'est pas d'un format"),
    ({"document_type": ["statuts"], "filename": "statuts.pdf", "size": 100}, 400,
     "Choisissez le type de document à envoyer."),
    (["statuts.pdf"], 400, "Requête invalide : des données JSON sont attendues."),
])
def test_odd_json_to_start_an_upload_is_refused_in_french(client, login_as, make_dossier, applicant, db, body,
                                                          status, message):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = client.post(_url(dossier, "/televersement"), headers=JSON, json=body)
    assert response.status_code == status
    assert response.get_json()["ok"] is False and response.get_json()["message"].startswith(message)
    assert _rows(db) == []


def test_confirming_twice_in_a_row_changes_nothing_the_second_time(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, first = _upload(client, dossier, pdf_bytes(1))
    second = _confirm(client, dossier, attachment_id)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["status"] == "processing"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)
                             .where(OutboxEntry.task == "process_attachment")) == 1


def test_confirming_a_refused_upload_again_gives_its_reason_again(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, first = _upload(client, dossier, HTML_PAGE)
    again = _confirm(client, dossier, attachment_id)
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.get_json()["message"] == first.get_json()["message"]


def test_confirming_an_unknown_upload_is_a_404(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _confirm(client, dossier, 987654)
    assert response.status_code == 404
