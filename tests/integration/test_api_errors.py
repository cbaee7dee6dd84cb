"""Every error under /api/ is JSON ``{"error": {"code", "title", "message", "request_id"}}`` with its status and
``Content-Type: application/json`` — never the web's HTML page, even for a browser asking for HTML: an unknown
dossier or address, a wrong method, no token, a non-admin's token, the rate limit, an unexpected error."""

from __future__ import annotations

import pytest

from ptce_aap.enums import Role
from tests.integration.test_api import new_token

NOT_FOUND = "Aucune ressource de l'API à cette adresse (la liste des adresses : /api/v1/openapi.json)."
NO_METHOD = "Cette méthode n'est pas acceptée ici : l'API est en lecture seule et ne répond qu'aux requêtes GET."
HTML = {"Accept": "text/html,application/xhtml+xml"}


def assert_json_error(response, code: int, message: str | None = None) -> dict:
    assert response.status_code == code
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "title", "message", "request_id"}
    assert body["error"]["code"] == code and body["error"]["request_id"] == response.headers["X-Request-ID"]
    if message is not None:
        assert body["error"]["message"] == message
    assert "<html" not in response.get_data(as_text=True)
    return body["error"]


@pytest.fixture
def headers(db, admin_user):
    return {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"} | HTML


@pytest.mark.parametrize("url", ["/api/v1/dossiers/999999", "/api/v1/dossiers/abc", "/api/v1/calls/nope",
                                 "/api/v1/calls/nope/dossiers", "/api/v1/nowhere", "/api/v1/", "/api/v2/calls",
                                 "/api/v1/dossiers/1/attachments/1"])
def test_not_found_is_json(client, headers, url):
    error = assert_json_error(client.get(url, headers=headers), 404)
    assert error["title"] == "Page non trouvée"
    assert error["message"] == NOT_FOUND


def test_an_unknown_address_is_json_without_a_token_too(client):
    assert_json_error(client.get("/api/v1/nowhere", headers=HTML), 404, NOT_FOUND)


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_wrong_method_is_405_json(client, headers, method):
    response = getattr(client, method)("/api/v1/calls", headers=headers)
    assert_json_error(response, 405, NO_METHOD)
    assert response.headers["Allow"].split(", ") and "GET" in response.headers["Allow"]


def test_no_token_is_401_json(client):
    response = client.get("/api/v1/calls", headers=HTML)
    assert_json_error(response, 401, "Un jeton d'API est requis (en-tête « Authorization: Bearer … »).")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ptce-api"'


def test_a_non_admin_token_is_403_json(client, db, make_user):
    user = make_user("ex@example.org", roles=(Role.ADMIN,))
    raw = new_token(db, user)[1]
    user.is_admin = False
    db.session.commit()
    assert_json_error(client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"} | HTML), 403,
                      "L'API est réservée aux administrateurs.")


def test_the_rate_limit_is_429_json(client, app, headers, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "1 per minute")
    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    response = client.get("/api/v1/calls", headers=headers)
    assert_json_error(response, 429, "Trop de requêtes avec ce jeton : réessayez après le délai indiqué par "
                                     "l'en-tête Retry-After.")
    assert int(response.headers["Retry-After"]) > 0


def test_an_unexpected_error_is_500_json(client, app, headers, make_call, monkeypatch):
    from ptce_aap.api import serialize

    make_call(slug="aap-api")
    monkeypatch.setitem(app.config, "RENDER_500_IN_TESTS", True)

    def broken(_call):
        raise RuntimeError("boom")

    monkeypatch.setattr(serialize, "call_item", broken)
    error = assert_json_error(client.get("/api/v1/calls", headers=headers), 500)
    assert error["message"].startswith("Une erreur inattendue s'est produite.")
    assert "boom" not in error["message"]


def test_web_pages_keep_their_html_error_page(client):
    response = client.get("/nulle-part", headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "La page que vous cherchez est introuvable." in response.get_data(as_text=True)


def test_a_nul_or_an_endless_number_in_the_address_is_refused_in_json(client, headers, make_call):
    make_call(slug="aap-api")
    for path in ("/api/v1/calls/%00", "/api/v1/calls/a%00b/dossiers", "/api/v1/calls/a%00b/decisions"):
        assert_json_error(client.get(path, headers=headers), 404)
    assert client.get("/api/v1/calls?page=" + "9" * 5000, headers=headers).status_code == 400
    assert client.get("/api/v1/calls?page=%00", headers=headers).status_code == 400
