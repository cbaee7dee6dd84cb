"""What a browser or a proxy may keep, and what /healthz tells the public (issue 8, finding 6)."""

import pytest

from ptce_aap import create_app
from ptce_aap.caching import PRIVATE_BLUEPRINTS, STATIC_ENDPOINTS
from tests.fixtures.services import free_port

PUBLIC_ADDRESS = {"REMOTE_ADDR": "203.0.113.7"}


def _urls(app, values):
    """A URL for every GET route of the app, its arguments taken from ``values`` (by name)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in STATIC_ENDPOINTS:
            continue
        if not set(rule.arguments) <= set(values):
            continue
        args = {name: values[name] for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            yield rule, url_for(rule.endpoint, **args)


@pytest.mark.parametrize("who", ["applicant", "admin_user", "reviewer", None])
def test_every_private_response_is_no_store(app, client, login_as, request, make_dossier, applicant, who):
    """Over the url map: each response of the private blueprints, each JSON answer and each page for a
    logged-in user says ``Cache-Control: no-store``; static files stay cacheable."""
    dossier = make_dossier(owner=applicant)
    if who:
        login_as(request.getfixturevalue(who))
    values = {"dossier_id": dossier.id, "attachment_id": 1, "user_id": 1, "invitation_id": 1, "run_id": 1,
              "notification_id": 1, "slug": dossier.call.slug, "section": "identite", "code": "fr",
              "token": "x", "key": "x", "call_id": dossier.call_id}
    checked = 0
    for rule, url in _urls(app, values):
        response = client.get(url)
        assert response.status_code < 500, url
        private = rule.endpoint.split(".")[0] in PRIVATE_BLUEPRINTS or who is not None
        if private or response.mimetype == "application/json":
            assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)
        response.close()  # a streamed export holds its request context until its body is closed
        checked += 1
    assert checked > 20
    static = client.get("/static/ptce.js")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_json_state_endpoints_are_no_store(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = client.get(f"/porteur/dossiers/{dossier.id}/pieces/etat", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    autosave = client.post(f"/porteur/dossiers/{dossier.id}/projet", data={"summary": "Un résumé."},
                           headers={"X-Autosave": "1"})
    assert autosave.status_code == 200 and autosave.headers["Cache-Control"] == "no-store"


def test_healthz_says_only_its_status_to_the_public(client):
    response = client.get("/healthz", environ_base=PUBLIC_ADDRESS)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_details_for_loopback_and_for_the_token(app, client):
    assert set(client.get("/healthz").get_json()) == {"database", "storage", "queue", "status", "jobs",
                                                      "storage_backend"}  # the test client is 127.0.0.1
    app.config["HEALTHZ_TOKEN"] = "s3cret-health"
    try:
        wrong = client.get("/healthz", environ_base=PUBLIC_ADDRESS, headers={"X-Healthz-Token": "guess"})
        assert wrong.get_json() == {"status": "ok"}
        right = client.get("/healthz", environ_base=PUBLIC_ADDRESS, headers={"X-Healthz-Token": "s3cret-health"})
        assert right.get_json()["database"] == "ok" and right.get_json()["storage_backend"] == "s3"
    finally:
        app.config["HEALTHZ_TOKEN"] = None


def test_healthz_failure_is_a_bare_503_to_the_public(app):
    port = free_port()  # nothing listens there
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"})
    client = broken.test_client()
    response = client.get("/healthz", environ_base=PUBLIC_ADDRESS)
    assert response.status_code == 503
    assert response.get_json() == {"status": "error"}
    live = client.get("/healthz/live", environ_base=PUBLIC_ADDRESS)  # no I/O: alive while the database is not
    assert live.status_code == 200
    assert live.get_json() == {"status": "ok"}
    assert live.headers["Cache-Control"] == "no-store"
    with broken.app_context():
        from ptce_aap.extensions import db

        db.engine.dispose()
