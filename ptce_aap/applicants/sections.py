"""Between the section forms and the dossier: the sections' titles in the current language, initial
form data from a dossier, and the values a submitted form carries for ``services.dossiers``."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ptce_aap.applicants import forms
from ptce_aap.applicants.blueprint import bp
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.sections import SECTIONS
from ptce_aap.enums import CooperationForm, FinancingKind
from ptce_aap.services import dossiers as dossier_service

# The section catalog (``domain.sections``) translated where shown.
SECTION_TITLES = {section.code: _l(section.title) for section in SECTIONS}


def section_list() -> list[tuple[str, str]]:
    """``[(code, title), …]`` in the catalog's order, in the current language."""
    return [(section.code, str(SECTION_TITLES[section.code])) for section in SECTIONS]


@bp.app_template_global()
def dossier_sections() -> list[tuple[str, str]]:
    """``[(code, menu title), …]`` for the side menu of a dossier's pages."""
    return [(section.code, gettext(section.menu_title)) for section in SECTIONS]


SECTION_FORMS = {
    "identite": forms.IdentityForm,
    "membres": forms.MembersForm,
    "activites": forms.ActivitiesForm,
    "projet": forms.ProjectForm,
    "budget": forms.BudgetForm,
}

SCALAR_FIELDS = {
    "identite": ["pole_name", "carrier_legal_name", "carrier_siret", "carrier_legal_form", "carrier_rna", "address",
                 "commune_insee", "commune_name", "region_code", "departments", "territory_types",
                 "cooperation_start_year"],
    "activites": ["activity_domains", "activity_other", "governance_form", "governance_text"],
    "projet": ["summary", "strategy", "innovation", "territorial_anchoring", "expected_impacts",
               "jobs_existing_fte", "jobs_to_create_fte", "jobs_text", "rd_partners"],
    "budget": ["category_code", "total_budget_eur", "amount_requested_eur"],
}

LIST_FIELDS = {"departments", "territory_types", "activity_domains"}
NULLABLE_CHOICES = {"carrier_legal_form", "governance_form", "category_code"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = f"{value:.2f}"
        return text[:-3] if text.endswith(".00") else text.replace(".", ",")
    return str(value.value if hasattr(value, "value") else value)


def initial_data(section: str, dossier) -> dict:
    raw = dossier.raw_inputs or {}
    data: dict = {"version": str(dossier.version)}
    for field in SCALAR_FIELDS.get(section, []):
        value = getattr(dossier, field)
        if isinstance(value, list):
            data[field] = list(value)
        else:
            data[field] = raw.get(field, _text(value))
    if section == "activites":
        for form in CooperationForm:
            data[f"coop_{form.value}"] = form.value in (dossier.cooperation or {})
            data[f"coop_{form.value}_text"] = (dossier.cooperation or {}).get(form.value) or \
                dossier_checks.unticked_text(dossier, f"coop_{form.value}_text") or ""
    if section == "membres":
        data["members"] = [{
            "name": m.name, "siret": m.siret, "category": _text(m.category), "department": m.department,
            "role": _text(m.role), "is_legal_person": m.is_legal_person,
            "joined_on": m.joined_on.isoformat() if m.joined_on else ""} for m in dossier.members]
    if section == "budget":
        expenses, resources = [], []
        for i, ln in enumerate(dossier.financing_lines):
            amount = raw.get(f"lines-{i}-amount_eur", _text(ln.amount_eur))
            if ln.kind == FinancingKind.EXPENSE:
                expenses.append({"label": ln.label, "amount_eur": amount})
            else:
                resources.append({"source": _text(ln.source), "funder": ln.funder, "label": ln.label,
                                  "amount_eur": amount, "status": _text(ln.status)})
        data["expenses"], data["resources"] = expenses, resources
    return data


def scalar_values(section: str, form) -> dict:
    values = {}
    for field in SCALAR_FIELDS.get(section, []):
        value = form[field].data
        if value is None:
            value = [] if isinstance(getattr(form[field], "choices", None), list) and field in LIST_FIELDS else ""
        if isinstance(value, str):
            value = value.strip()
        if field in NULLABLE_CHOICES and not value:
            value = None
        values[field] = value
    if section == "identite":
        values["commune_insee"] = (values["commune_insee"] or "").upper()
        # « w 691 234 567 » is W691234567: written as the RNA writes it (checked by ``dossier_checks``).
        values["carrier_rna"] = "".join((values["carrier_rna"] or "").split()).upper()
    if section == "activites":
        values["cooperation"] = {coop.value: (form[f"coop_{coop.value}_text"].data or "").strip()
                                 for coop in CooperationForm if form[f"coop_{coop.value}"].data}
        # A description typed while its box is unticked is kept (and flagged), never dropped.
        values[dossier_service.UNTICKED_TEXTS] = {
            f"coop_{coop.value}_text": "" if form[f"coop_{coop.value}"].data
            else (form[f"coop_{coop.value}_text"].data or "").strip() for coop in CooperationForm}
    return values


def member_rows(form) -> list[dict]:
    rows = []
    for entry in form.members:
        row = entry.form.data
        if any((row.get(k) or "").strip() for k in ("name", "siret", "category", "department", "role", "joined_on")):
            rows.append(row)
    return rows


def financing_rows(form) -> list[dict]:
    rows = []
    for entry in form.expenses:
        row = entry.form.data
        if any((row.get(k) or "").strip() for k in ("label", "amount_eur")):
            rows.append({**row, "kind": FinancingKind.EXPENSE.value})
    for entry in form.resources:
        row = entry.form.data
        if any((row.get(k) or "").strip() for k in ("source", "funder", "label", "amount_eur", "status")):
            rows.append({**row, "kind": FinancingKind.RESOURCE.value})
    return rows


def comparable(section: str, data: dict) -> dict:
    """Field → displayable value, to compare the user's version with the saved one."""
    result = {}
    for key, value in data.items():
        if key in {"version", "force", "csrf_token"}:
            continue
        if isinstance(value, list):
            value = [tuple(sorted((k, str(v)) for k, v in row.items() if k != "csrf_token")) if isinstance(row, dict)
                     else str(row) for row in value]
        elif isinstance(value, bool):
            value = value
        else:
            value = "" if value is None else str(value).strip()
        result[key] = value
    return result
