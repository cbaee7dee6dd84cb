"""The past call of ``flask ptce demo``: « AAP PTCE 2013 (démonstration) », carried through its whole life so that
a newcomer sees every screen filled — 29 dossiers of the poles of the Labo de l'ESS's annex (``demo_2013_data``),
submitted with their documents and receipts, checked (three ineligible for real reasons, found by the call's rules, one with an advisory finding),
each eligible one reviewed by two reviewers of two institutions, a committee session (attendance, agenda), the
decisions within the envelope, then notified, and the results published (``services.publication.publish``:
version 1 of the laureates and their open data).

Everything goes through the services an admin, an applicant or a reviewer would use (audit rows and all):
``calls``, ``dossiers.start_dossier``, ``attachments`` (upload received by the app, confirmed) and
``attachment_processing.process_attachment`` (run here rather than by its job, so that the dossier is complete at
once), ``submission.submit_dossier`` (receipt numbers; the receipts are rendered by their job), ``eligibility``,
``pool``, ``assignments``, ``reviews``, ``committee``, ``decisions.decide_many`` and
``decision_letters.notify_decisions``. The services are given the 2013–2014 dates where they take ``now=``.
Set-up shortcuts, said here and in the README:

- a dossier can only be started in a call open by the server clock: the call is created open (like the other demo
  calls, without the « brouillon » step) with a deadline one hour ahead, the drafts are started, then the deadline
  is moved back to 4 October 2013 (``calls.move_deadline`` with a 2013 ``now``; its mail to the drafts' owners is
  queued like any other);
- the deadline's move is not mailed (its queued mails are removed: they would announce a 2013 date as news);
- the drafts' content is typed as the section forms store it, and the files are stored today (their rows and the
  audit rows carry today's date);
- ``decide`` and ``notify_decisions`` stamp the server clock: ``decided_at`` and ``notified_at`` are then set to
  the committee's and the notification's 2014 dates (the audit rows keep the true time of the demo's build); so
  do the history's other automatic steps (creation, eligibility check, review, decision: ``_dates_of_2013``).

Built in one transaction, only when the call does not exist yet: running the command again changes nothing.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from stdnum import luhn

from ptce_aap.cli import demo_2013_data as data
from ptce_aap.domain import geography
from ptce_aap.enums import (
    CallStatus,
    DecisionOutcome,
    DossierStatus,
    FinancingKind,
    FundingSource,
    FundingStatus,
    GovernanceForm,
    LegalForm,
    MemberCategory,
    MemberRole,
    NotificationStatus,
    PaymentTerms,
    Recommendation,
    Role,
)
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, EligibilityCheck, FinancingLine, Member
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import (
    accounts,
    assignments,
    attachment_processing,
    attachments,
    calls,
    committee,
    decision_letters,
    decisions,
    dossiers,
    eligibility,
    pool,
    publication,
    reviews,
    submission,
)

THOUSAND, EURO = Decimal("1000"), Decimal("1")


def siret(prefix: str, n: int) -> str:
    """A SIRET that passes the Luhn checks (SIREN and SIRET), unique per (prefix, n)."""
    siren = f"{prefix}{n:07d}"
    siren += luhn.calc_check_digit(siren)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


def small_pdf(title: str, lines: list[str]) -> bytes:
    """A valid one-page PDF (Helvetica, ASCII text) of a few hundred bytes."""
    def esc(text: str) -> str:
        plain = text.encode("ascii", "replace").decode()
        return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "".join(f"BT /F1 {14 if i == 0 else 11} Tf 56 {780 - 22 * i} Td ({esc(t)}) Tj ET\n"
                   for i, t in enumerate([title, *lines]))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
               "/Contents 4 0 R >>", f"<< /Length {len(text)} >>\nstream\n{text}endstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def requested_amount(index: int) -> Decimal:
    """Between €80 k and €290 k, varied from one pole to the next."""
    return Decimal(80 + (index * 53) % 211) * THOUSAND


def _members(index: int, departments: list[str], commune: str) -> list[Member]:
    categories = list(data.MEMBER_CATEGORIES)
    if index == data.NO_ENTERPRISE:
        categories = [MemberCategory.COLLECTIVITY if c == MemberCategory.ENTERPRISE else c for c in categories]
    used: dict[MemberCategory, int] = {}
    rows = []
    for i, category in enumerate(categories):
        names = data.MEMBER_NAMES[category]
        de = "d'" if commune[0] in "AEIOUYÉÈÂÎ" else "de "
        name = names[used.get(category, 0) % len(names)].format(c=commune, de=de)
        used[category] = used.get(category, 0) + 1
        department = departments[i % len(departments)]
        if index == data.OUT_OF_TERRITORY and i in (3, 7, 11):
            department = "75"
        rows.append(Member(position=i, name=name, siret=siret("5", 100 * index + i), category=category,
                           department=department, role=MemberRole.FOUNDER if i < 2 else MemberRole.MEMBER))
    return rows


def _fill(dossier: Dossier, index: int) -> None:
    """The content of a complete dossier, as the section forms store it."""
    name, carrier, departments, insee, domains, quality = data.POLES[index]
    commune = geography.commune_name(insee)
    d = dossier
    d.carrier_legal_name = f"Association {carrier}" if index % 4 else f"SCIC {carrier}"
    d.carrier_siret = siret("4", 200 + index)
    d.carrier_legal_form = LegalForm.ASSOCIATION if index % 4 else LegalForm.SCIC
    if index == data.PUBLIC_CARRIER:
        d.carrier_legal_name, d.carrier_legal_form = f"Syndicat mixte {carrier}", LegalForm.COLLECTIVITE
        d.carrier_siret = siret("2", 200 + index)
    d.address = f"{2 + index} rue de l'Économie solidaire"
    d.commune_insee, d.commune_name = insee, commune
    d.region_code = geography.departments()[geography.department_of_insee(insee)].region
    d.departments = departments
    d.territory_types = ["rural"] if index % 3 == 0 else ["urbain", "qpv"] if index % 3 == 1 else ["periurbain"]
    d.activity_domains = domains
    d.cooperation_start_year = 2005 + index % 8
    d.cooperation = {"mutualisation_moyens": "Locaux, véhicules, comptabilité et fonctions support partagés.",
                     "cooperation_strategique": "Une stratégie territoriale commune, revue chaque année en assemblée."}
    d.governance_form = GovernanceForm.DEDICATED
    d.governance_text = "Conseil collégial : structures de l'ESS, entreprises, collectivités, chercheurs."
    d.summary = f"{name} ({carrier}) fédère les acteurs de {commune} autour d'activités non délocalisables."
    d.strategy = "Structurer une filière locale et financer une cellule d'animation pour deux ans."
    d.innovation = "Des achats groupés et une plateforme partagée entre associations, entreprises et collectivités."
    d.territorial_anchoring = f"Avec les collectivités de {commune}, les habitants et les entreprises du territoire."
    d.expected_impacts = f"{4 + quality * 3} emplois créés en deux ans, dont un tiers en insertion."
    d.jobs_existing_fte = Decimal(3 + index % 9) + Decimal("0.5")
    d.jobs_to_create_fte = Decimal(4 + quality * 3)
    state = requested_amount(index)
    budget = state * (Decimal("1.6") if index == data.OVER_STATE_SHARE else Decimal("2.5"))
    d.total_budget_eur, d.amount_requested_eur = budget, state
    d.members = _members(index, departments, commune)
    salaries = (budget * Decimal("0.7")).quantize(EURO)
    region = ((budget - state) * Decimal("0.6")).quantize(EURO)
    d.financing_lines = [
        FinancingLine(position=0, kind=FinancingKind.EXPENSE, label="Salaires de la cellule d'animation",
                      amount_eur=salaries),
        FinancingLine(position=1, kind=FinancingKind.EXPENSE, label="Fonctionnement et actions collectives",
                      amount_eur=budget - salaries),
        FinancingLine(position=2, kind=FinancingKind.RESOURCE, source=FundingSource.STATE, funder="État",
                      label="AAP PTCE 2013", amount_eur=state, status=FundingStatus.REQUESTED),
        FinancingLine(position=3, kind=FinancingKind.RESOURCE, source=FundingSource.REGION, funder="Région",
                      label="Subvention régionale", amount_eur=region, status=FundingStatus.SECURED),
        FinancingLine(position=4, kind=FinancingKind.RESOURCE, source=FundingSource.OWN, funder=carrier,
                      label="Cotisations et ventes des membres", amount_eur=budget - state - region,
                      status=FundingStatus.SECURED),
    ]


def _documents(dossier: Dossier, owner: User) -> None:
    """Each required piece, as a small PDF received by the app, confirmed and processed (fingerprint, scan)."""
    for document_type in dossier.call.document_types:
        if not document_type.is_required:
            continue
        pdf = small_pdf(f"{document_type.label} - {dossier.pole_name}",
                        [f"Structure porteuse : {dossier.carrier_legal_name}", f"SIRET {dossier.carrier_siret}",
                         "Document de demonstration (AAP PTCE 2013)."])
        attachment = attachments.start_upload(dossier, document_type_code=document_type.code,
                                              filename=f"{document_type.code}.pdf", size=len(pdf),
                                              content_type="application/pdf", by=owner)
        attachments.receive_upload(attachment, dossier, io.BytesIO(pdf))
        attachments.confirm_upload(attachment, dossier, by=owner)
        attachment_processing.process_attachment(attachment.id)


def _owner(index: int, password: str) -> User:
    email = f"pole{index + 1:02d}.2013@demo.ptce.fr"
    return accounts.find_user_by_email(email) or accounts.create_user(
        email, password, full_name=f"Coordination {data.POLES[index][1]}", roles=(Role.APPLICANT,), verified=True,
        check_password=False)


def build_2013_call(admin: User, password: str, institutions: dict[str, Institution],
                    reviewers: list[tuple[str, str, str]]) -> Call | None:
    """The 2013 call through its whole life, unless it exists (then None). ``reviewers``: (email, name, short)."""
    if db.session.scalar(sa.select(Call.id).where(Call.slug == data.SLUG)) is not None:
        return None
    call = calls.create_call(
        slug=data.SLUG, title=data.TITLE, description_md=data.DESCRIPTION, opens_at=data.OPENS_AT,
        closes_at=utcnow().replace(microsecond=0) + timedelta(hours=1), envelope_eur=data.ENVELOPE,
        max_amount_eur=data.MAX_AMOUNT, status=CallStatus.OPEN, by=admin, document_types=data.DOCUMENT_TYPES,
        awarding_body_name="Ministère de l'Économie et des Finances — Ministère délégué à l'ESS",
        awarding_body_siret="11000201100044", review_deadline_at=data.REVIEW_DEADLINE, reviewers_per_dossier=2,
        signatory_name=data.SIGNATORY_NAME, signatory_title=data.SIGNATORY_TITLE)
    rows = []
    for index, pole in enumerate(data.POLES):
        owner = _owner(index, password)
        dossier = dossiers.start_dossier(call, pole_name=pole[0], by=owner)
        _fill(dossier, index)
        db.session.flush()
        _documents(dossier, owner)
        rows.append((dossier, owner))
    calls.move_deadline(call, data.CLOSES_AT, by=admin, now=data.CLOSES_AT - timedelta(days=1))
    # Shortcut: the deadline was moved back only because the drafts had to be started today; its mail (« the
    # deadline is now 4 October 2013, submit before it ») would reach the demo's poles as if it were news.
    db.session.flush()
    moved = db.session.scalars(sa.select(Notification.id).where(
        Notification.template == "deadline_moved", Notification.status == NotificationStatus.PENDING,
        Notification.user_id.in_([o.id for _d, o in rows]))).all()
    db.session.execute(sa.delete(OutboxEntry).where(OutboxEntry.dedupe_key.in_([f"notification-{n}" for n in moved])))
    db.session.execute(sa.delete(Notification).where(Notification.id.in_(moved)))
    for index, (dossier, owner) in enumerate(rows):
        submission.submit_dossier(dossier, by=owner, now=data.SUBMITTED_FROM + timedelta(days=index, hours=index))
    calls.set_call_status(call, CallStatus.CLOSED, by=admin, now=data.CLOSES_AT)
    facts = eligibility.call_facts(call)
    for dossier, _owner_user in rows:
        eligibility.run_check(dossier, by=admin, facts=facts)
    calls.set_call_status(call, CallStatus.REVIEW, by=admin, now=data.CHECKED_AT)
    eligible = [d for d, _o in rows if d.status == DossierStatus.ELIGIBLE]
    _reviews(call, admin, institutions, reviewers, eligible, password)
    calls.set_call_status(call, CallStatus.DELIBERATION, by=admin, now=data.REVIEW_DEADLINE)
    _committee_and_decisions(call, admin, eligible)
    for decision in decision_letters.notify_decisions(call, by=admin):
        decision.notified_at = data.NOTIFIED_AT  # shortcut: the service stamps the server clock (module docstring)
    publication.publish(call, by=admin, now=data.NOTIFIED_AT + timedelta(days=10))  # results public, open data
    _dates_of_2013([d for d, _o in rows])
    return call


# The day each automatic step of a 2013 dossier happened, by the status it reached (the services that made them
# stamp the server clock): the history then reads in order, 2013 to 2014.
STEP_DATES = {DossierStatus.ELIGIBLE: data.CHECKED_AT, DossierStatus.INELIGIBLE: data.CHECKED_AT,
              DossierStatus.IN_REVIEW: data.CHECKED_AT + timedelta(days=3), DossierStatus.REVIEWED: data.REVIEWED_AT,
              DossierStatus.LAUREATE: data.NOTIFIED_AT, DossierStatus.WAITLISTED: data.NOTIFIED_AT,
              DossierStatus.REJECTED: data.NOTIFIED_AT}


def _dates_of_2013(dossiers: list[Dossier]) -> None:
    """Shortcut (module docstring): the steps stamped today — the draft's creation, the eligibility check, the
    review, the decision's status — get their 2013–2014 dates; the audit rows keep the true time of the build."""
    for index, dossier in enumerate(dossiers):
        started = data.OPENS_AT + timedelta(days=index, hours=2)
        dossier.created_at = started
        for transition in dossier.transitions:
            if transition.from_status is None:
                transition.at = started
            elif transition.to_status in STEP_DATES:
                transition.at = STEP_DATES[transition.to_status]
    db.session.execute(sa.update(EligibilityCheck).where(EligibilityCheck.dossier_id.in_([d.id for d in dossiers]))
                       .values(ran_at=data.CHECKED_AT))


def _reviews(call: Call, admin: User, institutions: dict[str, Institution], reviewers, eligible: list[Dossier],
             password: str) -> None:
    """The demo's reviewers join the call's pool; every eligible dossier gets two submitted reviews."""
    for email, name, short in reviewers:
        if accounts.find_user_by_email(email) is None:
            accounts.create_user(email, password, full_name=name, institution=institutions[short], verified=True,
                                 check_password=False)
        settings = pool.MemberSettings(institution_id=institutions[short].id, capacity=14, region_codes=(),
                                       regional_group_id=None)
        pool.invite_reviewer(call, email, full_name=name, settings=settings, by=admin)
    proposal = assignments.propose(call)
    created = assignments.confirm(call, list(proposal.proposal.new), proposal.fingerprint, by=admin)
    by_dossier: dict[int, list] = {}
    for a in sorted(created, key=lambda a: (a.dossier_id, a.reviewer_id)):
        by_dossier.setdefault(a.dossier_id, []).append(a)
    names = [pole[0] for pole in data.POLES]
    for dossier in eligible:
        index = names.index(dossier.pole_name)
        q = data.POLES[index][5]
        for rank, assignment in enumerate(by_dossier.get(dossier.id, [])):
            if index in data.DISAGREEMENTS:
                values = [5, 5, 4, 5, 4, 5] if rank == 0 else [1, 2, 1, 2, 2, 1]
            else:
                values = [max(0, min(5, q + spread[rank] - (i % 2 if q == 5 and rank else 0)))
                          for i, spread in enumerate(data.SPREADS)]
            _review(assignment, values)


def _review(assignment, values: list[int]) -> None:
    reviewer = db.session.get(User, assignment.reviewer_id)
    review = reviews.start_review(assignment, by=reviewer)
    criteria = reviews.criteria_of(review)
    mean = sum(values) / len(values)
    recommendation = (Recommendation.FAVORABLE if mean >= 3.5 else Recommendation.RESERVED if mean >= 2.5
                      else Recommendation.UNFAVORABLE)
    words = {5: "Excellent", 4: "Solide", 3: "Correct", 2: "Fragile", 1: "Insuffisant", 0: "Absent"}
    typed = reviews.ReviewValues(
        scores={c.id: (v, f"{words[v]} : {c.label.lower()} appréciée sur pièces.") for c, v in
                zip(criteria, values, strict=True)},
        recommendation=recommendation,
        confidential_note="Avis très éloigné de l'autre rapporteur : à discuter en comité."
        if mean <= 1.5 or mean >= 4.6 else "")
    reviews.save_review(review, typed, by=reviewer, expected_version=None)
    reviews.submit_review(review, by=reviewer, now=data.REVIEWED_AT)


def _committee_and_decisions(call: Call, admin: User, eligible: list[Dossier]) -> None:
    """The committee of 9 January 2014: attendance, agenda, then the decisions of the best dossiers within the
    envelope (amounts in the 2013 call's range), a short waiting list, the others rejected."""
    session = committee.create_session(call, held_on=data.COMMITTEE_ON, place=data.COMMITTEE_PLACE, by=admin)
    committee.set_attendance(session, [
        committee.AttendanceInput(institution_id=row.institution_id, is_present=i != 1,
                                  attendees="Représentant(e) désigné(e)" if i != 1 else "")
        for i, row in enumerate(session.attendance)], by=admin)
    totals = {d.id: t for d, t in _score_totals(call, eligible).items()}
    ranked = sorted(eligible, key=lambda d: (-totals[d.id], d.id))
    committee.set_agenda(session, [d.id for d in ranked], by=admin)
    laureates = ranked[:data.LAUREATES]
    wanted = sum(decisions.amount_cap(d) for d in laureates)
    factor = min(Decimal(1), data.ENVELOPE / wanted)
    items, used = [], Decimal(0)
    for rank, dossier in enumerate(ranked):
        if dossier in laureates:
            amount = max(data.MIN_AMOUNT, (decisions.amount_cap(dossier) * factor / THOUSAND)
                         .quantize(Decimal(1), rounding=ROUND_DOWN) * THOUSAND)
            amount = min(amount, decisions.amount_cap(dossier), data.ENVELOPE - used)
            used += amount
            items.append((dossier, decisions.DecisionInput(
                outcome=DecisionOutcome.LAUREATE, amount_eur=amount, reference=f"PTCE-2013-{rank + 1:02d}",
                motivation="Coopération solide entre acteurs de l'ESS, entreprises et collectivités ; cellule "
                           "d'animation financée pour deux ans.", agreement_date=data.COMMITTEE_ON + timedelta(days=30),
                payment_terms=PaymentTerms.SINGLE, payment_period_start=data.COMMITTEE_ON + timedelta(days=30),
                payment_period_end=data.COMMITTEE_ON + timedelta(days=60))))
        else:
            outcome = (DecisionOutcome.WAITLISTED if rank < data.LAUREATES + data.WAITLISTED
                       else DecisionOutcome.REJECTED)
            items.append((dossier, decisions.DecisionInput(
                outcome=outcome, motivation="Projet intéressant, classé après les lauréats dans la limite de "
                                            "l'enveloppe." if outcome == DecisionOutcome.WAITLISTED else
                "Coopération encore peu structurée et modèle économique fragile, selon les rapporteurs.")))
    for decision in decisions.decide_many(call, items, by=admin, session=session):
        decision.decided_at = data.DECIDED_AT  # shortcut: ``decide`` stamps the server clock (module docstring)


def _score_totals(call: Call, eligible: list[Dossier]) -> dict[Dossier, Decimal]:
    """Each eligible dossier's summed weighted totals of its submitted reviews (its rank before the committee)."""
    sums: dict[int, Decimal] = {}
    for row in reviews.submitted_totals(call.id):
        sums[row.dossier_id] = sums.get(row.dossier_id, Decimal(0)) + row.total
    return {d: sums.get(d.id, Decimal(0)) for d in eligible}
