"""schemathesis against the OpenAPI document of the API v1: for inputs generated from the document (valid and
odd path and query values), no answer is a 500, and every answer — status, content type, body — matches the
document. Run with a real admin token on a call holding a full dossier (so the 200 shapes are exercised too)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.test_api import full_dossier, new_token  # noqa: F401 -- the fixture is used here

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture
def api_schema(app, db, monkeypatch, full_dossier):  # noqa: F811
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def token_header(db, admin_user):
    return {"Authorization": f"Bearer {new_token(db, admin_user)[1]}"}


def operations(schema):
    found = [result.ok() for result in schema.get_all_operations()]
    # Every route of SPEC §7 (schemathesis leaves out the document it was loaded from).
    assert sorted(o.path for o in found) == ["/calls", "/calls/{slug}", "/calls/{slug}/decisions",
                                             "/calls/{slug}/dossiers", "/dossiers/{dossier_id}",
                                             "/dossiers/{dossier_id}/attachments/{attachment_id}"]
    return found


# schemathesis' own pytest loader (``schemathesis.pytest.from_fixture``) does not run under pytest 9 (it reads
# ``node._nodeid``): each operation's strategy is driven by Hypothesis here instead — the same generation and
# the same checks.

def test_every_answer_matches_the_document(api_schema, token_header):
    for operation in operations(api_schema):
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=token_header, checks=CHECKS)

        run()


def test_without_a_token_every_answer_is_a_documented_401(api_schema):
    for operation in operations(api_schema):
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call_and_validate(checks=CHECKS)
            assert response.status_code == 401

        run()


def test_the_real_call_and_dossier_match_the_document(api_schema, token_header, full_dossier):  # noqa: F811
    """The generated slugs and ids mostly miss: the existing ones are asked for explicitly, every 200 checked."""
    attachment = full_dossier.attachments[0]
    targets = {"/calls/{slug}": {"slug": "aap-api"}, "/calls/{slug}/dossiers": {"slug": "aap-api"},
               "/calls/{slug}/decisions": {"slug": "aap-api"}, "/dossiers/{dossier_id}": {"dossier_id": full_dossier.id},
               "/dossiers/{dossier_id}/attachments/{attachment_id}": {"dossier_id": full_dossier.id,
                                                                      "attachment_id": attachment.id},
               "/calls": {}}
    for operation in operations(api_schema):
        case = operation.Case(path_parameters=targets[operation.path])
        response = case.call_and_validate(headers=token_header, checks=CHECKS)
        expected = 302 if operation.path.endswith("{attachment_id}") else 200
        assert response.status_code == expected, operation.path


# --- the document describes itself ------------------------------------------------------------------------

def _properties(node, where="#"):
    """(path, name, schema) of every property of every object schema in ``node``."""
    if isinstance(node, dict):
        for name, schema in (node.get("properties") or {}).items():
            yield f"{where}/properties/{name}", name, schema
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _properties(value, f"{where}/{n}")


def test_every_property_operation_and_error_is_described(client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)  # a valid OpenAPI 3.0 document
    found = list(_properties(doc))
    assert len(found) > 90
    undescribed = [path for path, _name, schema in found if not str(schema.get("description", "")).strip()]
    assert undescribed == []
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in doc["paths"].items():
        operation = item["get"]
        assert operation["summary"] and operation["description"], path
        assert all(p.get("description") for p in operation.get("parameters", [])), path
        if path == "/openapi.json":
            continue
        for status in ("401", "403", "404", "429"):
            response = operation["responses"][status]
            assert response["description"], (path, status)
            assert response["content"]["application/json"]["schema"] == error, (path, status)
    receipt = doc["components"]["schemas"]["DossierItem"]["properties"]["receipt_number"]
    assert receipt == {"type": "string", "nullable": True, "example": "PTCE-2026-000042",
                       "description": "The submission receipt's number, as on the receipt sent to the pole (null "
                                      "before submission)."}
