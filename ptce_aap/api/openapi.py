"""The OpenAPI 3 document of the API v1 (served at ``/api/v1/openapi.json``; schemathesis tests the API
against it). Enumerations come from ``ptce_aap.enums``, so the document follows the code."""

from __future__ import annotations

from ptce_aap.enums import (
    ApiScope,
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


def about(schema: dict, description: str, example=None) -> dict:
    """``schema`` with its description (and an example): a ``$ref`` is wrapped in ``allOf``, since OpenAPI 3.0
    ignores the siblings of a ``$ref``."""
    described = {"allOf": [schema]} if "$ref" in schema else dict(schema)
    described["description"] = description
    if example is not None:
        described["example"] = example
    return described


def page_of(name: str, what: str) -> dict:
    return obj({"items": about(array(ref(name)), f"The {what} of this page (50 at most)."),
                "page": about({"type": "integer", "minimum": 1}, "This page's number, from 1.", 1),
                "pages": about({"type": "integer", "minimum": 1}, "How many pages there are (1 when empty).", 3),
                "total": about({"type": "integer", "minimum": 0}, f"How many {what} there are in all.", 128)})


CALL_ITEM = {
    "slug": about(STRING, "The call's identifier in URLs.", "aap-ptce-2026"),
    "title": about(STRING, "The call's title.", "Appel à projets PTCE 2026"),
    "status": about(enum_of(CallStatus), "Where the call stands: draft, open for applications, closed, under "
                                         "review, deliberation, results published, archived.", "open"),
    "opens_at": about(DATETIME, "When applications open.", "2026-03-02T09:00:00+01:00"),
    "closes_at": about(DATETIME, "The deadline for applications.", "2026-05-29T12:00:00+02:00"),
    "envelope_eur": about(NUMBER, "The call's total budget, in euros.", 3000000),
    "max_amount_eur": about(NUMBER, "The largest grant a dossier may ask for, in euros.", 100000),
}
DOSSIER_ITEM = {
    "id": about(INTEGER, "The dossier's identifier.", 42),
    "pole_name": about(STRING, "The name of the pole (PTCE).", "Pôle Coopérations du Val"),
    "siret": about(STRING, "SIRET of the structure porteuse (14 digits).", "73282932000074"),
    "status": about(enum_of(DossierStatus), "Where the dossier stands in the procedure.", "in_review"),
    "region": about(STRING, "INSEE code of the region of the pole.", "84"),
    "departments": about(array(STRING), "INSEE codes of the departments the pole covers.", ["69", "01"]),
    "category": about(nullable(STRING), "Code of the call's category the dossier applies in (null: none).",
                      "emergence"),
    "amount_requested_eur": about(nullable(NUMBER), "The grant asked for, in euros.", 90000),
    "submitted_at": about(nullable(DATETIME), "When the dossier was submitted.", "2026-05-20T16:42:11+02:00"),
    "eligibility": about(ref("Eligibility"), "The latest eligibility check."),
    "score": about(ref("Score"), "The reviewers' scores, summed up."),
    "receipt_number": about(nullable(STRING), "The submission receipt's number, as on the receipt sent to the "
                                              "pole (null before submission).", "PTCE-2026-000042"),
}
DECISION = {
    "outcome": about(enum_of(DecisionOutcome), "The committee's decision.", "laureate"),
    "amount_eur": about(nullable(NUMBER), "The grant awarded, in euros (null unless laureate).", 80000.5),
    "decided_at": about(DATETIME, "When the decision was recorded.", "2026-12-03T15:10:00+01:00"),
    "reference": about(nullable(STRING), "The decision's reference, as written in the open-data file "
                                         "(referenceDecision of the SCDL CSV); null when none was given.",
                       "DEC-2026-001"),
    "notified_at": about(nullable(DATETIME), "When the decision was notified to the pole (null: not yet).",
                         "2026-12-05T10:00:00+01:00"),
}
ERROR = obj({
    "code": about(INTEGER, "The HTTP status.", 404),
    "title": about(STRING, "The status in words (French).", "Page non trouvée"),
    "message": about(STRING, "What went wrong (French).", "Aucune ressource de l'API à cette adresse."),
    "request_id": about(nullable(STRING), "The request's identifier, to quote to the support team.",
                        "8eb36a750eb64ca68f1cfe0ce6a83247"),
})
STRUCTURE = obj({
    "name": about(STRING, "Legal name.", "Association Coopérations du Val"),
    "siret": about(STRING, "SIRET (14 digits).", "73282932000074"),
    "siren": about(STRING, "SIREN (9 digits).", "732829320"),
    "legal_form": about(enum_of(LegalForm, null=True), "Legal form."),
    "rna": about(STRING, "RNA number of an association (empty otherwise).", "W691234567"),
    "address": about(STRING, "Postal address.", "12 rue de la République"),
    "commune_insee": about(STRING, "INSEE code of the commune.", "69123"),
    "commune_name": about(STRING, "Name of the commune.", "Lyon"),
})
MEMBER = obj({
    "name": about(STRING, "The member's name.", "Coopérative Bêta"),
    "siret": about(STRING, "The member's SIRET (may be empty).", "35600000000048"),
    "category": about(enum_of(MemberCategory, null=True), "What kind of member it is.", "ess"),
    "department": about(STRING, "INSEE code of its department.", "69"),
    "role": about(enum_of(MemberRole, null=True), "Its role in the pole."),
})
FINANCING_LINE = obj({
    "kind": about(enum_of(FinancingKind), "An expense or a resource of the budget.", "resource"),
    "source": about(enum_of(FundingSource, null=True), "Where a resource comes from (null for an expense)."),
    "funder": about(STRING, "Who funds a resource.", "Région"),
    "label": about(STRING, "What the line is.", "Subvention régionale"),
    "amount_eur": about(nullable(NUMBER), "Amount in euros.", 90000),
    "status": about(enum_of(FundingStatus, null=True), "Whether a resource is asked for or secured."),
})
ATTACHMENT = obj({
    "id": about(INTEGER, "The file's identifier.", 7),
    "document_type": about(STRING, "Code of the document type the file answers.", "statuts"),
    "filename": about(STRING, "The file's name, as sent.", "statuts.pdf"),
    "size": about(nullable(INTEGER), "Size in bytes.", 123456),
    "sha256": about(nullable(STRING), "SHA-256 of the content (hex).",
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    "mime": about(nullable(STRING), "Media type found in the content.", "application/pdf"),
    "scan_status": about(enum_of(ScanStatus), "Result of the antivirus scan.", "clean"),
    "download_url": about(nullable({"type": "string", "format": "uri"}),
                          "Where to download the file with the same token (null while it may not be downloaded: "
                          "not checked yet, refused or quarantined).",
                          "https://ptce.example.gouv.fr/api/v1/dossiers/42/attachments/7"),
})
SCORE_LINE = obj({
    "criterion": about(STRING, "Code of the grid's criterion.", "cooperation"),
    "score": about(nullable(INTEGER), "The score given (null: not scored).", 4),
    "comment": about(STRING, "The reviewer's comment.", "Une coopération réelle et ancienne."),
})
REVIEW = obj({
    "reviewer_institution": about(nullable(STRING), "The institution the reviewer reviewed for.", "ANCT"),
    "submitted_at": about(DATETIME, "When the review was submitted.", "2026-06-20T11:00:00+02:00"),
    "recommendation": about(enum_of(Recommendation, null=True), "The reviewer's recommendation.", "favorable"),
    "scores": about(array(SCORE_LINE), "One score per criterion of the grid."),
})

SCHEMAS = {
    "Error": obj({"error": about(ERROR, "The error.")}),
    "CallItem": obj(CALL_ITEM),
    "Call": obj(CALL_ITEM | {
        "grid": about(array(obj({
            "code": about(STRING, "The criterion's code.", "cooperation"),
            "label": about(STRING, "The criterion's label.", "Qualité de la coopération"),
            "weight": about(INTEGER, "Its weight in the mean.", 2),
            "max": about(INTEGER, "The highest score.", 5)})), "The scoring grid: its criteria in order."),
        "categories": about(array(obj({
            "code": about(STRING, "The category's code.", "emergence"),
            "label": about(STRING, "The category's label.", "Pôles en émergence"),
            "max_amount_eur": about(nullable(NUMBER), "The largest grant in this category, in euros.", 50000),
            "quota": about(nullable(INTEGER), "How many laureates at most in this category.", 10)})),
            "The call's categories of dossiers (may be empty)."),
        "rules": about({"type": "object"}, "The call's eligibility settings."),
        "reviewers_per_dossier": about(INTEGER, "How many reviewers each dossier gets.", 2)}),
    "Eligibility": obj({
        "verdict": about({"type": "string", "enum": ["eligible", "ineligible", None], "nullable": True},
                         "The latest check's verdict; null: no check ran yet.", "eligible"),
        "rules": about(array(obj({
            "code": about(STRING, "The rule's code.", "members"),
            "passed": about(BOOLEAN, "Whether the dossier meets it.", True),
            "blocking": about(BOOLEAN, "Whether failing it makes the dossier ineligible (else a warning).", True),
            "message": about(STRING, "What the rule says of this dossier (French).", "Trois membres au moins.")})),
            "Each rule checked.")}),
    "Score": obj({
        "mean": about(nullable(NUMBER), "The weighted mean of the submitted reviews (null: none).", 3.75),
        "calibrated": about(nullable(NUMBER), "The mean corrected for each reviewer's severity.", 3.6),
        "spread": about(nullable(NUMBER), "How far the reviewers disagree.", 0.5),
        "reviews": about(INTEGER, "How many reviews were submitted.", 2)}),
    "DossierItem": obj(DOSSIER_ITEM),
    "Dossier": obj(DOSSIER_ITEM | {
        "structure_porteuse": about(STRUCTURE, "The legal entity that carries the pole and receives the grant."),
        "members": about(array(MEMBER), "The pole's members."),
        "financing_plan": about(array(FINANCING_LINE), "The budget: expenses and resources."),
        "attachments": about(array(ATTACHMENT), "The dossier's files."),
        "reviews": about(array(REVIEW), "The submitted reviews."),
        "decision": about(obj(DECISION | {"motivation": about(STRING, "Why (French), as in the decision letter.",
                                                               "Projet solide.")}, null=True),
                          "The current decision (null: none yet).")}),
    "DecisionItem": obj({"dossier_id": about(INTEGER, "The dossier's identifier.", 42),
                         "pole_name": about(STRING, "The name of the pole.", "Pôle Coopérations du Val")} | DECISION),
    "CallPage": page_of("CallItem", "calls"),
    "DossierPage": page_of("DossierItem", "dossiers"),
    "DecisionPage": page_of("DecisionItem", "decisions"),
}

PAGE_PARAMETER = {"name": "page", "in": "query", "required": False,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                  "description": "Page number (50 items a page)."}
SLUG_PARAMETER = {"name": "slug", "in": "path", "required": True, "schema": SLUG, "example": "aap-ptce-2026",
                  "description": "The call's slug (see GET /calls)."}
ID_PARAMETER = {"name": "dossier_id", "in": "path", "required": True, "example": 42,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "description": "The dossier's id (see GET /calls/{slug}/dossiers)."}
ATTACHMENT_PARAMETER = {"name": "attachment_id", "in": "path", "required": True, "example": 7,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        "description": "The file's id (see the attachments of GET /dossiers/{dossier_id})."}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


def _errors(not_found: str, scope: ApiScope) -> dict:
    """The error answers every operation may give, with the error schema."""
    return {
        "401": _json("Error", "No token, or an unknown, expired or revoked one (header WWW-Authenticate: Bearer)."),
        "403": _json("Error", f"The token's owner is not an administrator, or the token lacks the scope "
                              f"{scope.value}."),
        "404": _json("Error", not_found),
        "429": _json("Error", "Too many requests for this token (API_RATE_LIMIT); see the Retry-After header."),
    }


def _get(summary: str, description: str, schema_name: str, parameters: list, *, scope: ApiScope,
         paged: bool = False, not_found: str = "No such address in the API.") -> dict:
    responses = {"200": _json(schema_name, summary)} | _errors(not_found, scope)
    if paged:
        responses["400"] = _json("Error", "The page parameter is not an integer from 1 to 10000.")
    return {"get": {"summary": summary, "description": f"{description} Needs the scope {scope.value}.",
                    "x-scope": scope.value, "parameters": parameters + ([PAGE_PARAMETER] if paged else []),
                    "responses": responses}}


def _download() -> dict:
    responses = {
        "302": {"description": "Redirect to the file.",
                "headers": {"Location": {"description": "Presigned URL of the file, valid 60 seconds.",
                                         "schema": {"type": "string", "format": "uri"}}}},
    } | _errors("No such submitted dossier, no such file in it, or the file is not available (not received "
                "yet, or refused).", ApiScope.DOSSIERS) | {
        "403": _json("Error", "The token's owner is not an administrator, the token lacks the scope "
                              "dossiers:read, or the file was quarantined by the antivirus."),
    }
    return {"get": {
        "summary": "Download one file of a submitted dossier.",
        "description": "The download_url of an attachment. Redirects to a presigned URL of the file store, valid "
                       "60 seconds. Only files whose checks are over are served. Each download is recorded in "
                       "the audit trail with the token used. Needs the scope dossiers:read.",
        "x-scope": ApiScope.DOSSIERS.value, "parameters": [ID_PARAMETER, ATTACHMENT_PARAMETER], "responses": responses}}


SCHEME_DESCRIPTION = (
    "A token made by an administrator on the back office's « Jetons d'API » page (/admin/jetons-api, for "
    "themself), or with `flask ptce create-token EMAIL [--scope SCOPE]…`; listed and revoked on that page. Each operation needs one scope of the token (its x-scope), else "
    "403: " + "; ".join(f"{s.value} ({d})" for s, d in (
        (ApiScope.CALLS, "the calls"), (ApiScope.DOSSIERS, "the dossiers, their reviews and their files"),
        (ApiScope.DECISIONS, "the decisions"))) + ". A token gets every scope unless --scope is given (on the page: the scopes ticked).")
NO_CALL = "No call has this slug."
NO_DOSSIER = "No submitted dossier has this id (drafts are not served)."


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "PTCE — API en lecture seule", "version": "1.0.0",
                 "description": "Read-only API v1 for administrators (SPEC §7). Amounts in euros as numbers, "
                                "datetimes ISO 8601 with their offset, lists paginated. Every error is JSON: "
                                "{\"error\": {\"code\", \"title\", \"message\", \"request_id\"}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": SCHEME_DESCRIPTION}},
                       "schemas": SCHEMAS},
        "paths": {
            "/calls": _get("The calls, the latest first.", "Every call, drafts included, the latest opening "
                           "first.", "CallPage", [], scope=ApiScope.CALLS, paged=True),
            "/calls/{slug}": _get("One call with its grid, categories and rules.", "The call's settings as the "
                                  "back office holds them.", "Call", [SLUG_PARAMETER], scope=ApiScope.CALLS,
                                  not_found=NO_CALL),
            "/calls/{slug}/dossiers": _get("The submitted dossiers of a call.", "Drafts are not listed. Each "
                                           "dossier with its latest eligibility check and its scores.",
                                           "DossierPage", [SLUG_PARAMETER], scope=ApiScope.DOSSIERS, paged=True,
                                           not_found=NO_CALL),
            "/dossiers/{dossier_id}": _get("One submitted dossier in full.", "Its structure porteuse, members, "
                                           "budget, files, reviews and current decision.", "Dossier",
                                           [ID_PARAMETER], scope=ApiScope.DOSSIERS, not_found=NO_DOSSIER),
            "/dossiers/{dossier_id}/attachments/{attachment_id}": _download(),
            "/calls/{slug}/decisions": _get("The current decisions of a call.", "Notified or not; the reference "
                                            "joins the published open-data file.", "DecisionPage",
                                            [SLUG_PARAMETER], scope=ApiScope.DECISIONS, paged=True,
                                            not_found=NO_CALL),
            "/openapi.json": {"get": {"summary": "This document.", "description": "Served without a token.",
                                      "security": [],
                                      "responses": {"200": {"description": "The OpenAPI document.",
                                                            "content": {"application/json": {
                                                                "schema": {"type": "object"}}}}}}},
        },
    }
