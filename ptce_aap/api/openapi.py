"""The OpenAPI 3 document of the API v1 (served at ``/api/v1/openapi.json``; schemathesis tests the API
against it). Enumerations come from ``ptce_aap.enums``, so the document follows the code."""

from __future__ import annotations

from ptce_aap.enums import (
    CallStatus,
    DecisionOutcome,
    DossierStatus,
    FinancingKind,
    FundingSource,
    FundingStatus,
    LegalForm,
    MemberCategory,
    MemberRole,
    Recommendation,
    ScanStatus,
)
from ptce_aap.web import MAX_PAGE

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
SLUG = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}


def nullable(schema: dict) -> dict:
    return schema | {"nullable": True}


def enum_of(enum_class, *, null: bool = False) -> dict:
    values = [member.value for member in enum_class]
    return {"type": "string", "enum": values + [None], "nullable": True} if null else {"type": "string",
                                                                                       "enum": values}


def obj(properties: dict, *, null: bool = False) -> dict:
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return nullable(schema) if null else schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def page_of(name: str) -> dict:
    return obj({"items": array(ref(name)), "page": {"type": "integer", "minimum": 1},
                "pages": {"type": "integer", "minimum": 1}, "total": {"type": "integer", "minimum": 0}})


CALL_ITEM = {"slug": STRING, "title": STRING, "status": enum_of(CallStatus), "opens_at": DATETIME,
             "closes_at": DATETIME, "envelope_eur": NUMBER, "max_amount_eur": NUMBER}
DOSSIER_ITEM = {
    "id": INTEGER, "pole_name": STRING, "siret": STRING, "status": enum_of(DossierStatus), "region": STRING,
    "departments": array(STRING), "category": nullable(STRING), "amount_requested_eur": nullable(NUMBER),
    "submitted_at": nullable(DATETIME), "eligibility": ref("Eligibility"), "score": ref("Score"),
    "receipt_number": nullable(STRING),
}
DECISION = {"outcome": enum_of(DecisionOutcome), "amount_eur": nullable(NUMBER), "decided_at": DATETIME,
            "reference": nullable(STRING), "notified_at": nullable(DATETIME)}

SCHEMAS = {
    "Error": obj({"error": obj({"code": INTEGER, "title": STRING, "message": STRING,
                                "request_id": nullable(STRING)})}),
    "CallItem": obj(CALL_ITEM),
    "Call": obj(CALL_ITEM | {
        "grid": array(obj({"code": STRING, "label": STRING, "weight": INTEGER, "max": INTEGER})),
        "categories": array(obj({"code": STRING, "label": STRING, "max_amount_eur": nullable(NUMBER),
                                 "quota": nullable(INTEGER)})),
        "rules": {"type": "object", "description": "The call's eligibility settings."},
        "reviewers_per_dossier": INTEGER}),
    "Eligibility": obj({
        "verdict": {"type": "string", "enum": ["eligible", "ineligible", None], "nullable": True,
                    "description": "null: no check ran yet."},
        "rules": array(obj({"code": STRING, "passed": BOOLEAN, "blocking": BOOLEAN, "message": STRING}))}),
    "Score": obj({"mean": nullable(NUMBER), "calibrated": nullable(NUMBER), "spread": nullable(NUMBER),
                  "reviews": INTEGER}),
    "DossierItem": obj(DOSSIER_ITEM),
    "Dossier": obj(DOSSIER_ITEM | {
        "structure_porteuse": obj({"name": STRING, "siret": STRING, "siren": STRING,
                                   "legal_form": enum_of(LegalForm, null=True), "rna": STRING, "address": STRING,
                                   "commune_insee": STRING, "commune_name": STRING}),
        "members": array(obj({"name": STRING, "siret": STRING, "category": enum_of(MemberCategory, null=True),
                              "department": STRING, "role": enum_of(MemberRole, null=True)})),
        "financing_plan": array(obj({"kind": enum_of(FinancingKind), "source": enum_of(FundingSource, null=True),
                                     "funder": STRING, "label": STRING, "amount_eur": nullable(NUMBER),
                                     "status": enum_of(FundingStatus, null=True)})),
        "attachments": array(obj({"id": INTEGER, "document_type": STRING, "filename": STRING,
                                  "size": nullable(INTEGER), "sha256": nullable(STRING), "mime": nullable(STRING),
                                  "scan_status": enum_of(ScanStatus),
                                  "download_url": nullable({"type": "string", "format": "uri"})})),
        "reviews": array(obj({"reviewer_institution": nullable(STRING), "submitted_at": DATETIME,
                              "recommendation": enum_of(Recommendation, null=True),
                              "scores": array(obj({"criterion": STRING, "score": nullable(INTEGER),
                                                   "comment": STRING}))})),
        "decision": obj(DECISION | {"motivation": STRING}, null=True)}),
    "DecisionItem": obj({"dossier_id": INTEGER, "pole_name": STRING} | DECISION),
    "CallPage": page_of("CallItem"),
    "DossierPage": page_of("DossierItem"),
    "DecisionPage": page_of("DecisionItem"),
}

PAGE_PARAMETER = {"name": "page", "in": "query", "required": False,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                  "description": "Page number (50 items a page)."}
SLUG_PARAMETER = {"name": "slug", "in": "path", "required": True, "schema": SLUG}
ID_PARAMETER = {"name": "dossier_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
ATTACHMENT_PARAMETER = {"name": "attachment_id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


ERRORS = {
    "401": _json("Error", "No token, or an unknown, expired or revoked one (header WWW-Authenticate: Bearer)."),
    "403": _json("Error", "The token's owner is not an administrator."),
    "429": _json("Error", "Too many requests for this token (API_RATE_LIMIT)."),
}


def _get(summary: str, schema_name: str, parameters: list, *, paged: bool = False, found: bool = False) -> dict:
    responses = {"200": _json(schema_name, summary)} | ERRORS
    if paged:
        responses["400"] = _json("Error", "The page parameter is not an integer from 1 to 10000.")
    if found:
        responses["404"] = _json("Error", "No such call or dossier.")
    return {"get": {"summary": summary, "parameters": parameters + ([PAGE_PARAMETER] if paged else []),
                    "responses": responses}}


def _download() -> dict:
    responses = {
        "302": {"description": "Redirect to the file.",
                "headers": {"Location": {"description": "Presigned URL of the file, valid 60 seconds.",
                                         "schema": {"type": "string", "format": "uri"}}}},
    } | ERRORS | {
        "403": _json("Error", "The token's owner is not an administrator, or the file was quarantined by the "
                              "antivirus."),
        "404": _json("Error", "No such submitted dossier, no such file in it, or the file is not available (not "
                              "received yet, or refused)."),
    }
    return {"get": {
        "summary": "Download one file of a submitted dossier (the download_url of its attachment).",
        "description": "Redirects to a presigned URL of the file store, valid 60 seconds. Only files whose checks "
                       "are over are served. Each download is recorded in the audit trail.",
        "parameters": [ID_PARAMETER, ATTACHMENT_PARAMETER], "responses": responses}}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "PTCE — API en lecture seule", "version": "1.0.0",
                 "description": "Read-only API v1 for administrators (SPEC §7). Amounts in euros as numbers, "
                                "datetimes ISO 8601 with their offset, lists paginated."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "flask ptce create-token EMAIL"}},
                       "schemas": SCHEMAS},
        "paths": {
            "/calls": _get("The calls, the latest first.", "CallPage", [], paged=True),
            "/calls/{slug}": _get("One call with its grid, categories and rules.", "Call", [SLUG_PARAMETER],
                                  found=True),
            "/calls/{slug}/dossiers": _get("The submitted dossiers of a call.", "DossierPage", [SLUG_PARAMETER],
                                           paged=True, found=True),
            "/dossiers/{dossier_id}": _get("One submitted dossier in full.", "Dossier", [ID_PARAMETER],
                                           found=True),
            "/dossiers/{dossier_id}/attachments/{attachment_id}": _download(),
            "/calls/{slug}/decisions": _get("The current decisions of a call.", "DecisionPage", [SLUG_PARAMETER],
                                            paged=True, found=True),
            "/openapi.json": {"get": {"summary": "This document.", "security": [],
                                      "responses": {"200": {"description": "The OpenAPI document.",
                                                            "content": {"application/json": {
                                                                "schema": {"type": "object"}}}}}}},
        },
    }
