"""Operations: /healthz on the real services, the demo command, request ids, error pages."""

import json
import logging

import pytest
import sqlalchemy as sa

from ptce_aap import create_app
from ptce_aap.enums import CallStatus
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from tests.fixtures.services import free_port


def test_healthz_ok_on_postgresql_s3_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("database", "storage", "queue", "status")} == {
        "database": "ok", "storage": "ok", "queue": "ok", "status": "ok"}
    assert body["jobs"] == "rq" and body["storage_backend"] == "s3"


@pytest.mark.parametrize("overrides,failing", [
    ({"S3_ENDPOINT_URL": "http://127.0.0.1:{port}"}, "storage"),
    ({"REDIS_URL": "redis://127.0.0.1:{port}/0"}, "queue"),
    ({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"}, "database"),
])
def test_healthz_names_the_failing_part_with_503(app, overrides, failing):
    port = free_port()  # nothing listens there
    broken = create_app({k: v.format(port=port) for k, v in overrides.items()})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body[failing].startswith("error: ")
    assert [k for k in ("database", "storage", "queue") if body[k] != "ok"] == [failing]
    with broken.app_context():
        from ptce_aap.extensions import db

        db.engine.dispose()


def test_demo_command_is_idempotent_and_prints_logins(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ptce", "demo"])
    assert first.exit_code == 0, first.output
    assert "Mot de passe de tous les comptes de démonstration : Demo-ptce-2026!" in first.output
    assert "admin@demo.ptce.fr" in first.output and "rapporteur.cdc@demo.ptce.fr" in first.output
    second = runner.invoke(args=["ptce", "demo"])
    assert second.exit_code == 0
    db.session.expire_all()
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    demo_poles = 8  # the call in review: one applicant account per pole, porteur1 owning the first
    past_poles = 29  # the 2013 call: one applicant account per pole
    assert len(users) == 9 + demo_poles - 1 + past_poles
    assert sum(u.is_admin for u in users) == 1 and sum(u.is_reviewer for u in users) == 6
    assert len({u.institution_id for u in users if u.is_reviewer}) == 6
    assert sum(u.is_applicant for u in users) == 2 + demo_poles - 1 + past_poles
    calls = db.session.scalars(sa.select(Call).order_by(Call.slug)).all()
    assert [(c.slug, c.status) for c in calls] == [("ptce-2013", CallStatus.PUBLISHED),
                                                   ("ptce-2026", CallStatus.REVIEW), ("ptce-2027", CallStatus.OPEN)]
    assert [c.weight for c in calls[2].criteria] == [25, 20, 15, 15, 15, 10]
    from ptce_aap.models.dossiers import Dossier

    assert db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(Dossier.call_id == calls[2].id)) == 0


def _logged_lines(action) -> list[str]:
    """The JSON lines the app's logger writes while ``action()`` runs, formatted as in production."""
    logger = logging.getLogger("ptce_aap")
    handler = next(h for h in logger.handlers if getattr(h, "_ptce", False))
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(handler.format(record))

    capture = Capture()
    capture.addFilter(handler.filters[0])
    logger.addHandler(capture)
    try:
        action()
    finally:
        logger.removeHandler(capture)
    return lines


def test_request_id_is_returned_and_logged_as_json(client):
    responses = []
    records = _logged_lines(lambda: responses.append(client.get("/appels", headers={"X-Request-ID": "abc123"})))
    response = responses[0]
    assert response.headers["X-Request-ID"] == "abc123"
    line = json.loads(next(r for r in records if '"path": "/appels"' in r))
    assert line["request_id"] == "abc123" and line["status"] == 200 and line["message"] == "request"


def test_unexpected_error_shows_calm_french_page_with_request_id(app):
    broken = create_app({"RENDER_500_IN_TESTS": True})

    @broken.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/boom", headers={"X-Request-ID": "req-42"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Une erreur inattendue s&#39;est produite" in page
    assert "req-42" in page


def test_unknown_page_is_a_french_404(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page non trouvée" in response.get_data(as_text=True)


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(app):
    from flask import request

    proxied, direct = create_app({"PROXY_HOPS": 1}), create_app()
    for flask_app in (proxied, direct):
        flask_app.add_url_rule("/ip", "ip", lambda: request.remote_addr)
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert proxied.test_client().get("/ip", headers=headers).get_data(as_text=True) == "203.0.113.7"
    assert direct.test_client().get("/ip", headers=headers).get_data(as_text=True) == "127.0.0.1"


def test_request_log_names_the_route_not_the_secret_token(client):
    lines = _logged_lines(lambda: client.get("/compte/reinitialiser/secret-token-value"))
    assert lines and all("secret-token-value" not in line for line in lines)
    assert any('"path": "/compte/reinitialiser/<token>"' in line for line in lines)


def test_liveness_does_no_io(app, client, db, monkeypatch):
    """``/healthz/live`` is the liveness probe and the ceiling of the benchmarks (bench/): no query, no session
    cookie set, no connection opened to PostgreSQL, Redis, S3 or SMTP — every new socket connection fails during
    the request. (Flask-Login's after-request hook looks for ``_remember`` in the signed-cookie session on every
    response, hence ``Vary: Cookie``: a dict lookup, no I/O.)"""
    import socket

    from tests.fixtures.queries import count_queries

    client.get("/healthz/live")  # warm-up: first-request work (translations, limiter) is not the probe's
    connects: list[object] = []

    def refuse(self, address, *args):
        connects.append(address)
        raise OSError("no I/O expected")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with count_queries(db) as statements:
        response = client.get("/healthz/live", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    monkeypatch.undo()
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert statements == [] and connects == []
    assert "Set-Cookie" not in response.headers
