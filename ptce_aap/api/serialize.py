"""The JSON shapes of SPEC §7: snake_case, amounts in euros as numbers, datetimes ISO 8601 with their offset.

Functions here only turn rows already loaded into dicts; they run no query (the routes load in bulk).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ptce_aap.domain.scdl import free_text
from ptce_aap.domain.scores import DossierScore


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def enum(value) -> str | None:
    return None if value is None else value.value


def call_item(call) -> dict:
    return {"slug": call.slug, "title": call.title, "status": enum(call.status), "opens_at": moment(call.opens_at),
            "closes_at": moment(call.closes_at), "envelope_eur": money(call.envelope_eur),
            "max_amount_eur": money(call.max_amount_eur)}


def call_detail(call) -> dict:
    return call_item(call) | {
        "grid": [{"code": c.code, "label": c.label, "weight": c.weight, "max": c.max_score} for c in call.criteria],
        "categories": [{"code": c.code, "label": c.label, "max_amount_eur": money(c.max_amount_eur),
                        "quota": c.quota} for c in call.categories],
        "rules": dict(call.eligibility_settings or {}),
        "reviewers_per_dossier": call.reviewers_per_dossier,
    }


def eligibility(check) -> dict:
    """The latest check's verdict (``None`` while none ran) and its rules."""
    if check is None:
        return {"verdict": None, "rules": []}
    return {"verdict": "eligible" if check.is_eligible else "ineligible",
            "rules": [{"code": r.get("code", ""), "passed": bool(r.get("passed")),
                       "blocking": r.get("mode", "blocking") == "blocking", "message": r.get("message", "")}
                      for r in (check.results or [])]}


def score(value: DossierScore | None) -> dict:
    if value is None:
        return {"mean": None, "calibrated": None, "spread": None, "reviews": 0}
    return {"mean": number(value.mean), "calibrated": number(value.calibrated), "spread": number(value.spread),
            "reviews": value.submitted}


def dossier_item(dossier, check, dossier_score: DossierScore | None) -> dict:
    return {"id": dossier.id, "pole_name": dossier.pole_name, "siret": dossier.carrier_siret,
            "status": enum(dossier.status), "region": dossier.region_code,
            "departments": list(dossier.departments or []), "category": dossier.category_code,
            "amount_requested_eur": money(dossier.amount_requested_eur), "submitted_at": moment(dossier.submitted_at),
            "eligibility": eligibility(check), "score": score(dossier_score), "receipt_number": dossier.receipt_number}


def structure_porteuse(dossier) -> dict:
    return {"name": dossier.carrier_legal_name, "siret": dossier.carrier_siret, "siren": dossier.carrier_siren,
            "legal_form": enum(dossier.carrier_legal_form), "rna": dossier.carrier_rna, "address": dossier.address,
            "commune_insee": dossier.commune_insee, "commune_name": dossier.commune_name}


def member(m) -> dict:
    return {"name": m.name, "siret": m.siret, "category": enum(m.category), "department": m.department,
            "role": enum(m.role)}


def financing_line(line) -> dict:
    return {"kind": enum(line.kind), "source": enum(line.source), "funder": line.funder, "label": line.label,
            "amount_eur": money(line.amount_eur), "status": enum(line.status)}


def attachment(a, download_url: str | None) -> dict:
    """``download_url``: the API route serving the file, None while it may not be downloaded (not yet checked,
    refused or quarantined)."""
    return {"id": a.id, "document_type": a.document_type_code, "filename": a.filename, "size": a.size,
            "sha256": a.sha256, "mime": a.mime, "scan_status": enum(a.scan_status), "download_url": download_url}


def review(r, institution_name: str | None, codes: dict[int, str]) -> dict:
    return {"reviewer_institution": institution_name, "submitted_at": moment(r.submitted_at),
            "recommendation": enum(r.recommendation),
            "scores": [{"criterion": codes.get(s.criterion_id, ""), "score": s.score, "comment": s.comment}
                       for s in r.scores]}


def reference(d) -> str | None:
    """The decision's reference as the open-data file writes it (``referenceDecision``), None without one."""
    return free_text(d.reference) or None


def decision(d) -> dict | None:
    if d is None:
        return None
    return {"outcome": enum(d.outcome), "amount_eur": money(d.amount_eur), "motivation": d.motivation,
            "decided_at": moment(d.decided_at), "reference": reference(d), "notified_at": moment(d.notified_at)}


def decision_item(d, pole_name: str) -> dict:
    return {"dossier_id": d.dossier_id, "pole_name": pole_name, "outcome": enum(d.outcome),
            "amount_eur": money(d.amount_eur), "decided_at": moment(d.decided_at), "reference": reference(d),
            "notified_at": moment(d.notified_at)}


def page(items: list, page_number: int, total: int, per_page: int) -> dict:
    pages = max(1, -(-total // per_page))
    return {"items": items, "page": page_number, "pages": pages, "total": total}
