"""The reviewer side of ``flask ptce demo``: a call in review (« ptce-2026 », with regional instruction) whose
eligible dossiers are assigned, partly reviewed (one in « désaccord »), with a declared and a detected conflict,
and the Auvergne-Rhône-Alpes group's avis and ranking.

Everything goes through the services an admin, an applicant or a reviewer would use (audit rows and all):
``calls`` (creation, deadline, status), ``dossiers.start_dossier`` / ``set_dossier_status``,
``eligibility.run_check``, ``pool`` (institutions, regional group, invitations), ``conflicts``
(``add_conflict``, ``detect_conflicts``), ``assignments.propose`` / ``confirm``, ``reviews`` (start, save,
submit) and ``regional`` (avis, ranking). Two shortcuts, said here: the dossiers' content is typed into the
drafts as the section forms would store it, and they are submitted without documents (the call's document
types are optional; the upload pipeline and the receipt belong to the applicant journey of the open call).

Built in one transaction, only when the call does not exist yet: running the command again changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from stdnum import luhn

from ptce_aap.domain.defaults import DEFAULT_DOCUMENT_TYPES
from ptce_aap.enums import (
    CallStatus,
    DossierStatus,
    FinancingKind,
    FundingSource,
    FundingStatus,
    GovernanceForm,
    InstitutionKind,
    LegalForm,
    MemberCategory,
    MemberRole,
    Recommendation,
    Role,
)
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, FinancingLine, Member
from ptce_aap.models.reviews import Assignment
from ptce_aap.services import (
    accounts,
    assignments,
    calls,
    conflicts,
    dossiers,
    eligibility,
    pool,
    regional,
    reviews,
)

REVIEW_SLUG = "ptce-2026"

# name, short name, kind, SIREN (the institutions' public SIRENs; each passes the Luhn check).
INSTITUTIONS = {
    "ESS": ("Ministère de l'Économie — Direction générale du Trésor, mission ESS", InstitutionKind.MINISTRY,
            "110020013"),
    "DGCS": ("Ministère des Solidarités — Direction générale de la cohésion sociale (DGCS)", InstitutionKind.MINISTRY,
             "110044013"),
    "ANCT": ("Agence nationale de la cohésion des territoires", InstitutionKind.STATE_AGENCY, "130026032"),
    "CDC": ("Caisse des Dépôts — Banque des Territoires", InstitutionKind.CDC, "180020026"),
    "ARA": ("Région Auvergne-Rhône-Alpes", InstitutionKind.REGION, "200053767"),
    "OCC": ("Région Occitanie / Pyrénées-Méditerranée", InstitutionKind.REGION, "200053791"),
}

# email, name, institution, maximum load, in the regional group of Auvergne-Rhône-Alpes
REVIEWERS = [
    ("rapporteur.ess@demo.ptce.fr", "Nadia Benali", "ESS", 5, False),
    ("rapporteur.anct@demo.ptce.fr", "Louis Garnier", "ANCT", 5, True),
    ("rapporteur.cdc@demo.ptce.fr", "Élise Roux", "CDC", 5, False),
    ("rapporteur.dgcs@demo.ptce.fr", "Sophie Lambert", "DGCS", 5, False),
    ("rapporteur.ara@demo.ptce.fr", "Thomas Girard", "ARA", 4, True),
    ("rapporteur.occitanie@demo.ptce.fr", "Claire Dubois", "OCC", 4, False),
]
REGION_GROUP = "84"

# pole, region, commune (INSEE, name), departments, territory types, domains
POLES = [
    ("Pôle Coopérations du Val de Saône", "84", ("69123", "Lyon"), ["69", "01"], ["urbain", "qpv"],
     ["alimentation", "emploi_insertion"]),
    ("Grésivaudan Solidaire", "84", ("38185", "Grenoble"), ["38"], ["periurbain"], ["mobilite", "energie"]),
    ("Combrailles en commun", "84", ("63113", "Clermont-Ferrand"), ["63"], ["rural"], ["alimentation"]),
    ("Forez Réemploi", "84", ("42218", "Saint-Étienne"), ["42"], ["urbain"], ["economie_circulaire"]),
    ("Garonne Coop", "76", ("31555", "Toulouse"), ["31"], ["urbain", "qpv"], ["emploi_insertion"]),
    ("Cévennes Vivantes", "76", ("34172", "Montpellier"), ["34", "30"], ["rural"], ["tourisme", "alimentation"]),
    ("Montreuil Fabrique", "11", ("93048", "Montreuil"), ["93"], ["urbain", "qpv"], ["culture"]),
    ("Lille Métropole Solidaire", "32", ("59350", "Lille"), ["59"], ["urbain"], ["economie_circulaire"]),
]
# The pole whose members include the Région Auvergne-Rhône-Alpes (a detected conflict for its reviewer).
REGION_MEMBER_POLE = 0
REGION_ARA_SIRET = "20005376700014"
# The pole Élise Roux (CDC) declares a conflict on, before the assignment.
DECLARED_POLE, DECLARING = 4, "rapporteur.cdc@demo.ptce.fr"
# The pole whose two reviews disagree (one « favorable » at 4–5, one « défavorable » at 1–2).
DISAGREEMENT_POLE = 2


def _siret(n: int) -> str:
    siren = f"8{n:07d}"
    siren += luhn.calc_check_digit(siren)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


def institutions(admin: User) -> dict[str, Institution]:
    found = {}
    for short, (name, kind, siren) in INSTITUTIONS.items():
        institution = db.session.scalar(sa.select(Institution).where(Institution.name == name))
        found[short] = institution or pool.create_institution(name, kind.value, siren, by=admin)
    return found


def _fill(dossier: Dossier, index: int, pole: tuple) -> None:
    """The content of a complete dossier, as the section forms store it."""
    name, region, (insee, commune), departments, territories, domains = pole
    d = dossier
    d.carrier_legal_name = f"Association {name}"
    d.carrier_siret = _siret(100 + index)
    d.carrier_legal_form = LegalForm.ASSOCIATION if index % 3 else LegalForm.SCIC
    d.address = f"{3 + index} rue de la Coopération"
    d.commune_insee, d.commune_name, d.region_code, d.departments = insee, commune, region, departments
    d.territory_types, d.activity_domains = territories, domains
    d.cooperation_start_year = 2012 + index
    d.cooperation = {"mutualisation_moyens": "Locaux, véhicules et fonctions support partagés.",
                     "cooperation_strategique": "Une stratégie territoriale commune, revue chaque année."}
    d.governance_form = GovernanceForm.DEDICATED
    d.governance_text = "Conseil d'administration collégial : structures de l'ESS, entreprises, collectivités."
    d.summary = f"{name} fédère les acteurs de {commune} autour d'activités non délocalisables."
    d.strategy = "Structurer une filière locale et mutualiser une cellule d'animation."
    d.innovation = "Une plateforme logistique partagée entre associations et entreprises."
    d.territorial_anchoring = "Avec l'intercommunalité, les habitants et les entreprises du territoire."
    d.expected_impacts = f"{6 + index} emplois créés, dont la moitié en insertion."
    d.jobs_existing_fte = Decimal("3.5") + index
    d.jobs_to_create_fte = Decimal(6 + index)
    d.total_budget_eur = Decimal("400000")
    d.amount_requested_eur = Decimal("90000")
    d.category_code = "developpement" if index % 2 else "emergence"
    if d.category_code == "emergence":
        d.amount_requested_eur = Decimal("45000")
    cats = [MemberCategory.ESS, MemberCategory.ENTERPRISE, MemberCategory.COLLECTIVITY, MemberCategory.RESEARCH,
            MemberCategory.TRAINING, MemberCategory.ESS]
    d.members = [Member(position=i, name=f"Structure membre {i + 1} — {commune}", siret=_siret(1000 + 10 * index + i),
                        category=cats[i], department=departments[0],
                        role=MemberRole.FOUNDER if i == 0 else MemberRole.MEMBER) for i in range(len(cats))]
    if index == REGION_MEMBER_POLE:
        d.members[2].name, d.members[2].siret = "Région Auvergne-Rhône-Alpes", REGION_ARA_SIRET
    state = d.amount_requested_eur
    d.financing_lines = [
        FinancingLine(position=0, kind=FinancingKind.EXPENSE, label="Salaires de la cellule d'animation",
                      amount_eur=Decimal("150000")),
        FinancingLine(position=1, kind=FinancingKind.EXPENSE, label="Frais de fonctionnement",
                      amount_eur=Decimal("30000")),
        FinancingLine(position=2, kind=FinancingKind.RESOURCE, source=FundingSource.STATE, funder="État",
                      label="AAP PTCE", amount_eur=state, status=FundingStatus.REQUESTED),
        FinancingLine(position=3, kind=FinancingKind.RESOURCE, source=FundingSource.REGION, funder="Région",
                      label="Subvention régionale", amount_eur=Decimal("180000") - state,
                      status=FundingStatus.SECURED),
    ]


def _owner(index: int, password: str) -> User:
    email = "porteur1@demo.ptce.fr" if index == 0 else f"pole{index + 1}@demo.ptce.fr"
    user = accounts.find_user_by_email(email)
    return user or accounts.create_user(email, password, full_name=f"Coordination {POLES[index][0]}",
                                        roles=(Role.APPLICANT,), verified=True, check_password=False)


def _scores(criteria, values: list[int], text: str) -> reviews.ReviewValues:
    return reviews.ReviewValues(
        scores={c.id: (v, f"{text} ({c.label.lower()})." if v is not None else "")
                for c, v in zip(criteria, values, strict=True)},
        recommendation=None, confidential_note="")


def _review(assignment: Assignment, values: list[int], recommendation: Recommendation, *, submit: bool,
            now: datetime) -> None:
    reviewer = db.session.get(User, assignment.reviewer_id)
    review = reviews.start_review(assignment, by=reviewer)
    criteria = reviews.criteria_of(review)
    typed = _scores(criteria, values, "Appréciation argumentée" if submit else "Premières notes")
    typed.recommendation = recommendation
    typed.confidential_note = "À discuter en comité : le plan de financement repose sur la Région." \
        if recommendation == Recommendation.UNFAVORABLE else ""
    reviews.save_review(review, typed, by=reviewer, expected_version=None)
    if submit:
        reviews.submit_review(review, by=reviewer, now=now)


def build_review_call(admin: User, password: str) -> Call | None:
    """The call in review, unless it exists (then None)."""
    if db.session.scalar(sa.select(Call.id).where(Call.slug == REVIEW_SLUG)) is not None:
        return None
    now = utcnow().replace(microsecond=0)
    call = calls.create_call(
        slug=REVIEW_SLUG, title="Appel à projets PTCE 2026 (instruction en cours)",
        description_md="Édition 2026 : les dossiers déposés sont en cours d'instruction par le comité "
                       "interministériel et, en Auvergne-Rhône-Alpes, par le groupe régional.",
        opens_at=now - timedelta(days=120), closes_at=now + timedelta(hours=1), envelope_eur=Decimal("1200000"),
        max_amount_eur=Decimal("100000"), status=CallStatus.OPEN, by=admin,
        awarding_body_name="Ministère de l'Économie, des Finances et de la Souveraineté industrielle et numérique",
        awarding_body_siret="11000201100044", review_deadline_at=now + timedelta(days=30),
        regional_deadline_at=now + timedelta(days=12), has_regional_instruction=True, reviewers_per_dossier=2,
        # Optional here: the demo dossiers carry no files (see the module's docstring).
        document_types=[{**d, "is_required": False} for d in DEFAULT_DOCUMENT_TYPES],
        categories=[{"code": "emergence", "label": "Émergence", "max_amount_eur": Decimal("50000")},
                    {"code": "developpement", "label": "Développement", "max_amount_eur": Decimal("100000")}])
    rows = []
    for index, pole in enumerate(POLES):
        owner = _owner(index, password)
        dossier = dossiers.start_dossier(call, pole_name=pole[0], by=owner)
        _fill(dossier, index, pole)
        submitted_at = now - timedelta(days=30 - index)
        dossiers.set_dossier_status(dossier, DossierStatus.SUBMITTED, by=owner, expected_from=DossierStatus.DRAFT,
                                    at=submitted_at)
        dossier.submitted_at, dossier.receipt_number = submitted_at, f"PTCE-2026-{dossier.id:06d}"
        rows.append(dossier)
    db.session.flush()
    calls.set_call_status(call, CallStatus.CLOSED, by=admin)
    calls.move_deadline(call, now - timedelta(days=20), by=admin, now=now - timedelta(days=21))
    facts = eligibility.call_facts(call)
    for dossier in rows:
        check = eligibility.run_check(dossier, by=admin, facts=facts)
        if not check.is_eligible:
            failed = [r["code"] for r in check.results if not r.get("passed", True)]
            raise DomainError(f"Dossier de démonstration non éligible : {dossier.pole_name} {failed}")
    calls.set_call_status(call, CallStatus.REVIEW, by=admin)

    found = institutions(admin)
    group = pool.create_regional_group(call, REGION_GROUP, by=admin)
    people = {}
    for email, name, short, capacity, in_group in REVIEWERS:
        user = accounts.find_user_by_email(email) or accounts.create_user(
            email, password, full_name=name, institution=found[short], verified=True, check_password=False)
        settings = pool.MemberSettings(institution_id=found[short].id, capacity=capacity,
                                       region_codes=(REGION_GROUP,) if short == "ARA" else (),
                                       regional_group_id=group.id if in_group else None)
        pool.invite_reviewer(call, email, full_name=name, settings=settings, by=admin)
        people[email] = user
    conflicts.detect_conflicts(call, by=admin)
    declarer = people[DECLARING]
    conflicts.add_conflict(call, declarer, kind="pole", value=rows[DECLARED_POLE].pole_id, by=declarer,
                           reason="J'ai accompagné ce pôle pour la Banque des Territoires en 2024.")

    proposal = assignments.propose(call)
    created = assignments.confirm(call, list(proposal.proposal.new), proposal.fingerprint, by=admin)
    _reviews(rows, created, now)
    _regional(group, rows, people, now)
    return call


def _reviews(rows: list[Dossier], created: list[Assignment], now: datetime) -> None:
    """Most dossiers get one submitted review; the « désaccord » pole both, far apart; two drafts."""
    by_dossier: dict[int, list[Assignment]] = {}
    for a in sorted(created, key=lambda a: (a.dossier_id, a.reviewer_id)):
        by_dossier.setdefault(a.dossier_id, []).append(a)
    profiles = [[4, 4, 3, 4, 3, 4], [3, 3, 4, 3, 3, 2], [4, 3, 3, 3, 4, 3], [2, 3, 2, 3, 2, 3]]
    for index, dossier in enumerate(rows):
        pair = by_dossier.get(dossier.id, [])
        if index == DISAGREEMENT_POLE and len(pair) == 2:
            _review(pair[0], [5, 4, 5, 4, 4, 5], Recommendation.FAVORABLE, submit=True, now=now)
            _review(pair[1], [1, 2, 1, 2, 1, 2], Recommendation.UNFAVORABLE, submit=True, now=now)
        elif pair and index % 4 != 3:
            values = profiles[index % len(profiles)]
            _review(pair[0], values, Recommendation.FAVORABLE if sum(values) >= 18 else Recommendation.RESERVED,
                    submit=True, now=now)
            if index in (1, 5) and len(pair) == 2:
                _review(pair[1], values[:3] + [None] * 3, Recommendation.FAVORABLE, submit=False, now=now)
    started = {a.reviewer_id for a in created if a.review is not None}
    for a in created:  # every demo reviewer has at least a draft under way
        if a.reviewer_id not in started and a.review is None:
            _review(a, [3, 4, None, None, None, None], Recommendation.RESERVED, submit=False, now=now)
            started.add(a.reviewer_id)


def _regional(group, rows: list[Dossier], people: dict[str, User], now: datetime) -> None:
    """The Auvergne-Rhône-Alpes group's avis on each of its dossiers, then its ranking."""
    routed = [d for d in rows if d.region_code == REGION_GROUP]
    authors = [people[e] for e, *_rest, in_group in REVIEWERS if in_group]
    opinions = [(Recommendation.FAVORABLE, "Pôle structurant pour la métropole, partenaires engagés."),
                (Recommendation.FAVORABLE, "Coopération solide avec l'intercommunalité ; budget réaliste."),
                (Recommendation.RESERVED, "Projet pertinent mais gouvernance encore fragile."),
                (Recommendation.UNFAVORABLE, "Le modèle économique dépend d'une seule subvention.")]
    for i, dossier in enumerate(routed):
        recommendation, motivation = opinions[i % len(opinions)]
        regional.save_opinion(dossier, group, recommendation=recommendation.value, motivation=motivation,
                              by=authors[i % len(authors)], now=now)
    regional.save_ranking(group, {d.id: rank for rank, d in enumerate(routed, start=1)}, by=authors[0], now=now)
