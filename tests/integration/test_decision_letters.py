"""Notification of the decisions (issue 11 point 9): letters (PDF), « Notifier » over the real SMTP capture,
once only, resumable after a crash, refusals, and the applicant's own letter."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.domain.formatting import format_amount
from ptce_aap.enums import CallStatus, DecisionOutcome, DossierStatus, PaymentTerms, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import decision_letters
from ptce_aap.services.decisions import DecisionInput, Tranche, decide
from tests.integration.test_jobs import run_due_retries


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    return "".join(text.split())


LAUREATE = DecisionInput(
    outcome=DecisionOutcome.LAUREATE, motivation="Projet solide, ancrage territorial fort.",
    amount_eur=Decimal("80000"), reference="DEC-2026-001", committee_date=date(2026, 12, 3),
    payment_terms=PaymentTerms.STAGED,
    tranches=[Tranche(date(2027, 1, 15), Decimal("50000")), Tranche(date(2027, 9, 1), Decimal("30000"))])
WAITLISTED = DecisionInput(outcome=DecisionOutcome.WAITLISTED, motivation="Classé 12e, liste complémentaire.",
                           reference="DEC-2026-002", committee_date=date(2026, 12, 3))
REJECTED = DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Coopération encore trop récente.",
                         reference="DEC-2026-003", committee_date=date(2026, 12, 3))


@pytest.fixture
def decided(db, make_call, make_reviewed_dossier, make_user, admin_user):
    """A deliberating call with three decided dossiers (laureate, waitlisted, rejected); the laureate's pole
    has a co-editor. Returns (call, [dossiers], co_editor)."""
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"),
                     awarding_body_name="Ministère de l'Économie", signatory_name="Camille Durand",
                     signatory_title="La directrice du Trésor")
    dossiers = [make_reviewed_dossier(call=call, pole_name=name)
                for name in ("Pôle Lauréat", "Pôle Attente", "Pôle Refusé")]
    coeditor = make_user()
    db.session.add(PoleMembership(pole_id=dossiers[0].pole_id, user_id=coeditor.id))
    call.status = CallStatus.DELIBERATION  # set-up: the call's own path is tested in test_calls
    db.session.commit()
    for dossier, data in zip(dossiers, (LAUREATE, WAITLISTED, REJECTED), strict=True):
        decide(dossier, data, by=admin_user)
    db.session.commit()
    return call, dossiers, coeditor


def owners(db, dossier):
    return db.session.scalars(sa.select(PoleMembership).where(PoleMembership.pole_id == dossier.pole_id)
                              .order_by(PoleMembership.id)).all()


def statuses(db, dossiers):
    db.session.expire_all()
    return [db.session.get(Dossier, d.id).status for d in dossiers]


def test_notifier_moves_the_statuses_and_mails_each_person_their_letter_once(
        db, client, login_as, admin_user, decided, worker, smtp):
    call, dossiers, coeditor = decided
    login_as(admin_user)
    page = client.get(f"/admin/appels/{call.slug}/notification-des-decisions").get_data(as_text=True)
    assert "3 décisions à notifier" in page and "Pôle Refusé" in page
    # The preview: rendered now, marked as a draft, with the amount and the tranches.
    laureate = db.session.scalar(sa.select(Decision).where(Decision.dossier_id == dossiers[0].id))
    preview = client.get(f"/admin/appels/{call.slug}/notification-des-decisions/{laureate.id}/lettre.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    text = pdf_text(preview.data)
    assert "Projet — non notifié" in text
    from ptce_aap.domain.formatting import format_long_date
    from ptce_aap.models.base import utcnow

    assert f"Le {format_long_date(utcnow())}" in text  # dated the day it is made (notified: the notification's)
    assert "Objet : " in text and "versée en plusieurs tranches" in text
    assert squash(format_amount(Decimal("80000"))) in squash(text)
    assert squash(format_amount(Decimal("30000"))) in squash(text) and "01/09/2027" in text
    assert "La directrice du Trésor" in text and "Camille Durand" in text and "DEC-2026-001" in text
    # Confirmation: how many letters of each kind.
    confirm = client.get(f"/admin/appels/{call.slug}/notification-des-decisions/notifier").get_data(as_text=True)
    assert "3 lettres de décision vont partir" in confirm
    assert 'data-outcome="laureate">Lauréat : 1' in confirm and 'data-outcome="rejected">Non retenu : 1' in confirm
    assert statuses(db, dossiers) == [DossierStatus.REVIEWED] * 3  # nothing before the confirmation

    response = client.post(f"/admin/appels/{call.slug}/notification-des-decisions/notifier")
    assert response.status_code == 302
    assert statuses(db, dossiers) == [DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED]
    worker()  # the letters are stored, their mails queued (and sent in the same burst or the next)
    worker()
    people = [m.user for d in dossiers for m in owners(db, d)]
    assert len(people) == 4  # the laureate's owner and co-editor, one owner for each of the others
    mails = smtp.wait_for(4)
    assert sorted(m["To"] for m in mails) == sorted(p.email for p in people)
    for mail in mails:
        pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1
        letter = pdf_text(pdfs[0].get_content())
        assert "non notifié" not in letter
        if mail["To"] in {coeditor.email, owners(db, dossiers[0])[0].user.email}:
            assert "« Pôle Lauréat »" in mail["Subject"]  # every space kept (mail.header_text)
            assert squash(format_amount(Decimal("80000"))) in squash(letter)
            assert "Votre pôle est lauréat" in letter
            assert "portéeparlastructure«" in squash(letter)  # « portée par la structure « … » » (PDF text: no spaces)
        elif "Attente" in mail["Subject"]:
            assert "liste complémentaire" in letter
        else:
            assert "n'a pas été retenue" in letter
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Decision).order_by(Decision.id)).all()
    assert all(d.notified_at and d.letter_key and len(d.letter_sha256) == 64 for d in stored)

    # The secretariat's link now serves the letter that was sent.
    sent = client.get(f"/admin/appels/{call.slug}/notification-des-decisions/{laureate.id}/lettre.pdf")
    assert sent.status_code == 302
    assert "non notifié" not in pdf_text(requests.get(sent.headers["Location"], timeout=10).content)
    # A second press sends nothing new.
    page = client.get(f"/admin/appels/{call.slug}/notification-des-decisions").get_data(as_text=True)
    assert "Aucune décision à notifier." in page and "3 décisions notifiées" in page
    client.post(f"/admin/appels/{call.slug}/notification-des-decisions/notifier")
    worker()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 4
    assert len(smtp.wait_for(5, timeout=0.5)) == 4


def test_the_applicant_reads_their_outcome_and_letter_others_never(
        db, client, login_as, admin_user, decided, worker, make_user, make_assignment, make_pool_member):
    call, dossiers, coeditor = decided
    owner = owners(db, dossiers[0])[0].user
    login_as(owner)
    assert "Décision du comité" not in client.get(f"/porteur/dossiers/{dossiers[0].id}").get_data(as_text=True)
    assert client.get(f"/porteur/dossiers/{dossiers[0].id}/lettre-de-decision").status_code == 404  # not yet
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    page = client.get(f"/porteur/dossiers/{dossiers[0].id}").get_data(as_text=True)
    assert "Décision du comité de sélection" in page and "Télécharger la lettre de décision" in page
    for person in (owner, coeditor):
        login_as(person)
        download = client.get(f"/porteur/dossiers/{dossiers[0].id}/lettre-de-decision")
        assert download.status_code == 302
        fetched = requests.get(download.headers["Location"], timeout=10)
        assert squash(format_amount(Decimal("80000"))) in squash(pdf_text(fetched.content))
    # Another pole's person, a reviewer assigned to the dossier, the admin: not through this page.
    reviewer = make_pool_member(call).user
    make_assignment(dossiers[0], reviewer)
    other = owners(db, dossiers[2])[0].user
    for user in (other, reviewer, admin_user):
        login_as(user)
        assert client.get(f"/porteur/dossiers/{dossiers[0].id}/lettre-de-decision").status_code in (403, 404)
    # A reviewer of the dossier who is also an applicant (of no dossier here): reads the dossier, not its letter.
    both = make_user(roles=(Role.APPLICANT, Role.REVIEWER))
    make_assignment(dossiers[0], make_pool_member(call, user=both).user)
    login_as(both)
    page = client.get(f"/porteur/dossiers/{dossiers[0].id}")
    assert page.status_code == 200 and "Décision du comité" not in page.get_data(as_text=True)
    assert client.get(f"/porteur/dossiers/{dossiers[0].id}/lettre-de-decision").status_code == 404
    # Applicants and reviewers never reach the secretariat's pages.
    decision = db.session.scalar(sa.select(Decision).where(Decision.dossier_id == dossiers[0].id))
    for user in (owner, reviewer):
        login_as(user)
        for url in (f"/admin/appels/{call.slug}/notification-des-decisions",
                    f"/admin/appels/{call.slug}/notification-des-decisions/{decision.id}/lettre.pdf",
                    f"/admin/appels/{call.slug}/notification-des-decisions/notifier"):
            assert client.get(url).status_code in (403, 404), url
        assert client.post(f"/admin/appels/{call.slug}/notification-des-decisions/notifier").status_code in (403, 404)


def test_only_a_deliberating_call_notifies(db, client, login_as, admin_user, decided):
    call, dossiers, _coeditor = decided
    call.status = CallStatus.PUBLISHED
    db.session.commit()
    login_as(admin_user)
    response = client.post(f"/admin/appels/{call.slug}/notification-des-decisions/notifier", follow_redirects=True)
    assert "pendant la délibération" in response.get_data(as_text=True)
    assert statuses(db, dossiers) == [DossierStatus.REVIEWED] * 3
    with pytest.raises(DomainError, match="délibération"):
        decision_letters.notify_decisions(call, by=admin_user)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(OutboxEntry.id))) == 0


def test_a_crash_after_the_commit_and_a_failing_letter_job_resume_to_one_mail_each(
        db, admin_user, decided, worker, smtp, monkeypatch):
    call, dossiers, _coeditor = decided
    notified = decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    assert len(notified) == 3
    # The process died here: committed, never dispatched. Nothing is queued, nothing is lost.
    assert worker() == 0 and smtp.wait_for(1, timeout=0.3) == []
    pending = db.session.scalars(sa.select(OutboxEntry).where(OutboxEntry.task == "issue_decision_letter")).all()
    assert len(pending) == 3
    # The next tick dispatches them; the letter cannot be rendered this time (a failing try).
    real = decision_letters.render_letter_pdf

    def broken(*args, **kwargs):
        raise RuntimeError("WeasyPrint est tombé")

    monkeypatch.setattr(decision_letters, "render_letter_pdf", broken)
    jobs.dispatch_outbox()
    worker()
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert all(d.letter_sha256 is None for d in db.session.scalars(sa.select(Decision)))
    # Back on its feet: RQ's retries run, every letter is stored once and every person mailed once.
    monkeypatch.setattr(decision_letters, "render_letter_pdf", real)
    run_due_retries()
    worker()
    assert len(smtp.wait_for(4)) == 4
    db.session.expire_all()
    assert all(len(d.letter_sha256) == 64 for d in db.session.scalars(sa.select(Decision)))
    # A second notification, a replayed letter job: nothing more.
    assert decision_letters.notify_decisions(call, by=admin_user) == []
    for decision in db.session.scalars(sa.select(Decision)):
        assert decision_letters.issue_letter(decision.id) == "issued"
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 4
    assert len(smtp.wait_for(5, timeout=0.5)) == 4
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "decision.letter_stored")) == 3  # each letter stored (and fingerprinted) once
    # A try that stored the letter and died before its commit: the next one fingerprints the stored file,
    # it does not render another.
    decision = db.session.scalars(sa.select(Decision)).first()
    fingerprint, decision.letter_sha256 = decision.letter_sha256, None
    db.session.commit()
    monkeypatch.setattr(decision_letters, "render_letter_pdf", broken)
    assert decision_letters.issue_letter(decision.id) == "issued"
    assert decision.letter_sha256 == fingerprint


def test_a_withdrawn_dossier_is_not_notified(db, admin_user, decided):
    from ptce_aap.services.dossiers import set_dossier_status

    call, dossiers, _coeditor = decided
    set_dossier_status(dossiers[2], DossierStatus.WITHDRAWN, by=None)
    db.session.commit()
    pending, done, blocked = decision_letters.overview(call)
    assert [d.dossier_id for d in blocked] == [dossiers[2].id] and len(pending) == 2 and done == []
    assert len(decision_letters.notify_decisions(call, by=admin_user)) == 2
    db.session.commit()
    assert statuses(db, dossiers)[2] == DossierStatus.WITHDRAWN


def test_the_signatory_is_a_call_setting(db, make_call, admin_user):
    from ptce_aap.domain.call_settings import settings_problems
    from ptce_aap.services import calls as call_service

    call = make_call(status=CallStatus.DRAFT)
    values = call_service.call_values(call)
    assert (values["signatory_name"], values["signatory_title"]) == ("", "")
    call_service.update_call(call, {"signatory_name": "Camille Durand", "signatory_title": "La directrice"},
                             by=admin_user)
    db.session.commit()
    assert (call.signatory_name, call.signatory_title) == ("Camille Durand", "La directrice")
    problems = settings_problems({**values, "signatory_name": "x" * 201, "signatory_title": "deux\nlignes"})
    assert set(problems) >= {"signatory_name", "signatory_title"}


def test_the_notification_page_counts_its_queries_whatever_the_number_of_decisions(
        db, client, login_as, admin_user, make_call, make_reviewed_dossier):
    from tests.integration.test_query_counts import assert_same, queries_for

    call = make_call(envelope_eur=Decimal("900000"), max_amount_eur=Decimal("100000"))

    def add(n: int) -> None:
        dossiers = [make_reviewed_dossier(call=call, pole_name=f"Pôle {i}") for i in range(n)]
        call.status = CallStatus.DELIBERATION
        db.session.commit()
        for i, dossier in enumerate(dossiers):
            decide(dossier, LAUREATE if i % 2 else REJECTED, by=admin_user)
        db.session.commit()

    login_as(admin_user)
    url = f"/admin/appels/{call.slug}/notification-des-decisions"
    add(2)
    decision_letters.notify_decisions(call, by=admin_user)  # notified ones and pending ones on the page
    db.session.commit()
    call.status = CallStatus.OPEN  # more reviewed dossiers to come (set-up)
    db.session.commit()
    add(2)
    few = queries_for(client, db, url)
    call.status = CallStatus.OPEN
    db.session.commit()
    add(6)
    many = queries_for(client, db, url)
    assert "8 décisions à notifier" in client.get(url).get_data(as_text=True)
    assert_same(few, many)


def test_two_presses_at_once_notify_each_decision_once(_app, db, client, login_as, admin_user, decided, worker, smtp):
    from tests.integration._race import race

    call, dossiers, _coeditor = decided
    login_as(admin_user)
    codes = race(_app, client, 3, f"/admin/appels/{call.slug}/notification-des-decisions/notifier")
    assert codes == [302, 302, 302]
    assert statuses(db, dossiers) == [DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED]
    transitions = db.session.scalar(sa.text("SELECT count(*) FROM dossier_transitions WHERE to_status IN "
                                            "('laureate', 'waitlisted', 'rejected')"))
    assert transitions == 3
    assert db.session.scalar(sa.select(sa.func.count(OutboxEntry.id)).where(
        OutboxEntry.task == "issue_decision_letter")) == 3
    worker()
    worker()
    assert len(smtp.wait_for(5, timeout=1)) == 4


def test_a_waitlisted_pole_promoted_later_gets_a_second_letter(db, admin_user, decided, worker, smtp):
    call, dossiers, _coeditor = decided
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    worker()
    assert len(smtp.wait_for(4)) == 4
    smtp.clear()
    decide(dossiers[1], DecisionInput(**{**LAUREATE.__dict__, "amount_eur": Decimal("20000"), "tranches": [],
                                         "payment_terms": PaymentTerms.SINGLE,
                                         "correction_reason": "Désistement d'un lauréat."}), by=admin_user)
    db.session.commit()
    pending, done, _blocked = decision_letters.overview(call)
    assert [d.dossier_id for d in pending] == [dossiers[1].id] and len(done) == 2
    assert len(decision_letters.notify_decisions(call, by=admin_user)) == 1
    db.session.commit()
    assert statuses(db, dossiers)[1] == DossierStatus.LAUREATE
    jobs.dispatch_outbox()
    worker()
    worker()
    mails = smtp.wait_for(2, timeout=1)
    assert len(mails) == 1 and squash(format_amount(Decimal("20000"))) in squash(pdf_text(
        next(p for p in mails[0].iter_attachments() if p.get_content_type() == "application/pdf").get_content()))


def test_a_correction_not_notified_keeps_the_received_letter_and_holds_back_publication(
        db, client, login_as, admin_user, decided, worker):
    from ptce_aap.services.calls import set_call_status

    call, dossiers, _coeditor = decided
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    received = decision_letters.notified_decision(dossiers[1])
    decide(dossiers[1], DecisionInput(**{**LAUREATE.__dict__, "amount_eur": Decimal("20000"), "tranches": [],
                                         "payment_terms": PaymentTerms.SINGLE,
                                         "correction_reason": "Désistement d'un lauréat."}), by=admin_user)
    db.session.commit()
    # The pole still reads the letter it received (the waiting list), not the correction not sent yet.
    assert decision_letters.notified_decision(dossiers[1]).id == received.id
    owner = owners(db, dossiers[1])[0].user
    login_as(owner)
    response = client.get(f"/porteur/dossiers/{dossiers[1].id}/lettre-de-decision")
    assert response.status_code == 302 and "/porteur/" not in response.headers["Location"]  # the stored file
    # The results are not published while the correction waits for « Notifier ».
    with pytest.raises(DomainError, match="1 décision"):
        set_call_status(call, CallStatus.PUBLISHED, by=admin_user)
    db.session.rollback()
    decision_letters.notify_decisions(call, by=admin_user)
    set_call_status(call, CallStatus.PUBLISHED, by=admin_user)
    assert call.status == CallStatus.PUBLISHED


def test_notifier_refuses_decisions_above_the_envelope(db, admin_user, decided):
    call, _dossiers, _coeditor = decided
    call.envelope_eur = Decimal("50000")  # lowered after the decisions (80,000 granted)
    db.session.commit()
    with pytest.raises(DomainError, match="enveloppe"):
        decision_letters.notify_decisions(call, by=admin_user)


def test_the_instruction_list_shows_a_decision_waiting_for_its_notification(
        db, client, login_as, admin_user, decided, worker):
    """Until « Notifier », the dossier's status is still « Instruit »: the list says which decision waits."""
    import re

    call, dossiers, _coeditor = decided
    login_as(admin_user)

    def pending():
        html = client.get(f"/admin/appels/{call.slug}/dossiers").get_data(as_text=True)
        found = {}
        for dossier in dossiers:
            row = html[html.index(f'data-dossier="{dossier.id}"'):]
            row = row[:row.index("</tr>")]
            match = re.search(r"data-pending-decision>([^<]+)<", row)
            found[dossier.pole_name] = match.group(1) if match else None
        return found

    assert pending() == {"Pôle Lauréat": "Décision à notifier : Lauréat",
                         "Pôle Attente": "Décision à notifier : Liste complémentaire",
                         "Pôle Refusé": "Décision à notifier : Non retenu"}
    client.post(f"/admin/appels/{call.slug}/notification-des-decisions/notifier")
    worker()
    assert pending() == {"Pôle Lauréat": None, "Pôle Attente": None, "Pôle Refusé": None}
