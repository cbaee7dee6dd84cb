"""The eligibility rules of a call (SPEC §3: article 9 of law 2014-856, décret 2015-431). Pure: no Flask, no DB.

``CATALOG`` (at the end) is the one list of rules: code, short label, default mode and parameters, the
function; ``RULE_ORDER``, ``RULE_LABELS``, ``RULES`` and ``defaults.DEFAULT_ELIGIBILITY`` are derived from it.
A service (``ptce_aap.services.eligibility``) turns ORM objects into ``DossierFacts`` and ``CallFacts``;
``evaluate`` runs every rule the call did not switch off and returns a ``Verdict`` (eligible iff every *blocking*
rule passes). A ``RuleResult`` tells in French what is wrong, with the numbers, and (a draft only: a submitted
dossier is frozen) what to fix; a passed rule says what was verified. ``domain.rules_text`` states each rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from stdnum.exceptions import ValidationError
from stdnum.fr import siret as siret_mod

from ptce_aap.domain import geography
from ptce_aap.domain.formatting import format_amount as amount
from ptce_aap.domain.formatting import format_datetime as format_datetime_fr
from ptce_aap.domain.formatting import format_share
from ptce_aap.domain.sections import quoted_title
from ptce_aap.enums import AttachmentStatus, LegalForm, MemberCategory, RuleMode, ScanStatus

PRIVATE_LEGAL_FORMS = frozenset({
    LegalForm.ASSOCIATION, LegalForm.SCIC, LegalForm.SCOP, LegalForm.COOPERATIVE, LegalForm.MUTUELLE,
    LegalForm.FONDATION, LegalForm.ESUS_COMPANY})
# Article 9 actors other than enterprises.
OTHER_ARTICLE9 = frozenset({MemberCategory.COLLECTIVITY, MemberCategory.RESEARCH, MemberCategory.TRAINING,
                            MemberCategory.OTHER})
IDENTITY_SECTION = quoted_title("identite")
MEMBERS_SECTION = quoted_title("membres")
BUDGET_SECTION = quoted_title("budget")


# --- Inputs ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberFacts:
    name: str
    category: str | None  # a MemberCategory value
    siret: str = ""
    department: str = ""
    is_legal_person: bool = True


@dataclass(frozen=True)
class AttachmentFacts:
    document_type_code: str
    status: str  # an AttachmentStatus value
    scan_status: str  # a ScanStatus value
    filename: str = ""


@dataclass(frozen=True)
class DossierFacts:
    """What the rules read of a dossier. Amounts are ``Decimal`` euros; ``None`` when not given."""

    carrier_siret: str = ""
    carrier_legal_form: str | None = None  # a LegalForm value
    members: tuple[MemberFacts, ...] = ()
    departments: tuple[str, ...] = ()
    expenses_eur: Decimal = Decimal(0)
    resources_eur: Decimal = Decimal(0)
    financing_line_count: int = 0
    amount_requested_eur: Decimal | None = None
    total_budget_eur: Decimal | None = None
    attachments: tuple[AttachmentFacts, ...] = ()
    submitted_at: datetime | None = None
    category_code: str | None = None


@dataclass(frozen=True)
class CallFacts:
    """What the rules and the completeness checks (``dossier_checks``) read of a call. ``settings``:
    ``{code: {"mode", **parameters}}``, completed from the catalog's defaults rule by rule;
    ``required_documents``: ``((code, label), …)``; ``category_codes``: the call's categories (one must be
    chosen when there are any); ``previously_funded_sirens``: SIRENs of laureates of the platform's other
    PTCE calls; ``taken_sirens``: carriers that already submitted (or withdrew) another dossier in this call."""

    settings: Mapping[str, Mapping] = field(default_factory=dict)
    required_documents: tuple[tuple[str, str], ...] = ()
    max_amount_eur: Decimal | None = Decimal("100000")
    max_state_share: Decimal = Decimal("0.5")
    closes_at: datetime | None = None
    category_codes: tuple[str, ...] = ()
    category_caps: Mapping[str, Decimal] = field(default_factory=dict)
    previously_funded_sirens: frozenset[str] = frozenset()
    # SIREN of a structure porteuse → status value ("withdrawn", "submitted", …) of a dossier it already
    # submitted in this call (one dossier per pole per call; a withdrawal is final for its SIREN).
    taken_sirens: Mapping[str, str] = field(default_factory=dict)

    @property
    def required_document_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.required_documents)

    def rule(self, code: str) -> dict:
        return rule_settings(self.settings, code)

    def mode(self, code: str) -> RuleMode:
        return RuleMode(self.rule(code).get("mode", RuleMode.OFF))


# --- Outputs -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    message_fr: str  # for a draft: what is wrong and what to change in the dossier
    mode: RuleMode | None = None  # set by ``evaluate``
    not_analysed: bool = False  # passed, with files the antivirus never analysed (shown "non analysé")
    finding_fr: str | None = None  # the same without what to change (a submitted dossier is frozen); stored

    @property
    def message(self) -> str:
        return self.message_fr

    @property
    def finding(self) -> str:
        return self.finding_fr if self.finding_fr is not None else self.message_fr

    @property
    def is_blocking(self) -> bool:
        return self.mode == RuleMode.BLOCKING

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.code, self.code)

    def as_dict(self) -> dict:
        """The JSON stored in ``EligibilityCheck.results``."""
        return {"code": self.code, "passed": self.passed, "mode": (self.mode or RuleMode.BLOCKING).value,
                "message": self.finding} | ({"not_analysed": True} if self.not_analysed else {})


@dataclass(frozen=True)
class Verdict:
    is_eligible: bool
    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.is_blocking]

    @property
    def advisory_failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and not r.is_blocking]


# --- Helpers -----------------------------------------------------------------------------------------

def plural(n: int, singular: str, plural_form: str) -> str:
    return singular if n == 1 else plural_form


def failed(code: str, finding: str, advice: str = "") -> RuleResult:
    """A draft is told what to change (``advice``); a submitted dossier, frozen, only what was found."""
    dot = finding.endswith(".")
    message = finding if not advice else f"{finding} {advice}" if dot else f"{finding} : {advice}"
    return RuleResult(code, False, message, finding_fr=finding if dot or not advice else f"{finding}.")


def joined(code: str, parts: list[RuleResult]) -> RuleResult:
    findings = " ".join(p.finding for p in parts)
    return RuleResult(code, False, " ".join(p.message_fr for p in parts), finding_fr=findings)


def siren_of(siret: str | None) -> str | None:
    """The SIREN (first 9 digits) of a valid SIRET, else None."""
    try:
        return siret_mod.to_siren(siret_mod.validate(siret or ""))
    except ValidationError:
        return None


def legal_persons(dossier: DossierFacts) -> list[MemberFacts]:
    """Member legal persons, one per SIREN: establishments of one company count once (décret 2015-431
    asks for distinct legal persons). Members without a valid SIRET count by row."""
    seen: dict[str, MemberFacts] = {}
    for i, m in enumerate(dossier.members):
        if m.is_legal_person:
            seen.setdefault(siren_of(m.siret) or f"row:{i}", m)
    return list(seen.values())


def _members_with(dossier: DossierFacts, categories) -> list[MemberFacts]:
    return [m for m in legal_persons(dossier) if m.category in categories]


def _names(members: list[MemberFacts]) -> str:
    return ", ".join(m.name or "membre sans nom" for m in members)


# --- Rules -------------------------------------------------------------------------------------------

def rule_siret(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    value = (d.carrier_siret or "").strip()
    if not value:
        return failed("siret", "Le numéro SIRET de la structure porteuse n’est pas renseigné",
                      f"indiquez-le dans la section {IDENTITY_SECTION}.")
    try:
        siret_mod.validate(value)
    except ValidationError:
        return failed("siret", f"Le numéro SIRET de la structure porteuse ({value}) n’est pas valide : il doit "
                      "comporter 14 chiffres, clé de contrôle incluse.",
                      f"Corrigez-le dans la section {IDENTITY_SECTION}.")
    return RuleResult("siret", True, f"Le numéro SIRET de la structure porteuse ({value}) est valide.")


LEGAL_FORM_NAMES = {
    LegalForm.ASSOCIATION: "une association", LegalForm.SCIC: "une SCIC", LegalForm.SCOP: "une SCOP",
    LegalForm.COOPERATIVE: "une coopérative", LegalForm.MUTUELLE: "une mutuelle",
    LegalForm.FONDATION: "une fondation", LegalForm.ESUS_COMPANY: "une société commerciale ESUS",
}
PRIVATE_FORMS_TEXT = ("une association, une coopérative, une SCIC, une SCOP, une mutuelle, une fondation ou une "
                      "société")


def rule_legal_person(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    form = d.carrier_legal_form
    if not form:
        return failed("legal_person", "La forme juridique de la structure porteuse n’est pas renseignée",
                      f"choisissez-la dans la section {IDENTITY_SECTION}.")
    if form == LegalForm.COLLECTIVITE:
        return failed("legal_person", "La structure porteuse est une collectivité : une collectivité ne peut pas "
                      "porter le pôle.", "Confiez le portage à une personne morale de droit privé "
                      f"({PRIVATE_FORMS_TEXT}).")
    if form not in PRIVATE_LEGAL_FORMS:
        return RuleResult("legal_person", False, "La forme juridique « Autre » de la structure porteuse ne permet "
                          "pas d’établir qu’il s’agit d’une personne morale de droit privé : le pôle doit être "
                          f"porté par {PRIVATE_FORMS_TEXT}.")
    return RuleResult("legal_person", True, f"La structure porteuse est {LEGAL_FORM_NAMES[LegalForm(form)]}, "
                      "personne morale de droit privé.")


def rule_min_members(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    minimum = int(params.get("minimum", 3))
    count = len(legal_persons(d))  # distinct SIRENs
    if count == 0:
        counted = "ne compte aucun membre personne morale"
    else:
        counted = f"compte {count} {plural(count, 'membre personne morale', 'membres personnes morales')}"
    if count < minimum:
        return failed("min_members", f"Le pôle {counted} ; il en faut au moins {minimum}.",
                      f"Ajoutez les structures membres manquantes dans la section {MEMBERS_SECTION}.")
    return RuleResult("min_members", True, f"Le pôle {counted} (au moins {minimum} requis).")


def rule_ess_core(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, {MemberCategory.ESS})
    if not found:
        return failed("ess_core", "Aucun membre du pôle n’est une entreprise de l’économie sociale et solidaire",
                      "ajoutez au moins une entreprise de l’ESS (au sens de l’article 1er de la loi n° 2014-856 du "
                      "31 juillet 2014) à la liste des membres.")
    what = plural(len(found), "Entreprise de l’ESS", "Entreprises de l’ESS")
    return RuleResult("ess_core", True, f"{what} parmi les membres : {_names(found)}.")


def rule_enterprise_partner(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, {MemberCategory.ENTERPRISE})
    if not found:
        return failed("enterprise_partner", "Aucun membre du pôle n’est une entreprise hors économie sociale et "
                      "solidaire", "ajoutez au moins une entreprise hors ESS à la liste des membres.")
    what = plural(len(found), "Entreprise hors ESS", "Entreprises hors ESS")
    return RuleResult("enterprise_partner", True, f"{what} parmi les membres : {_names(found)}.")


def rule_territorial_link(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, OTHER_ARTICLE9)
    if not found:
        return failed("territorial_link", "Aucun membre du pôle n’est un autre acteur mentionné à l’article 9 de "
                      "la loi (collectivité territoriale ou groupement, centre de recherche ou établissement "
                      "d’enseignement supérieur, organisme de formation ou autre acteur)",
                      "ajoutez-en au moins un à la liste des membres.")
    what = plural(len(found), "Autre acteur de l’article 9", "Autres acteurs de l’article 9")
    return RuleResult("territorial_link", True, f"{what} parmi les membres : {_names(found)}.")


def rule_same_territory(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    allow_adjacent = bool(params.get("allow_adjacent", True))
    declared = [code for code in d.departments if code]
    if not declared:
        return failed("same_territory", "Le pôle n’a déclaré aucun département couvert",
                      f"choisissez-les dans la section {IDENTITY_SECTION}.")
    allowed = set(declared)
    if allow_adjacent:
        for code in declared:
            allowed |= geography.adjacent_departments(code)
    outside = [m for m in d.members if m.department not in allowed]
    covered = "les départements couverts par le pôle (" + ", ".join(declared) + ")"
    if outside:
        n = len(outside)
        listed = ", ".join(f"{m.name or 'membre sans nom'} ({m.department or 'département non renseigné'})"
                           for m in outside)
        where = f"hors {covered.replace('les ', 'des ', 1)}"
        where += " et de leurs départements limitrophes" if allow_adjacent else ""
        return failed("same_territory", f"{n} {plural(n, 'membre est situé', 'membres sont situés')} {where} : "
                      f"{listed}.", "Ajoutez ces départements aux départements couverts par le pôle ou corrigez le "
                      "département des membres concernés.")
    where = f"dans {covered}" + (" ou dans des départements limitrophes" if allow_adjacent else "")
    return RuleResult("same_territory", True, f"Tous les membres sont situés {where}.")


def rule_not_previously_funded(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    siren = siren_of(d.carrier_siret)
    if siren is None:
        return failed("not_previously_funded", "Sans numéro SIRET valide de la structure porteuse, l’absence de "
                      "soutien lors d’un précédent appel à projets PTCE ne peut pas être vérifiée",
                      "corrigez le SIRET.")
    if siren in c.previously_funded_sirens:
        return RuleResult("not_previously_funded", False, f"La structure porteuse (SIREN {siren}) a déjà été "
                          "lauréate d’un précédent appel à projets PTCE : un pôle déjà soutenu n’est pas éligible.")
    return RuleResult("not_previously_funded", True, f"La structure porteuse (SIREN {siren}) n’a pas été lauréate "
                      "d’un précédent appel à projets PTCE de la plateforme.")


def rule_documents(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    """Every required document is there and none is blocked or in progress. A file the antivirus never
    analysed (none configured, or it was down) is accepted, said "non analysée", unless the call sets
    ``require_clean_scan``: then the rule fails and asks for it again."""
    require_clean = bool(params.get("require_clean_scan", False))
    problems: list[tuple[str, str]] = []  # (finding, what to do in a draft)
    missing: list[str] = []
    unscanned = 0
    for code, label in c.required_documents:
        of_type = [a for a in d.attachments if a.document_type_code == code]
        ready = [a for a in of_type if a.status == AttachmentStatus.READY]
        if not ready:
            if not any(a.status in (AttachmentStatus.QUARANTINED, AttachmentStatus.UPLOADING,
                                    AttachmentStatus.PROCESSING) for a in of_type):
                missing.append(label)
            continue
        if not any(a.scan_status == ScanStatus.CLEAN for a in ready):
            if require_clean:
                problems.append((f"« {ready[-1].filename or label} » ({label}) n’a pas été analysé par "
                                 "l’antivirus", "envoyez-le de nouveau."))
            else:
                unscanned += 1
    for a in d.attachments:
        if a.status == AttachmentStatus.QUARANTINED or a.scan_status == ScanStatus.INFECTED:
            problems.append((f"« {a.filename} » a été bloqué par l’antivirus", "remplacez-le."))
        elif a.status in (AttachmentStatus.UPLOADING, AttachmentStatus.PROCESSING):
            problems.append((f"« {a.filename} » est en cours de vérification.", ""))
    if missing:
        problems.insert(0, (plural(len(missing), "Pièce obligatoire manquante : ", "Pièces obligatoires manquantes : ")
                            + ", ".join(missing) + ".", ""))
    if problems:
        return joined("documents", [failed("documents", finding, advice) for finding, advice in problems])
    n = len(c.required_documents)
    if n == 0:
        return RuleResult("documents", True, "L’appel ne demande aucune pièce obligatoire.")
    text = "La pièce obligatoire est jointe" if n == 1 else f"Les {n} pièces obligatoires sont jointes"
    if unscanned:  # accepted by the call, but never called "sound": no antivirus looked at them
        text += (f" ; {unscanned} " + plural(unscanned, "non analysée", "non analysées")
                 + " par l’antivirus (l’appel accepte les pièces non analysées).")
        return RuleResult("documents", True, text, not_analysed=True)
    text += plural(n, " et saine.", " et saines.")
    return RuleResult("documents", True, text)


def rule_budget_balanced(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    if d.financing_line_count == 0:
        return failed("budget_balanced", "Le plan de financement est vide", "saisissez les dépenses de la cellule "
                      "d’animation et les ressources qui les financent.")
    gap = abs(d.resources_eur - d.expenses_eur)
    summary = f"{amount(d.resources_eur)} de ressources pour {amount(d.expenses_eur)} de dépenses"
    if gap != 0:  # to the euro… and to the cent, as the completeness check of the draft
        return failed("budget_balanced", f"Le plan de financement n’est pas équilibré : {summary} (écart de "
                      f"{amount(gap)}).", "Ajustez les ressources ou les dépenses.")
    return RuleResult("budget_balanced", True, f"Le plan de financement est équilibré : {summary}.")


def rule_state_share(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    requested = d.amount_requested_eur
    if requested is None:
        return failed("state_share", "Le montant demandé à l’État n’est pas renseigné",
                      f"indiquez-le dans la section {BUDGET_SECTION}.")
    cap = (c.category_caps or {}).get(d.category_code or "") or c.max_amount_eur
    share = c.max_state_share
    problems = []  # RuleResults, one per problem, joined below
    if cap is not None and requested > cap:
        problems.append(failed("state_share", f"Le montant demandé ({amount(requested)}) dépasse le plafond de "
                               f"l’appel ({amount(cap)})."))
    budget = d.total_budget_eur
    if not budget:
        problems.append(failed("state_share", "Le budget total du projet n’est pas renseigné : la part demandée à "
                               "l’État ne peut pas être calculée."))
    elif budget < d.expenses_eur:
        problems.append(failed("state_share", f"Le budget total du projet ({amount(budget)}) est inférieur aux "
                               f"dépenses du plan de financement ({amount(d.expenses_eur)})",
                               "corrigez l’un ou l’autre."))
    elif requested > budget * share:
        limit = (budget * share).quantize(Decimal("0.01"))
        problems.append(failed("state_share", f"Le montant demandé ({amount(requested)}) dépasse {format_share(share)}"
                               f" du budget du projet ({amount(budget)}), soit {amount(limit)} au plus."))
    if problems:
        return joined("state_share", problems)
    actual = format_share((requested / budget).quantize(Decimal("0.0001")))
    return RuleResult("state_share", True, f"Le montant demandé ({amount(requested)}) respecte le plafond de l’appel "
                      f"({amount(cap)}) et représente {actual} du budget du projet ({amount(budget)}), pour "
                      f"{format_share(share)} au plus.")


def rule_deadline(d: DossierFacts, c: CallFacts, params: Mapping, *, now: datetime | None = None) -> RuleResult:
    closes_at = c.closes_at
    if closes_at is None:
        return RuleResult("deadline", True, "L’appel n’a pas de date limite de dépôt.")
    deadline = format_datetime_fr(closes_at)
    if d.submitted_at is not None:
        when = format_datetime_fr(d.submitted_at)
        if d.submitted_at < closes_at:
            return RuleResult("deadline", True, f"Le dossier a été déposé le {when}, avant la date limite du "
                              f"{deadline}.")
        return RuleResult("deadline", False, f"Le dossier a été déposé le {when}, après la date limite du "
                          f"{deadline}.")
    if now is None:
        return RuleResult("deadline", False, "Le dossier n’a pas été déposé.")
    # A draft (live advice): can it still be submitted?
    if now < closes_at:
        return RuleResult("deadline", True, f"Le dossier peut être déposé jusqu’au {deadline}.")
    return RuleResult("deadline", False, f"La date limite de dépôt du {deadline} est dépassée : le dossier ne peut "
                      "plus être déposé.")


# --- The catalog ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    code: str
    label: str  # short name, for tables (admin and applicant pages)
    check: Callable[..., RuleResult]
    default_mode: RuleMode = RuleMode.BLOCKING
    default_params: Mapping = field(default_factory=dict)

    def default_settings(self) -> dict:
        return {"mode": self.default_mode.value, **self.default_params}


# In the order of SPEC §3, which ``evaluate`` and ``rules_text`` keep within each group (blocking, advisory).
CATALOG: tuple[Rule, ...] = (
    Rule("siret", "SIRET de la structure porteuse", rule_siret),
    Rule("legal_person", "Personne morale de droit privé", rule_legal_person),
    Rule("min_members", "Nombre de membres personnes morales", rule_min_members, default_params={"minimum": 3}),
    Rule("ess_core", "Entreprise de l’ESS parmi les membres", rule_ess_core),
    Rule("enterprise_partner", "Entreprise hors ESS parmi les membres", rule_enterprise_partner),
    Rule("territorial_link", "Autre acteur de l’article 9 parmi les membres", rule_territorial_link),
    Rule("same_territory", "Ancrage territorial des membres", rule_same_territory, RuleMode.ADVISORY,
         {"allow_adjacent": True}),
    Rule("not_previously_funded", "Pas de soutien antérieur", rule_not_previously_funded),
    Rule("documents", "Pièces obligatoires", rule_documents, default_params={"require_clean_scan": False}),
    Rule("budget_balanced", "Équilibre du plan de financement", rule_budget_balanced),
    Rule("state_share", "Montant et part de l’État", rule_state_share),
    Rule("deadline", "Date limite de dépôt", rule_deadline),
)
RULE_ORDER: tuple[str, ...] = tuple(rule.code for rule in CATALOG)
RULE_LABELS: dict[str, str] = {rule.code: rule.label for rule in CATALOG}
RULES: dict[str, Callable[..., RuleResult]] = {rule.code: rule.check for rule in CATALOG}


def default_settings() -> dict[str, dict]:
    """A fresh copy of the eligibility settings of a new call: ``{code: {"mode", **parameters}}``."""
    return {rule.code: rule.default_settings() for rule in CATALOG}


def rule_settings(settings: Mapping[str, Mapping] | None, code: str) -> dict:
    """The settings of one rule: the call's values over the catalog's defaults."""
    defaults = next((rule.default_settings() for rule in CATALOG if rule.code == code), {})
    return {**defaults, **((settings or {}).get(code) or {})}


def run_rule(code: str, dossier: DossierFacts, call: CallFacts, *, now: datetime | None = None) -> RuleResult:
    """One rule, whatever its mode (tests, explanations)."""
    params = call.rule(code)
    if code == "deadline":
        return rule_deadline(dossier, call, params, now=now)
    return RULES[code](dossier, call, params)


def evaluate(dossier: DossierFacts, call: CallFacts, *, now: datetime | None = None) -> Verdict:
    """Run the call's rules (those not off), blocking ones first, each group in SPEC order.

    ``now`` only matters for a dossier not yet submitted (live advice on a draft): the deadline rule then
    tells whether it can still be submitted.
    """
    results = []
    for code in RULE_ORDER:
        mode = call.mode(code)
        if mode == RuleMode.OFF:
            continue
        results.append(replace(run_rule(code, dossier, call, now=now), mode=mode))
    results.sort(key=lambda r: not r.is_blocking)
    return Verdict(is_eligible=all(r.passed for r in results if r.is_blocking), results=tuple(results))
