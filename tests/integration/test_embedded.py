"""What ``make run`` serves, with no environment variable: SQLite in instance/, files in instance/storage
through the app's own /stockage routes, jobs run inline, mail written to instance/mail/ as .eml files.

A journey through it with the test client, CSRF on, every form posted with the token the page gave it:
register and verify, create a dossier, fill a section, upload the documents, submit, get the receipt; the
demo administrator sees the dossier.
"""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from tests.conftest import FreshContextClient
from tests.fixtures.builders import fill_dossier
from tests.unit.test_documents import pdf_bytes

SERVICES = ["PTCE_ENV", "DATABASE_URL", "REDIS_URL", "RQ_QUEUE", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MAIL_SERVER", "MAIL_PORT", "STORAGE_BACKEND",
            "LOCAL_STORAGE_DIR", "RATELIMIT_STORAGE_URI", "SECRET_KEY", "PUBLIC_BASE_URL"]
PASSWORD = "Mot-de-passe-2026!"
DEMO_ADMIN, DEMO_PASSWORD = "admin@demo.ptce.fr", "Demo-ptce-2026!"


class Forms(HTMLParser):
    """The forms of a page with the values a browser would send for them as they are."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.meta_token = None
        self._form = self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "option" and self._select and self._form is not None and "selected" in a:
            self._form["fields"][self._select].append(a.get("value") or "")
        elif tag == "meta" and a.get("name") == "csrf-token":
            self.meta_token = a["content"]
        elif tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action"),
                          "id": a.get("id"), "fields": {}}
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in {"checkbox", "radio", "file", "submit"}:
            self._form["fields"][a["name"]] = [a.get("value") or ""]
        elif tag == "input" and a.get("type") in {"checkbox", "radio"} and "checked" in a:
            self._form["fields"].setdefault(a["name"], []).append(a.get("value") or "y")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = [""]
        elif tag == "select":
            self._select = a["name"]
            self._form["fields"][a["name"]] = []

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def page_forms(response) -> Forms:
    assert response.status_code == 200, response.status_code
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    return parser


def submit_form(client, url: str, fields: dict | None = None, *, action: str | None = None, form_id: str | None = None):
    """GET ``url``, fill its POST form (the one posting to ``action``, by default to ``url`` itself; or with
    id ``form_id``) and send it with the token the page put in it; the client adds none (``csrf=False``)."""
    parser = page_forms(client.get(url))
    action = action or urlsplit(url).path
    [form] = [f for f in parser.forms if f["method"] == "post"
              and (form_id is None or f["id"] == form_id) and urlsplit(f["action"] or url).path == action]
    assert form["fields"].get("csrf_token", [""])[0], f"the form of {url} carries no csrf_token"
    data = MultiDict([(name, value) for name, values in {**form["fields"], **(fields or {})}.items()
                      for value in ([values] if isinstance(values, str) else values)])
    return client.post(form["action"] or url, data=data, csrf=False)


def mails(instance, to: str) -> list:
    found = []
    for path in sorted((instance / "mail").glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if to in message["To"]:
            found.append(message)
    return found


def link(message, prefix: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    [url] = set(re.findall(r"https?://\S+" + re.escape(prefix) + r"\S+", body))
    return urlsplit(url).path


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The embedded app in a fresh instance folder, migrated, with the demo data."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    for name in SERVICES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PTCE_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    app.test_client_class = FreshContextClient
    assert app.config["ENV_NAME"] == "embedded"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'ptce_aap.sqlite3'}"
    assert (app.config["STORAGE_BACKEND"], app.config["JOBS_INLINE"]) == ("local", True)
    assert app.config.get("WTF_CSRF_ENABLED", True) and not app.testing
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["ptce", "demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    assert "Données de démonstration prêtes." in result.output
    yield app
    with app.app_context():
        db.engine.dispose()


def test_journey_on_the_embedded_default(embedded, tmp_path):
    from ptce_aap.enums import AttachmentStatus, DossierStatus
    from ptce_aap.extensions import db
    from ptce_aap.models.dossiers import Attachment, Dossier

    # Register, verify the address with the link of the .eml file, log in.
    visitor = embedded.test_client()
    registered = submit_form(visitor, "/compte/inscription", {
        "email": "julie@example.org", "full_name": "Julie Perrin", "password": PASSWORD, "password_confirm": PASSWORD,
        "accept_terms": "y"})
    assert registered.headers["Location"] == "/compte/verifiez-vos-courriels"
    [verification] = mails(tmp_path, "julie@example.org")
    assert visitor.get(link(verification, "/compte/verifier/")).status_code == 302
    client = embedded.test_client()
    logged_in = submit_form(client, "/compte/connexion", {"email": "julie@example.org", "password": PASSWORD})
    assert logged_in.headers["Location"] == "/porteur/"

    # Create a dossier from the public call page.
    call_page = client.get("/appels/ptce-2027").get_data(as_text=True)
    assert 'href="/porteur/appels/ptce-2027/nouveau"' in call_page
    created = submit_form(client, "/porteur/appels/ptce-2027/nouveau", {"pole_name": "Pôle du Val embarqué"})
    dossier_id = int(re.fullmatch(r"/porteur/dossiers/(\d+)", created.headers["Location"]).group(1))

    # The other sections as a complete dossier has them; identity and budget through their forms.
    with embedded.app_context():
        fill_dossier(db.session.get(Dossier, dossier_id), with_documents=False)
        db.session.commit()
    section = f"/porteur/dossiers/{dossier_id}/identite"
    saved = submit_form(client, section, {"carrier_legal_name": "Association du Val embarqué"}, form_id="section-form")
    assert saved.status_code == 302
    assert 'value="Association du Val embarqué"' in client.get(section).get_data(as_text=True)
    budget = f"/porteur/dossiers/{dossier_id}/budget"
    assert submit_form(client, budget, {"category_code": "developpement"}, form_id="section-form").status_code == 302
    with embedded.app_context():
        dossier = db.session.get(Dossier, dossier_id)
        assert (dossier.category_code, dossier.carrier_legal_name) == ("developpement", "Association du Val embarqué")
        assert len(dossier.financing_lines) == 4  # the rows went through the form unchanged

    # Each required document through the local backend: start (JSON, the page's token in the header),
    # the file to /stockage/depot (signed policy, no CSRF token), confirm.
    attachments = page_forms(client.get(f"/porteur/dossiers/{dossier_id}/pieces"))
    token = attachments.meta_token
    with embedded.app_context():
        required = [dt.code for dt in db.session.get(Dossier, dossier_id).call.document_types if dt.is_required]
    assert len(required) == 6
    data = pdf_bytes(2)
    for code in required:
        started = client.post(f"/porteur/dossiers/{dossier_id}/pieces/televersement", csrf=False,
                              headers={"Accept": "application/json", "X-CSRFToken": token},
                              json={"document_type": code, "filename": f"{code}.pdf", "size": len(data),
                                    "content_type": "application/pdf"})
        assert started.status_code == 201, started.get_json()
        upload = started.get_json()
        assert urlsplit(upload["url"]).path == "/stockage/depot"
        sent = client.post("/stockage/depot", content_type="multipart/form-data", csrf=False,
                           data={**upload["fields"], "file": (io.BytesIO(data), f"{code}.pdf")})
        assert sent.status_code == 204
        confirmed = client.post(f"/porteur/dossiers/{dossier_id}/pieces/{upload['attachment_id']}/confirmer",
                                csrf=False, headers={"Accept": "application/json", "X-CSRFToken": token}, json={})
        assert confirmed.status_code == 200, confirmed.get_json()
    with embedded.app_context():
        rows = db.session.scalars(sa.select(Attachment).where(Attachment.dossier_id == dossier_id)).all()
        assert {(r.document_type_code, r.status, r.storage_backend, r.page_count) for r in rows} == {
            (code, AttachmentStatus.READY, "local", 2) for code in required}
        assert all((tmp_path / "storage" / r.storage_key).read_bytes() == data for r in rows)

    # Submit, get the receipt (page, PDF and mail).
    submitted = submit_form(client, f"/porteur/dossiers/{dossier_id}/deposer")
    assert submitted.headers["Location"] == f"/porteur/dossiers/{dossier_id}"
    page = client.get(submitted.headers["Location"]).get_data(as_text=True)
    with embedded.app_context():
        dossier = db.session.get(Dossier, dossier_id)
        assert dossier.status in {DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE}  # the check runs inline
        receipt_number = dossier.receipt_number
    assert f"Récépissé n° {receipt_number}" in page
    to_file = client.get(f"/porteur/dossiers/{dossier_id}/recepisse")
    assert urlsplit(to_file.headers["Location"]).path.startswith("/stockage/fichier/")  # signed, served by the app
    location = urlsplit(to_file.headers["Location"])
    receipt = client.get(f"{location.path}?{location.query}")
    assert receipt.mimetype == "application/pdf"
    assert receipt.get_data().startswith(b"%PDF")
    assert any(receipt_number in m["Subject"] or receipt_number in m.get_body(("plain",)).get_content()
               for m in mails(tmp_path, "julie@example.org")[1:])

    # The demo administrator sees it in the call's list.
    admin = embedded.test_client()
    assert submit_form(admin, "/compte/connexion", {"email": DEMO_ADMIN, "password": DEMO_PASSWORD}
                       ).headers["Location"] == "/admin/"
    listing = admin.get("/admin/appels/ptce-2027/dossiers").get_data(as_text=True)
    assert f'<tr data-dossier="{dossier_id}">' in listing
    assert "Pôle du Val embarqué" in listing
