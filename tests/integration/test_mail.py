"""Mail notifications end to end: templates, outbox, real RQ worker, real SMTP server (aiosmtpd)."""

from __future__ import annotations

import io
import logging
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from ptce_aap import jobs, mail
from ptce_aap.enums import NotificationStatus, OutboxStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import notifications
from tests.fixtures.services import free_port
from tests.integration.test_jobs import _no_rq_leftovers, config_override, run_due_retries  # noqa: F401

# One sample context per email: every variable the template needs, nothing more.
CONTEXTS = {
    "verify_email": {"name": "Camille Martin", "link": "/compte/verifier/jeton"},
    "reset_password": {"name": "Camille Martin", "link": "/compte/mot-de-passe/jeton"},
    "invitation": {"inviter": "Jean Dupont", "pole_name": "Pôle Sud Coop", "link": "/porteur/invitation/jeton"},
    "draft_reminder": {"name": "Camille Martin", "call_title": "AAP PTCE 2026", "link": "/porteur/dossiers/3",
                       "deadline_text": "15 mars 2026 à 12 h", "days_left": 7},
    "submission_receipt": {"name": "Camille Martin", "pole_name": "Pôle Sud Coop",
                           "receipt_number": "PTCE-2026-0042", "submitted_at_text": "3 mars 2026 à 10 h 12",
                           "link": "/porteur/dossiers/3"},
    "eligibility_result": {"name": "Camille Martin", "pole_name": "Pôle Sud Coop", "verdict_text": "non éligible",
                           "failed": [{"message": "Le pôle compte moins de deux entreprises."},
                                      {"message": "Aucune structure de l'ESS n'est membre."}],
                           "link": "/porteur/dossiers/3"},
    "reviewer_assignment": {"name": "Alex Lefèvre", "count": 3, "call_title": "AAP PTCE 2026",
                            "dossiers": ["Pôle Sud Coop", "Pôle Nord", "Coop du Val"],
                            "due_text": "30 avril 2026", "link": "/rapporteur/"},
    "assignment_declined": {"name": "Camille Admin", "reviewer": "Alex Lefèvre", "pole_name": "Pôle Sud Coop",
                            "call_title": "AAP PTCE 2026", "conflict": True, "reason": "J'ai conseillé ce pôle.",
                            "suggestion": ["Louis Martin"], "link": "/admin/appels/aap-ptce-2026/affectations"},
    "assignment_conflict": {"name": "Camille Admin", "reviewer": "Alex Lefèvre", "pole_name": "Pôle Sud Coop",
                            "call_title": "AAP PTCE 2026", "reason": "J'ai conseillé ce pôle.",
                            "suggestion": ["Louis Martin"], "link": "/admin/appels/aap-ptce-2026/affectations"},
    "review_reminder": {"name": "Alex Lefèvre", "count": 1, "due_text": "30 avril 2026", "link": "/rapporteur/"},
    "review_reopened": {"name": "Alex Lefèvre", "pole_name": "Pôle Sud Coop", "call_title": "AAP PTCE 2026",
                        "reason": "La note 5 n'est pas motivée.", "link": "/rapporteur/dossiers/3/evaluation"},
    "decision": {"name": "Camille Martin", "pole_name": "Pôle Sud Coop", "outcome_text": "lauréat",
                 "amount_text": "50 000 €", "motivation": "Projet solide.\nBon ancrage territorial.",
                 "link": "/porteur/dossiers/3"},
    "publication": {"name": "Camille Martin", "call_title": "AAP PTCE 2026", "link": "/appels/aap-ptce-2026/resultats"},
    "reviewer_invitation": {"name": "Alex Lefèvre", "call_title": "AAP PTCE 2026", "inviter": "Camille Admin",
                            "secretariat": "Ministère de l'Économie", "days": 14,
                            "link": "/compte/invitation-rapporteur/jeton", "forgot_link": "/compte/mot-de-passe-oublie",
                            "conflicts_link": "/rapporteur/appels/aap-ptce-2026/conflits"},
    "reviewer_added": {"name": "Alex Lefèvre", "call_title": "AAP PTCE 2026", "link": "/rapporteur/",
                       "conflicts_link": "/rapporteur/appels/aap-ptce-2026/conflits"},
    "deadline_moved": {"name": "Camille Martin", "call_title": "AAP PTCE 2026", "pole_name": "Pôle Sud Coop",
                       "deadline_text": "15 mars 2026 à 12 h", "previous_text": "1 mars 2026 à 12 h", "later": True,
                       "link": "/porteur/dossiers/3"},
}

SUBJECTS = {
    "verify_email": "Confirmez votre adresse électronique",
    "reset_password": "Réinitialisation de votre mot de passe",
    "invitation": "Jean Dupont vous invite à rédiger la candidature de «\u00a0Pôle Sud Coop\u00a0»",
    "draft_reminder": "Plus que 7 jours pour déposer votre candidature à «\u00a0AAP PTCE 2026\u00a0»",
    "submission_receipt": "Accusé de réception de votre candidature n°\u00a0PTCE-2026-0042",
    "eligibility_result": "Résultat de l'examen d'éligibilité — Pôle Sud Coop",
    "reviewer_assignment": "3 dossiers à évaluer — AAP PTCE 2026",
    "assignment_declined": "Alex Lefèvre a décliné le dossier «\u00a0Pôle Sud Coop\u00a0»",
    "assignment_conflict": "Alex Lefèvre a déclaré un conflit d'intérêts sur le dossier «\u00a0Pôle Sud Coop\u00a0»",
    "review_reminder": "Rappel\u00a0: 1 évaluation à rendre avant le 30 avril 2026",
    "review_reopened": "Votre évaluation de «\u00a0Pôle Sud Coop\u00a0» est rouverte",
    "decision": "Décision sur la candidature de «\u00a0Pôle Sud Coop\u00a0»",
    "publication": "Résultats publiés — AAP PTCE 2026",
    "reviewer_invitation": "Vous êtes invité(e) comme rapporteur\u00a0: «\u00a0AAP PTCE 2026\u00a0»",
    "reviewer_added": "Vous êtes rapporteur pour «\u00a0AAP PTCE 2026\u00a0»",
    "deadline_moved": "Nouvelle date limite de dépôt pour «\u00a0AAP PTCE 2026\u00a0»",
}

FOOTER = "Ce message automatique vous a été envoyé par la plateforme de l'appel à projets PTCE"


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def reload(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def outbox_rows(db):
    return db.session.scalars(sa.select(OutboxEntry).order_by(OutboxEntry.id)).all()


# --- Templates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_email_renders_in_french_with_text_html_and_footer(app, template):
    subject, text, html = mail.render_email(template, CONTEXTS[template], recipient="camille@example.org")

    assert subject == SUBJECTS[template]
    link = "http://localhost" + CONTEXTS[template]["link"]  # paths made absolute with PUBLIC_BASE_URL
    assert link in text
    assert f'href="{link}"' in html
    assert FOOTER in text
    assert "Merci de ne pas y répondre" in text
    assert FOOTER in html
    assert html.startswith("<!doctype html>\n<html lang=\"fr\">")
    assert "{{" not in text + html and "\n\n\n" not in text


def test_email_variants_follow_the_context(app):
    _, text, _ = mail.render_email("draft_reminder", {**CONTEXTS["draft_reminder"], "days_left": 1})
    subject, _, _ = mail.render_email("draft_reminder", {**CONTEXTS["draft_reminder"], "days_left": 1})
    assert subject.startswith("Plus qu'un jour pour déposer")
    _, text, html = mail.render_email("eligibility_result", CONTEXTS["eligibility_result"])
    assert "- Le pôle compte moins de deux entreprises.\n- Aucune structure de l'ESS n'est membre." in text
    assert "<li>Le pôle compte moins de deux entreprises.</li>" in html
    _, text, _ = mail.render_email("eligibility_result", {**CONTEXTS["eligibility_result"], "failed": []})
    assert "ne sont pas satisfaits" not in text
    _, text, _ = mail.render_email("decision", {**CONTEXTS["decision"], "outcome_text": "non retenu",
                                                "amount_text": "", "motivation": ""})
    assert "Décision\u00a0: non retenu" in text
    assert "Montant" not in text and "Motivation" not in text
    subject, text, _ = mail.render_email("reviewer_assignment", {**CONTEXTS["reviewer_assignment"], "count": 1})
    assert subject == "1 dossier à évaluer — AAP PTCE 2026"
    assert "1 dossier vous a été attribué pour évaluation" in text
    _, text, html = mail.render_email("reviewer_assignment", CONTEXTS["reviewer_assignment"])
    assert "\n- Pôle Sud Coop\n- Pôle Nord\n- Coop du Val\n" in text and "<li>Pôle Nord</li>" in html
    assert "avant le 30 avril 2026" in text
    _, text, _ = mail.render_email("reviewer_assignment", {**CONTEXTS["reviewer_assignment"], "due_text": ""})
    assert "avant le" not in text
    _, text, html = mail.render_email("assignment_declined", CONTEXTS["assignment_declined"])
    assert "pour un conflit d'intérêts" in text and "Remplacement suggéré\u00a0: Louis Martin." in text
    _, text, _ = mail.render_email("assignment_declined", {**CONTEXTS["assignment_declined"], "conflict": False,
                                                           "suggestion": []})
    assert "conflit" not in text and "Aucun rapporteur disponible" in text
    _, text, html = mail.render_email("reviewer_invitation", CONTEXTS["reviewer_invitation"])
    assert ("Camille Admin, pour le secrétariat de l'appel à projets « AAP PTCE 2026 » (Ministère de "
            "l'Économie), vous a ajouté(e)") in text
    assert "il est valable 14 jours" in text and "demandez au secrétariat de vous renvoyer l'invitation" in text
    assert "une heure" not in text and "reinitialiser" not in text + html
    _, text, _ = mail.render_email("reviewer_invitation", {**CONTEXTS["reviewer_invitation"], "inviter": "",
                                                           "secretariat": "", "days": 1})
    assert "Le secrétariat de l'appel à projets « AAP PTCE 2026 » vous a ajouté(e)" in text
    assert "il est valable 1 jour." in text


def test_user_content_is_escaped_in_html_and_subject_stays_on_one_line(app):
    context = {**CONTEXTS["invitation"], "inviter": "<script>alert(1)</script>", "pole_name": "Pôle\r\nBcc: x@y"}
    subject, text, html = mail.render_email("invitation", context)

    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\n" not in subject and "\r" not in subject
    assert "<script>alert(1)</script>" in text  # plain text is not HTML: shown as typed


def test_missing_context_variable_is_an_error_not_a_blank(app):
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        mail.render_email("verify_email", {"name": "Camille"})


# --- notify → outbox → worker → SMTP ------------------------------------------------------------

def test_notification_is_sent_once_by_the_worker(app, db, smtp, worker, applicant):
    notification = notifications.notify("camille@example.org", "submission_receipt",
                                        CONTEXTS["submission_receipt"], dedupe_key="receipt:3", user=applicant)
    assert notification.id is not None
    assert [row.task for row in outbox_rows(db)] == ["send_notification"]  # same transaction
    db.session.commit()

    jobs.dispatch_outbox()
    worker()

    messages = smtp.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "camille@example.org"
    assert message["Subject"] == mail.header_text(SUBJECTS["submission_receipt"])  # plain spaces in headers
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Message-ID"].endswith("@ptce.example.gouv.fr>")
    assert message["Date"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "Nous avons bien reçu la candidature du pôle «\u00a0Pôle Sud Coop\u00a0»" in text
    assert "Numéro de récépissé\u00a0: PTCE-2026-0042" in text
    assert "<strong>PTCE-2026-0042</strong>" in html
    assert FOOTER in text

    notification = reload(db, notification)
    assert (notification.status, notification.attempts, notification.last_error) == (NotificationStatus.SENT, 1, "")
    assert notification.sent_at is not None and notification.user_id == applicant.id
    assert [row.status for row in outbox_rows(db)] == [OutboxStatus.DONE]


def test_notify_twice_with_the_same_key_queues_and_sends_one_mail(app, db, smtp, worker):
    first = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                 dedupe_key="verify:1")
    second = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                  dedupe_key="verify:1")
    db.session.commit()
    third = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                 dedupe_key="verify:1")
    db.session.commit()

    assert first.id == second.id == third.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    assert len(outbox_rows(db)) == 1
    jobs.dispatch_outbox()
    worker()
    smtp.wait_for(2, timeout=0.5)
    assert len(smtp.to("camille@example.org")) == 1


def test_running_the_same_job_again_sends_no_second_mail(app, db, smtp, worker):
    notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                        dedupe_key="verify:2")
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    entry = outbox_rows(db)[0]

    assert jobs.run_outbox_entry(entry.id) == "already done"
    # Even if the row had not been marked done (worker killed just after sending), the task is a no-op.
    db.session.execute(sa.update(OutboxEntry).values(status=OutboxStatus.ENQUEUED))
    db.session.commit()
    assert jobs.run_outbox_entry(entry.id) == "done"
    assert notifications.deliver(notification.id) == "already sent"

    smtp.wait_for(2, timeout=0.5)
    assert len(smtp.messages) == 1
    assert reload(db, notification).attempts == 1


def test_notification_locked_by_another_worker_is_skipped(app, db, smtp):
    """Two workers on the same notification: the second skips the row the first holds."""
    notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                        dedupe_key="verify:3")
    db.session.commit()

    with db.engine.connect() as other_worker:
        other_worker.execute(sa.select(Notification.id).where(Notification.id == notification.id)
                             .with_for_update())
        assert notifications.deliver(notification.id) == "busy"
        db.session.commit()
        other_worker.rollback()

    assert reload(db, notification).attempts == 0
    assert smtp.messages == []
    assert notifications.deliver(notification.id) == "sent"
    assert len(smtp.wait_for(1)) == 1


def test_notify_refuses_a_context_that_is_not_json(app, db):
    from datetime import date

    with pytest.raises(TypeError):
        notifications.notify("camille@example.org", "draft_reminder",
                             {**CONTEXTS["draft_reminder"], "deadline_text": date(2026, 3, 15)}, dedupe_key="x")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


# --- SMTP failures, retries, giving up, resending -----------------------------------------------

def test_smtp_down_keeps_the_notification_pending_then_sends_it_once_when_back(app, db, smtp, worker):
    with config_override(app, MAIL_PORT=free_port()):  # nothing listens there: connection refused
        notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                            dedupe_key="verify:4")
        db.session.commit()
        jobs.dispatch_outbox()
        worker()

        notification = reload(db, notification)
        assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 1)
        assert notification.last_error.startswith("ConnectionRefusedError")
        entry = outbox_rows(db)[0]
        assert (entry.status, entry.attempts) == (OutboxStatus.ENQUEUED, 1)
        assert entry.last_error.startswith("ConnectionRefusedError")
        assert jobs.get_queue().scheduled_job_registry.get_job_ids() == [jobs.job_id(entry)]

    run_due_retries()  # the SMTP server is back: RQ's retry sends it

    assert len(smtp.wait_for(1)) == 1
    notification = reload(db, notification)
    assert (notification.status, notification.attempts, notification.last_error) == (NotificationStatus.SENT, 2, "")
    assert [(row.status, row.attempts) for row in outbox_rows(db)] == [(OutboxStatus.DONE, 2)]
    run_due_retries()
    smtp.wait_for(2, timeout=0.5)
    assert len(smtp.messages) == 1


def test_notification_fails_after_max_attempts_and_can_be_resent(app, db, smtp, worker, make_user):
    admin = make_user("admin@example.org", roles=(Role.ADMIN,))
    with config_override(app, MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=2):
        notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                            dedupe_key="verify:5")
        db.session.commit()
        jobs.dispatch_outbox()
        worker()
        run_due_retries()

    notification = reload(db, notification)
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 2)
    assert notification.last_error.startswith("ConnectionRefusedError")
    entry = outbox_rows(db)[0]
    assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, 2)
    assert jobs.get_queue().scheduled_job_registry.get_job_ids() == []  # no more RQ retries
    assert smtp.messages == []

    notifications.retry_failed_notification(notification.id, by=admin)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()

    assert len(smtp.wait_for(1)) == 1
    notification = reload(db, notification)
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert [row.status for row in outbox_rows(db)] == [OutboxStatus.FAILED, OutboxStatus.DONE]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "notification.retried"))
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "notifications", str(notification.id))
    assert event.summary["before"]["status"] == "failed"
    with pytest.raises(DomainError):
        notifications.retry_failed_notification(notification.id, by=admin)  # sent: nothing to resend


# --- Attachments --------------------------------------------------------------------------------

def test_attachments_from_storage_and_from_a_generator(app, db, smtp, worker):
    from ptce_aap.storage import get_storage

    storage = get_storage()
    pdf = b"%PDF-1.4\n% recepisse de test\n"
    storage.put("tests/mail/recepisse.pdf", io.BytesIO(pdf), content_type="application/pdf")
    try:
        notifications.notify(
            "camille@example.org", "submission_receipt", CONTEXTS["submission_receipt"], dedupe_key="receipt:9",
            attachments=[
                {"filename": "récépissé-PTCE-2026-0042.pdf", "mime": "application/pdf",
                 "storage_key": "tests/mail/recepisse.pdf"},
                {"filename": "empreintes.txt", "mime": "text/plain", "generator": "ptce_aap.mail.text_bytes",
                 "kwargs": {"text": "statuts.pdf sha256 0123abcd"}},
            ])
        db.session.commit()
        jobs.dispatch_outbox()
        worker()
    finally:
        storage.delete("tests/mail/recepisse.pdf")

    message = smtp.wait_for(1)[0]
    assert message.get_content_type() == "multipart/mixed"
    attached = {part.get_filename(): (part.get_content_type(), part.get_content())
                for part in message.iter_attachments()}
    assert attached == {"récépissé-PTCE-2026-0042.pdf": ("application/pdf", pdf),
                        "empreintes.txt": ("text/plain", "statuts.pdf sha256 0123abcd")}
    text, _ = parts(message)
    assert "Pièces jointes\u00a0: récépissé-PTCE-2026-0042.pdf, empreintes.txt" in text


def test_attachment_generator_outside_the_app_is_refused(app):
    with pytest.raises(ValueError):
        mail.load_attachment({"filename": "x", "mime": "text/plain", "generator": "os.getcwd"})


# --- Embedded default: no SMTP server, no Redis -------------------------------------------------

@pytest.fixture
def embedded_app(app, tmp_path):
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    embedded = create_app({"REDIS_URL": None, "MAIL_SERVER": None, "MAIL_OUTBOX_DIR": str(tmp_path / "mail")})
    with embedded.app_context():
        yield embedded
        db.session.remove()
        db.engine.dispose()


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_embedded_mode_writes_an_eml_file_and_logs_where(embedded_app, db, tmp_path):
    handler = _ListHandler()
    logger = logging.getLogger("ptce_aap.mail")
    was_disabled, logger.disabled = logger.disabled, False  # alembic's fileConfig disables it in tests
    logger.addHandler(handler)
    try:
        notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                            dedupe_key="verify:6")
        db.session.commit()
        assert jobs.dispatch_outbox() == 1  # inline: sent at once
    finally:
        logger.removeHandler(handler)
        logger.disabled = was_disabled

    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and files[0].name.endswith(".eml") and "verify_email" in files[0].name
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "camille@example.org"
    assert message["Subject"] == mail.header_text(SUBJECTS["verify_email"])
    text, _ = parts(message)
    assert "Bonjour Camille Martin,\n\nVous venez de créer un compte" in text
    assert "\nhttp://localhost/compte/verifier/jeton\n" in text
    logged = [record.getMessage() for record in handler.records]
    assert len(logged) == 1
    assert str(files[0]) in logged[0] and SUBJECTS["verify_email"] in logged[0]
    assert "lien : http://localhost/compte/verifier/jeton" in logged[0]
    assert reload(db, notification).status == NotificationStatus.SENT


def test_embedded_mode_with_smtp_down_retries_at_the_next_tick(embedded_app, db, smtp):
    from datetime import UTC, datetime, timedelta

    with config_override(embedded_app, MAIL_SERVER=smtp.host, MAIL_PORT=free_port()):
        notification = notifications.notify("camille@example.org", "verify_email", CONTEXTS["verify_email"],
                                            dedupe_key="verify:7")
        db.session.commit()
        jobs.dispatch_outbox()
    notification = reload(db, notification)
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 1)
    assert outbox_rows(db)[0].status == OutboxStatus.PENDING

    db.session.execute(sa.update(OutboxEntry).values(enqueued_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.commit()
    with config_override(embedded_app, MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port):
        result = embedded_app.test_cli_runner().invoke(args=["ptce", "tick"])
    assert result.exit_code == 0, result.output
    assert len(smtp.wait_for(1)) == 1
    assert reload(db, notification).status == NotificationStatus.SENT


def test_pending_notification_left_without_a_job_is_sent_by_the_tick(app, db, smtp, worker):
    """A sender that found the row busy finished its job; the holder of the lock died before sending."""
    from datetime import timedelta

    import sqlalchemy as sa

    from ptce_aap.enums import NotificationStatus, OutboxStatus
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.outbox import Notification, OutboxEntry
    from ptce_aap.services.notifications import notify, reschedule_orphans

    notification = notify("orphelin@example.org", "publication", {"name": "Zoé", "call_title": "AAP",
                                                                   "link": "/appels"}, dedupe_key="orphan-test")
    db.session.commit()
    db.session.execute(sa.update(OutboxEntry).values(status=OutboxStatus.DONE))
    notification.created_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert reschedule_orphans() == 1
    db.session.commit()
    assert reschedule_orphans() == 0  # its new job is waiting: nothing more
    from ptce_aap import jobs

    jobs.dispatch_outbox()
    worker()
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).status == NotificationStatus.SENT
    assert [m["To"] for m in smtp.wait_for(1)] == ["orphelin@example.org"]


def test_a_subject_with_no_break_spaces_arrives_with_every_space(app, db, smtp, worker):
    """Python's header folding dropped the space next to a no-break space between two encoded words
    (« Pôle Lauréat » arrived as "PôleLauréat"): headers carry plain spaces."""
    context = dict(CONTEXTS["decision"], pole_name="Pôle Lauréat des Monts d'Ardèche")
    notifications.notify("camille@example.org", "decision", context, dedupe_key="decision:nbsp")
    db.session.commit()
    jobs.dispatch_outbox()
    worker()
    message, = smtp.wait_for(1)
    assert message["Subject"] == "Décision sur la candidature de « Pôle Lauréat des Monts d'Ardèche »"
