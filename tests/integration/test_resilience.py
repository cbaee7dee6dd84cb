"""PostgreSQL, Redis and the object store lost while the app serves (issue 13): each is cut through a TCP proxy
(``tests/fixtures/proxy.py``: the machine's services are shared, never stopped), the app under test talks to the
proxy. While a part is gone, pages answer the calm French 503 page (JSON under /api/v1/ and to the autosave),
never a 500 or a trace; what a cut request had started is rolled back whole; once the part is back, the same app
answers again without a restart.
"""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ptce_aap.enums import DossierStatus
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.outbox import OutboxEntry
from tests.conftest import CSRF_META, FreshContextClient
from tests.fixtures import proxy
from tests.integration.test_faults import login

pg_proxy = proxy.pg_proxy  # fixtures of tests/fixtures/proxy.py

JSON = {"Accept": "application/json"}
UNAVAILABLE_FR = "Le service est momentanément indisponible. Réessayez dans quelques instants."


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_calm_503(response) -> None:
    body = text(response)
    assert response.status_code == 503, body[:500]
    assert response.mimetype == "text/html"
    assert "<h1>Service momentanément indisponible</h1>" in body
    assert UNAVAILABLE_FR in body
    assert "Traceback" not in body and "psycopg" not in body and "OperationalError" not in body
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"


def assert_json_503(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert (error["code"], error["title"], error["message"]) == (
        503, "Service momentanément indisponible", UNAVAILABLE_FR)
    assert "psycopg" not in response.get_data(as_text=True)


def through(proxy, database_url: str) -> str:
    return database_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")


def audit_actions(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def pg_app(app, pg_proxy, test_settings):
    """An app on the test database through the proxy (production's engine options: ``pool_pre_ping``). Its
    context is not pushed: the test itself reads the database directly, its clients go through the proxy."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    other = create_app({"SQLALCHEMY_DATABASE_URI": through(pg_proxy, test_settings["DATABASE_URL"])})
    other.test_client_class = FreshContextClient
    assert other.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def engine_of(other):
    from ptce_aap.extensions import db

    with other.app_context():
        return db.engine


def cut_when(engine, proxy, predicate):
    """Cut the proxy just before the first statement matching ``predicate`` is sent: mid-transaction."""
    fired = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not fired and predicate(statement):
            fired.append(statement)
            proxy.down()

    event.listen(engine, "before_cursor_execute", before)
    return fired


# --- PostgreSQL ------------------------------------------------------------------------------------------

def test_postgresql_lost_while_serving_answers_503_then_recovers_without_a_restart(
        db, pg_app, pg_proxy, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    dossier_id, user_id, version = dossier.id, applicant.get_id(), dossier.version
    db.session.commit()
    page = f"/porteur/dossiers/{dossier_id}"
    client = login(pg_app, user_id)
    assert client.get(page).status_code == 200  # the pool now holds a live connection through the proxy
    token = CSRF_META.search(client.get(f"{page}/projet").get_data(as_text=True)).group(1)
    before = pg_proxy.connections

    pg_proxy.down()  # the database's host is gone: live connections cut, new ones refused

    assert_calm_503(client.get(page))
    assert_calm_503(client.get("/"))
    assert_calm_503(client.get(f"{page}/projet"))
    # The autosave (static/dossier.js) gets JSON it shows calmly, and keeps the typed text in the browser.
    autosave = client.post(f"{page}/projet", data={"version": version, "summary": "Tapé pendant la panne",
                                                    "csrf_token": token},
                           headers={"X-Autosave": "1", **JSON})
    assert_json_503(autosave)
    assert_json_503(client.get("/api/v1/calls", headers={"Authorization": "Bearer quelconque"}))
    assert client.get("/healthz/live").status_code == 200  # the liveness probe does no I/O
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] != "ok"

    pg_proxy.up()  # back: the next request works, on a new connection (the dead ones were pinged away)
    assert client.get(page).status_code == 200
    assert pg_proxy.connections > before
    saved = client.post(f"{page}/projet", data={"version": version, "summary": "Tapé après la panne"},
                        headers={"X-Autosave": "1", **JSON})
    assert (saved.status_code, saved.get_json()["ok"], saved.get_json()["version"]) == (200, True, version + 1)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier_id).summary == "Tapé après la panne"


def test_submission_cut_in_the_middle_leaves_nothing_half_written(db, pg_app, pg_proxy, make_dossier, applicant,
                                                                  caplog):
    """The link dies after the dossier's row was updated, before the outbox rows are written: the whole
    transaction is gone (no status, no receipt number, no job, no audit); submitting again works, once."""
    dossier = make_dossier(owner=applicant, complete=True)
    dossier_id, user_id = dossier.id, applicant.get_id()
    db.session.commit()
    audit_before = audit_actions(db)
    client = login(pg_app, user_id)
    form = client.get(f"/porteur/dossiers/{dossier_id}/deposer")
    assert form.status_code == 200

    fired = cut_when(engine_of(pg_app), pg_proxy, lambda sql: sql.startswith("INSERT INTO outbox"))
    response = client.post(f"/porteur/dossiers/{dossier_id}/deposer")
    assert fired, "the submission wrote no outbox row: the cut point moved"
    assert_calm_503(response)

    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    assert (row.status, row.receipt_number, row.submitted_at) == (DossierStatus.DRAFT, None, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
    assert audit_actions(db) == audit_before
    assert "outbox dispatch failed" not in caplog.text  # nothing was committed: nothing to hand over

    pg_proxy.up()
    client.get(f"/porteur/dossiers/{dossier_id}/deposer")
    again = client.post(f"/porteur/dossiers/{dossier_id}/deposer")
    assert (again.status_code, again.headers["Location"]) == (302, f"/porteur/dossiers/{dossier_id}")
    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    assert row.status == DossierStatus.SUBMITTED
    assert row.receipt_number == f"PTCE-{row.call.closes_at.year}-{dossier_id:06d}"
    assert sorted(db.session.scalars(sa.select(OutboxEntry.task))) == [
        "detect_conflicts", "eligibility_check", "generate_receipt"]
    assert audit_actions(db)[len(audit_before):] == ["dossier.status_changed"]


def test_members_save_cut_between_delete_and_insert_keeps_the_old_members(
        db, pg_app, pg_proxy, make_dossier, applicant):
    """Saving the members section replaces the rows: cut after the old rows were deleted, before the new ones
    are inserted — the old members are all still there."""
    dossier = make_dossier(owner=applicant, complete=True)
    dossier_id, user_id = dossier.id, applicant.get_id()
    members_before = sorted(m.name for m in dossier.members)
    assert len(members_before) >= 2
    db.session.commit()
    client = login(pg_app, user_id)
    url = f"/porteur/dossiers/{dossier_id}/membres"
    from tests.integration.test_never_lose_a_word import _form

    fields = _form(client, url)
    assert fields, "the members section form was not found"
    fired = cut_when(engine_of(pg_app), pg_proxy, lambda sql: sql.startswith("INSERT INTO members"))
    response = client.post(url, data=fields)
    assert fired, "the save inserted no member: the cut point moved"
    assert_calm_503(response)

    db.session.expire_all()
    assert sorted(m.name for m in db.session.get(Dossier, dossier_id).members) == members_before
    pg_proxy.up()
    assert client.get(url).status_code == 200
