"""``flask ptce demo``, reviewer side: a call in review whose pages are filled for every demo reviewer and the
admin — assignments, reviews (one dossier in « désaccord »), conflicts of the three sources, the regional
group's avis and ranking — built through the services (audited), and the same after a second run."""

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
