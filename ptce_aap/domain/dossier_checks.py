"""Completeness and validity of a dossier, section by section. Pure: reads attributes, no Flask/DB.

``check_dossier`` returns ``Problem``s; ``kind`` is "missing" (incomplete) or "invalid" (in error); ``section``
is a code of the section catalog (``domain.sections``). What it reads of the call is ``eligibility.CallFacts``.
The summary page and the pre-submission check use it; every problem is blocking for submission.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fr import siret as siret_mod

from ptce_aap.domain import geography
from ptce_aap.domain.eligibility import CallFacts, siren_of
from ptce_aap.domain.formatting import format_amount
from ptce_aap.domain.money import AmountError, parse_amount, parse_decimal
from ptce_aap.domain.sections import SECTION_CODES
from ptce_aap.domain.text import CONTROL, LINE_BREAK, TOO_LONG, WEB_ADDRESS, name_problem, one_line
from ptce_aap.enums import (
    ActivityDomain,
    AttachmentStatus,
    CooperationForm,
    FinancingKind,
)

LIMITS = {
    "summary": 1500,
    "strategy": 5000,
    "innovation": 5000,
    "territorial_anchoring": 5000,
    "expected_impacts": 5000,
    "jobs_text": 3000,
    "rd_partners": 3000,
    "governance_text": 3000,
    "cooperation": 2000,
}

MIN_YEAR = 1945
RNA_FORMAT = re.compile(r"W[0-9]{9}")  # Répertoire national des associations: W and 9 digits (W691234567)
RNA_EXAMPLE = "W691234567"


@dataclass(frozen=True)
class Problem:
    section: str
    field: str
    message: str
    kind: str = "missing"  # "missing" or "invalid"


def siret_problem(value: str) -> str | None:
    """French message when ``value`` is not a valid SIRET (14 digits, Luhn key), else None."""
    try:
        siret_mod.validate(value)
    except InvalidChecksum:
        return ("Le numéro SIRET n'est pas valide : sa clé de contrôle est incorrecte. Vérifiez chaque chiffre "
                "sur l'avis de situation Insee ou sur annuaire-entreprises.data.gouv.fr.")
    except ValidationError:
        digits = sum(c.isdigit() for c in value)
        return ("Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
                f"(vous en avez saisi {digits}).")
    return None


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if c.isalnum())


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _too_long(section, field, value: str, label: str) -> Iterable[Problem]:
    limit = LIMITS.get(field)
    if limit and value and len(value) > limit:
        yield Problem(section, field, f"{label} : {len(value)} caractères pour {limit} au maximum.", "invalid")


def typed_number_message(label: str, raw: str, parse=parse_decimal, noun: str = "nombre") -> str:
    """Why ``raw`` (kept as typed) is refused, in the parser's words: "must be positive or zero" for a
    negative number, "without exponent" for « 1e3 »…, not only "not a valid number"."""
    try:
        parse(raw)
    except AmountError as exc:
        if exc.code == "format":
            return f"{label} : « {raw} » n'est pas un {noun} valide. {exc}"
        return f"{label} : « {raw} » n'est pas accepté. {exc}"
    return f"{label} : « {raw} » n'est pas un {noun} valide."


def _raw(d, section: str, field: str, label: str, parse=parse_decimal, noun: str = "nombre") -> Iterable[Problem]:
    raw = (d.raw_inputs or {}).get(field)
    if raw is not None:
        yield Problem(section, field, typed_number_message(label, raw, parse, noun), "invalid")


NAME_MAX_LENGTH = 200
_NAME_MESSAGES = {
    LINE_BREAK: "saisissez-le sur une seule ligne, sans retour à la ligne.",
    CONTROL: "il contient des caractères invisibles ou de contrôle : retirez-les.",
    WEB_ADDRESS: "il ne doit pas contenir d’adresse web ni de nom de domaine.",
    TOO_LONG: f"il ne doit pas dépasser {NAME_MAX_LENGTH} caractères.",
}


def _name(section: str, field: str, value, label: str) -> Iterable[Problem]:
    """A name quoted in mails and PDFs sent to other people: one plain line (``domain.text``). Drafts keep
    what was typed; this blocks submission and shows next to the field."""
    problem = name_problem(value if isinstance(value, str) else None, max_length=NAME_MAX_LENGTH)
    if problem is not None:
        yield Problem(section, field, f"{label} : {_NAME_MESSAGES[problem]}", "invalid")


def check_identity(d, today: date) -> Iterable[Problem]:
    s = "identite"
    for field, label in [("pole_name", "Nom du pôle"), ("carrier_legal_name", "Raison sociale de la structure porteuse"),
                         ("carrier_legal_form", "Forme juridique"), ("address", "Adresse")]:
        if _blank(getattr(d, field)):
            yield Problem(s, field, f"{label} : à renseigner.")
        elif field in ("pole_name", "carrier_legal_name"):
            yield from _name(s, field, getattr(d, field), label)
    if _blank(d.carrier_siret):
        yield Problem(s, "carrier_siret", "SIRET de la structure porteuse : à renseigner.")
    elif (msg := siret_problem(d.carrier_siret)) is not None:
        yield Problem(s, "carrier_siret", msg, "invalid")
    rna = (getattr(d, "carrier_rna", "") or "").strip()  # optional: only associations have one
    if rna and "carrier_rna" not in (d.raw_inputs or {}) and not RNA_FORMAT.fullmatch(rna):
        yield Problem(s, "carrier_rna", f"Le numéro RNA « {rna} » n'a pas le bon format : il s'écrit avec la "
                      f"lettre W suivie de 9 chiffres, par exemple {RNA_EXAMPLE}.", "invalid")
    if _blank(d.commune_insee):
        yield Problem(s, "commune_insee", "Code INSEE de la commune : à renseigner.")
    elif geography.department_of_insee(d.commune_insee) is None:
        yield Problem(s, "commune_insee", "Le code INSEE de la commune doit comporter 5 caractères "
                      "(par exemple 69123 pour Lyon).", "invalid")
    elif (msg := geography.insee_problem(d.commune_insee)) is not None:
        yield Problem(s, "commune_insee", msg, "invalid")
    elif d.commune_name and (official := geography.commune_name(d.commune_insee)) and \
            _plain(official) != _plain(d.commune_name):
        yield Problem(s, "commune_insee", f"Le code INSEE {d.commune_insee} correspond à la commune « {official} », "
                      f"pas à « {d.commune_name} » : vérifiez le code (ce n'est pas le code postal).", "invalid")
    if _blank(d.region_code):
        yield Problem(s, "region_code", "Région : à renseigner.")
    elif d.region_code not in geography.regions():
        yield Problem(s, "region_code", "Région inconnue.", "invalid")
    if _blank(d.departments):
        yield Problem(s, "departments", "Départements couverts : choisissez au moins un département.")
    else:
        unknown = [c for c in d.departments if c not in geography.departments()]
        if unknown:
            yield Problem(s, "departments", f"Départements inconnus : {', '.join(unknown)}.", "invalid")
        elif d.region_code in geography.regions() and not any(
                geography.departments()[c].region == d.region_code for c in d.departments):
            yield Problem(s, "departments", "Aucun des départements couverts n'appartient à la région choisie.",
                          "invalid")
    if _blank(d.territory_types):
        yield Problem(s, "territory_types", "Type de territoire : choisissez au moins un type.")
    year = d.cooperation_start_year
    if year is None:
        label = "Année de début de la coopération"
        raw = (d.raw_inputs or {}).get("cooperation_start_year")
        if raw is not None:
            yield Problem(s, "cooperation_start_year", f"{label} : « {raw} » n'est pas une année ; saisissez-la sur "
                          "quatre chiffres, par exemple 2016.", "invalid")
        else:
            yield Problem(s, "cooperation_start_year", f"{label} : à renseigner.")
    elif not MIN_YEAR <= year <= today.year:
        yield Problem(s, "cooperation_start_year",
                      f"L'année de début de la coopération doit être comprise entre {MIN_YEAR} et {today.year}.",
                      "invalid")


def check_members(d, today: date) -> Iterable[Problem]:
    s = "membres"
    if not d.members:
        yield Problem(s, "members", "Ajoutez les structures membres du pôle.")
    for i, m in enumerate(d.members, start=1):
        prefix = f"Membre n° {i}" + (f" ({one_line(m.name, max_length=80)})" if m.name else "")
        if _blank(m.name):
            yield Problem(s, f"members-{i - 1}-name", f"{prefix} : nom à renseigner.")
        else:
            yield from _name(s, f"members-{i - 1}-name", m.name, f"Membre n° {i}, nom")
        if m.category is None:
            yield Problem(s, f"members-{i - 1}-category", f"{prefix} : catégorie à choisir.")
        if m.role is None:
            yield Problem(s, f"members-{i - 1}-role", f"{prefix} : rôle à choisir.")
        if _blank(m.department):
            yield Problem(s, f"members-{i - 1}-department", f"{prefix} : département à choisir.")
        elif m.department not in geography.departments():
            yield Problem(s, f"members-{i - 1}-department", f"{prefix} : département inconnu.", "invalid")
        if m.siret and (msg := siret_problem(m.siret)) is not None:
            yield Problem(s, f"members-{i - 1}-siret", f"{prefix} : {msg[0].lower()}{msg[1:]}",
                          "invalid")
        if m.is_legal_person and not m.siret:
            yield Problem(s, f"members-{i - 1}-siret", f"{prefix} : SIRET à renseigner pour une personne morale.")
        if m.joined_on is not None and m.joined_on > today:
            yield Problem(s, f"members-{i - 1}-joined_on", f"{prefix} : la date d'adhésion est dans le futur.",
                          "invalid")


def check_distinct_members(d) -> Iterable[Problem]:
    """Two member rows of one legal person (same SIREN): the pole's members must be distinct."""
    first: dict[str, int] = {}
    for i, m in enumerate(d.members, start=1):
        if m.siret and siret_problem(m.siret) is None:
            siren = m.siret[:9]
            if siren in first:
                yield Problem("membres", f"members-{i - 1}-siret",
                              f"Membres n° {first[siren]} et {i} : même SIREN ({siren}), il s’agit d’une seule "
                              "personne morale. Gardez un seul établissement par structure.", "invalid")
            else:
                first[siren] = i


UNTICKED_PREFIX = "unticked:"


def unticked_text(d, field: str) -> str | None:
    """A conditional text typed while its checkbox was off: kept in ``raw_inputs`` (never dropped), flagged."""
    return (d.raw_inputs or {}).get(UNTICKED_PREFIX + field)


def check_activities(d) -> Iterable[Problem]:
    s = "activites"
    if _blank(d.activity_domains):
        yield Problem(s, "activity_domains", "Domaines d'activité : choisissez au moins un domaine.")
    elif ActivityDomain.OTHER.value in d.activity_domains and _blank(d.activity_other):
        yield Problem(s, "activity_other", "Précisez l'autre domaine d'activité.")
    cooperation = d.cooperation or {}
    if not cooperation:
        yield Problem(s, "cooperation", "Coopération : indiquez au moins une forme de coopération pratiquée.")
    for form in CooperationForm:
        if form.value in cooperation:
            text = cooperation[form.value] or ""
            if not text.strip():
                yield Problem(s, f"cooperation_{form.value}", f"Décrivez la forme « {form.label} ».")
            yield from _too_long(s, "cooperation", text, f"Description de « {form.label} »")
        elif unticked_text(d, f"coop_{form.value}_text") is not None:
            yield Problem(s, f"coop_{form.value}_text", f"Vous avez décrit la forme « {form.label} » sans cocher "
                          "sa case : la description est conservée, mais elle ne compte pas tant que la case "
                          "n'est pas cochée. Cochez la case, ou effacez la description.", "invalid")
    if d.governance_form is None:
        yield Problem(s, "governance_form", "Forme de gouvernance : à choisir.")
    if _blank(d.governance_text):
        yield Problem(s, "governance_text", "Modalités de prise de décision : à décrire.")
    yield from _too_long(s, "governance_text", d.governance_text or "", "Modalités de prise de décision")


PROJECT_TEXTS = [
    ("summary", "Résumé du projet"),
    ("strategy", "Stratégie"),
    ("innovation", "Innovation sociale ou technologique"),
    ("territorial_anchoring", "Ancrage territorial"),
    ("expected_impacts", "Impacts attendus"),
]


def check_project(d) -> Iterable[Problem]:
    s = "projet"
    for field, label in PROJECT_TEXTS:
        value = getattr(d, field) or ""
        if not value.strip():
            yield Problem(s, field, f"{label} : à rédiger.")
        yield from _too_long(s, field, value, label)
    for field, label in [("jobs_existing_fte", "Emplois existants (ETP)"),
                         ("jobs_to_create_fte", "Emplois à créer (ETP)")]:
        if getattr(d, field) is None:
            raw = list(_raw(d, s, field, label))
            yield from raw or [Problem(s, field, f"{label} : à renseigner (0 si aucun).")]
    for field, label in [("jobs_text", "Emplois non délocalisables"), ("rd_partners", "Partenaires de R&D")]:
        yield from _too_long(s, field, getattr(d, field) or "", label)


def totals(lines) -> tuple[Decimal, Decimal]:
    """(expenses, resources) of the financing plan, counting only valid amounts."""
    expenses = sum((ln.amount_eur or Decimal(0) for ln in lines if ln.kind == FinancingKind.EXPENSE), Decimal(0))
    resources = sum((ln.amount_eur or Decimal(0) for ln in lines if ln.kind == FinancingKind.RESOURCE), Decimal(0))
    return expenses, resources


def check_budget(d, rules: CallFacts) -> Iterable[Problem]:
    s = "budget"
    for field, label in [("total_budget_eur", "Budget total du projet"),
                         ("amount_requested_eur", "Montant demandé à l'État")]:
        if getattr(d, field) is None:
            raw = list(_raw(d, s, field, label, parse_amount, "montant"))
            yield from raw or [Problem(s, field, f"{label} : à renseigner.")]
    if rules.category_codes and d.category_code not in rules.category_codes:
        yield Problem(s, "category_code", "Catégorie de l'appel : à choisir.")
    lines = list(d.financing_lines)
    if not any(ln.kind == FinancingKind.EXPENSE for ln in lines):
        yield Problem(s, "expenses", "Budget de la cellule d'animation : ajoutez au moins une ligne de dépense.")
    if not any(ln.kind == FinancingKind.RESOURCE for ln in lines):
        yield Problem(s, "resources", "Plan de financement : ajoutez au moins une ressource.")
    seen = {FinancingKind.EXPENSE: 0, FinancingKind.RESOURCE: 0}
    for i, ln in enumerate(lines):
        kind = "Dépense" if ln.kind == FinancingKind.EXPENSE else "Ressource"
        prefix = f"{kind} « {ln.label or ln.funder or i + 1} »"
        # Ids of the form's fields (expenses-0-amount_eur…); raw amounts are kept by line position.
        row = f"{'expenses' if ln.kind == FinancingKind.EXPENSE else 'resources'}-{seen[ln.kind]}"
        seen[ln.kind] += 1
        raw = (d.raw_inputs or {}).get(f"lines-{i}-amount_eur")
        if raw is not None:
            yield Problem(s, f"{row}-amount_eur", typed_number_message(prefix, raw, parse_amount, "montant"),
                          "invalid")
        elif ln.amount_eur is None:
            yield Problem(s, f"{row}-amount_eur", f"{prefix} : montant à renseigner.")
        elif ln.amount_eur <= 0:
            yield Problem(s, f"{row}-amount_eur", f"{prefix} : le montant doit être supérieur à zéro.", "invalid")
        if _blank(ln.label):
            yield Problem(s, f"{row}-label", f"{prefix} : intitulé à renseigner.")
        if ln.kind == FinancingKind.RESOURCE:
            if ln.source is None:
                yield Problem(s, f"{row}-source", f"{prefix} : origine du financement à choisir.")
            if ln.status is None:
                yield Problem(s, f"{row}-status", f"{prefix} : indiquez si le financement est acquis ou sollicité.")
    expenses, resources = totals(lines)
    if lines and expenses != resources:
        yield Problem(s, "balance", "Le plan de financement n'est pas équilibré : "
                      f"{format_amount(resources)} de ressources pour {format_amount(expenses)} de dépenses "
                      f"(écart {format_amount(abs(resources - expenses))}).", "invalid")
    if lines and d.total_budget_eur is not None and d.total_budget_eur < expenses:
        # The same numbers as the eligibility rule "state_share": the section is not "complete" while it fails.
        yield Problem(s, "total_budget_eur", f"Le budget total du projet ({format_amount(d.total_budget_eur)}) est "
                      f"inférieur aux dépenses du plan de financement ({format_amount(expenses)}) : corrigez l'un "
                      "ou l'autre.", "invalid")
    requested = d.amount_requested_eur
    if requested is not None:
        cap = (rules.category_caps or {}).get(d.category_code) or rules.max_amount_eur
        if cap is not None and requested > cap:
            yield Problem(s, "amount_requested_eur",
                          f"Le montant demandé dépasse le plafond de l'appel ({format_amount(cap)}).", "invalid")
        if d.total_budget_eur is not None and requested > d.total_budget_eur:
            yield Problem(s, "amount_requested_eur", "Le montant demandé dépasse le budget total du projet.", "invalid")


def check_documents(d, rules: CallFacts) -> Iterable[Problem]:
    s = "pieces"
    labels = dict(rules.required_documents)
    ready = {a.document_type_code for a in d.attachments if a.status == AttachmentStatus.READY}
    for code in rules.required_document_codes:
        if code not in ready:
            yield Problem(s, f"doc-{code}", f"{labels.get(code) or code} : document à fournir.")
    for a in d.attachments:
        if a.status == AttachmentStatus.PROCESSING:
            yield Problem(s, f"doc-{a.document_type_code}", f"« {a.filename} » est en cours de vérification : "
                          "patientez quelques instants.")
        elif a.status == AttachmentStatus.QUARANTINED:
            yield Problem(s, f"doc-{a.document_type_code}", f"« {a.filename} » a été bloqué par l'antivirus : "
                          "remplacez-le.", "invalid")


TEXT_FIELDS = {  # short text fields: section, label, column length
    "pole_name": ("identite", "Nom du pôle", 200),
    "carrier_legal_name": ("identite", "Raison sociale de la structure porteuse", 200),
    "carrier_rna": ("identite", "Numéro RNA", 10),
    "address": ("identite", "Adresse", 300),
    "commune_insee": ("identite", "Code INSEE de la commune", 5),
    "commune_name": ("identite", "Commune", 200),
    "activity_other": ("activites", "Autre domaine", 200),
}


def check_overflow(d) -> Iterable[Problem]:
    """Short texts typed longer than they can be stored: kept as typed in ``raw_inputs`` until corrected."""
    for field, (section, label, limit) in TEXT_FIELDS.items():
        raw = (d.raw_inputs or {}).get(field)
        if raw is not None:
            yield Problem(section, field, f"{label} : {len(raw)} caractères pour {limit} au maximum.", "invalid")


def one_per_call_message(siren: str, status: str) -> str:
    """Why a structure porteuse cannot submit (another) dossier in this call: the same text on the section,
    the summary and the refused submission."""
    if status == "withdrawn":
        return (f"Un dossier de cette structure porteuse (SIREN {siren}) a été retiré de cet appel à projets. "
                "Le retrait est définitif : la même structure porteuse ne peut pas déposer un nouveau dossier "
                "dans cet appel.")
    return (f"Cette structure porteuse (SIREN {siren}) a déjà déposé un dossier dans cet appel à projets : "
            "un seul dossier par pôle et par appel.")


def check_one_per_call(d, rules: CallFacts) -> Iterable[Problem]:
    siren = siren_of(d.carrier_siret)
    status = rules.taken_sirens.get(siren) if siren else None
    if status is not None:
        yield Problem("identite", "carrier_siret", one_per_call_message(siren, status), "invalid")


def check_dossier(d, rules: CallFacts, *, today: date) -> list[Problem]:
    return [*check_identity(d, today), *check_one_per_call(d, rules), *check_members(d, today), *check_distinct_members(d),
            *check_activities(d), *check_project(d),
            *check_budget(d, rules), *check_documents(d, rules), *check_overflow(d)]


def section_states(problems: list[Problem]) -> dict[str, str]:
    """{section: "complete" | "incomplete" | "error"} — error wins over incomplete."""
    states = dict.fromkeys(SECTION_CODES, "complete")
    for p in problems:
        if p.kind == "invalid":
            states[p.section] = "error"
        elif states[p.section] == "complete":
            states[p.section] = "incomplete"
    return states
