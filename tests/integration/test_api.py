"""The read-only API v1 (SPEC §7): bearer tokens (401/403, expired, revoked), every route with every field of
the SPEC and its type, pagination, query counts constant in N, the rate limit per token, ``flask ptce
create-token``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.enums import DecisionOutcome, Role
from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from tests.fixtures.queries import count_queries

ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
NUM = (int, float)


def new_token(db, user, days=30):
    from ptce_aap.services import api_tokens

    token, raw = api_tokens.create(user, days=days, by=None)
    db.session.commit()
    return token, raw


@pytest.fixture
def bearer(db, admin_user):
    return {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}


def is_iso(value) -> bool:
    return isinstance(value, str) and bool(ISO_OFFSET.match(value)) and datetime.fromisoformat(value).tzinfo


@pytest.fixture
def full_dossier(db, make_call, make_reviewed_dossier, make_assignment, make_scored_review, make_user, admin_user):
    """A reviewed dossier with an eligibility check, two submitted reviews (two institutions), a decision."""
    from ptce_aap.models.decisions import Decision
    from ptce_aap.models.dossiers import EligibilityCheck

    call = make_call(slug="aap-api")
    dossier = make_reviewed_dossier(call=call)
    dossier.submitted_at = utcnow() - timedelta(days=2)
    for n, institution in enumerate(("ANCT", "DGCS")):
        reviewer = make_user(f"r{n}@example.org", roles=(Role.REVIEWER,), institution=institution)
        make_scored_review(make_assignment(dossier, reviewer), [4, 3, 5, 2, 4, 1][: len(call.criteria)])
    db.session.add(EligibilityCheck(dossier_id=dossier.id, is_eligible=True, results=[
        {"code": "members", "passed": True, "mode": "blocking", "message": "Trois membres au moins."},
        {"code": "jobs", "passed": False, "mode": "advisory", "message": "Emplois non chiffrés."}]))
    db.session.add(Decision(dossier_id=dossier.id, outcome=DecisionOutcome.LAUREATE, amount_eur=Decimal("50000.50"),
                            motivation="Projet solide.", decided_by_id=admin_user.id))
    db.session.commit()
    return dossier


# --- authentication ----------------------------------------------------------------------------------

API_URLS = ["/api/v1/calls", "/api/v1/calls/aap-api", "/api/v1/calls/aap-api/dossiers",
            "/api/v1/calls/aap-api/decisions"]


def assert_unauthorized(response):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"]["code"] == 401


@pytest.mark.parametrize("url", API_URLS)
def test_no_token_or_a_bad_one_is_401(client, make_call, url):
    make_call(slug="aap-api")
    assert_unauthorized(client.get(url))
    assert_unauthorized(client.get(url, headers={"Authorization": "Bearer ptce_nope"}))
    assert_unauthorized(client.get(url, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}))


def test_an_expired_or_revoked_token_is_401(client, db, admin_user):
    from ptce_aap.services import api_tokens

    token, raw = new_token(db, admin_user)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    token.expires_at = utcnow() - timedelta(seconds=1)
    token.created_at = token.expires_at - timedelta(days=1)
    db.session.commit()
    assert_unauthorized(client.get("/api/v1/calls", headers=headers))

    other, raw2 = new_token(db, admin_user)
    api_tokens.revoke(other, by=admin_user)
    db.session.commit()
    assert_unauthorized(client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw2}"}))


def test_a_token_of_an_account_no_longer_admin_is_403(client, db, make_user):
    user = make_user("ex-admin@example.org", roles=(Role.ADMIN, Role.REVIEWER))
    _token, raw = new_token(db, user)
    user.is_admin = False  # the role withdrawn after the token was made
    db.session.commit()
    response = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == 403


def test_only_the_digest_is_stored_and_last_use_is_noted_once_a_minute(client, db, admin_user):
    token, raw = new_token(db, admin_user)
    assert token.token_sha256 != raw and raw not in (token.prefix, token.token_sha256)
    assert raw.startswith(token.prefix) and len(token.token_sha256) == 64
    assert token.last_used_at is None
    client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"})
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id).last_used_at
    assert first is not None
    client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"})
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == first  # not rewritten within the minute


def test_the_openapi_document_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "flask ptce create-token EMAIL [--scope SCOPE]" in scheme["description"]
    assert "calls:read (the calls); dossiers:read (the dossiers, their reviews and their files); decisions:read " \
           "(the decisions)" in scheme["description"]
    assert set(doc["paths"]) == {"/calls", "/calls/{slug}", "/calls/{slug}/dossiers", "/dossiers/{dossier_id}",
                                 "/dossiers/{dossier_id}/attachments/{attachment_id}",
                                 "/calls/{slug}/decisions", "/openapi.json"}


# --- fields ------------------------------------------------------------------------------------------

def assert_call_item(item):
    assert isinstance(item["slug"], str) and isinstance(item["title"], str) and isinstance(item["status"], str)
    assert is_iso(item["opens_at"]) and is_iso(item["closes_at"])
    assert isinstance(item["envelope_eur"], NUMS) and isinstance(item["max_amount_eur"], NUMS)


NUMS = NUM


def test_calls_list_and_detail(client, bearer, full_dossier):
    body = client.get("/api/v1/calls", headers=bearer)
    assert body.headers["Cache-Control"] == "no-store"
    page = body.get_json()
    assert set(page) == {"items", "page", "pages", "total"}
    assert (page["page"], page["pages"], page["total"]) == (1, 1, 1)
    item = page["items"][0]
    assert set(item) == {"slug", "title", "status", "opens_at", "closes_at", "envelope_eur", "max_amount_eur"}
    assert_call_item(item)
    assert item["envelope_eur"] == 1000000

    detail = client.get("/api/v1/calls/aap-api", headers=bearer).get_json()
    assert set(detail) == set(item) | {"grid", "categories", "rules", "reviewers_per_dossier"}
    assert_call_item(detail)
    assert detail["grid"] and all(set(c) == {"code", "label", "weight", "max"} for c in detail["grid"])
    assert all(isinstance(c["weight"], int) and isinstance(c["max"], int) for c in detail["grid"])
    assert isinstance(detail["categories"], list) and isinstance(detail["rules"], dict)
    assert isinstance(detail["reviewers_per_dossier"], int)
    assert client.get("/api/v1/calls/nope", headers=bearer).status_code == 404


DOSSIER_ITEM = {"id", "pole_name", "siret", "status", "region", "departments", "category", "amount_requested_eur",
                "submitted_at", "eligibility", "score", "receipt_number"}


def assert_dossier_item(item, dossier):
    assert item["id"] == dossier.id and item["pole_name"] == dossier.pole_name
    assert item["siret"] == dossier.carrier_siret and len(item["siret"]) == 14
    assert item["status"] == "reviewed" and isinstance(item["region"], str)
    assert isinstance(item["departments"], list) and all(isinstance(d, str) for d in item["departments"])
    assert item["category"] is None or isinstance(item["category"], str)
    assert isinstance(item["amount_requested_eur"], NUM) and is_iso(item["submitted_at"])
    assert item["eligibility"] == {"verdict": "eligible", "rules": [
        {"code": "members", "passed": True, "blocking": True, "message": "Trois membres au moins."},
        {"code": "jobs", "passed": False, "blocking": False, "message": "Emplois non chiffrés."}]}
    score = item["score"]
    assert set(score) == {"mean", "calibrated", "spread", "reviews"} and score["reviews"] == 2
    assert all(isinstance(score[k], NUM) for k in ("mean", "calibrated", "spread"))


def test_dossiers_of_a_call(client, bearer, full_dossier, make_dossier):
    make_dossier(call=full_dossier.call, pole_name="Brouillon")  # a draft is never listed
    page = client.get("/api/v1/calls/aap-api/dossiers", headers=bearer).get_json()
    assert page["total"] == 1 and set(page["items"][0]) == DOSSIER_ITEM
    assert_dossier_item(page["items"][0], full_dossier)


def test_one_dossier_in_full(client, bearer, full_dossier, make_dossier):
    body = client.get(f"/api/v1/dossiers/{full_dossier.id}", headers=bearer).get_json()
    assert set(body) == DOSSIER_ITEM | {"structure_porteuse", "members", "financing_plan", "attachments",
                                        "reviews", "decision"}
    assert_dossier_item(body, full_dossier)
    assert body["structure_porteuse"]["siret"] == full_dossier.carrier_siret
    assert body["members"] and all(set(m) == {"name", "siret", "category", "department", "role"}
                                   for m in body["members"])
    assert {m["category"] for m in body["members"]} <= {"ess", "enterprise", "collectivity", "research", "training",
                                                        "other"}
    assert body["financing_plan"] and all(
        set(f) == {"kind", "source", "funder", "label", "amount_eur", "status"} and f["kind"] in ("expense",
                                                                                                  "resource")
        and isinstance(f["amount_eur"], NUM) for f in body["financing_plan"])
    assert body["attachments"] and all(
        set(a) == {"id", "document_type", "filename", "size", "sha256", "mime", "scan_status", "download_url"}
        for a in body["attachments"])
    assert len(body["reviews"]) == 2
    assert {r["reviewer_institution"] for r in body["reviews"]} == {"ANCT", "DGCS"}
    codes = [c.code for c in full_dossier.call.criteria]
    for review in body["reviews"]:
        assert set(review) == {"reviewer_institution", "submitted_at", "recommendation", "scores"}
        assert is_iso(review["submitted_at"]) and review["recommendation"] == "favorable"
        assert [s["criterion"] for s in review["scores"]] == codes[: len(review["scores"])]
        assert all(isinstance(s["score"], int) and isinstance(s["comment"], str) for s in review["scores"])
    assert body["decision"]["outcome"] == "laureate" and body["decision"]["amount_eur"] == 50000.5
    assert body["decision"]["motivation"] == "Projet solide." and is_iso(body["decision"]["decided_at"])
    assert set(body["decision"]) == {"outcome", "amount_eur", "motivation", "decided_at", "reference", "notified_at"}


def test_drafts_and_unknown_dossiers_are_404(client, bearer, make_dossier):
    draft = make_dossier()
    assert client.get(f"/api/v1/dossiers/{draft.id}", headers=bearer).status_code == 404
    assert client.get("/api/v1/dossiers/999999", headers=bearer).status_code == 404
    assert client.get(f"/api/v1/dossiers/{2**40}", headers=bearer).status_code == 404


def test_decisions_of_a_call(client, bearer, full_dossier):
    page = client.get("/api/v1/calls/aap-api/decisions", headers=bearer).get_json()
    assert page["total"] == 1
    item = page["items"][0]
    assert set(item) == {"dossier_id", "pole_name", "outcome", "amount_eur", "decided_at", "reference",
                         "notified_at"}
    assert (item["dossier_id"], item["pole_name"], item["outcome"], item["amount_eur"]) == (
        full_dossier.id, full_dossier.pole_name, "laureate", 50000.5)
    assert is_iso(item["decided_at"])


# --- pagination, query counts -------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "10001", "", "١"])
def test_a_bad_page_is_400_json(client, bearer, make_call, bad):
    make_call(slug="aap-api")
    for url in ("/api/v1/calls", "/api/v1/calls/aap-api/dossiers", "/api/v1/calls/aap-api/decisions"):
        response = client.get(url, query_string={"page": bad}, headers=bearer)
        assert response.status_code == 400, (url, bad)
        assert "page" in response.get_json()["error"]["message"]


def test_pages_of_fifty(client, bearer, make_call):
    for n in range(51):
        make_call(slug=f"aap-{n:02d}")
    first = client.get("/api/v1/calls", headers=bearer).get_json()
    second = client.get("/api/v1/calls?page=2", headers=bearer).get_json()
    third = client.get("/api/v1/calls?page=3", headers=bearer).get_json()
    assert (len(first["items"]), first["pages"], first["total"]) == (50, 2, 51)
    assert (len(second["items"]), second["page"]) == (1, 2)
    assert third["items"] == [] and third["page"] == 3
    assert len({i["slug"] for i in first["items"] + second["items"]}) == 51


def test_list_pages_run_a_constant_number_of_queries(client, db, bearer, full_dossier, make_reviewed_dossier,
                                                     make_assignment, make_scored_review, make_user):
    from ptce_aap.models.decisions import Decision

    call = full_dossier.call
    urls = ["/api/v1/calls", "/api/v1/calls/aap-api/dossiers", "/api/v1/calls/aap-api/decisions"]

    def counts():
        out = []
        for url in urls:
            with count_queries(db) as statements:
                assert client.get(url, headers=bearer).status_code == 200
            out.append(len(statements))
        return out

    client.get("/api/v1/calls", headers=bearer)  # last use noted: no write in the counted requests
    before = counts()
    reviewer = make_user("r9@example.org", roles=(Role.REVIEWER,), institution="CDC")
    for n in range(4):
        dossier = make_reviewed_dossier(call=call, pole_name=f"Pôle {n}")
        make_scored_review(make_assignment(dossier, reviewer), [3] * len(call.criteria))
        db.session.add(Decision(dossier_id=dossier.id, outcome=DecisionOutcome.REJECTED, motivation="Non."))
    db.session.commit()
    assert counts() == before


# --- rate limit ----------------------------------------------------------------------------------------

def test_rate_limited_per_token_at_its_threshold(client, db, app, admin_user, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    headers = {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}
    answers = [client.get("/api/v1/calls", headers=headers).status_code for _ in range(5)]
    refused = client.get("/api/v1/calls", headers=headers)
    assert answers == [200] * 5
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == 429 and refused.headers["Cache-Control"] == "no-store"
    other = {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}
    assert client.get("/api/v1/calls", headers=other).status_code == 200  # counted per token


def test_one_allowance_for_the_whole_api_not_one_per_route(client, db, app, admin_user, make_call, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "4 per minute")
    make_call(slug="aap-quota")
    headers = {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}
    paths = ["/api/v1/calls", "/api/v1/calls/aap-quota", "/api/v1/calls/aap-quota/dossiers",
             "/api/v1/calls/aap-quota/decisions", "/api/v1/dossiers/1"]
    assert [client.get(path, headers=headers).status_code for path in paths] == [200, 200, 200, 200, 429]


def test_made_up_tokens_share_their_address_allowance(client, db, app, monkeypatch):
    """A bearer value that is no usable token is counted against the address: inventing one per request gives
    no fresh allowance."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    answers = [client.get("/api/v1/calls", headers={"Authorization": f"Bearer invented-{n}"}).status_code
               for n in range(6)]
    assert answers == [401] * 5 + [429]


# --- create-token -------------------------------------------------------------------------------------

def test_create_token_prints_the_token_last(app, db, client, admin_user):
    result = app.test_cli_runner().invoke(args=["ptce", "create-token", "admin@example.org", "--days", "7"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    token = db.session.scalar(sa.select(ApiToken))
    assert raw.startswith(token.prefix) and token.user_id == admin_user.id
    assert timedelta(days=7) - (token.expires_at - token.created_at) < timedelta(seconds=1)
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_type == "api_tokens")) == \
        "api_token.create"
    assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_create_token_refuses_a_non_admin(app, db, applicant):
    result = app.test_cli_runner().invoke(args=["ptce", "create-token", "porteur@example.org"])
    assert result.exit_code == 1
    assert "Seul un compte administrateur peut recevoir un jeton d'API." in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    unknown = app.test_cli_runner().invoke(args=["ptce", "create-token", "personne@example.org"])
    assert unknown.exit_code == 1 and "Aucun compte" in unknown.output


def test_the_decisions_list_never_shows_a_draft(client, db, admin_user, make_call, make_dossier):
    """Like every dossier route: a decision row on a draft (only a hand-made row could be) stays out."""
    from ptce_aap.models.decisions import Decision

    call = make_call(slug="aap-brouillon")
    draft = make_dossier(call=call, pole_name="Pôle brouillon")
    db.session.add(Decision(dossier_id=draft.id, outcome=DecisionOutcome.REJECTED, motivation="x"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}
    body = client.get(f"/api/v1/calls/{call.slug}/decisions", headers=headers).get_json()
    assert (body["items"], body["total"]) == ([], 0)
