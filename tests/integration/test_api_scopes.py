"""Token scopes are enforced (issue 12, attacker pass): each API route needs one scope of the token — calls:read,
dossiers:read (dossiers and their files), decisions:read — else 403 JSON; a route declaring none is closed to
every token. Tokens get every scope unless ``--scope`` is given; the admin page and the OpenAPI document say
which scopes exist and which route needs which."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ptce_aap.api import auth
from ptce_aap.enums import ApiScope
from ptce_aap.errors import DomainError
from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.audit import AuditEvent
from tests.integration import test_api
from tests.integration.test_attachments import _stored
from tests.unit.test_documents import pdf_bytes

full_dossier = test_api.full_dossier  # the fixture shared with test_api


def token_with(db, user, scopes) -> dict:
    from ptce_aap.services import api_tokens

    _token, raw = api_tokens.create(user, scopes=scopes, by=None)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def refused(response, scope: str, label: str) -> None:
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/json"
    assert response.get_json()["error"]["message"] == (
        f"Ce jeton n'a pas le droit « {scope} » ({label}) qu'exige cette adresse de l'API.")
    assert "Location" not in response.headers


def test_each_route_needs_its_scope(client, db, admin_user, full_dossier):
    attachment = _stored(db, full_dossier, pdf_bytes(1))
    urls = {"calls": ["/api/v1/calls", "/api/v1/calls/aap-api"],
            "dossiers": ["/api/v1/calls/aap-api/dossiers", f"/api/v1/dossiers/{full_dossier.id}",
                         f"/api/v1/dossiers/{full_dossier.id}/attachments/{attachment.id}"],
            "decisions": ["/api/v1/calls/aap-api/decisions"]}
    labels = {"calls": "Appels à projets", "dossiers": "Dossiers, avis et notes", "decisions": "Décisions"}
    for held in ("calls", "dossiers", "decisions"):
        headers = token_with(db, admin_user, [f"{held}:read"])
        for kind, kind_urls in urls.items():
            for url in kind_urls:
                response = client.get(url, headers=headers)
                if kind == held:
                    assert response.status_code in (200, 302), (held, url)
                else:
                    refused(response, f"{kind}:read", labels[kind])
    # The file was served once, to the dossiers:read token only.
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "attachment.downloaded")) == 1


def test_a_token_without_any_scope_reads_nothing(client, db, admin_user, full_dossier):
    token, raw = test_api.new_token(db, admin_user)
    token.scopes = []  # a row written before scopes were given
    db.session.commit()
    refused(client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"}), "calls:read",
            "Appels à projets")
    assert client.get("/api/v1/openapi.json").status_code == 200  # the document needs no token at all


def test_a_route_declaring_no_scope_is_closed(client, db, admin_user, monkeypatch):
    headers = token_with(db, admin_user, None)
    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    monkeypatch.delitem(auth.SCOPES, "api.calls")
    response = client.get("/api/v1/calls", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "Cette adresse de l'API n'est ouverte à aucun jeton."


def test_every_route_has_a_scope_and_the_document_says_which(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in auth.PUBLIC_ENDPOINTS:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes[path] = auth.SCOPES[rule.endpoint].value
    assert routes == {path: item["get"]["x-scope"] for path, item in doc["paths"].items() if path != "/openapi.json"}
    assert routes["/dossiers/{dossier_id}/attachments/{attachment_id}"] == "dossiers:read"
    for path, scope in routes.items():
        assert doc["paths"][path]["get"]["description"].endswith(f"Needs the scope {scope}."), path
        assert scope in doc["paths"][path]["get"]["responses"]["403"]["description"], path


def test_create_token_gives_the_scopes_asked_for(app, db, admin_user):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ptce", "create-token", "admin@example.org", "--scope", "decisions:read",
                                 "--scope", "calls:read"])
    assert result.exit_code == 0, result.output
    token = db.session.scalar(sa.select(ApiToken))
    assert token.scopes == ["calls:read", "decisions:read"]  # in the enumeration's order
    assert "droits : calls:read, decisions:read." in result.output
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.summary["after"]["scopes"] == ["calls:read", "decisions:read"]

    every = runner.invoke(args=["ptce", "create-token", "admin@example.org"])
    assert every.exit_code == 0
    assert "droits : calls:read, dossiers:read, decisions:read." in every.output

    wrong = runner.invoke(args=["ptce", "create-token", "admin@example.org", "--scope", "dossiers:write"])
    assert wrong.exit_code == 2 and "dossiers:write" in wrong.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 2


def test_a_token_needs_one_scope_at_least(db, admin_user):
    from ptce_aap.services import api_tokens

    with pytest.raises(DomainError) as refusal:
        api_tokens.create(admin_user, scopes=[], by=None)
    assert refusal.value.message == "Un jeton d'API doit avoir au moins un droit."
    with pytest.raises(ValueError):
        api_tokens.create(admin_user, scopes=["everything"], by=None)


def test_the_admin_page_lists_each_token_s_scopes(client, db, login_as, admin_user):
    token_with(db, admin_user, [ApiScope.DECISIONS])
    token_with(db, admin_user, None)
    login_as(admin_user)
    html = client.get("/admin/jetons-api").get_data(as_text=True)
    assert sorted(re.findall(r'data-scopes="([^"]*)"', html)) == [
        "calls:read dossiers:read decisions:read", "decisions:read"]
    assert "<code>calls:read</code> — Appels à projets" in html
    assert "<code>dossiers:read</code> — Dossiers, avis et notes" in html
    assert "<code>decisions:read</code> — Décisions" in html
    assert "exige un droit du jeton ; sans lui, elle répond 403." in html
