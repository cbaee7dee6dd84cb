"""Between the section forms and the dossier: the sections' titles in the current language, initial
form data from a dossier, and the values a submitted form carries for ``services.dossiers``."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from ptce_aap.applicants import forms
from ptce_aap.applicants.blueprint import bp
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.formatting import format_typed
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

# The row lists of each section: name → the form of one row.
ROW_FORMS = {
    "membres": {"members": forms.MemberRowForm},
    "budget": {"expenses": forms.ExpenseRowForm, "resources": forms.ResourceRowForm},
}


def row_prototypes(section: str) -> dict:
    """An empty row of each list of the section, its fields named ``members-__i__-name``…: the page's
    <template> from which the script adds a row in place (``static/rows.js`` puts the index in)."""
    return {name: row_form(formdata=None, prefix=f"{name}-__i__-")
            for name, row_form in ROW_FORMS.get(section, {}).items()}


def uncounted_amounts(dossier) -> int:
    """Plan lines whose typed amount is refused (kept as typed): not in the totals, said beside them."""
    return sum(1 for key in (dossier.raw_inputs or {}) if key.startswith("lines-") and key.endswith("-amount_eur"))


LIST_FIELDS = {"departments", "territory_types", "activity_domains"}
NULLABLE_CHOICES = {"carrier_legal_form", "governance_form", "category_code"}


def _text(value, *, cents: bool = False) -> str:
    """A stored value as the text of its input; a number as the person types it in the page's language
    (« 8 500,50 » in French, « 8 500.50 » in English), read back to the same value by the parsers."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_typed(value, str(get_locale() or "fr"), cents=cents)
    return str(value.value if hasattr(value, "value") else value)


def initial_data(section: str, dossier) -> dict:
    raw = dossier.raw_inputs or {}
    data: dict = {"version": str(dossier.version)}
    for field in SCALAR_FIELDS.get(section, []):
        value = getattr(dossier, field)
        if isinstance(value, list):
            data[field] = list(value)
        else:
            data[field] = raw.get(field, _text(value, cents=field.endswith("_eur")))
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
            amount = raw.get(f"lines-{i}-amount_eur", _text(ln.amount_eur, cents=True))
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


# The fields that make a row worth storing: a row with none of them filled is blank, and not stored.
ROW_TEXTS = {
    "members": ("name", "siret", "category", "department", "role", "joined_on"),
    "expenses": ("label", "amount_eur"),
    "resources": ("source", "funder", "label", "amount_eur", "status"),
}


def row_filled(name: str, row: dict) -> bool:
    return any((row.get(k) or "").strip() for k in ROW_TEXTS[name])


def drop_blank_rows(field_list) -> None:
    """Keep only the rows that will be stored, in order: the page then numbers rows as the checks do
    (``members-2-…`` is the third stored member), so each error lands on its own row."""
    data = [e.form.data for e in field_list.entries if row_filled(field_list.short_name, e.form.data)]
    if len(data) == len(field_list.entries):
        return
    while field_list.entries:
        field_list.pop_entry()
    for row in data:
        field_list.append_entry(row)


def member_rows(form) -> list[dict]:
    return [entry.form.data for entry in form.members if row_filled("members", entry.form.data)]


def financing_rows(form) -> list[dict]:
    rows = [{**entry.form.data, "kind": FinancingKind.EXPENSE.value} for entry in form.expenses
            if row_filled("expenses", entry.form.data)]
    rows += [{**entry.form.data, "kind": FinancingKind.RESOURCE.value} for entry in form.resources
             if row_filled("resources", entry.form.data)]
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
