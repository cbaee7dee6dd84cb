"""``flask ptce bench-data``: the benchmarks' volume (issue 13) — counts, valid dossiers, real verdicts, and the
app's pages open on it. Small N here; bench/ runs it at 500–5,000."""

from __future__ import annotations

import sqlalchemy as sa
from markupsafe import escape

from ptce_aap.enums import AssignmentStatus, DossierStatus
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Attachment, Dossier, EligibilityCheck, FinancingLine, Member
from ptce_aap.models.reviews import Assignment, Review


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["ptce", "bench-data", *args])


def test_bench_data_makes_valid_dossiers_the_pages_open_on(app, db, client, login_as):
    from ptce_aap.domain import eligibility as rules
    from ptce_aap.services.eligibility import call_facts, dossier_facts
    from ptce_aap.services.submission import blocking_problems, receipt_number_for

    result = _run(app, "--dossiers", "20", "--reviewers", "6", "--drafts", "3", "--call", "banc")
    assert result.exit_code == 0, result.output
    assert "Appel « banc » : dossiers 20, members 300, financing_lines 180, attachments 120, eligible 18, " \
           "assignments 36" in result.output
    call = db.session.scalar(sa.select(Call).where(Call.slug == "banc"))
    dossiers = db.session.scalars(sa.select(Dossier).where(Dossier.call_id == call.id).order_by(Dossier.id)).all()
    assert len(dossiers) == 20
    required = sorted(dt.code for dt in call.document_types if dt.is_required)
    facts = call_facts(call)
    for n, d in enumerate(dossiers):
        assert d.receipt_number == receipt_number_for(d)
        assert len(d.members) == 15 and {m.siren for m in d.members} == {m.siret[:9] for m in d.members}
        assert sorted(a.document_type_code for a in d.attachments) == required
        expenses = sum(x.amount_eur for x in d.financing_lines if x.kind == "expense")
        resources = sum(x.amount_eur for x in d.financing_lines if x.kind == "resource")
        assert expenses == resources == d.total_budget_eur
        # Complete (nothing would have stopped its submission), and the stored verdict is the rules' own.
        assert blocking_problems(d, now=call.closes_at - (call.closes_at - call.opens_at) / 2) == []
        check = db.session.scalar(sa.select(EligibilityCheck).where(EligibilityCheck.dossier_id == d.id))
        verdict = rules.evaluate(dossier_facts(d), facts)
        assert check.is_eligible == verdict.is_eligible == (n % 10 != 9)
        # Copied from one dossier of its kind: the same rules, passed or not (messages quote that one's amounts).
        assert [(r["code"], r["passed"], r["mode"]) for r in check.results] == [
            (r.code, r.passed, r.mode) for r in verdict.results]
        assert d.status == (DossierStatus.IN_REVIEW if check.is_eligible else DossierStatus.INELIGIBLE)
        assignments = db.session.scalars(sa.select(Assignment).where(Assignment.dossier_id == d.id)).all()
        assert len(assignments) == (2 if check.is_eligible else 0)
        assert len({a.institution_id for a in assignments}) == len(assignments)
        assert [t.to_status for t in d.transitions][:2] == [DossierStatus.SUBMITTED, d.status if n % 10 == 9
                                                            else DossierStatus.ELIGIBLE]
    submitted = db.session.scalars(sa.select(Review).join(Assignment).where(
        Assignment.status == AssignmentStatus.SUBMITTED, Review.submitted_at.is_not(None))).all()
    assert submitted and all(len(r.scores) == len(call.criteria) for r in submitted)
    # The drafts of the open call can be submitted as they are.
    draft_call = db.session.scalar(sa.select(Call).where(Call.slug == "banc-ouvert"))
    drafts = db.session.scalars(sa.select(Dossier).where(Dossier.call_id == draft_call.id)).all()
    assert [d.status for d in drafts] == [DossierStatus.DRAFT] * 3
    assert all(blocking_problems(d, now=utcnow()) == [] for d in drafts)

    admin = db.session.scalar(sa.select(User).where(User.email == "admin-banc-0@bench.example.org"))
    login_as(admin)
    listing = client.get("/admin/appels/banc/dossiers").get_data(as_text=True)
    assert all(d.pole_name in listing for d in dossiers)
    ranking = client.get("/admin/appels/banc/classement")
    assert ranking.status_code == 200 and dossiers[0].pole_name in ranking.get_data(as_text=True)
    reading = client.get(f"/admin/dossiers/{dossiers[0].id}/lecture")
    assert reading.status_code == 200 and str(escape(dossiers[0].members[14].name)) in reading.get_data(as_text=True)
    reviewer = db.session.get(User, db.session.scalar(sa.select(Assignment.reviewer_id).where(
        Assignment.dossier_id == dossiers[0].id).order_by(Assignment.id)))
    login_as(reviewer)
    dashboard = client.get("/rapporteur/")
    assert dashboard.status_code == 200 and dossiers[0].pole_name in dashboard.get_data(as_text=True)


def test_bench_data_refuses_production_and_an_existing_call(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    refused = _run(app, "--dossiers", "2", "--call", "prod")
    assert refused.exit_code == 1 and "--yes-i-know" in refused.output
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0
    monkeypatch.setitem(app.config, "ENV_NAME", "testing")
    assert _run(app, "--dossiers", "2", "--reviewers", "0", "--call", "deux").exit_code == 0
    again = _run(app, "--dossiers", "2", "--call", "deux")
    assert again.exit_code == 1 and "existe déjà" in again.output
    assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 30
    assert db.session.scalar(sa.select(sa.func.count(FinancingLine.id))) == 18
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 12
