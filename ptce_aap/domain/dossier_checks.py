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

from stdnum.exceptions import InvalidChecksum

from ptce_aap.domain import geography, sirets
from ptce_aap.domain.eligibility import CallFacts, siren_of
from ptce_aap.domain.messages import N_, Message, Money, join, lower_first
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
    message: Message  # French, translated where shown (``domain.messages``)
    kind: str = "missing"  # "missing" or "invalid"


def siret_problem(value: str) -> Message | None:
    """A message when ``value`` is not a valid SIRET (14 digits, Luhn key), else None."""
    _compact, error = sirets.check(value)
    if error is None:
        return None
    if issubclass(error, InvalidChecksum):
        return N_("Le numéro SIRET n'est pas valide : sa clé de contrôle est incorrecte. Vérifiez chaque chiffre "
                  "sur l'avis de situation Insee ou sur annuaire-entreprises.data.gouv.fr.")
    digits = sum(c.isdigit() for c in value)
    return N_("Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres (vous en avez saisi "
              "%(digits)s).", digits=digits)


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if c.isalnum())


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _too_long(section, field, value: str, label: str) -> Iterable[Problem]:
    limit = LIMITS.get(field)
    if limit and value and len(value) > limit:
        yield Problem(section, field, N_("%(label)s : %(length)s caractères pour %(limit)s au maximum.",
                                         label=label, length=len(value), limit=limit), "invalid")


def typed_number_message(label: Message, raw: str, parse=parse_decimal, noun: str = "nombre") -> Message:
    """Why ``raw`` (kept as typed) is refused, in the parser's words: "must be positive or zero" for a
    negative number, "without exponent" for « 1e3 »…, not only "not a valid number". ``noun``: "nombre" or
    "montant"."""
    invalid = N_("%(label)s : « %(raw)s » n'est pas un montant valide.", label=label, raw=raw) \
        if noun == "montant" else N_("%(label)s : « %(raw)s » n'est pas un nombre valide.", label=label, raw=raw)
    try:
        parse(raw)
    except AmountError as exc:
        if exc.code == "format":
            return join([invalid, exc.message])
        return N_("%(label)s : « %(raw)s » n'est pas accepté. %(reason)s", label=label, raw=raw, reason=exc.message)
    return invalid


def _raw(d, section: str, field: str, label: str, parse=parse_decimal, noun: str = "nombre") -> Iterable[Problem]:
    raw = (d.raw_inputs or {}).get(field)
    if raw is not None:
        yield Problem(section, field, typed_number_message(label, raw, parse, noun), "invalid")


NAME_MAX_LENGTH = 200
_NAME_MESSAGES = {
    LINE_BREAK: N_("saisissez-le sur une seule ligne, sans retour à la ligne."),
    CONTROL: N_("il contient des caractères invisibles ou de contrôle : retirez-les."),
    WEB_ADDRESS: N_("il ne doit pas contenir d’adresse web ni de nom de domaine."),
    TOO_LONG: N_("il ne doit pas dépasser %(max)s caractères.", max=NAME_MAX_LENGTH),
}


def _name(section: str, field: str, value, label: str) -> Iterable[Problem]:
    """A name quoted in mails and PDFs sent to other people: one plain line (``domain.text``). Drafts keep
    what was typed; this blocks submission and shows next to the field."""
    problem = name_problem(value if isinstance(value, str) else None, max_length=NAME_MAX_LENGTH)
    if problem is not None:
        yield Problem(section, field, N_("%(label)s : %(problem)s", label=label, problem=_NAME_MESSAGES[problem]),
                      "invalid")


def _to_fill(label: Message) -> Message:
    return N_("%(label)s : à renseigner.", label=label)


def check_identity(d, today: date) -> Iterable[Problem]:
    s = "identite"
    for field, label in [("pole_name", N_("Nom du pôle")),
                         ("carrier_legal_name", N_("Raison sociale de la structure porteuse")),
                         ("carrier_legal_form", N_("Forme juridique")), ("address", N_("Adresse"))]:
        if _blank(getattr(d, field)):
            yield Problem(s, field, _to_fill(label))
        elif field in ("pole_name", "carrier_legal_name"):
            yield from _name(s, field, getattr(d, field), label)
    if _blank(d.carrier_siret):
        yield Problem(s, "carrier_siret", _to_fill(N_("SIRET de la structure porteuse")))
    elif (msg := siret_problem(d.carrier_siret)) is not None:
        yield Problem(s, "carrier_siret", msg, "invalid")
    rna = (getattr(d, "carrier_rna", "") or "").strip()  # optional: only associations have one
    if rna and "carrier_rna" not in (d.raw_inputs or {}) and not RNA_FORMAT.fullmatch(rna):
        yield Problem(s, "carrier_rna", N_("Le numéro RNA « %(rna)s » n'a pas le bon format : il s'écrit avec la "
                                           "lettre W suivie de 9 chiffres, par exemple %(example)s.", rna=rna,
                                           example=RNA_EXAMPLE), "invalid")
    if _blank(d.commune_insee):
        yield Problem(s, "commune_insee", _to_fill(N_("Code INSEE de la commune")))
    elif geography.department_of_insee(d.commune_insee) is None:
        yield Problem(s, "commune_insee", N_("Le code INSEE de la commune doit comporter 5 caractères "
                                             "(par exemple 69123 pour Lyon)."), "invalid")
    elif (msg := geography.insee_problem(d.commune_insee)) is not None:
        yield Problem(s, "commune_insee", msg, "invalid")
    elif d.commune_name and (official := geography.commune_name(d.commune_insee)) and \
            _plain(official) != _plain(d.commune_name):
        yield Problem(s, "commune_insee", N_("Le code INSEE %(insee)s correspond à la commune « %(official)s », pas "
                                             "à « %(typed)s » : vérifiez le code (ce n'est pas le code postal).",
                                             insee=d.commune_insee, official=official, typed=d.commune_name),
                      "invalid")
    if _blank(d.region_code):
        yield Problem(s, "region_code", _to_fill(N_("Région")))
    elif d.region_code not in geography.regions():
        yield Problem(s, "region_code", N_("Région inconnue."), "invalid")
    if _blank(d.departments):
        yield Problem(s, "departments", N_("Départements couverts : choisissez au moins un département."))
    else:
        unknown = [c for c in d.departments if c not in geography.departments()]
        if unknown:
            yield Problem(s, "departments", N_("Départements inconnus : %(codes)s.", codes=", ".join(unknown)),
                          "invalid")
        elif d.region_code in geography.regions() and not any(
                geography.departments()[c].region == d.region_code for c in d.departments):
            yield Problem(s, "departments", N_("Aucun des départements couverts n'appartient à la région choisie."),
                          "invalid")
    if _blank(d.territory_types):
        yield Problem(s, "territory_types", N_("Type de territoire : choisissez au moins un type."))
    year = d.cooperation_start_year
    if year is None:
        raw = (d.raw_inputs or {}).get("cooperation_start_year")
        if raw is not None:
            yield Problem(s, "cooperation_start_year", N_(
                "Année de début de la coopération : « %(raw)s » n'est pas une année ; saisissez-la sur quatre "
                "chiffres, par exemple 2016.", raw=raw), "invalid")
        else:
            yield Problem(s, "cooperation_start_year", _to_fill(N_("Année de début de la coopération")))
    elif not MIN_YEAR <= year <= today.year:
        yield Problem(s, "cooperation_start_year", N_(
            "L'année de début de la coopération doit être comprise entre %(first)s et %(last)s.", first=MIN_YEAR,
            last=today.year), "invalid")


def check_members(d, today: date) -> Iterable[Problem]:
    s = "membres"
    if not d.members:
        yield Problem(s, "members", N_("Ajoutez les structures membres du pôle."))
    for i, m in enumerate(d.members, start=1):
        prefix = N_("Membre n° %(n)s (%(name)s)", n=i, name=one_line(m.name, max_length=80)) if m.name else N_(
            "Membre n° %(n)s", n=i)

        def row(problem: Message, *, field: str, kind: str = "missing", prefix=prefix, i=i) -> Problem:
            return Problem(s, f"members-{i - 1}-{field}", N_("%(member)s : %(problem)s", member=prefix,
                                                               problem=problem), kind)

        if _blank(m.name):
            yield row(N_("nom à renseigner."), field="name")
        else:
            yield from _name(s, f"members-{i - 1}-name", m.name, N_("Membre n° %(n)s, nom", n=i))
        if m.category is None:
            yield row(N_("catégorie à choisir."), field="category")
        if m.role is None:
            yield row(N_("rôle à choisir."), field="role")
        if _blank(m.department):
            yield row(N_("département à choisir."), field="department")
        elif m.department not in geography.departments():
            yield row(N_("département inconnu."), field="department", kind="invalid")
        if m.siret and (msg := siret_problem(m.siret)) is not None:
            yield row(lower_first(msg), field="siret", kind="invalid")
        if m.is_legal_person and not m.siret:
            yield row(N_("SIRET à renseigner pour une personne morale."), field="siret")
        if m.joined_on is not None and m.joined_on > today:
            yield row(N_("la date d'adhésion est dans le futur."), field="joined_on", kind="invalid")


def check_distinct_members(d) -> Iterable[Problem]:
    """Two member rows of one legal person (same SIREN): the pole's members must be distinct."""
    first: dict[str, int] = {}
    for i, m in enumerate(d.members, start=1):
        if m.siret and siret_problem(m.siret) is None:
            siren = m.siret[:9]
            if siren in first:
                yield Problem("membres", f"members-{i - 1}-siret", N_(
                    "Membres n° %(first)s et %(n)s : même SIREN (%(siren)s), il s’agit d’une seule personne morale. "
                    "Gardez un seul établissement par structure.", first=first[siren], n=i, siren=siren), "invalid")
            else:
                first[siren] = i


UNTICKED_PREFIX = "unticked:"


def unticked_text(d, field: str) -> str | None:
    """A conditional text typed while its checkbox was off: kept in ``raw_inputs`` (never dropped), flagged."""
    return (d.raw_inputs or {}).get(UNTICKED_PREFIX + field)


def check_activities(d) -> Iterable[Problem]:
    s = "activites"
    if _blank(d.activity_domains):
        yield Problem(s, "activity_domains", N_("Domaines d'activité : choisissez au moins un domaine."))
    elif ActivityDomain.OTHER.value in d.activity_domains and _blank(d.activity_other):
        yield Problem(s, "activity_other", N_("Précisez l'autre domaine d'activité."))
    cooperation = d.cooperation or {}
    if not cooperation:
        yield Problem(s, "cooperation", N_("Coopération : indiquez au moins une forme de coopération pratiquée."))
    for form in CooperationForm:
        if form.value in cooperation:
            text = cooperation[form.value] or ""
            if not text.strip():
                yield Problem(s, f"cooperation_{form.value}", N_("Décrivez la forme « %(form)s ».", form=form))
            yield from _too_long(s, "cooperation", text, N_("Description de « %(form)s »", form=form))
        elif unticked_text(d, f"coop_{form.value}_text") is not None:
            yield Problem(s, f"coop_{form.value}_text", N_(
                "Vous avez décrit la forme « %(form)s » sans cocher sa case : la description est conservée, mais "
                "elle ne compte pas tant que la case n'est pas cochée. Cochez la case, ou effacez la description.",
                form=form), "invalid")
    if d.governance_form is None:
        yield Problem(s, "governance_form", N_("Forme de gouvernance : à choisir."))
    if _blank(d.governance_text):
        yield Problem(s, "governance_text", N_("Modalités de prise de décision : à décrire."))
    yield from _too_long(s, "governance_text", d.governance_text or "", N_("Modalités de prise de décision"))


PROJECT_TEXTS = [
    ("summary", N_("Résumé du projet")),
    ("strategy", N_("Stratégie")),
    ("innovation", N_("Innovation sociale ou technologique")),
    ("territorial_anchoring", N_("Ancrage territorial")),
    ("expected_impacts", N_("Impacts attendus")),
]


def check_project(d) -> Iterable[Problem]:
    s = "projet"
    for field, label in PROJECT_TEXTS:
        value = getattr(d, field) or ""
        if not value.strip():
            yield Problem(s, field, N_("%(label)s : à rédiger.", label=label))
        yield from _too_long(s, field, value, label)
    for field, label in [("jobs_existing_fte", N_("Emplois existants (ETP)")),
                         ("jobs_to_create_fte", N_("Emplois à créer (ETP)"))]:
        if getattr(d, field) is None:
            raw = list(_raw(d, s, field, label))
            yield from raw or [Problem(s, field, N_("%(label)s : à renseigner (0 si aucun).", label=label))]
    for field, label in [("jobs_text", N_("Emplois non délocalisables")), ("rd_partners", N_("Partenaires de R&D"))]:
        yield from _too_long(s, field, getattr(d, field) or "", label)


def totals(lines) -> tuple[Decimal, Decimal]:
    """(expenses, resources) of the financing plan, counting only valid amounts."""
    expenses = sum((ln.amount_eur or Decimal(0) for ln in lines if ln.kind == FinancingKind.EXPENSE), Decimal(0))
    resources = sum((ln.amount_eur or Decimal(0) for ln in lines if ln.kind == FinancingKind.RESOURCE), Decimal(0))
    return expenses, resources


def check_budget(d, rules: CallFacts) -> Iterable[Problem]:
    s = "budget"
    for field, label in [("total_budget_eur", N_("Budget total du projet")),
                         ("amount_requested_eur", N_("Montant demandé à l'État"))]:
        if getattr(d, field) is None:
            raw = list(_raw(d, s, field, label, parse_amount, "montant"))
            yield from raw or [Problem(s, field, _to_fill(label))]
    if rules.category_codes and d.category_code not in rules.category_codes:
        yield Problem(s, "category_code", N_("Catégorie de l'appel : à choisir."))
    lines = list(d.financing_lines)
    if not any(ln.kind == FinancingKind.EXPENSE for ln in lines):
        yield Problem(s, "expenses", N_("Budget de la cellule d'animation : ajoutez au moins une ligne de dépense."))
    if not any(ln.kind == FinancingKind.RESOURCE for ln in lines):
        yield Problem(s, "resources", N_("Plan de financement : ajoutez au moins une ressource."))
    seen = {FinancingKind.EXPENSE: 0, FinancingKind.RESOURCE: 0}
    for i, ln in enumerate(lines):
        name = ln.label or ln.funder or i + 1
        prefix = N_("Dépense « %(name)s »", name=name) if ln.kind == FinancingKind.EXPENSE else N_(
            "Ressource « %(name)s »", name=name)
        # Ids of the form's fields (expenses-0-amount_eur…); raw amounts are kept by line position.
        row = f"{'expenses' if ln.kind == FinancingKind.EXPENSE else 'resources'}-{seen[ln.kind]}"
        seen[ln.kind] += 1
        raw = (d.raw_inputs or {}).get(f"lines-{i}-amount_eur")
        if raw is not None:
            yield Problem(s, f"{row}-amount_eur", typed_number_message(prefix, raw, parse_amount, "montant"),
                          "invalid")
        elif ln.amount_eur is None:
            yield Problem(s, f"{row}-amount_eur", N_("%(line)s : montant à renseigner.", line=prefix))
        elif ln.amount_eur <= 0:
            yield Problem(s, f"{row}-amount_eur", N_("%(line)s : le montant doit être supérieur à zéro.",
                                                     line=prefix), "invalid")
        if _blank(ln.label):
            yield Problem(s, f"{row}-label", N_("%(line)s : intitulé à renseigner.", line=prefix))
        if ln.kind == FinancingKind.RESOURCE:
            if ln.source is None:
                yield Problem(s, f"{row}-source", N_("%(line)s : origine du financement à choisir.", line=prefix))
            if ln.status is None:
                yield Problem(s, f"{row}-status", N_("%(line)s : indiquez si le financement est acquis ou "
                                                     "sollicité.", line=prefix))
    expenses, resources = totals(lines)
    if lines and expenses != resources:
        yield Problem(s, "balance", N_("Le plan de financement n'est pas équilibré : %(resources)s de ressources "
                                       "pour %(expenses)s de dépenses (écart %(gap)s).", resources=Money(resources),
                                       expenses=Money(expenses), gap=Money(abs(resources - expenses))), "invalid")
    if lines and d.total_budget_eur is not None and d.total_budget_eur < expenses:
        # The same numbers as the eligibility rule "state_share": the section is not "complete" while it fails.
        yield Problem(s, "total_budget_eur", N_(
            "Le budget total du projet (%(budget)s) est inférieur aux dépenses du plan de financement (%(expenses)s) : "
            "corrigez l'un ou l'autre.", budget=Money(d.total_budget_eur), expenses=Money(expenses)), "invalid")
    requested = d.amount_requested_eur
    if requested is not None:
        cap = (rules.category_caps or {}).get(d.category_code) or rules.max_amount_eur
        if cap is not None and requested > cap:
            yield Problem(s, "amount_requested_eur", N_("Le montant demandé dépasse le plafond de l'appel (%(cap)s).",
                                                        cap=Money(cap)), "invalid")
        if d.total_budget_eur is not None and requested > d.total_budget_eur:
            yield Problem(s, "amount_requested_eur", N_("Le montant demandé dépasse le budget total du projet."),
                          "invalid")


def check_documents(d, rules: CallFacts) -> Iterable[Problem]:
    """A required type needs a file that is verified or being verified: a file still in the verification queue
    does not hold the submission back (the receipt and the eligibility check wait for it, see
    ``services.submission``). A file the antivirus blocked must be replaced."""
    s = "pieces"
    labels = dict(rules.required_documents)
    sent = {a.document_type_code for a in d.attachments
            if a.status in (AttachmentStatus.READY, AttachmentStatus.PROCESSING)}
    for code in rules.required_document_codes:
        if code not in sent:
            yield Problem(s, f"doc-{code}", N_("%(document)s : document à fournir.", document=labels.get(code) or code))
    for a in d.attachments:
        if a.status == AttachmentStatus.QUARANTINED:
            yield Problem(s, f"doc-{a.document_type_code}", N_("« %(file)s » a été bloqué par l'antivirus : "
                                                               "remplacez-le.", file=a.filename), "invalid")


def pending_verification(d) -> list:
    """The dossier's files confirmed but not yet verified (SHA-256, antivirus): the receipt and the
    eligibility check of a submitted dossier wait for them."""
    return [a for a in d.attachments if a.status == AttachmentStatus.PROCESSING]


TEXT_FIELDS = {  # short text fields: section, label, column length
    "pole_name": ("identite", N_("Nom du pôle"), 200),
    "carrier_legal_name": ("identite", N_("Raison sociale de la structure porteuse"), 200),
    "carrier_rna": ("identite", N_("Numéro RNA"), 10),
    "address": ("identite", N_("Adresse"), 300),
    "commune_insee": ("identite", N_("Code INSEE de la commune"), 5),
    "commune_name": ("identite", N_("Commune"), 200),
    "activity_other": ("activites", N_("Autre domaine"), 200),
}


def check_overflow(d) -> Iterable[Problem]:
    """Short texts typed longer than they can be stored: kept as typed in ``raw_inputs`` until corrected."""
    for field, (section, label, limit) in TEXT_FIELDS.items():
        raw = (d.raw_inputs or {}).get(field)
        if raw is not None:
            yield Problem(section, field, N_("%(label)s : %(length)s caractères pour %(limit)s au maximum.",
                                             label=label, length=len(raw), limit=limit), "invalid")


def one_per_call_message(siren: str, status: str) -> Message:
    """Why a structure porteuse cannot submit (another) dossier in this call: the same text on the section,
    the summary and the refused submission."""
    if status == "withdrawn":
        return N_("Un dossier de cette structure porteuse (SIREN %(siren)s) a été retiré de cet appel à projets. "
                  "Le retrait est définitif : la même structure porteuse ne peut pas déposer un nouveau dossier "
                  "dans cet appel.", siren=siren)
    return N_("Cette structure porteuse (SIREN %(siren)s) a déjà déposé un dossier dans cet appel à projets : "
              "un seul dossier par pôle et par appel.", siren=siren)


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
