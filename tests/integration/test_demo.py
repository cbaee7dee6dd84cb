"""``flask ptce demo``, reviewer side: a call in review whose pages are filled for every demo reviewer and the
admin — assignments, reviews (one dossier in « désaccord »), conflicts of the three sources, the regional
group's avis and ranking — built through the services (audited), and the same after a second run."""

import html

import sqlalchemy as sa

from ptce_aap.enums import AssignmentStatus, CallStatus, ConflictSource, DossierStatus
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, RegionalOpinion, Review

DEMO_PASSWORD = "Demo-ptce-2026!"
TABLES = (User, Institution, Call, Dossier, ReviewerPoolMember, RegionalGroup, RegionalOpinion, Assignment, Review,
          ConflictOfInterest, AuditEvent)


def _counts(db) -> dict[str, int]:
    return {t.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in TABLES}


def test_demo_review_call_is_filled_through_the_services_and_idempotent(app, db):
    from ptce_aap.domain import scores
    from ptce_aap.services import reviews

    runner = app.test_cli_runner()
    first = runner.invoke(args=["ptce", "demo"])
    assert first.exit_code == 0, first.output
    for email in ("rapporteur.dgcs@demo.ptce.fr", "rapporteur.ara@demo.ptce.fr", "rapporteur.occitanie@demo.ptce.fr"):
        assert email in first.output
    before = _counts(db)
    second = runner.invoke(args=["ptce", "demo"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert _counts(db) == before  # nothing written the second time, not even an audit row

    call = db.session.scalar(sa.select(Call).where(Call.slug == "ptce-2026"))
    assert call.status == CallStatus.REVIEW and call.has_regional_instruction
    institutions = db.session.scalars(sa.select(Institution)).all()
    assert {i.kind.value for i in institutions} == {"ministry", "state_agency", "caisse_des_depots", "region"}
    assert all(i.siren and len(i.siren) == 9 for i in institutions)
    dossiers = db.session.scalars(sa.select(Dossier).where(Dossier.call_id == call.id)).all()
    assert len(dossiers) == 8 and all(d.status != DossierStatus.DRAFT for d in dossiers)

    # Every dossier read by 2 reviewers of 2 institutions, none conflicted.
    rows = db.session.scalars(sa.select(Assignment).join(Dossier).where(Dossier.call_id == call.id)).all()
    by_dossier = {}
    for a in rows:
        by_dossier.setdefault(a.dossier_id, []).append(a)
    assert set(by_dossier) == {d.id for d in dossiers}
    assert all(len({a.institution_id for a in pair}) == 2 for pair in by_dossier.values())
    active = db.session.scalars(sa.select(ConflictOfInterest).where(ConflictOfInterest.call_id == call.id)).all()
    poles = {d.id: d.pole_id for d in dossiers}
    assert not [a for a in rows for c in active if c.reviewer_id == a.reviewer_id and c.pole_id == poles[a.dossier_id]]
    assert {c.source for c in active} >= {ConflictSource.DECLARED, ConflictSource.DETECTED}

    # Every demo reviewer has dossiers, and some reviews exist for the call; one dossier disagrees.
    reviewers = db.session.scalars(sa.select(User).where(User.email.like("rapporteur.%"))).all()
    assert len(reviewers) == 6 and all(any(a.reviewer_id == r.id for a in rows) for r in reviewers)
    started = db.session.scalars(sa.select(Assignment.reviewer_id).join(Review).join(Dossier)
                                 .where(Dossier.call_id == call.id)).all()
    assert set(started) == {r.id for r in reviewers}  # each has a review, submitted or in progress
    submitted = [a for a in rows if a.status == AssignmentStatus.SUBMITTED]
    assert len(submitted) >= 6 and any(a.status == AssignmentStatus.IN_PROGRESS for a in rows)
    by_score, _calibration = scores.call_scores(reviews.submitted_totals(call.id), call.disagreement_threshold)
    disagreeing = [d for d, s in by_score.items() if s.disagreement]
    assert [db.session.get(Dossier, d).pole_name for d in disagreeing] == ["Combrailles en commun"]

    # The regional group gave its avis on all of its dossiers and ranked them.
    opinions = db.session.scalars(sa.select(RegionalOpinion)).all()
    routed = [d for d in dossiers if d.region_code == "84"]
    assert sorted(o.rank for o in opinions) == list(range(1, len(routed) + 1))
    assert all(o.recommendation and o.motivation for o in opinions)

    # Audited as the services do it.
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"assignment.created", "review.submitted", "conflict.declared", "conflicts.detected",
            "regional_opinion.saved", "regional_group.ranking_saved", "pool.member_added", "dossier.eligibility_checked"} <= actions


def test_each_demo_reviewer_logs_in_and_sees_filled_pages(app, db):
    assert app.test_cli_runner().invoke(args=["ptce", "demo"]).exit_code == 0
    for email in ("rapporteur.ess@demo.ptce.fr", "rapporteur.ara@demo.ptce.fr", "rapporteur.occitanie@demo.ptce.fr"):
        client = app.test_client()
        logged = client.post("/compte/connexion", data={"email": email, "password": DEMO_PASSWORD})
        assert logged.status_code == 302, email
        page = client.get("/rapporteur/").get_data(as_text=True)
        assert "Appel à projets PTCE 2026" in page or "ptce-2026" in page
        assert "évalué" in page
    admin = app.test_client()
    assert admin.post("/compte/connexion", data={"email": "admin@demo.ptce.fr", "password": DEMO_PASSWORD}
                      ).status_code == 302
    scores_page = admin.get("/admin/appels/ptce-2026/notes")
    assert scores_page.status_code == 200
    assert "désaccord" in scores_page.get_data(as_text=True).lower()


def _snapshot_2013(db) -> dict:
    """What the 2013 call is made of, by id: a second run must leave every row as it was."""
    from ptce_aap.models.decisions import CommitteeSession, Decision
    from ptce_aap.models.dossiers import Attachment, EligibilityCheck

    call = db.session.scalar(sa.select(Call).where(Call.slug == "ptce-2013"))
    ids = sa.select(Dossier.id).where(Dossier.call_id == call.id)
    return {
        "call": (call.id, call.status),
        "dossiers": sorted(db.session.execute(sa.select(Dossier.id, Dossier.receipt_number, Dossier.status)
                                              .where(Dossier.call_id == call.id)).all()),
        "attachments": sorted(db.session.execute(sa.select(Attachment.id, Attachment.sha256, Attachment.status)
                                                 .where(Attachment.dossier_id.in_(ids))).all()),
        "checks": sorted(db.session.scalars(sa.select(EligibilityCheck.id).where(EligibilityCheck.dossier_id.in_(ids)))),
        "reviews": sorted(db.session.scalars(sa.select(Review.id).join(Assignment).where(Assignment.dossier_id.in_(ids)))),
        "sessions": sorted(db.session.scalars(sa.select(CommitteeSession.id).where(CommitteeSession.call_id == call.id))),
        "decisions": sorted(db.session.execute(sa.select(Decision.id, Decision.outcome, Decision.amount_eur,
                                                         Decision.notified_at).where(Decision.dossier_id.in_(ids))).all()),
    }


def test_demo_2013_call_is_carried_through_its_life_within_the_rules_and_idempotent(app, db):
    from datetime import date
    from decimal import Decimal

    from ptce_aap.enums import ActivityDomain, DecisionOutcome, FinancingKind
    from ptce_aap.models.audit import AuditEvent
    from ptce_aap.models.decisions import CommitteeSession, Decision
    from ptce_aap.models.dossiers import Attachment
    from ptce_aap.services import decisions, eligibility

    runner = app.test_cli_runner()
    first = runner.invoke(args=["ptce", "demo"])
    assert first.exit_code == 0, first.output
    assert "ptce-2013" in first.output
    before, snapshot = _counts(db), _snapshot_2013(db)
    second = runner.invoke(args=["ptce", "demo"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert _counts(db) == before and _snapshot_2013(db) == snapshot  # same rows, same ids, same receipts

    call = db.session.scalar(sa.select(Call).where(Call.slug == "ptce-2013"))
    assert call.title == "AAP PTCE 2013 (démonstration)" and call.status == CallStatus.PUBLISHED
    from ptce_aap.models.publications import Publication
    from ptce_aap.services.decisions import current_decisions
    published = db.session.scalars(sa.select(Publication).where(Publication.call_id == call.id)).all()
    laureates = [d for d in current_decisions(call).values() if d.outcome == DecisionOutcome.LAUREATE]
    assert [(p.version, len(p.snapshot["rows"])) for p in published] == [(1, len(laureates))]  # once, laureates only
    assert call.opens_at.year == call.closes_at.year == 2013
    dossiers = db.session.scalars(sa.select(Dossier).where(Dossier.call_id == call.id)).all()
    assert 25 <= len(dossiers) <= 35
    assert {d.pole_name for d in dossiers} >= {"Les Ecossolies - Le Solilab", "PTCE Niortais", "Clus'Ter Jura"}
    for d in dossiers:
        assert d.receipt_number == f"PTCE-2013-{d.id:06d}" and d.submitted_at.year == 2013
        assert len(d.members) >= 12 and len({m.category for m in d.members}) >= 4
        assert d.activity_domains and set(d.activity_domains) <= {e.value for e in ActivityDomain}
        expenses = sum(f.amount_eur for f in d.financing_lines if f.kind == FinancingKind.EXPENSE)
        resources = sum(f.amount_eur for f in d.financing_lines if f.kind == FinancingKind.RESOURCE)
        assert expenses == resources == d.total_budget_eur > 0  # every plan balanced
        files = db.session.scalars(sa.select(Attachment).where(Attachment.dossier_id == d.id)).all()
        required = {t.code for t in call.document_types if t.is_required}
        assert {a.document_type_code for a in files} == required
        assert all(a.status.value == "ready" and a.sha256 and a.mime == "application/pdf" for a in files)

    # A few ineligible, for reasons the rules found; they get no decision.
    checks = eligibility.latest_checks(d.id for d in dossiers)
    failed = {d.pole_name: {r["code"] for r in checks[d.id].results if not r.get("passed", True)
                            and r.get("mode") == "blocking"} for d in dossiers if not checks[d.id].is_eligible}
    assert failed == {"ARDAINES": {"enterprise_partner"}, "Le Périscope": {"state_share"},
                      "Scène(s) de Musiques Actuelles de l'Ardèche - SMAC 07": {"legal_person"}}

    # Decisions: laureates eligible and read by two institutions, amounts within their caps and the envelope.
    current = db.session.scalars(sa.select(Decision).join(Dossier).where(Dossier.call_id == call.id,
                                                                          Decision.is_current)).all()
    assert {db.session.get(Dossier, x.dossier_id).pole_name for x in current} == {
        d.pole_name for d in dossiers if checks[d.id].is_eligible}
    laureates = [x for x in current if x.outcome == DecisionOutcome.LAUREATE]
    assert 15 <= len(laureates) <= 25 and any(x.outcome == DecisionOutcome.REJECTED for x in current)
    total = sum(x.amount_eur for x in laureates)
    assert Decimal("2500000") <= total <= call.envelope_eur == Decimal("3000000")
    for x in laureates:
        dossier = db.session.get(Dossier, x.dossier_id)
        assert checks[dossier.id].is_eligible and dossier.status.value == "laureate"
        assert Decimal("72000") <= x.amount_eur <= decisions.amount_cap(dossier) <= Decimal("290000")
        institutions = db.session.scalars(sa.select(Assignment.institution_id).join(Review).where(
            Assignment.dossier_id == dossier.id, Review.submitted_at.is_not(None))).all()
        assert len(set(institutions)) >= 2
    assert all(x.notified_at is not None and x.notified_at.date() == date(2014, 1, 20) for x in current)
    session = db.session.scalar(sa.select(CommitteeSession).where(CommitteeSession.call_id == call.id))
    assert session.held_on == date(2014, 1, 9) and all(x.session_id == session.id for x in current)
    assert sum(a.is_present for a in session.attendance) >= 2 and len(session.agenda) == len(current)

    # Realistic disagreement between reviewers, and the whole life audited through the services.
    from ptce_aap.domain import scores
    from ptce_aap.services import reviews

    by_score, _calibration = scores.call_scores(reviews.submitted_totals(call.id), call.disagreement_threshold)
    assert 1 <= sum(s.disagreement for d, s in by_score.items() if db.session.get(Dossier, d).call_id == call.id) <= 5
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "calls",
                                                                         AuditEvent.object_id == str(call.id))))
    assert {"call.created", "call.status_changed", "call.deadline_moved"} <= actions


def test_demo_2013_call_pages_are_filled_for_the_admin_and_a_laureate(app, db):
    assert app.test_cli_runner().invoke(args=["ptce", "demo"]).exit_code == 0
    admin = app.test_client()
    assert admin.post("/compte/connexion", data={"email": "admin@demo.ptce.fr", "password": DEMO_PASSWORD}
                      ).status_code == 302
    for page, expected in (("tableau-de-bord", "AAP PTCE 2013"), ("dossiers", "Clus'Ter Jura"),
                           ("eligibilite", "AAP PTCE 2013"), ("notes", "désaccord"), ("classement", "PTCE Niortais"),
                           ("seances", "2014"), ("decisions", "Lauréat"), ("notification-des-decisions", "2014")):
        response = admin.get(f"/admin/appels/ptce-2013/{page}")
        assert response.status_code == 200, page
        assert expected.lower() in html.unescape(response.get_data(as_text=True)).lower(), page
    laureate = app.test_client()
    assert laureate.post("/compte/connexion", data={"email": "pole22.2013@demo.ptce.fr", "password": DEMO_PASSWORD}
                         ).status_code == 302
    assert "Les Ecossolies" in laureate.get("/porteur/").get_data(as_text=True)
