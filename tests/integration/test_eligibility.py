"""Eligibility on the real parts: submit → outbox → RQ worker → check stored, status moved, mail received;
retries, overrides, the applicant's view, and the re-run of a whole call over 1,000 dossiers."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import (
    AttachmentStatus,
    DecisionOutcome,
    DossierStatus,
    FinancingKind,
    JobStatus,
    LegalForm,
    MemberCategory,
    OutboxStatus,
    ScanStatus,
)
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import (
    Attachment,
    Dossier,
    EligibilityCheck,
    FinancingLine,
    Member,
    Pole,
    PoleMembership,
)
from ptce_aap.models.outbox import JobRun, Notification, OutboxEntry
from ptce_aap.services import eligibility as service
from ptce_aap.services import submission
from tests.fixtures.builders import VALID_SIRETS

NNBSP = "\u202f"
SUBJECT = "Résultat de l'examen d'éligibilité"


@pytest.fixture(autouse=True)
def eligibility_tasks():
    """The tasks module (``ptce_aap.tasks``, registered by ``create_app`` like every task)."""
    from ptce_aap import tasks as module

    return module


def _reload(db, dossier_id):
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def _submit(db, dossier, user):
    submission.submit_dossier(dossier, by=user, now=utcnow())
    db.session.commit()
    assert jobs.dispatch_outbox() >= 2  # receipt and eligibility check


def _eligibility_mails(smtp, count=1):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mails = [m for m in list(smtp.messages) if m["Subject"].startswith(SUBJECT)]
        if len(mails) >= count:
            return mails
        time.sleep(0.02)
    return [m for m in list(smtp.messages) if m["Subject"].startswith(SUBJECT)]


def _text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


# --- end to end ----------------------------------------------------------------------------------

def test_submit_then_worker_makes_the_dossier_eligible_and_mails_the_pole(
        make_dossier, applicant, db, worker, smtp):
    dossier = make_dossier(owner=applicant, complete=True)
    _submit(db, dossier, applicant)
    worker()
    worker()
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.ELIGIBLE
    checks = db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.dossier_id == d.id)).all()
    assert len(checks) == 1
    check = checks[0]
    assert (check.is_eligible, check.is_override, check.actor_id) == (True, False, None)
    assert [r["code"] for r in check.results][:3] == ["siret", "legal_person", "min_members"]
    assert all(r["passed"] for r in check.results)
    assert [(t.from_status, t.to_status, t.actor_id) for t in d.transitions][-1] == (
        DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, None)
    mails = _eligibility_mails(smtp)
    assert len(mails) == 1
    assert mails[0]["To"] == applicant.email
    assert mails[0]["Subject"] == f"{SUBJECT} — Pôle Coopérations du Val"
    text = _text(mails[0])
    assert "Résultat\u00a0: dossier recevable : il remplit les conditions d’éligibilité de l’appel à projets" in text
    assert "ne sont pas satisfaits" not in text
    assert f"http://localhost/porteur/dossiers/{d.id}" in text


def test_ineligible_dossier_mail_explains_every_failed_rule(make_dossier, applicant, db, worker, smtp):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.carrier_legal_form = LegalForm.COLLECTIVITE
    dossier.members[1].category = MemberCategory.ESS  # no enterprise outside the ESS any more
    dossier.members[3].department = "75"  # advisory: outside the territory
    db.session.commit()
    _submit(db, dossier, applicant)
    worker()
    worker()
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.INELIGIBLE
    check = service.latest_check(d)
    assert [r["code"] for r in check.results if not r["passed"]] == [
        "legal_person", "enterprise_partner", "same_territory"]
    text = _text(_eligibility_mails(smtp)[0])
    assert "Résultat\u00a0: dossier irrecevable : il ne remplit pas les conditions d’éligibilité de l’appel à projets" in text
    assert "Les points suivants ne sont pas satisfaits\u00a0:\n" in text
    # What was found, with the numbers — but the dossier is submitted: nothing tells to change it.
    for line in (
        "- La structure porteuse est une collectivité : une collectivité ne peut pas porter le pôle.\n",
        "- Aucun membre du pôle n’est une entreprise hors économie sociale et solidaire.\n",
        "- 1 membre est situé hors des départements couverts par le pôle (69, 01) et de leurs départements "
        "limitrophes : Structure membre 4 (75). (point d’attention, non bloquant)\n"):
        assert line in text
    for instruction in ("Ajoutez", "ajoutez", "Confiez", "corrigez", "Corrigez", "indiquez-le", "choisissez"):
        assert instruction not in text
    assert ("Un dossier déposé ne peut plus être modifié. Si ce résultat vous paraît erroné (une pièce ou une "
            "information mal prise en compte), écrivez au secrétariat de l’appel à projets en indiquant votre "
            f"numéro de récépissé {d.receipt_number}") in " ".join(text.split()), text
    html = _eligibility_mails(smtp)[0].get_body(preferencelist=("html",)).get_content()
    assert "<li>Aucun membre du pôle n’est une entreprise hors économie sociale et solidaire" in html


def test_every_person_of_the_pole_is_told(make_dossier, make_user, applicant, db, worker, smtp):
    dossier = make_dossier(owner=applicant, complete=True)
    coeditor = make_user("coediteur@example.org")
    db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=coeditor.id))
    db.session.commit()
    _submit(db, dossier, applicant)
    worker()
    worker()
    mails = _eligibility_mails(smtp, 2)
    assert sorted(m["To"] for m in mails) == sorted([applicant.email, "coediteur@example.org"])


def test_laureate_of_an_earlier_call_is_not_eligible(make_call, make_dossier, applicant, make_user, db, worker, smtp):
    earlier = make_dossier(call=make_call(slug="ptce-2023"), owner=make_user(), complete=True)
    db.session.add(Decision(dossier_id=earlier.id, outcome=DecisionOutcome.LAUREATE, amount_eur=Decimal("100000")))
    db.session.commit()
    dossier = make_dossier(owner=applicant, complete=True)  # same structure porteuse (same SIRET)
    assert service.previously_funded_sirens(dossier.call) == frozenset({VALID_SIRETS[0][:9]})
    assert service.previously_funded_sirens(earlier.call) == frozenset()  # its own call does not count
    _submit(db, dossier, applicant)
    worker()
    worker()
    assert _reload(db, dossier.id).status == DossierStatus.INELIGIBLE
    assert ("- La structure porteuse (SIREN 732829320) a déjà été lauréate d’un précédent appel à projets PTCE : un "
            "pôle déjà soutenu n’est pas éligible.") in _text(_eligibility_mails(smtp)[0])


def test_running_the_check_again_after_its_commit_sends_no_second_mail(
        make_dossier, applicant, db, worker, smtp, eligibility_tasks):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    # A worker killed after the commit: the job runs again.
    assert eligibility_tasks.task_eligibility_check(dossier_id=dossier.id) == "eligible"
    assert eligibility_tasks.task_eligibility_check(dossier_id=dossier.id) == "eligible"
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.template == "eligibility_result")) == 1
    jobs.dispatch_outbox()
    worker()
    worker()
    assert len(_eligibility_mails(smtp)) == 1
    smtp.wait_for(3, timeout=0.3)
    assert len(_eligibility_mails(smtp)) == 1
    # Forced, it runs the rules again: a new check in the history, no status change, a mail for it.
    assert eligibility_tasks.task_eligibility_check(dossier_id=dossier.id, force=True) == "eligible"
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 2
    assert len(_reload(db, dossier.id).transitions) == 3  # draft, submitted, eligible


def test_check_leaves_other_states_alone(make_dossier, applicant, db, eligibility_tasks):
    dossier = make_dossier(owner=applicant, complete=True)
    assert eligibility_tasks.task_eligibility_check(dossier_id=dossier.id) == "skipped (draft)"
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    submission.withdraw_dossier(dossier, by=applicant)
    db.session.commit()
    assert eligibility_tasks.task_eligibility_check(dossier_id=dossier.id) == "skipped (withdrawn)"
    assert eligibility_tasks.task_eligibility_check(dossier_id=999999) == "missing"
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 0
    with pytest.raises(DomainError, match="ne peut pas être examinée"):
        service.run_check(_reload(db, dossier.id))


def test_status_moves_between_eligible_and_ineligible_when_the_verdict_changes(
        make_dossier, applicant, db, admin_user):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    service.run_check(dossier)
    db.session.commit()
    assert dossier.status == DossierStatus.ELIGIBLE
    settings = dict(dossier.call.eligibility_settings)
    settings["min_members"] = {"mode": "blocking", "minimum": 10}
    dossier.call.eligibility_settings = settings
    db.session.commit()
    check = service.run_check(dossier, by=admin_user)
    db.session.commit()
    d = _reload(db, dossier.id)
    assert (d.status, check.is_eligible, check.actor_id) == (DossierStatus.INELIGIBLE, False, admin_user.id)
    assert [(t.from_status, t.to_status) for t in d.transitions][-1] == (DossierStatus.ELIGIBLE,
                                                                         DossierStatus.INELIGIBLE)
    assert len(db.session.scalars(sa.select(EligibilityCheck)).all()) == 2  # history kept


# --- override ------------------------------------------------------------------------------------

def test_override_with_reason_is_stored_audited_and_told(make_dossier, applicant, admin_user, db, eligibility_tasks):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    service.run_check(dossier)
    db.session.commit()
    check = service.override(dossier, is_eligible=False, reason="  Statuts non conformes à l'objet du pôle.  ",
                             by=admin_user)
    db.session.commit()
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.INELIGIBLE
    assert (check.is_override, check.is_eligible, check.override_reason, check.actor_id) == (
        True, False, "Statuts non conformes à l'objet du pôle.", admin_user.id)
    assert check.results == service.check_history(d)[1][0].results  # rule-by-rule kept for reference
    assert d.transitions[-1].reason == "Statuts non conformes à l'objet du pôle."
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dossier.eligibility_overridden"))
    assert (event.actor_id, event.object_id) == (admin_user.id, str(d.id))
    assert event.summary == {"before": {"status": "eligible", "is_eligible": True},
                             "after": {"status": "ineligible", "is_eligible": False},
                             "reason": "Statuts non conformes à l'objet du pôle."}
    notification = db.session.scalar(sa.select(Notification).where(Notification.template == "eligibility_result"))
    assert notification.context["failed"] == [{"message": "Motif : Statuts non conformes à l'objet du pôle."}]
    assert notification.context["verdict_text"].endswith("(décision de l’administration)")
    # The automatic check (e.g. a late job) leaves the admin's decision alone.
    assert eligibility_tasks.task_eligibility_check(dossier_id=d.id) == "overridden"
    assert _reload(db, d.id).status == DossierStatus.INELIGIBLE


def test_override_without_reason_is_refused(make_dossier, applicant, admin_user, db):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    with pytest.raises(DomainError, match="Indiquez le motif de votre décision") as caught:
        service.override(dossier, is_eligible=True, reason="   ", by=admin_user)
    assert caught.value.field == "reason"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 0
    assert _reload(db, dossier.id).status == DossierStatus.SUBMITTED


# --- the applicant's view ------------------------------------------------------------------------

def test_live_advice_on_a_draft(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.members[1].category = MemberCategory.ESS
    db.session.commit()
    view = service.applicant_view(dossier)
    assert view["latest"] is None
    advice = view["advice"]
    assert advice.is_eligible is False
    assert [r.code for r in advice.failed] == ["enterprise_partner"]
    deadline = [r for r in advice.results if r.code == "deadline"][0]
    assert deadline.passed and deadline.message.startswith("Le dossier peut être déposé jusqu’au ")


def test_applicant_partial_renders_advice_and_result(app, make_dossier, applicant, admin_user, db):
    from flask import render_template

    dossier = make_dossier(owner=applicant, complete=True)
    dossier.members[1].category = MemberCategory.ESS
    db.session.commit()
    with app.test_request_context():
        html = render_template("applicants/_eligibility.html", eligibility=service.applicant_view(dossier),
                               dossier=dossier)
    assert "Conditions d'éligibilité (article 9 de la loi ESS) — vérification indicative" in html
    assert "1 condition n’est pas remplie" in html
    assert 'data-rule="enterprise_partner" data-passed="false"' in html
    assert "Aucun membre du pôle n’est une entreprise hors économie sociale et solidaire" in html
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    with app.test_request_context():
        html = render_template("applicants/_eligibility.html", eligibility=service.applicant_view(dossier),
                               dossier=dossier)
    assert "La vérification des conditions d’éligibilité de votre dossier est en cours." in html
    service.run_check(dossier)
    db.session.commit()
    with app.test_request_context():
        html = render_template("applicants/_eligibility.html", eligibility=service.applicant_view(dossier),
                               dossier=dossier)
    assert "Dossier irrecevable" in html
    assert html.count('data-passed="true"') == 11
    service.override(dossier, is_eligible=True, reason="Le membre n° 2 est une SARL hors ESS.", by=admin_user)
    db.session.commit()
    with app.test_request_context():
        html = render_template("applicants/_eligibility.html", eligibility=service.applicant_view(dossier),
                               dossier=dossier)
    assert "Dossier recevable" in html
    assert "Décision de l’administration" in html
    assert "Le membre n° 2 est une SARL hors ESS." in html


# --- re-run of a call ----------------------------------------------------------------------------

def _bulk_dossiers(db, call, n, *, ineligible_every=10):
    """n submitted dossiers of ``call`` (one pole each) inserted in bulk: complete and valid, except every
    ``ineligible_every``-th, which has no enterprise outside the ESS."""
    now = utcnow()
    pole_ids = db.session.scalars(sa.insert(Pole).returning(Pole.id),
                                  [{"name": f"Pôle {i:04d}", "created_at": now} for i in range(n)]).all()
    dossier_ids = db.session.scalars(sa.insert(Dossier).returning(Dossier.id), [dict(
        call_id=call.id, pole_id=pole_id, status=DossierStatus.SUBMITTED, version=1, pole_name=f"Pôle {i:04d}",
        carrier_legal_name=f"Association {i}", carrier_siret=VALID_SIRETS[0], carrier_legal_form=LegalForm.SCIC,
        departments=["69", "01"], total_budget_eur=Decimal("400000"), amount_requested_eur=Decimal("90000"),
        submitted_at=now - timedelta(minutes=i % 50), receipt_number=f"PTCE-BULK-{pole_id:06d}",
        created_at=now, updated_at=now, raw_inputs={}, cooperation={}, territory_types=[], activity_domains=[])
        for i, pole_id in enumerate(pole_ids)]).all()
    categories = [MemberCategory.ESS, MemberCategory.ENTERPRISE, MemberCategory.COLLECTIVITY, MemberCategory.RESEARCH]
    members, lines, attachments = [], [], []
    required = [dt.code for dt in call.document_types if dt.is_required]
    for i, dossier_id in enumerate(dossier_ids):
        for p, category in enumerate(categories):
            if p == 1 and i % ineligible_every == 0:
                category = MemberCategory.ESS
            members.append(dict(dossier_id=dossier_id, position=p, name=f"Membre {p}", siret=VALID_SIRETS[p + 1],
                                category=category, department="69", is_legal_person=True))
        lines.append(dict(dossier_id=dossier_id, position=0, kind=FinancingKind.EXPENSE, label="Animation",
                          amount_eur=Decimal("180000")))
        lines.append(dict(dossier_id=dossier_id, position=1, kind=FinancingKind.RESOURCE, label="État",
                          amount_eur=Decimal("180000")))
        for code in required:
            attachments.append(dict(
                dossier_id=dossier_id, document_type_code=code, filename=f"{code}.pdf", storage_backend="s3",
                storage_key=f"bulk/{dossier_id}/{code}.pdf", size=10, sha256=hashlib.sha256(code.encode()).hexdigest(),
                status=AttachmentStatus.READY, scan_status=ScanStatus.CLEAN, created_at=now))
    db.session.execute(sa.insert(Member), members)
    db.session.execute(sa.insert(FinancingLine), lines)
    db.session.execute(sa.insert(Attachment), attachments)
    db.session.commit()
    return dossier_ids


def test_rerun_over_1000_dossiers_reports_progress_and_finishes(
        app, make_call, make_user, admin_user, client, login_as, db, worker, smtp):
    call = make_call()
    ids = _bulk_dossiers(db, call, 1000)
    # One pole has a person: only status changes are mailed.
    owner = make_user("pole0@example.org")
    db.session.add(PoleMembership(pole_id=_reload(db, ids[1]).pole_id, user_id=owner.id))
    db.session.commit()
    run = service.rerun_for_call(call, by=admin_user)
    db.session.commit()
    assert (run.status, run.total, run.done) == (JobStatus.QUEUED, 1000, 0)
    # Asked twice, the same job is returned.
    assert service.rerun_for_call(call, by=admin_user).id == run.id
    login_as(admin_user)
    queued = client.get(f"/admin/taches/{run.id}.json")
    assert queued.get_json() == {"status": "queued", "status_label": "En attente", "done": 0, "total": 1000,
                                 "message": "En attente de traitement."}
    assert queued.headers["Cache-Control"] == "no-store"

    # Progress is committed batch by batch: another connection (what the progress endpoint reads) sees it.
    seen: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    engine, run_id = db.engine, run.id  # (touching ``run`` in the thread would use this thread's session)

    def poll():
        try:
            with engine.connect() as conn:
                while not stop.is_set():
                    status, done = conn.execute(sa.text("SELECT status, done FROM job_runs WHERE id = :id"),
                                                {"id": run_id}).one()
                    conn.rollback()
                    seen.append((status, done))
                    time.sleep(0.01)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    poller = threading.Thread(target=poll)
    assert jobs.dispatch_outbox() == 1
    started = time.monotonic()
    poller.start()
    try:
        worker()
    finally:
        stop.set()
        poller.join()
    assert errors == []
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"re-run took {elapsed:.1f} s"
    final = client.get(f"/admin/taches/{run.id}.json").get_json()
    assert (final["status"], final["done"], final["total"]) == ("done", 1000, 1000)
    assert final["message"] == (f"Terminé. 1{NNBSP}000 dossiers vérifiés : 900 recevables, 100 irrecevables. "
                                f"1{NNBSP}000 statuts ont changé lors de cette vérification.")
    # Progress went up batch by batch while it ran.
    dones = [done for status, done in seen if status == "running"]
    assert any(0 < d < 1000 for d in dones), seen[:20]
    assert dones == sorted(dones)
    counts = dict(db.session.execute(sa.select(Dossier.status, sa.func.count()).where(Dossier.call_id == call.id)
                                     .group_by(Dossier.status)).all())
    assert counts == {DossierStatus.ELIGIBLE: 900, DossierStatus.INELIGIBLE: 100}
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 1000
    # Split into jobs that any free worker takes: the run checks the first batch of 100, the other nine are
    # jobs of their own.
    batches = db.session.execute(sa.select(OutboxEntry.status, OutboxEntry.kwargs)
                                 .where(OutboxEntry.task == "eligibility_rerun_batch")).all()
    assert [status for status, _kwargs in batches] == [OutboxStatus.DONE] * 9
    assert sorted(i for _status, kwargs in batches for i in kwargs["dossier_ids"]) == sorted(ids)[100:]
    worker()
    assert [m["To"] for m in _eligibility_mails(smtp)] == ["pole0@example.org"]
    # A second re-run: nothing changes, history grows, nobody is mailed again.
    again = service.rerun_for_call(call, by=admin_user)
    db.session.commit()
    assert again.id != run.id
    jobs.dispatch_outbox()
    worker()
    db.session.expire_all()
    again = db.session.get(JobRun, again.id)
    assert again.message.endswith("0 statut a changé lors de cette vérification.")
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 2000
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1


def test_rerun_keeps_overrides_and_resumes_after_a_crash(make_call, admin_user, db, eligibility_tasks):
    call = make_call()
    ids = _bulk_dossiers(db, call, 12, ineligible_every=3)
    dossiers = [_reload(db, i) for i in ids]
    service.run_check(dossiers[0])
    service.override(dossiers[0], is_eligible=True, reason="Entreprise hors ESS vérifiée par téléphone.",
                     by=admin_user)
    db.session.commit()
    run = service.rerun_for_call(call, by=admin_user)
    db.session.commit()
    # A first attempt died after re-checking three dossiers.
    run.status = JobStatus.RUNNING
    for d in dossiers[1:4]:
        service.run_check(d)
    db.session.commit()
    assert eligibility_tasks.task_eligibility_rerun(job_run_id=run.id, call_id=call.id) == "done"
    per_dossier = dict(db.session.execute(sa.select(EligibilityCheck.dossier_id, sa.func.count())
                                          .group_by(EligibilityCheck.dossier_id)).all())
    assert per_dossier == {ids[0]: 2, **dict.fromkeys(ids[1:], 1)}
    db.session.expire_all()
    run = db.session.get(JobRun, run.id)
    assert (run.status, run.done, run.total) == (JobStatus.DONE, 12, 12)
    # The statuses changed count those of the first attempt too (its batches were committed: they are this
    # run's changes), read from the run's automatic transitions since it was asked for: 3 + 8.
    assert run.message == ("Terminé. 12 dossiers vérifiés : 9 recevables, 3 irrecevables. 11 statuts ont changé "
                           "lors de cette vérification. 1 verdict forcé par l’administration a été conservé.")
    assert _reload(db, ids[0]).status == DossierStatus.ELIGIBLE  # overridden, though it fails a rule
    assert eligibility_tasks.task_eligibility_rerun(job_run_id=run.id, call_id=call.id) == "already done"


def test_rerun_failing_on_its_last_try_is_marked_failed(make_call, admin_user, db, eligibility_tasks, monkeypatch):
    call = make_call()
    _bulk_dossiers(db, call, 3)
    run = service.rerun_for_call(call, by=admin_user)
    db.session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(service, "run_check", broken)
    monkeypatch.setattr(jobs, "is_last_attempt", lambda: False)
    with pytest.raises(RuntimeError):
        eligibility_tasks.task_eligibility_rerun(job_run_id=run.id, call_id=call.id)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).message == (
        "Incident (dossiers vérifiés : 0 sur 3) : nouvelle tentative automatique dans quelques instants.")
    monkeypatch.setattr(jobs, "is_last_attempt", lambda: True)
    with pytest.raises(RuntimeError):
        eligibility_tasks.task_eligibility_rerun(job_run_id=run.id, call_id=call.id)
    db.session.expire_all()
    failed = db.session.get(JobRun, run.id)
    assert failed.status == JobStatus.FAILED
    assert failed.message == ("La vérification s’est arrêtée sur une erreur (dossiers vérifiés : 0 sur 3) : "
                              "relancez-la. (RuntimeError)")
    # A failed run no longer blocks a new one.
    assert service.rerun_for_call(call, by=admin_user).id != run.id


def test_rerun_for_a_call_is_audited(make_call, admin_user, db):
    call = make_call()
    run = service.rerun_for_call(call, by=admin_user)
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call.eligibility_rerun"))
    assert (event.actor_id, event.object_id, event.summary) == (
        admin_user.id, str(call.id), {"after": {"job_run": run.id, "total": 0}})
    assert service.call_id_of_run(run) == call.id


def test_tick_gives_a_new_check_to_a_submitted_dossier_whose_check_job_failed(make_dossier, applicant, db, worker):
    import sqlalchemy as sa

    from ptce_aap.enums import OutboxStatus
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.outbox import OutboxEntry
    from ptce_aap.services import eligibility, submission

    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.task == "eligibility_check")
                       .values(status=OutboxStatus.FAILED))
    db.session.commit()
    assert eligibility.reschedule_missing_checks() == 1
    db.session.commit()
    assert eligibility.reschedule_missing_checks() == 0
    jobs.dispatch_outbox()
    worker()
    db.session.expire_all()
    assert db.session.get(type(dossier), dossier.id).status == DossierStatus.ELIGIBLE


def test_a_draft_advice_reads_only_its_own_siren_among_earlier_laureates(make_call, make_dossier, applicant,
                                                                           make_user, db):
    """The live advice (and a check) looks for the dossier's own SIREN among the laureates of other calls, through
    the indexed ``carrier_siren``: the same verdict as reading every laureate, one row or none instead."""
    earlier = make_dossier(call=make_call(slug="ptce-2023"), owner=make_user(), complete=True)
    db.session.add(Decision(dossier_id=earlier.id, outcome=DecisionOutcome.LAUREATE, amount_eur=Decimal("100000")))
    db.session.commit()
    draft = make_dossier(owner=applicant, complete=True)  # same structure porteuse (same SIRET)
    assert service.previously_funded_sirens(draft.call, siren=VALID_SIRETS[0][:9]) == {VALID_SIRETS[0][:9]}
    assert service.previously_funded_sirens(draft.call, siren=VALID_SIRETS[1][:9]) == frozenset()
    assert service.dossier_call_facts(draft).previously_funded_sirens == {VALID_SIRETS[0][:9]}
    failed = {r.code for r in service.live_advice(draft).results if not r.passed}
    assert "not_previously_funded" in failed

    draft.carrier_siret = VALID_SIRETS[1]  # another structure porteuse: the earlier laureate is not read
    assert service.dossier_call_facts(draft).previously_funded_sirens == frozenset()
    assert "not_previously_funded" not in {r.code for r in service.live_advice(draft).results if not r.passed}
    draft.carrier_siret = "123"  # no valid SIRET: nothing to look up, the rule says why
    assert service.dossier_call_facts(draft).previously_funded_sirens == frozenset()
    assert "not_previously_funded" in {r.code for r in service.live_advice(draft).results if not r.passed}
