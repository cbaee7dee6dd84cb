"""The eligibility rules of a call (SPEC §3: article 9 of law 2014-856, décret 2015-431). Pure: no Flask, no DB.

``CATALOG`` (at the end) is the one list of rules; ``RULE_ORDER``, ``RULE_LABELS``, ``RULES`` and
``defaults.DEFAULT_ELIGIBILITY`` derive from it. ``evaluate`` runs the rules the call did not switch off on
``DossierFacts`` (built by ``services.eligibility``) and returns a ``Verdict``, eligible iff every *blocking* rule
passes. Each ``RuleResult`` says what is wrong, with the numbers, and (a draft only: a submitted dossier is
frozen) what to fix, or what was verified: a French ``domain.messages.Message`` that pages translate.
``domain.rules_text`` states the rules in general terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from ptce_aap.domain import geography, sirets
from ptce_aap.domain.eligibility_documents import rule_documents
from ptce_aap.domain.eligibility_facts import AttachmentFacts, DossierFacts, MemberFacts  # noqa: F401 (re-exported)
from ptce_aap.domain.eligibility_results import RuleResult, Verdict, failed, joined  # noqa: F401 (re-exported)
from ptce_aap.domain.messages import N_, Message, Moment, Money, Share, join, plural
from ptce_aap.domain.sections import BY_CODE
from ptce_aap.enums import LegalForm, MemberCategory, RuleMode

PRIVATE_LEGAL_FORMS = frozenset({
    LegalForm.ASSOCIATION, LegalForm.SCIC, LegalForm.SCOP, LegalForm.COOPERATIVE, LegalForm.MUTUELLE,
    LegalForm.FONDATION, LegalForm.ESUS_COMPANY})
# Article 9 actors other than enterprises.
OTHER_ARTICLE9 = frozenset({MemberCategory.COLLECTIVITY, MemberCategory.RESEARCH, MemberCategory.TRAINING,
                            MemberCategory.OTHER})
# Section titles, quoted in messages (translated with them): « Membres du pôle ».
IDENTITY_SECTION, MEMBERS_SECTION, BUDGET_SECTION = (N_("« %(title)s »", title=N_(BY_CODE[code].title))
                                                     for code in ("identite", "membres", "budget"))


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


siren_of = sirets.siren_of  # memoised: the rules below ask it for every member, several times a page


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


def _names(members: list[MemberFacts]) -> Message:  # names as typed
    return join((N_("%(name)s", name=m.name) if m.name else N_("membre sans nom") for m in members), ", ")


def rule_siret(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    value = (d.carrier_siret or "").strip()
    if not value:
        return failed("siret", N_("Le numéro SIRET de la structure porteuse n’est pas renseigné"),
                      N_("indiquez-le dans la section %(section)s.", section=IDENTITY_SECTION))
    if sirets.check(value)[1] is not None:
        return failed("siret", N_("Le numéro SIRET de la structure porteuse (%(siret)s) n’est pas valide : il doit "
                                  "comporter 14 chiffres, clé de contrôle incluse.", siret=value),
                      N_("Corrigez-le dans la section %(section)s.", section=IDENTITY_SECTION))
    return RuleResult("siret", True, N_("Le numéro SIRET de la structure porteuse (%(siret)s) est valide.",
                                        siret=value))


LEGAL_FORM_NAMES = {
    LegalForm.ASSOCIATION: N_("une association"), LegalForm.SCIC: N_("une SCIC"), LegalForm.SCOP: N_("une SCOP"),
    LegalForm.COOPERATIVE: N_("une coopérative"), LegalForm.MUTUELLE: N_("une mutuelle"),
    LegalForm.FONDATION: N_("une fondation"), LegalForm.ESUS_COMPANY: N_("une société commerciale ESUS"),
}
PRIVATE_FORMS_TEXT = N_("une association, une coopérative, une SCIC, une SCOP, une mutuelle, une fondation ou une "
                        "société")


def rule_legal_person(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    form = d.carrier_legal_form
    if not form:
        return failed("legal_person", N_("La forme juridique de la structure porteuse n’est pas renseignée"),
                      N_("choisissez-la dans la section %(section)s.", section=IDENTITY_SECTION))
    if form == LegalForm.COLLECTIVITE:
        return failed("legal_person", N_("La structure porteuse est une collectivité : une collectivité ne peut pas "
                                         "porter le pôle."),
                      N_("Confiez le portage à une personne morale de droit privé (%(forms)s).",
                         forms=PRIVATE_FORMS_TEXT))
    if form not in PRIVATE_LEGAL_FORMS:
        return RuleResult("legal_person", False, N_(
            "La forme juridique « Autre » de la structure porteuse ne permet pas d’établir qu’il s’agit d’une "
            "personne morale de droit privé : le pôle doit être porté par %(forms)s.", forms=PRIVATE_FORMS_TEXT))
    return RuleResult("legal_person", True, N_("La structure porteuse est %(form)s, personne morale de droit privé.",
                                               form=LEGAL_FORM_NAMES[LegalForm(form)]))


def rule_min_members(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    minimum = int(params.get("minimum", 3))
    count = len(legal_persons(d))  # distinct SIRENs
    counted = N_("ne compte aucun membre personne morale") if count == 0 else plural(
        count, N_("compte %(count)s membre personne morale", count=count),
        N_("compte %(count)s membres personnes morales", count=count))
    if count < minimum:
        return failed("min_members", N_("Le pôle %(counted)s ; il en faut au moins %(minimum)s.", counted=counted,
                                        minimum=minimum),
                      N_("Ajoutez les structures membres manquantes dans la section %(section)s.",
                         section=MEMBERS_SECTION))
    return RuleResult("min_members", True, N_("Le pôle %(counted)s (au moins %(minimum)s requis).",
                                              counted=counted, minimum=minimum))


def rule_ess_core(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, {MemberCategory.ESS})
    if not found:
        return failed("ess_core", N_("Aucun membre du pôle n’est une entreprise de l’économie sociale et solidaire"),
                      N_("ajoutez au moins une entreprise de l’ESS (au sens de l’article 1er de la loi n° 2014-856 "
                         "du 31 juillet 2014) à la liste des membres."))
    return RuleResult("ess_core", True, plural(
        len(found), N_("Entreprise de l’ESS parmi les membres : %(names)s.", names=_names(found)),
        N_("Entreprises de l’ESS parmi les membres : %(names)s.", names=_names(found))))


def rule_enterprise_partner(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, {MemberCategory.ENTERPRISE})
    if not found:
        return failed("enterprise_partner", N_("Aucun membre du pôle n’est une entreprise hors économie sociale et "
                                               "solidaire"),
                      N_("ajoutez au moins une entreprise hors ESS à la liste des membres."))
    return RuleResult("enterprise_partner", True, plural(
        len(found), N_("Entreprise hors ESS parmi les membres : %(names)s.", names=_names(found)),
        N_("Entreprises hors ESS parmi les membres : %(names)s.", names=_names(found))))


def rule_territorial_link(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    found = _members_with(d, OTHER_ARTICLE9)
    if not found:
        return failed("territorial_link", N_(
            "Aucun membre du pôle n’est un autre acteur mentionné à l’article 9 de la loi (collectivité "
            "territoriale ou groupement, centre de recherche ou établissement d’enseignement supérieur, organisme "
            "de formation ou autre acteur)"), N_("ajoutez-en au moins un à la liste des membres."))
    return RuleResult("territorial_link", True, plural(
        len(found), N_("Autre acteur de l’article 9 parmi les membres : %(names)s.", names=_names(found)),
        N_("Autres acteurs de l’article 9 parmi les membres : %(names)s.", names=_names(found))))


def rule_same_territory(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    allow_adjacent = bool(params.get("allow_adjacent", True))
    declared = [code for code in d.departments if code]
    if not declared:
        return failed("same_territory", N_("Le pôle n’a déclaré aucun département couvert"),
                      N_("choisissez-les dans la section %(section)s.", section=IDENTITY_SECTION))
    allowed = set(declared)
    if allow_adjacent:
        for code in declared:
            allowed |= geography.adjacent_departments(code)
    outside = [m for m in d.members if m.department not in allowed]
    codes = ", ".join(declared)
    if outside:
        n = len(outside)
        listed = join((N_("%(name)s (%(department)s)", name=m.name or N_("membre sans nom"),
                          department=m.department or N_("département non renseigné")) for m in outside), ", ")
        where = N_("hors des départements couverts par le pôle (%(codes)s) et de leurs départements limitrophes",
                   codes=codes) if allow_adjacent else N_("hors des départements couverts par le pôle (%(codes)s)",
                                                          codes=codes)
        return failed("same_territory", plural(
            n, N_("%(count)s membre est situé %(where)s : %(members)s.", count=n, where=where, members=listed),
            N_("%(count)s membres sont situés %(where)s : %(members)s.", count=n, where=where, members=listed)),
            N_("Ajoutez ces départements aux départements couverts par le pôle ou corrigez le département des "
               "membres concernés."))
    where = N_("dans les départements couverts par le pôle (%(codes)s)", codes=codes)
    if allow_adjacent:
        where = N_("%(where)s ou dans des départements limitrophes", where=where)
    return RuleResult("same_territory", True, N_("Tous les membres sont situés %(where)s.", where=where))


def rule_not_previously_funded(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    siren = siren_of(d.carrier_siret)
    if siren is None:
        return failed("not_previously_funded", N_(
            "Sans numéro SIRET valide de la structure porteuse, l’absence de soutien lors d’un précédent appel à "
            "projets PTCE ne peut pas être vérifiée"), N_("corrigez le SIRET."))
    if siren in c.previously_funded_sirens:
        return RuleResult("not_previously_funded", False, N_(
            "La structure porteuse (SIREN %(siren)s) a déjà été lauréate d’un précédent appel à projets PTCE : un "
            "pôle déjà soutenu n’est pas éligible.", siren=siren))
    return RuleResult("not_previously_funded", True, N_(
        "La structure porteuse (SIREN %(siren)s) n’a pas été lauréate d’un précédent appel à projets PTCE de la "
        "plateforme.", siren=siren))


def rule_budget_balanced(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    if d.financing_line_count == 0:
        return failed("budget_balanced", N_("Le plan de financement est vide"),
                      N_("saisissez les dépenses de la cellule d’animation et les ressources qui les financent."))
    gap = abs(d.resources_eur - d.expenses_eur)
    numbers = {"resources": Money(d.resources_eur), "expenses": Money(d.expenses_eur)}
    if gap != 0:  # to the euro… and to the cent, as the completeness check of the draft
        return failed("budget_balanced", N_(
            "Le plan de financement n’est pas équilibré : %(resources)s de ressources pour %(expenses)s de "
            "dépenses (écart de %(gap)s).", gap=Money(gap), **numbers), N_("Ajustez les ressources ou les dépenses."))
    return RuleResult("budget_balanced", True, N_(
        "Le plan de financement est équilibré : %(resources)s de ressources pour %(expenses)s de dépenses.",
        **numbers))


def rule_state_share(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    requested = d.amount_requested_eur
    if requested is None:
        return failed("state_share", N_("Le montant demandé à l’État n’est pas renseigné"),
                      N_("indiquez-le dans la section %(section)s.", section=BUDGET_SECTION))
    cap = (c.category_caps or {}).get(d.category_code or "") or c.max_amount_eur
    share = c.max_state_share
    problems = []  # RuleResults, one per problem, joined below
    if cap is not None and requested > cap:
        problems.append(failed("state_share", N_("Le montant demandé (%(requested)s) dépasse le plafond de l’appel "
                                                 "(%(cap)s).", requested=Money(requested), cap=Money(cap))))
    budget = d.total_budget_eur
    if not budget:
        problems.append(failed("state_share", N_("Le budget total du projet n’est pas renseigné : la part demandée "
                                                 "à l’État ne peut pas être calculée.")))
    elif budget < d.expenses_eur:
        problems.append(failed("state_share", N_("Le budget total du projet (%(budget)s) est inférieur aux dépenses "
                                                 "du plan de financement (%(expenses)s)", budget=Money(budget),
                                                 expenses=Money(d.expenses_eur)), N_("corrigez l’un ou l’autre.")))
    elif requested > budget * share:
        limit = (budget * share).quantize(Decimal("0.01"))
        problems.append(failed("state_share", N_("Le montant demandé (%(requested)s) dépasse %(share)s du budget du "
                                                 "projet (%(budget)s), soit %(limit)s au plus.",
                                                 requested=Money(requested), share=Share(share),
                                                 budget=Money(budget), limit=Money(limit))))
    if problems:
        return joined("state_share", problems)
    actual = (requested / budget).quantize(Decimal("0.0001"))
    return RuleResult("state_share", True, N_(
        "Le montant demandé (%(requested)s) respecte le plafond de l’appel (%(cap)s) et représente %(actual)s du "
        "budget du projet (%(budget)s), pour %(share)s au plus.", requested=Money(requested),
        cap=Money(cap) if cap is not None else "—", actual=Share(actual), budget=Money(budget), share=Share(share)))


def rule_deadline(d: DossierFacts, c: CallFacts, params: Mapping, *, now: datetime | None = None) -> RuleResult:
    closes_at = c.closes_at
    if closes_at is None:
        return RuleResult("deadline", True, N_("L’appel n’a pas de date limite de dépôt."))
    deadline = Moment(closes_at)
    if d.submitted_at is not None:
        dates = {"when": Moment(d.submitted_at), "deadline": deadline}
        if d.submitted_at < closes_at:
            return RuleResult("deadline", True, N_("Le dossier a été déposé le %(when)s, avant la date limite du "
                                                   "%(deadline)s.", **dates))
        return RuleResult("deadline", False, N_("Le dossier a été déposé le %(when)s, après la date limite du "
                                                "%(deadline)s.", **dates))
    if now is None:
        return RuleResult("deadline", False, N_("Le dossier n’a pas été déposé."))
    # A draft (live advice): can it still be submitted?
    if now < closes_at:
        return RuleResult("deadline", True, N_("Le dossier peut être déposé jusqu’au %(deadline)s.",
                                               deadline=deadline))
    return RuleResult("deadline", False, N_("La date limite de dépôt du %(deadline)s est dépassée : le dossier ne "
                                            "peut plus être déposé.", deadline=deadline))


# --- The catalog ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    code: str
    label: Message  # short name, for tables (admin and applicant pages)
    check: Callable[..., RuleResult]
    default_mode: RuleMode = RuleMode.BLOCKING
    default_params: Mapping = field(default_factory=dict)

    def default_settings(self) -> dict:
        return {"mode": self.default_mode.value, **self.default_params}


# In the order of SPEC §3, which ``evaluate`` and ``rules_text`` keep within each group (blocking, advisory).
CATALOG: tuple[Rule, ...] = (
    Rule("siret", N_("SIRET de la structure porteuse"), rule_siret),
    Rule("legal_person", N_("Personne morale de droit privé"), rule_legal_person),
    Rule("min_members", N_("Nombre de membres personnes morales"), rule_min_members, default_params={"minimum": 3}),
    Rule("ess_core", N_("Entreprise de l’ESS parmi les membres"), rule_ess_core),
    Rule("enterprise_partner", N_("Entreprise hors ESS parmi les membres"), rule_enterprise_partner),
    Rule("territorial_link", N_("Autre acteur de l’article 9 parmi les membres"), rule_territorial_link),
    Rule("same_territory", N_("Ancrage territorial des membres"), rule_same_territory, RuleMode.ADVISORY,
         {"allow_adjacent": True}),
    Rule("not_previously_funded", N_("Pas de soutien antérieur"), rule_not_previously_funded),
    Rule("documents", N_("Pièces obligatoires"), rule_documents, default_params={"require_clean_scan": False}),
    Rule("budget_balanced", N_("Équilibre du plan de financement"), rule_budget_balanced),
    Rule("state_share", N_("Montant et part de l’État"), rule_state_share),
    Rule("deadline", N_("Date limite de dépôt"), rule_deadline),
)
RULE_ORDER: tuple[str, ...] = tuple(rule.code for rule in CATALOG)
RULE_LABELS: dict[str, Message] = {rule.code: rule.label for rule in CATALOG}
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
        results.append(replace(run_rule(code, dossier, call, now=now), mode=mode, label_fr=RULE_LABELS[code]))
    results.sort(key=lambda r: not r.is_blocking)
    return Verdict(is_eligible=all(r.passed for r in results if r.is_blocking), results=tuple(results))
