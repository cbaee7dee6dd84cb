"""``flask ptce bench-data --dossiers N``: a realistic volume for the benchmarks (``bench/``, issue 13).

One call in review (a new call each run, or ``--call SLUG``) with ``N`` submitted dossiers, each a pole with
~15 members of realistic categories, a balanced financing plan, the call's required documents (metadata rows:
no file content), a receipt number, the transitions an applicant's timeline shows, an eligibility result (one
in ten ineligible: no enterprise outside the ESS), and, for the eligible ones, two reviewers of two
institutions (``--reviewers R`` in the call's pool) whose reviews are about two thirds submitted.
``--drafts D`` adds an open call (``<slug>-ouvert``) with D complete drafts, one applicant account each: the
deadline rush of the load benchmarks.

This is seeding, not a user action: rows go in with SQLAlchemy Core ``insert()`` of lists of dicts (thousands
a statement), not through the services, so nothing is audited, mailed or queued. The values satisfy the
models' constraints and the call's rules (the eligibility results are the rules' real verdicts, computed on
one dossier of each kind and copied: same rules passed or failed, their messages quote that dossier's amounts). Every account shares one password (hashed once). Refused in the
production configuration unless ``--yes-i-know``.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from stdnum import luhn

from ptce_aap.domain import eligibility as rules
from ptce_aap.enums import (
    AssignmentStatus,
    AttachmentStatus,
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
    ScanStatus,
)
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import (
    Attachment,
    Dossier,
    DossierTransition,
    EligibilityCheck,
    FinancingLine,
    Member,
    Pole,
    PoleMembership,
)
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import Assignment, Review, ReviewScore
from ptce_aap.passwords import hash_password
from ptce_aap.services import calls as calls_service
from ptce_aap.services.eligibility import call_facts, dossier_facts

BENCH_PASSWORD = "Bench-ptce-2026!"  # noqa: S105 (bench accounts only, printed by the command)
BATCH = 1000
INSTITUTIONS = 8
MEMBERS = 15

# (region, departments, commune INSEE, commune) — real codes, so maps and filters have something to show.
PLACES = [("84", ["69", "01"], "69123", "Lyon"), ("11", ["93", "75"], "93066", "Saint-Denis"),
          ("93", ["13", "84"], "13055", "Marseille"), ("76", ["31", "81"], "31555", "Toulouse"),
          ("32", ["59", "62"], "59350", "Lille"), ("44", ["67", "68"], "67482", "Strasbourg"),
          ("75", ["33", "40"], "33063", "Bordeaux"), ("53", ["35", "22"], "35238", "Rennes"),
          ("52", ["44", "85"], "44109", "Nantes"), ("28", ["76", "27"], "76540", "Rouen"),
          ("27", ["21", "71"], "21231", "Dijon"), ("24", ["45", "41"], "45234", "Orléans")]
DOMAINS = ["alimentation", "emploi_insertion", "eco_activites", "culture", "numerique", "batiment",
           "services_personne", "tourisme_social", "formation"]
# Fifteen members: the ESS core, enterprises outside it, collectivités, research and training, others.
MEMBER_CATEGORIES = ([MemberCategory.ESS] * 6 + [MemberCategory.ENTERPRISE] * 3 + [MemberCategory.COLLECTIVITY] * 2
                     + [MemberCategory.RESEARCH, MemberCategory.TRAINING, MemberCategory.OTHER, MemberCategory.ESS])
MEMBER_NAMES = {MemberCategory.ESS: ["Association", "Scic", "Scop", "Régie de quartier", "Chantier d'insertion"],
                MemberCategory.ENTERPRISE: ["SARL", "SAS", "Entreprise"],
                MemberCategory.COLLECTIVITY: ["Communauté de communes", "Commune"],
                MemberCategory.RESEARCH: ["Laboratoire"], MemberCategory.TRAINING: ["Lycée professionnel"],
                MemberCategory.OTHER: ["Fondation"]}
TEXT = ("Le pôle réunit des structures de l'économie sociale et solidaire, des entreprises et des collectivités "
        "autour d'une stratégie commune de développement local. ")


def siret(n: int) -> str:
    """A valid SIRET (Luhn) for the ``n``-th structure (SIREN ``8nnnnnnn?``, establishment 00011)."""
    siren = f"8{n:07d}"
    siren += luhn.calc_check_digit(siren)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


@dataclass
class Generated:
    call: Call
    draft_call: Call | None = None
    counts: dict[str, int] = field(default_factory=dict)
    admin_email: str = ""
    reviewer_emails: list[str] = field(default_factory=list)
    applicant_emails: list[str] = field(default_factory=list)
    draft_emails: list[str] = field(default_factory=list)


def _insert(model, rows: list[dict], returning=None) -> list:
    """Insert ``rows`` ``BATCH`` at a time (``returning``: the column to read back, in order)."""
    out = []
    keys = set().union(*rows) if rows else set()
    rows = [r if len(r) == len(keys) else dict.fromkeys(keys) | r for r in rows]  # one shape for all
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        if returning is None:
            # The table's Core INSERT, executemany in psycopg's pipeline mode (the ORM's bulk path split the
            # rows by their keys into one statement each: 20 % slower; with RETURNING, 2–3× slower).
            db.session.connection().execute(model.__table__.insert(), chunk)
        else:
            out += db.session.scalars(sa.insert(model).returning(returning, sort_by_parameter_order=True),
                                      chunk).all()
    return out


def _users(prefix: str, n: int, password_hash: str, now, **flags) -> list[int]:
    base = dict(password_hash=password_hash, email_verified_at=now, created_at=now, password_changed_at=now,
                is_disabled=False, is_applicant=False, is_reviewer=False, is_admin=False)
    return _insert(User, [base | dict(email=f"{prefix}-{i}@bench.example.org", full_name=f"{prefix.title()} {i}",
                                      session_token=secrets.token_hex(16))
                          | {k: (v(i) if callable(v) else v) for k, v in flags.items()} for i in range(n)], User.id)


def _dossier_rows(call: Call, pole_ids: list[int], start: int, rng: random.Random, now, *, submitted: bool,
                  status=lambda _n: DossierStatus.DRAFT) -> list:
    """The dossiers' rows, each in its final state (``status(n)``): seeding, not a journey through the
    write paths (the transitions are inserted alongside)."""
    rows = []
    for k, pole_id in enumerate(pole_ids):
        n = start + k
        region, departments, insee, commune = PLACES[n % len(PLACES)]
        total = Decimal(rng.randrange(160, 400) * 1000)
        rows.append(dict(
            call_id=call.id, pole_id=pole_id, version=1, pole_name=f"Pôle de coopération {commune} {n:05d}",
            status=status(n),
            carrier_legal_name=f"Association Coopérations {commune} {n:05d}", carrier_siret=siret(n * 20),
            carrier_siren=siret(n * 20)[:9], carrier_legal_form=[LegalForm.ASSOCIATION, LegalForm.SCIC][n % 2],
            address=f"{1 + n % 90} rue de la République", commune_insee=insee, commune_name=commune,
            region_code=region, departments=departments, territory_types=[["urbain", "qpv"], ["rural"]][n % 2],
            cooperation_start_year=2010 + n % 12, activity_domains=rng.sample(DOMAINS, 2), activity_other="",
            cooperation={"mutualisation_moyens": "Locaux, véhicules et matériel partagés.",
                         "cooperation_strategique": "Une stratégie commune de filière."},
            governance_form=GovernanceForm.DEDICATED, governance_text="Conseil d'administration à quatre collèges.",
            summary=TEXT * 3, strategy=TEXT * 4, innovation=TEXT * 2, territorial_anchoring=TEXT * 2,
            expected_impacts=TEXT * 2, jobs_existing_fte=Decimal(f"{2 + n % 6}.5"),
            jobs_to_create_fte=Decimal(3 + n % 5), jobs_text=TEXT, rd_partners="", raw_inputs={},
            total_budget_eur=total, amount_requested_eur=total / 4,
            submitted_at=_submitted_at(call, n) if submitted else None,
            created_at=call.opens_at + timedelta(days=1), updated_at=_submitted_at(call, n) if submitted else now))
    return rows


def _submitted_at(call: Call, n: int):
    """Most dossiers come in the last days before the deadline."""
    return call.closes_at - timedelta(minutes=5 + (n * 37) % 7200)


def _contents(call: Call, dossier_ids: list[int], totals: list[Decimal], start: int, rng: random.Random, now, *,
              ineligible_every: int):
    """Members, financing lines and attachment rows of the dossiers (bulk)."""
    members, lines, attachments = [], [], []
    required = [dt.code for dt in call.document_types if dt.is_required]
    for k, dossier_id in enumerate(dossier_ids):
        n = start + k
        _region, departments, _insee, commune = PLACES[n % len(PLACES)]
        ineligible = ineligible_every and n % ineligible_every == ineligible_every - 1
        for p, category in enumerate(MEMBER_CATEGORIES):
            if ineligible and category == MemberCategory.ENTERPRISE:
                category = MemberCategory.ESS  # no enterprise outside the ESS: the call's rule fails
            kind = MEMBER_NAMES[category][(n + p) % len(MEMBER_NAMES[category])]
            members.append(dict(dossier_id=dossier_id, position=p, name=f"{kind} {commune} {n}-{p + 1}",
                                siret=siret(n * 20 + p + 1), siren=siret(n * 20 + p + 1)[:9], category=category,
                                department=departments[p % len(departments)],
                                role=MemberRole.FOUNDER if p < 3 else MemberRole.MEMBER, is_legal_person=True,
                                joined_on=date(2012 + p % 10, 1 + p % 12, 1)))
        # Balanced to the euro: expenses = resources = the dossier's total (a multiple of 4,000 €).
        total = totals[k]
        expenses = [("Salaire de la coordinatrice", total * 55 / 100), ("Chargé de mission", total * 25 / 100),
                    ("Frais de fonctionnement", total * 12 / 100), ("Communication et événements", total * 8 / 100)]
        for p, (label, amount) in enumerate(expenses):
            lines.append(dict(dossier_id=dossier_id, position=p, kind=FinancingKind.EXPENSE, label=label,
                              amount_eur=amount, funder=""))
        resources = [(FundingSource.STATE, "État", "AAP PTCE", total / 4, FundingStatus.REQUESTED),
                     (FundingSource.REGION, "Région", "Subvention régionale", total * 30 / 100, FundingStatus.SECURED),
                     (FundingSource.MUNICIPAL, "Métropole", "Convention pluriannuelle", total * 20 / 100,
                      FundingStatus.SECURED),
                     (FundingSource.FEES, "Membres", "Cotisations", total * 10 / 100, FundingStatus.SECURED),
                     (FundingSource.SALES, "", "Prestations", total * 15 / 100, FundingStatus.SECURED)]
        for p, (source, funder, label, amount, status) in enumerate(resources):
            lines.append(dict(dossier_id=dossier_id, position=10 + p, kind=FinancingKind.RESOURCE, source=source,
                              funder=funder, label=label, amount_eur=amount, status=status))
        for code in required:
            attachments.append(dict(
                dossier_id=dossier_id, document_type_code=code, filename=f"{code}-{n:05d}.pdf",
                storage_backend="s3", storage_key=f"bench/{call.slug}/{dossier_id}/{code}.pdf",
                size=rng.randrange(80_000, 2_000_000), sha256=secrets.token_hex(32), mime="application/pdf",
                declared_mime="application/pdf", page_count=1 + n % 12, status=AttachmentStatus.READY,
                scan_status=ScanStatus.CLEAN, rejection_reason="", created_at=now - timedelta(days=3),
                processed_at=now - timedelta(days=3)))
    _insert(Member, members)
    _insert(FinancingLine, lines)
    _insert(Attachment, attachments)
    return len(members), len(lines), len(attachments)


def _receipts(call: Call, dossier_ids: list[int]) -> None:
    """Receipt numbers as ``services.submission.receipt_number_for`` makes them (``PTCE-<year>-<id>``)."""
    if not dossier_ids:
        return
    table = Dossier.__table__
    db.session.execute(table.update().where(table.c.id == sa.bindparam("b_id"))
                       .values(receipt_number=sa.bindparam("b_receipt"), updated_at=table.c.updated_at),
                       [{"b_id": i, "b_receipt": f"PTCE-{call.closes_at.year}-{i:06d}"} for i in dossier_ids])


def _verdicts(call: Call, dossier_ids: list[int], ineligible_every: int) -> dict[bool, dict]:
    """The rules' real verdict on one dossier of each kind (eligible, ineligible), as stored results."""
    facts = call_facts(call)
    samples = {False: dossier_ids[ineligible_every - 1]} if ineligible_every and len(dossier_ids) >= ineligible_every \
        else {}
    samples[True] = dossier_ids[0]
    out = {}
    for expected, dossier_id in samples.items():
        verdict = rules.evaluate(dossier_facts(db.session.get(Dossier, dossier_id)), facts)
        if verdict.is_eligible != expected:
            raise click.ClickException(f"dossier {dossier_id}: the rules say eligible={verdict.is_eligible}, "
                                       f"expected {expected}: " + ", ".join(r.code for r in verdict.failed))
        out[expected] = {"is_eligible": verdict.is_eligible, "results": [r.as_dict() for r in verdict.results]}
    db.session.expunge_all()
    return out


def generate(*, dossiers: int, reviewers: int = 60, slug: str | None = None, drafts: int = 0,
             ineligible_every: int = 10, seed: int = 2026, echo=lambda _msg: None) -> Generated:
    """Write the rows (see the module docstring); the caller commits."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    slug = slug or f"bench-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    if db.session.scalar(sa.select(Call.id).where(Call.slug.in_([slug, f"{slug}-ouvert"]))) is not None:
        raise click.ClickException(f"L'appel « {slug} » existe déjà : choisissez un autre --call.")
    started = time.monotonic()
    password_hash = hash_password(BENCH_PASSWORD)
    call = calls_service.create_call(
        slug=slug, title=f"Appel PTCE (banc d'essai, {dossiers} dossiers)", opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=20), envelope_eur=Decimal(max(1, dossiers) * 30_000),
        max_amount_eur=Decimal(100_000), status=CallStatus.REVIEW if reviewers >= 2 else CallStatus.CLOSED, review_deadline_at=now + timedelta(days=20),
        awarding_body_name="Ministère de l'Économie", awarding_body_siret="11000201100044")
    db.session.flush()
    out = Generated(call=call)
    # Accounts: one admin, the reviewers (institutions of every kind), one applicant per pole.
    kinds = list(InstitutionKind)
    institution_ids = _insert(Institution, [dict(name=f"Institution {slug} {i}", short_name=f"I{i}",
                                                 kind=kinds[i % len(kinds)]) for i in range(INSTITUTIONS)],
                              Institution.id)
    [admin_id] = _users(f"admin-{slug}", 1, password_hash, now, is_admin=True)
    reviewer_ids = _users(f"rapporteur-{slug}", reviewers, password_hash, now, is_reviewer=True,
                          institution_id=lambda i: institution_ids[i % INSTITUTIONS])
    applicant_ids = _users(f"porteur-{slug}", dossiers, password_hash, now, is_applicant=True)
    out.admin_email = f"admin-{slug}-0@bench.example.org"
    out.reviewer_emails = [f"rapporteur-{slug}-{i}@bench.example.org" for i in range(reviewers)]
    out.applicant_emails = [f"porteur-{slug}-{i}@bench.example.org" for i in range(dossiers)]
    # Poles and their dossiers.
    pole_ids = _insert(Pole, [dict(name=f"Pôle {n:05d}", created_by_id=applicant_ids[n], created_at=now)
                              for n in range(dossiers)], Pole.id)
    _insert(PoleMembership, [dict(pole_id=p, user_id=u, is_owner=True, created_at=now)
                             for p, u in zip(pole_ids, applicant_ids, strict=True)])
    def ineligible(n: int) -> bool:
        return bool(ineligible_every) and n % ineligible_every == ineligible_every - 1

    reviewed = DossierStatus.IN_REVIEW if reviewers >= 2 else DossierStatus.ELIGIBLE
    rows = _dossier_rows(call, pole_ids, 0, rng, now, submitted=True,
                         status=lambda n: DossierStatus.INELIGIBLE if ineligible(n) else reviewed)
    dossier_ids = _insert(Dossier, rows, Dossier.id)
    _receipts(call, dossier_ids)
    n_members, n_lines, n_attachments = _contents(call, dossier_ids, [r["total_budget_eur"] for r in rows], 0, rng,
                                                  now, ineligible_every=ineligible_every)
    echo(f"  {dossiers} dossiers, {n_members} membres, {n_lines} lignes, {n_attachments} pièces "
         f"({time.monotonic() - started:.1f} s)")
    # Eligibility: the rules' verdict, stored as a check, and the status it gives.
    verdicts = _verdicts(call, dossier_ids, ineligible_every) if dossier_ids else {}
    eligible = [d for n, d in enumerate(dossier_ids) if not ineligible(n)]
    eligible_set = set(eligible)
    checks, transitions = [], []
    for n, dossier_id in enumerate(dossier_ids):
        ok = dossier_id in eligible_set
        checks.append(dict(dossier_id=dossier_id, is_override=False, override_reason="", ran_at=now,
                           **verdicts[ok]))
        at = _submitted_at(call, n)
        transitions.append(dict(dossier_id=dossier_id, from_status=DossierStatus.DRAFT,
                                to_status=DossierStatus.SUBMITTED, actor_id=applicant_ids[n], reason="", at=at))
        transitions.append(dict(dossier_id=dossier_id, from_status=DossierStatus.SUBMITTED,
                                to_status=DossierStatus.ELIGIBLE if ok else DossierStatus.INELIGIBLE,
                                actor_id=None, reason="Vérification automatique.", at=at + timedelta(minutes=2)))
        if ok and reviewers >= 2:
            transitions.append(dict(dossier_id=dossier_id, from_status=DossierStatus.ELIGIBLE,
                                    to_status=DossierStatus.IN_REVIEW, actor_id=admin_id, reason="", at=now))
    _insert(EligibilityCheck, checks)
    _insert(DossierTransition, transitions)
    # The pool, two reviewers of two institutions per eligible dossier, reviews about 2/3 submitted.
    n_assignments = n_reviews = 0
    if reviewers:
        per_reviewer = -(-2 * len(eligible) // reviewers) if reviewers >= 2 else 0
        _insert(ReviewerPoolMember, [dict(call_id=call.id, user_id=r, institution_id=institution_ids[i % INSTITUTIONS],
                                          capacity=per_reviewer + 5, activity_domains=rng.sample(DOMAINS, 3),
                                          region_codes=[PLACES[i % len(PLACES)][0]], invited_at=now,
                                          invited_by_id=admin_id) for i, r in enumerate(reviewer_ids)])
    if reviewers >= 2:
        pairs, statuses = [], []
        for k, dossier_id in enumerate(eligible):
            first = (2 * k) % reviewers
            second = (first + 1) % reviewers
            if second % INSTITUTIONS == first % INSTITUTIONS:
                second = (first + 2) % reviewers
            for r in (first, second):
                roll = rng.random()
                status = (AssignmentStatus.SUBMITTED if roll < 0.67 else AssignmentStatus.IN_PROGRESS if roll < 0.8
                          else AssignmentStatus.ASSIGNED)
                pairs.append(dict(dossier_id=dossier_id, reviewer_id=reviewer_ids[r], stage="national",
                                  institution_id=institution_ids[r % INSTITUTIONS], status=status,
                                  due_at=call.review_deadline_at, assigned_by_id=admin_id, created_at=now,
                                  decline_reason=""))
                statuses.append(status)
        assignment_ids = _insert(Assignment, pairs, Assignment.id)
        criteria = list(call.criteria)
        reviews = []
        for assignment_id, status in zip(assignment_ids, statuses, strict=True):
            if status == AssignmentStatus.ASSIGNED:
                continue
            done = status == AssignmentStatus.SUBMITTED
            reviews.append(dict(assignment_id=assignment_id, version=1, created_at=now, updated_at=now,
                                recommendation=rng.choice(list(Recommendation)) if done else None,
                                confidential_note="", submitted_at=now if done else None))
        review_ids = _insert(Review, reviews, Review.id)
        scores = []
        for review_id, review in zip(review_ids, reviews, strict=True):
            scored = criteria if review["submitted_at"] else criteria[:2]
            scores += [dict(review_id=review_id, criterion_id=c.id, score=rng.randint(1, c.max_score),
                            comment="Appréciation motivée du critère, avec les points forts et les réserves.")
                       for c in scored]
        _insert(ReviewScore, scores)
        n_assignments, n_reviews = len(pairs), len(reviews)
    out.counts = {"dossiers": dossiers, "members": n_members, "financing_lines": n_lines,
                  "attachments": n_attachments, "eligible": len(eligible), "assignments": n_assignments,
                  "reviews": n_reviews}
    if drafts:
        out.draft_call = _drafts(slug, drafts, password_hash, now, rng, out)
    _analyze()
    echo(f"  terminé en {time.monotonic() - started:.1f} s")
    return out


def _analyze() -> None:
    """Fresh statistics for the planner, as after any bulk load: until autovacuum gets to it, PostgreSQL plans
    for the tables' old sizes — nested loops over thousands of rows (the instruction list took 6 s at 5,000
    dossiers right after the load, 0.3 s after ``ANALYZE``)."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("users", "poles", "pole_memberships", "dossiers", "members", "financing_lines", "attachments",
                  "eligibility_checks", "dossier_transitions", "reviewer_pool_members", "assignments", "reviews",
                  "review_scores"):
        db.session.execute(sa.text(f"ANALYZE {table}"))


def _drafts(slug: str, drafts: int, password_hash: str, now, rng, out: Generated) -> Call:
    """An open call with ``drafts`` complete drafts, one applicant each (the deadline rush)."""
    call = calls_service.create_call(
        slug=f"{slug}-ouvert", title="Appel PTCE ouvert (banc d'essai)", opens_at=now - timedelta(days=30),
        closes_at=now + timedelta(days=2), envelope_eur=Decimal(1_000_000), max_amount_eur=Decimal(100_000),
        status=CallStatus.OPEN, awarding_body_name="Ministère de l'Économie", awarding_body_siret="11000201100044")
    db.session.flush()
    user_ids = _users(f"deposant-{slug}", drafts, password_hash, now, is_applicant=True)
    out.draft_emails = [f"deposant-{slug}-{i}@bench.example.org" for i in range(drafts)]
    pole_ids = _insert(Pole, [dict(name=f"Pôle en dépôt {n:05d}", created_by_id=u, created_at=now)
                              for n, u in enumerate(user_ids)], Pole.id)
    _insert(PoleMembership, [dict(pole_id=p, user_id=u, is_owner=True, created_at=now)
                             for p, u in zip(pole_ids, user_ids, strict=True)])
    start = 400_000  # SIRETs apart from the review call's (``siret`` has room up to n = 499,999)
    rows = _dossier_rows(call, pole_ids, start, rng, now, submitted=False)
    ids = _insert(Dossier, rows, Dossier.id)
    _contents(call, ids, [r["total_budget_eur"] for r in rows], start, rng, now, ineligible_every=0)
    out.counts["drafts"] = drafts
    return call


@click.command("bench-data")
@click.option("--dossiers", type=click.IntRange(0, 100_000), required=True, help="Dossiers déposés à créer.")
@click.option("--call", "slug", default=None, help="Identifiant (slug) de l'appel à créer (défaut : nouveau).")
@click.option("--reviewers", type=click.IntRange(0, 1000), default=60, show_default=True)
@click.option("--drafts", type=click.IntRange(0, 10_000), default=0, show_default=True,
              help="Brouillons complets d'un appel ouvert (« <slug>-ouvert »), un porteur chacun.")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--yes-i-know", is_flag=True, help="Autorise la commande en configuration de production.")
@with_appcontext
def bench_data_command(dossiers: int, slug: str | None, reviewers: int, drafts: int, seed: int, yes_i_know: bool):
    """Données de volume pour les bancs d'essai (bench/) : insertions en masse, sans journal d'audit."""
    if current_app.config.get("ENV_NAME") == "production" and not yes_i_know:
        raise click.ClickException("Configuration de production : ajoutez --yes-i-know pour écrire des données "
                                   "de banc d'essai dans cette base.")
    click.echo(f"Création de {dossiers} dossiers…")
    out = generate(dossiers=dossiers, reviewers=reviewers, slug=slug, drafts=drafts, seed=seed, echo=click.echo)
    db.session.commit()
    click.echo(f"Appel « {out.call.slug} » : " + ", ".join(f"{k} {v}" for k, v in out.counts.items()))
    click.echo(f"Comptes : {out.admin_email} (administrateur), rapporteur-{out.call.slug}-0..{reviewers - 1}, "
               f"porteur-{out.call.slug}-0..{dossiers - 1} @bench.example.org ; mot de passe {BENCH_PASSWORD}")


COMMANDS = [bench_data_command]
