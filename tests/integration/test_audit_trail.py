"""The audit trail, walked: every state-changing service writes its audit row, and exactly that row
(actor, action, object, before/after summary, IP when in a request) — issue 8.

The last test lists every action string given to ``audit.record`` in ``ptce_aap`` and fails when one is
not asserted here (``expect("…")``): a new audited action needs its line in this walk."""

import ast
import hashlib
import io
import re
import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from ptce_aap import tokens
from ptce_aap.clamd import ScanResult
from ptce_aap.enums import (
    AttachmentStatus,
    CallStatus,
    NotificationStatus,
    Role,
    ScanStatus,
)
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment
from ptce_aap.models.outbox import Notification
from ptce_aap.services import accounts, attachment_processing, calls, coeditors, eligibility, submission
from ptce_aap.services import attachments as attachment_service
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.services.notifications import retry_failed_notification
from ptce_aap.storage import get_storage

IP = "198.51.100.23"
PACKAGE = Path(__file__).resolve().parents[2] / "ptce_aap"


class Trail:
    def __init__(self, app, db):
        self.app, self.db, self.since = app, db, 0

    @contextmanager
    def request(self):
        """A request from ``IP``; what the block did is committed at its end."""
        with self.app.test_request_context(environ_base={"REMOTE_ADDR": IP}):
            self.mark()
            yield
            self.db.session.commit()

    def mark(self):
        self.since = self.db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0

    def expect(self, action, obj, *, actor, ip=IP, summary=None, object_type=None):
        """The one new event of ``action``, on ``obj`` by ``actor``; ``summary`` (if given) exactly."""
        events = self.db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.id > self.since, AuditEvent.action == action)).all()
        assert len(events) == 1, (action, [e.action for e in events])
        event = events[0]
        assert event.actor_id == getattr(actor, "id", None), action
        assert event.object_type == (object_type or type(obj).__tablename__), action
        assert event.object_id == str(obj.id), action
        assert event.ip == ip, action
        if summary is not None:
            assert event.summary == summary, (action, event.summary)
        return event


@pytest.fixture
def trail(app, db):
    return Trail(app, db)


def expect(trail, action, obj, **kw):
    return trail.expect(action, obj, **kw)


# --- dossiers -------------------------------------------------------------------------------------------

def test_dossier_start_save_rows_submit_withdraw(trail, db, make_call, applicant):
    call = make_call()
    with trail.request():
        dossier = dossier_service.start_dossier(call, pole_name="Pôle audité", by=applicant)
    expect(trail, "pole.created", dossier.pole, actor=applicant, summary={"after": {"name": "Pôle audité"}})
    expect(trail, "dossier.created", dossier, actor=applicant,
           summary={"after": {"call": call.slug, "pole": "Pôle audité"}})
    expect(trail, "dossier.status_changed", dossier, actor=applicant,
           summary={"before": {"status": None}, "after": {"status": "draft"}, "reason": ""})

    with trail.request():
        dossier_service.save_fields(dossier, {"summary": "Un résumé"}, by=applicant, expected_version=None)
    expect(trail, "dossier.updated", dossier, actor=applicant,
           summary={"fields": ["summary"], "before": {"summary": ""}, "after": {"summary": "Un résumé"}})
    with trail.request():
        dossier_service.replace_members(dossier, [{"name": "Coop"}], by=applicant, expected_version=None)
    expect(trail, "dossier.updated", dossier, actor=applicant,
           summary={"fields": ["members"], "before": {"members": 0}, "after": {"members": 1}})
    with trail.request():
        dossier_service.replace_financing_lines(dossier, [{"kind": "expense", "label": "Poste", "amount_eur": "10"}],
                                                by=applicant, expected_version=None)
    expect(trail, "dossier.updated", dossier, actor=applicant,
           summary={"fields": ["financing_lines"], "before": {}, "after": {"lines": 1}})


def test_submit_and_withdraw(trail, db, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True)
    with trail.request():
        submission.submit_dossier(dossier, by=applicant, now=utcnow())
    event = expect(trail, "dossier.status_changed", dossier, actor=applicant)
    assert event.summary == {"before": {"status": "draft"},
                             "after": {"status": "submitted", "receipt": dossier.receipt_number}, "reason": ""}
    with trail.request():
        submission.withdraw_dossier(dossier, by=applicant, reason="  Plus de projet  ")
    expect(trail, "dossier.status_changed", dossier, actor=applicant,
           summary={"before": {"status": "submitted"}, "after": {"status": "withdrawn"}, "reason": "Plus de projet"})


def test_messages_requests_answers_and_closing(trail, db, make_dossier, applicant, admin_user):
    from ptce_aap.services import messages

    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    due_on = (utcnow() + timedelta(days=10)).date().isoformat()
    with trail.request():
        message = messages.send_message(dossier, body="Bonjour, une question.", by=admin_user)
    expect(trail, "dossier.message_sent", dossier, actor=admin_user, summary={"after": {"message": message.id}})
    with trail.request():
        reply = messages.reply_to_message(message, body="Voici la réponse.", by=applicant, now=utcnow())
    expect(trail, "dossier.message_answered", dossier, actor=applicant,
           summary={"before": {"message": message.id}, "after": {"answer": reply.id}})
    with trail.request():
        request = messages.request_complements(dossier, body="Précisez le projet.", sections=["projet"],
                                               document_types=[], due_on=due_on, due_time="17:00",
                                               by=admin_user, now=utcnow())
    event = expect(trail, "dossier.complements_requested", dossier, actor=admin_user)
    assert event.summary["after"]["sections"] == ["projet"] and event.summary["after"]["request"] == request.id
    expect(trail, "dossier.status_changed", dossier, actor=admin_user)
    with trail.request():
        answer = messages.answer_request(request, body="C'est précisé.", by=applicant, now=utcnow())
    expect(trail, "dossier.complements_answered", dossier, actor=applicant,
           summary={"before": {"request": request.id}, "after": {"answer": answer.id, "files": []}})
    with trail.request():
        second = messages.request_complements(dossier, body="Encore un point.", sections=["budget"],
                                              document_types=[], due_on=due_on, by=admin_user, now=utcnow())
    with trail.request():
        messages.close_request(second, by=admin_user, now=utcnow())
    expect(trail, "dossier.complements_closed", dossier, actor=admin_user, summary={
        "before": {"request": second.id, "status": "open"}, "after": {"status": "closed"}})


def test_status_change_by_a_job_has_no_actor_nor_ip(trail, db, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True)
    with trail.request():
        submission.submit_dossier(dossier, by=applicant, now=utcnow())
    trail.mark()
    eligibility.run_check(dossier, by=None)  # outside a request: the job
    db.session.commit()
    expect(trail, "dossier.eligibility_checked", dossier, actor=None, ip=None,
           summary={"after": {"is_eligible": True, "failed": []}})
    expect(trail, "dossier.status_changed", dossier, actor=None, ip=None,
           summary={"before": {"status": "submitted"}, "after": {"status": "eligible"},
                    "reason": eligibility.AUTO_REASON})


# --- calls and eligibility ---------------------------------------------------------------------------------

def test_call_creation_status_and_rerun(trail, db, admin_user, make_dossier, applicant):
    now = utcnow().replace(microsecond=0)
    with trail.request():
        call = calls.create_call(slug="appel-audite", title="Appel audité", opens_at=now + timedelta(days=1),
                                 closes_at=now + timedelta(days=30), envelope_eur=1000, max_amount_eur=100,
                                 status=CallStatus.DRAFT, awarding_body_siret="11000201100044",
                                 awarding_body_name="Ministère", by=admin_user)
    expect(trail, "call.created", call, actor=admin_user,
           summary={"after": {"slug": "appel-audite", "status": "draft"}})
    with trail.request():
        calls.set_call_status(call, CallStatus.OPEN, by=admin_user)
    expect(trail, "call.status_changed", call, actor=admin_user,
           summary={"before": {"status": "draft"}, "after": {"status": "open"}})

    dossier = make_dossier(owner=applicant, complete=True)
    with trail.request():
        submission.submit_dossier(dossier, by=applicant, now=utcnow())
    with trail.request():
        run = eligibility.rerun_for_call(dossier.call, by=admin_user)
    expect(trail, "call.eligibility_rerun", dossier.call, actor=admin_user,
           summary={"after": {"job_run": run.id, "total": 1}})
    with trail.request():
        eligibility.run_check(dossier, by=admin_user)
    expect(trail, "dossier.eligibility_checked", dossier, actor=admin_user,
           summary={"after": {"is_eligible": True, "failed": []}})
    with trail.request():
        eligibility.override(dossier, is_eligible=False, reason=" Pièce fausse ", by=admin_user)
    expect(trail, "dossier.eligibility_overridden", dossier, actor=admin_user,
           summary={"before": {"status": "eligible", "is_eligible": True},
                    "after": {"status": "ineligible", "is_eligible": False}, "reason": "Pièce fausse"})
    expect(trail, "dossier.status_changed", dossier, actor=admin_user,
           summary={"before": {"status": "eligible"}, "after": {"status": "ineligible"}, "reason": "Pièce fausse"})


def test_instruction_exports_and_documents_archive(trail, db, admin_user, make_dossier, applicant):
    from ptce_aap.services import documents_zip, instruction  # only this step of the walk needs them

    dossier = make_dossier(owner=applicant, complete=True)
    with trail.request():
        submission.submit_dossier(dossier, by=applicant, now=utcnow())
    with trail.request():
        instruction.record_export(dossier.call, count=1, fmt="xlsx", selected=True, by=admin_user)
    expect(trail, "call.dossiers_exported", dossier.call, actor=admin_user,
           summary={"after": {"format": "xlsx", "rows": 1, "selection": True}})
    with trail.request():
        run = documents_zip.start(dossier.call, by=admin_user)
    expect(trail, "call.documents_zip_requested", dossier.call, actor=admin_user,
           summary={"after": {"job_run": run.id, "total": 6}})  # the six documents of a complete dossier


def test_regional_opinion_ranking_and_deadline(trail, db, admin_user, make_call, make_dossier, make_user, applicant):
    from ptce_aap.models.pool import RegionalGroup  # only this step of the walk needs them
    from ptce_aap.services import regional

    call = make_call(has_regional_instruction=True)
    dossier = make_dossier(call=call, owner=applicant, complete=True)
    with trail.request():
        submission.submit_dossier(dossier, by=applicant, now=utcnow())
        eligibility.run_check(dossier)
    group = RegionalGroup(call_id=call.id, region_code=dossier.region_code, name="Groupe ARA")
    db.session.add(group)
    db.session.commit()
    member = make_user(roles=(Role.REVIEWER,))
    with trail.request():
        regional.save_opinion(dossier, group, recommendation="reserve", motivation=" À préciser. ", by=member,
                              now=utcnow())
    opinion = regional.opinions_by_dossier(call)[dossier.id]
    expect(trail, "regional_opinion.saved", opinion, actor=member, summary={
        "dossier_id": dossier.id, "before": {},
        "after": {"status": "submitted", "recommendation": "reserve", "rank": None, "motivation": "À préciser."}})
    with trail.request():
        regional.save_ranking(group, {dossier.id: 1}, by=member, now=utcnow())
    expect(trail, "regional_group.ranking_saved", group, actor=member,
           summary={"before": {}, "after": {str(dossier.id): 1}})
    deadline = call.closes_at + timedelta(days=3)  # after submissions close (the regional deadline's rule)
    with trail.request():
        regional.set_regional_deadline(call, deadline, by=admin_user, now=utcnow())
    expect(trail, "call.regional_deadline_set", call, actor=admin_user,
           summary={"before": None, "after": deadline.isoformat()})
def test_call_settings_deadline_and_copy(trail, db, admin_user, make_call, make_dossier):
    now = utcnow().replace(microsecond=0)
    draft = make_call(status=CallStatus.DRAFT, max_state_share=Decimal("0.5"))
    with trail.request():
        calls.update_call(draft, calls.call_values(draft) | {"title": "Appel renommé",
                                                             "max_state_share": Decimal("0.4")}, by=admin_user)
    event = expect(trail, "call.updated", draft, actor=admin_user)
    assert event.summary["after"] == {"title": "Appel renommé", "max_state_share": "0.4"}
    assert event.summary["before"]["max_state_share"] in {"0.5", "0.5000"}

    open_call = make_call(status=CallStatus.OPEN)
    make_dossier(call=open_call)
    before, after = open_call.closes_at, open_call.closes_at + timedelta(days=3)
    with trail.request():
        calls.move_deadline(open_call, after, by=admin_user)
    expect(trail, "call.deadline_moved", open_call, actor=admin_user,
           summary={"before": {"closes_at": before.isoformat()}, "after": {"closes_at": after.isoformat()}})

    deliberating = make_call(status=CallStatus.DELIBERATION)  # the signatory moves until the results are published
    with trail.request():
        calls.set_signatory(deliberating, "Camille Durand", "La directrice", by=admin_user)
    expect(trail, "call.signatory_changed", deliberating, actor=admin_user, summary={
        "before": {"signatory_name": "", "signatory_title": ""},
        "after": {"signatory_name": "Camille Durand", "signatory_title": "La directrice"}})

    with trail.request():
        copy = calls.duplicate_call(open_call, calls.duplicate_values(open_call) | {
            "opens_at": now + timedelta(days=1), "closes_at": now + timedelta(days=20)}, by=admin_user)
    expect(trail, "call.duplicated", copy, actor=admin_user,
           summary={"before": {"from": open_call.slug}, "after": {"slug": copy.slug}})
    expect(trail, "call.created", copy, actor=admin_user)


def test_notification_retry(trail, db, admin_user, applicant):
    notification = Notification(recipient=applicant.email, template="verify_email", context={},
                                dedupe_key="audit-test", status=NotificationStatus.FAILED, attempts=5,
                                last_error="boom")
    db.session.add(notification)
    db.session.commit()
    with trail.request():
        retry_failed_notification(notification.id, by=admin_user)
    expect(trail, "notification.retried", notification, actor=admin_user,
           summary={"before": {"status": "failed", "attempts": 5, "last_error": "boom"},
                    "after": {"status": "pending"}})


def test_api_token_created_and_revoked(trail, db, admin_user):
    from ptce_aap.services import api_tokens

    with trail.request():
        token, _raw = api_tokens.create(admin_user, days=30, by=admin_user)
    expect(trail, "api_token.create", token, actor=admin_user,
           summary={"after": {"user": admin_user.email, "prefix": token.prefix, "label": "API",
                              "scopes": ["calls:read", "dossiers:read", "decisions:read"],
                              "expires_at": token.expires_at.isoformat()}})
    with trail.request():
        api_tokens.revoke(token, by=admin_user)
    expect(trail, "api_token.revoke", token, actor=admin_user, summary={"before": {"prefix": token.prefix}})


def test_a_file_read_through_the_api_is_audited(trail, db, admin_user, make_dossier):
    from ptce_aap.models.dossiers import Attachment
    from ptce_aap.services import api_tokens

    dossier = make_dossier()
    token, _raw = api_tokens.create(admin_user, days=30, by=admin_user)
    file = Attachment(dossier_id=dossier.id, document_type_code="statuts", filename="statuts.pdf", size=10,
                      sha256="ab" * 32, storage_backend="local", storage_key="k/statuts.pdf")
    db.session.add(file)
    db.session.commit()
    with trail.request():
        api_tokens.record_download(token, file)
    expect(trail, "attachment.downloaded", file, actor=admin_user, summary={"after": {
        "via": "api", "token": token.prefix, "dossier_id": dossier.id, "filename": "statuts.pdf",
        "sha256": "ab" * 32}})


# --- attachments ----------------------------------------------------------------------------------------

def _put(attachment, data=b"%PDF-1.4\n%%EOF\n"):
    get_storage().put(attachment.storage_key, io.BytesIO(data), content_type="application/pdf")


def test_attachment_upload_confirm_process_delete(trail, db, make_dossier, applicant, monkeypatch):
    dossier = make_dossier(owner=applicant)
    with trail.request():
        attachment = attachment_service.start_upload(dossier, document_type_code="statuts", filename="statuts.pdf",
                                                     size=100, content_type="application/pdf", by=applicant)
    event = expect(trail, "attachment.upload_started", attachment, actor=applicant)
    assert event.summary["after"]["filename"] == "statuts.pdf"
    _put(attachment, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with trail.request():
        attachment_service.confirm_upload(attachment, dossier, by=applicant)
    event = expect(trail, "attachment.received", attachment, actor=applicant)
    assert event.summary["after"]["status"] == "processing"
    trail.mark()
    attachment_processing.process_attachment(attachment.id)
    db.session.commit()
    event = expect(trail, "attachment.ready", attachment, actor=None, ip=None)
    assert event.summary["before"]["status"] == "processing" and event.summary["after"]["status"] == "ready"
    before = attachment_service._summary(attachment)
    with trail.request():
        attachment_service.delete_by_user(attachment, dossier, by=applicant)
    event = expect(trail, "attachment.deleted", attachment, actor=applicant)
    assert event.summary["before"] == before


def test_attachment_rejected_quarantined_replaced(trail, db, make_dossier, applicant, monkeypatch):
    dossier = make_dossier(owner=applicant)
    with trail.request():
        first = attachment_service.start_upload(dossier, document_type_code="statuts", filename="a.pdf",
                                                size=100, content_type="application/pdf", by=applicant)
    before = attachment_service._summary(first)
    with trail.request():
        attachment_service.reject(first, "Trop gros", by=applicant)
    expect(trail, "attachment.rejected", first, actor=applicant,
           summary={"before": before, "after": {"status": "rejected", "reason": "Trop gros"}})

    infected = Attachment(dossier_id=dossier.id, document_type_code="statuts", filename="v.pdf",
                          storage_backend=get_storage().name, storage_key=f"dossiers/{dossier.id}/{uuid.uuid4().hex}",
                          status=AttachmentStatus.PROCESSING, scan_status=ScanStatus.PENDING)
    db.session.add(infected)
    db.session.commit()
    result = attachment_processing.Analysis(size=10, sha256=hashlib.sha256(b"x").hexdigest(),
                                            verdict=type("V", (), {"ok": True, "mime": "application/pdf"})(),
                                            page_count=1, scan=ScanResult(infected=True, signature="Eicar"))
    trail.mark()
    attachment_processing._record(infected, result, limit=None, expected="application/pdf", scanned=True)
    db.session.commit()
    event = expect(trail, "attachment.quarantined", infected, actor=None, ip=None)
    assert event.summary["after"]["signature"] == "Eicar" and event.summary["after"]["status"] == "quarantined"

    ready = Attachment(dossier_id=dossier.id, document_type_code="budget", filename="b.pdf",
                       storage_backend=get_storage().name, storage_key=f"dossiers/{dossier.id}/{uuid.uuid4().hex}",
                       status=AttachmentStatus.READY, scan_status=ScanStatus.NOT_SCANNED)
    newer = Attachment(dossier_id=dossier.id, document_type_code="budget", filename="b2.pdf",
                       storage_backend=get_storage().name, storage_key=f"dossiers/{dossier.id}/{uuid.uuid4().hex}",
                       status=AttachmentStatus.READY, scan_status=ScanStatus.NOT_SCANNED)
    db.session.add_all([ready, newer])
    db.session.commit()
    before = attachment_service._summary(ready)
    with trail.request():
        attachment_service.delete_attachment(ready, by=applicant, reason="replaced", replaced_by=newer)
    expect(trail, "attachment.replaced", ready, actor=applicant,
           summary={"before": before, "reason": "replaced", "replaced_by": newer.id})


# --- co-editors -----------------------------------------------------------------------------------------

def test_coeditor_invite_accept_remove_cancel(trail, db, make_dossier, applicant, make_user):
    dossier = make_dossier(owner=applicant)
    pole = dossier.pole
    guest = make_user("invite@exemple.fr")
    with trail.request():
        invitation = coeditors.invite(pole, "Invite@Exemple.fr", by=applicant)
    expect(trail, "pole.coeditor_invited", pole, actor=applicant, summary={"after": {"email": "invite@exemple.fr"}})
    with trail.request():
        coeditors.accept(coeditors.invitation_token(invitation), user=guest)
    expect(trail, "pole.coeditor_joined", pole, actor=guest, summary={"after": {"user": "invite@exemple.fr"}})
    with trail.request():
        coeditors.remove(pole, guest.id, by=applicant)
    expect(trail, "pole.coeditor_removed", pole, actor=applicant, summary={"before": {"user": "invite@exemple.fr"}})
    with trail.request():
        other = coeditors.invite(pole, "autre@exemple.fr", by=applicant)
    with trail.request():
        coeditors.cancel(pole, other.id, by=applicant)
    expect(trail, "pole.invitation_cancelled", pole, actor=applicant, summary={"before": {"email": "autre@exemple.fr"}})


# --- assignments (issue 10) --------------------------------------------------------------------------------

def test_assignment_proposal_manual_remove_decline(trail, db, admin_user, make_call, make_eligible_dossier,
                                                   make_pool_member, make_institution):
    from ptce_aap.models.reviews import Assignment, ConflictOfInterest
    from ptce_aap.services import assignments

    call = make_call()
    first = make_eligible_dossier(call=call, pole_name="Pôle Un")
    make_eligible_dossier(call=call)
    anct, cdc = make_institution("ANCT"), make_institution("CDC")
    a1, c1, c2 = (make_pool_member(call, institution=i, capacity=c) for i, c in ((anct, 2), (cdc, 1), (cdc, 1)))
    with trail.request():
        assignment = assignments.assign(first, a1.user, by=admin_user)
    expect(trail, "assignment.created", assignment, actor=admin_user, summary={"after": {
        "dossier": first.id, "reviewer": a1.user_id, "institution": anct.id, "source": "manual"}})
    with trail.request():
        assignments.unassign(assignment, by=admin_user)
    expect(trail, "assignment.removed", assignment, actor=admin_user, summary={"before": {
        "dossier": first.id, "reviewer": a1.user_id, "institution": anct.id, "status": "assigned"}})
    with trail.request():
        view = assignments.propose(call)
        created = assignments.confirm(call, view.proposal.new, view.fingerprint, by=admin_user)
    assert len(created) == 4
    expect(trail, "assignment.proposal_confirmed", call, actor=admin_user,
           summary={"after": {"created": 4, "reviewers": 3}})
    mine = next(a for a in created if a.reviewer_id == a1.user_id and a.dossier_id == first.id)
    with trail.request():
        assignments.decline(mine, by=a1.user, reason="Ancien salarié du pôle", for_conflict=True)
    expect(trail, "assignment.declined", mine, actor=a1.user, summary={
        "before": {"status": "assigned"}, "after": {"status": "declined_conflict", "reason": "Ancien salarié du pôle"}})
    conflict = db.session.scalar(sa.select(ConflictOfInterest))
    expect(trail, "conflict.declared", conflict, actor=a1.user, summary={"after": {
        "pole": first.pole_id, "dossier": first.id, "reason": "Ancien salarié du pôle", "source": "decline"}})
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 4


# --- accounts ---------------------------------------------------------------------------------------------

PASSWORD = "Un-mot-de-passe-2026!"


def test_accounts(trail, db, admin_user, app):
    with trail.request():
        user = accounts.register_applicant("nouveau@exemple.fr", PASSWORD, full_name="Nouveau Porteur")
    expect(trail, "user.created", user, actor=user,
           summary={"after": {"email": "nouveau@exemple.fr", "roles": ["applicant"]}})
    expect(trail, "user.registered", user, actor=user, summary={"after": {"roles": ["applicant"]}})
    expect(trail, "user.password_changed", user, actor=user)
    # Registered again while nobody confirmed the address: the new credentials replace the old ones.
    with trail.request():
        accounts.register_applicant("nouveau@exemple.fr", PASSWORD + "z", full_name="Autre Porteur")
    expect(trail, "user.registered_again", user, actor=None, summary={"after": {"roles": ["applicant"]}})
    with trail.request():
        accounts.send_account_mail(accounts.MAIL_VERIFY, "nouveau@exemple.fr")
    expect(trail, "user.verification_sent", user, actor=None)
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email,
                                                    "fp": accounts.verification_fingerprint(user)})
    with trail.request():
        accounts.confirm_email(token, PASSWORD + "z")
    expect(trail, "user.email_verified", user, actor=user, summary={"after": {"email": "nouveau@exemple.fr"}})
    # Once confirmed, registering the address again changes nothing (and says nothing to the caller).
    with trail.request():
        accounts.register_applicant("nouveau@exemple.fr", PASSWORD, full_name="Intrus")
    expect(trail, "user.register_existing", user, actor=None)
    with trail.request(), pytest.raises(DomainError):
        accounts.authenticate("nouveau@exemple.fr", "mauvais")
    expect(trail, "user.login_failed", user, actor=None)
    with trail.request():
        accounts.record_login(user)
    expect(trail, "user.logged_in", user, actor=user)
    with trail.request():
        accounts.end_other_sessions(user)
    expect(trail, "user.sessions_ended", user, actor=user)
    with trail.request(), pytest.raises(DomainError):
        accounts.change_password(user, "mauvais", PASSWORD + "w")
    expect(trail, "user.password_change_failed", user, actor=user)
    with trail.request():
        accounts.record_logout(user)
    expect(trail, "user.logged_out", user, actor=user)
    with trail.request():
        accounts.send_account_mail(accounts.MAIL_RESET, "nouveau@exemple.fr")
    expect(trail, "user.password_reset_requested", user, actor=None)
    with trail.request():
        accounts.reset_password(user, PASSWORD + "x")
    expect(trail, "user.password_reset", user, actor=user)
    with trail.request():
        accounts.set_password(user, PASSWORD + "y", by=admin_user)
    expect(trail, "user.password_changed", user, actor=admin_user)
    with trail.request():
        accounts.grant_role(user, Role.REVIEWER, by=admin_user)
    expect(trail, "user.role_granted", user, actor=admin_user, summary={"role": "reviewer"})


# --- reviewer pool and conflicts of interest ------------------------------------------------------------

def test_pool_and_conflicts(trail, db, admin_user, make_call, make_dossier, make_user):
    from ptce_aap.enums import ConflictSource
    from ptce_aap.models.calls import Call
    from ptce_aap.models.reviews import ConflictOfInterest
    from ptce_aap.services import conflicts as conflict_service
    from ptce_aap.services import pool as pool_service

    call = make_call(has_regional_instruction=True)
    owner = make_user("porteur-coi@exemple.fr")
    dossier = make_dossier(call=call, owner=owner, complete=True)
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    with trail.request():
        institution = pool_service.create_institution("ANCT", "state_agency", "732 829 320", by=admin_user)
    expect(trail, "institution.created", institution, actor=admin_user,
           summary={"after": {"name": "ANCT", "kind": "state_agency", "siren": "732829320"}})
    with trail.request():
        group = pool_service.create_regional_group(call, "84", by=admin_user)
    expect(trail, "pool.group_created", group, actor=admin_user, summary={"after": {"call_id": call.id, "region": "84"}})
    settings = pool_service.MemberSettings(institution_id=institution.id, capacity=5)
    with trail.request():
        member = pool_service.invite_reviewer(call, "rapporteur-coi@exemple.fr", full_name="Rita Rapporteur",
                                              settings=settings, by=admin_user)
    state = {"institution_id": institution.id, "capacity": 5, "activity_domains": [], "region_codes": [],
             "regional_group_id": None}
    expect(trail, "pool.member_added", member, actor=admin_user,
           summary={"after": state | {"email": "rapporteur-coi@exemple.fr", "call_id": call.id, "new_account": True}})
    # Its institution is the structure porteuse: detected in the same transaction.
    expect(trail, "conflicts.detected", call, actor=None,
           summary={"added": 1, "removed": 0, "reviewers": [member.user_id]})
    with trail.request():
        pool_service.update_member(member, pool_service.MemberSettings(institution_id=institution.id, capacity=7,
                                                                       regional_group_id=group.id), by=admin_user)
    expect(trail, "pool.member_updated", member, actor=admin_user,
           summary={"before": state, "after": state | {"capacity": 7, "regional_group_id": group.id}})
    from ptce_aap.services import reviewer_invitations

    with trail.request():
        resent = reviewer_invitations.resend_invitation(member, by=admin_user)
    expect(trail, "pool.invitation_resent", member, actor=admin_user,
           summary={"email": "rapporteur-coi@exemple.fr", "call_id": call.id})
    with trail.request():
        reviewer_invitations.accept_invitation(resent.context["link"].rsplit("/", 1)[1], "Rita-Rapporteur-2026!")
    expect(trail, "pool.invitation_accepted", member, actor=member.user, summary={"call_id": call.id})
    reviewer = member.user
    with trail.request():
        declared = conflict_service.add_conflict(call, reviewer, kind="department", value="01", reason="Élue",
                                                 by=reviewer)
    expect(trail, "conflict.declared", declared, actor=reviewer,
           summary={"after": {"reviewer_id": reviewer.id, "source": "declared", "department": "01",
                              "call_id": call.id, "reason": "Élue"}})
    with trail.request():
        set_one = conflict_service.add_conflict(call, reviewer, kind="pole", value=dossier.pole_id, by=admin_user)
    expect(trail, "conflict.set", set_one, actor=admin_user,
           summary={"after": {"reviewer_id": reviewer.id, "source": "admin", "pole_id": dossier.pole_id,
                              "call_id": call.id, "reason": ""}})
    with trail.request():
        conflict_service.withdraw_conflict(declared, by=reviewer)
    expect(trail, "conflict.withdrawn", declared, actor=reviewer,
           summary={"before": {"reviewer_id": reviewer.id, "source": "declared", "department": "01"}})
    with trail.request():
        conflict_service.remove_conflict(set_one, by=admin_user)
    expect(trail, "conflict.removed", set_one, actor=admin_user,
           summary={"before": {"reviewer_id": reviewer.id, "source": "admin", "pole_id": dossier.pole_id}})
    detected = db.session.scalar(sa.select(ConflictOfInterest).where(
        ConflictOfInterest.source == ConflictSource.DETECTED))
    with trail.request():
        conflict_service.clear_conflict(detected, reason="Antenne sans lien", by=admin_user)
    expect(trail, "conflict.cleared", detected, actor=admin_user,
           summary={"before": {"reviewer_id": reviewer.id, "source": "detected", "siren": "732829320"},
                    "reason": "Antenne sans lien"})
    with trail.request():
        conflict_service.detect_conflicts(db.session.get(Call, call.id), by=admin_user)
    expect(trail, "conflicts.detected", call, actor=admin_user, summary={"added": 0, "removed": 0, "reviewers": "all"})
    with trail.request():
        pool_service.remove_member(member, by=admin_user)
    expect(trail, "pool.member_removed", member, actor=admin_user,
           summary={"before": state | {"capacity": 7, "regional_group_id": group.id,
                                       "email": "rapporteur-coi@exemple.fr", "call_id": call.id}})
# --- reviews ---------------------------------------------------------------------------------------------

def test_review_start_save_submit_reopen(trail, db, make_dossier, make_user, make_assignment, admin_user):
    from ptce_aap.enums import Recommendation
    from ptce_aap.services import reviews

    reviewer = make_user("relecteur@example.org", roles=(Role.REVIEWER,), institution="ANCT")
    dossier = make_dossier(complete=True)
    assignment = make_assignment(dossier, reviewer)
    with trail.request():
        review = reviews.start_review(assignment, by=reviewer)
    expect(trail, "review.started", review, actor=reviewer, summary={"after": {"dossier": dossier.id}})
    criteria = list(dossier.call.criteria)
    values = reviews.ReviewValues(scores={c.id: (3, "") for c in criteria},
                                  recommendation=Recommendation.RESERVED, confidential_note="")
    with trail.request():
        reviews.save_review(review, values, by=reviewer, expected_version=review.version)
    expect(trail, "review.updated", review, actor=reviewer,
           summary={"fields": [f"score:{c.code}" for c in criteria] + ["recommendation"]})
    with trail.request():
        reviews.submit_review(review, by=reviewer)
    # every criterion at 3 / 5: 60 / 100
    expect(trail, "review.submitted", review, actor=reviewer,
           summary={"after": {"total": "60", "recommendation": "reserve"}})
    submitted_at = review.submitted_at.isoformat()
    with trail.request():
        reviews.reopen_review(review, by=admin_user, reason="Commentaires manquants.")
    expect(trail, "review.reopened", review, actor=admin_user,
           summary={"before": {"submitted_at": submitted_at}, "after": {"submitted_at": None},
                    "reason": "Commentaires manquants."})
def test_grid_editing_and_its_freeze(trail, db, admin_user, make_call, make_dossier, make_user):
    """Issue 10: the grid editor's changes, and the freeze that the first review of the call marks."""
    from ptce_aap.models.reviews import Assignment, Review
    from ptce_aap.services import grid

    call = make_call()
    dossier = make_dossier(call=call, complete=True)
    call.status = CallStatus.DRAFT  # a grid is edited in draft; the dossier only serves the review below
    db.session.commit()
    with trail.request():
        criterion = grid.add_criterion(call, {"code": "numerique", "label": "Numérique", "guidance": "",
                                              "weight": "10", "max_score": "5"}, by=admin_user)
    expect(trail, "criterion.created", criterion, actor=admin_user, summary={"call": call.slug, "after": {
        "code": "numerique", "label": "Numérique", "guidance": "", "weight": 10, "max_score": 5, "position": 6}})
    with trail.request():
        grid.update_criterion(criterion, {"code": "numerique", "label": "Numérique", "weight": "12",
                                          "max_score": "5"}, by=admin_user)
    expect(trail, "criterion.updated", criterion, actor=admin_user,
           summary={"call": call.slug, "before": {"weight": 10}, "after": {"weight": 12}})
    with trail.request():
        grid.move_criterion(criterion, -1, by=admin_user)
    expect(trail, "criterion.moved", criterion, actor=admin_user,
           summary={"call": call.slug, "before": {"position": 6}, "after": {"position": 5}})
    with trail.request():
        grid.delete_criterion(criterion, by=admin_user)
    expect(trail, "criterion.deleted", criterion, actor=admin_user)
    with trail.request():
        grid.reset_to_default(call, by=admin_user)
    expect(trail, "call.grid_reset", call, actor=admin_user)

    reviewer = make_user(roles=(Role.REVIEWER,))
    with trail.request():
        assignment = Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id)
        db.session.add(assignment)
        db.session.flush()
        db.session.add(Review(assignment_id=assignment.id))
    expect(trail, "call.grid_frozen", call, actor=reviewer)


def test_decision_recorded_and_corrected(trail, db, admin_user, make_call, make_reviewed_dossier):
    from ptce_aap.enums import DecisionOutcome, PaymentTerms
    from ptce_aap.services.decisions import DecisionInput, decide

    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    data = DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.", amount_eur=Decimal("50000"),
                         reference="D-1", payment_terms=PaymentTerms.SINGLE)
    with trail.request():
        first = decide(dossier, data, by=admin_user)
    after = {"outcome": "laureate", "amount_eur": "50000.00", "reference": "D-1", "payment_terms": "unique"}
    expect(trail, "decision.recorded", dossier, actor=admin_user,
           summary={"before": None, "after": after, "reason": "", "decision_id": first.id, "session_id": None})
    data.outcome, data.amount_eur, data.correction_reason = DecisionOutcome.REJECTED, None, "Erreur."
    with trail.request():
        second = decide(dossier, data, by=admin_user)
    expect(trail, "decision.corrected", dossier, actor=admin_user,
           summary={"before": after, "after": {"outcome": "rejected", "amount_eur": None, "reference": "D-1",
                                               "payment_terms": None},
                    "reason": "Erreur.", "decision_id": second.id, "session_id": None})


def test_committee_session_attendance_agenda_minutes(trail, db, admin_user, make_call, make_reviewed_dossier,
                                                     make_institution, make_pool_member):
    from datetime import date

    from ptce_aap.services import committee
    from ptce_aap.services.minutes import generate_minutes, request_minutes

    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    anct = make_institution("ANCT")
    make_pool_member(call, institution=anct)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    with trail.request():
        session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=admin_user)
    expect(trail, "committee.session_created", session, actor=admin_user,
           summary={"after": {"held_on": "2026-12-03", "place": "Bercy"}, "call_id": call.id, "convened": [anct.id]})
    with trail.request():
        committee.update_session(session, held_on=date(2026, 12, 4), place="Ségur", by=admin_user)
    expect(trail, "committee.session_updated", session, actor=admin_user,
           summary={"before": {"held_on": "2026-12-03", "place": "Bercy"},
                    "after": {"held_on": "2026-12-04", "place": "Ségur"}})
    with trail.request():
        committee.set_attendance(session, [committee.AttendanceInput(anct.id, True, "Jeanne Martin")], by=admin_user)
    expect(trail, "committee.attendance_updated", session, actor=admin_user,
           summary={"before": {str(anct.id): {"present": False, "attendees": ""}},
                    "after": {str(anct.id): {"present": True, "attendees": "Jeanne Martin"}}})
    with trail.request():
        committee.set_agenda(session, [dossier.id], by=admin_user)
    expect(trail, "committee.agenda_updated", session, actor=admin_user, summary={"before": [], "after": [dossier.id]})
    with trail.request():
        request_minutes(session, by=admin_user)
    expect(trail, "committee.minutes_requested", session, actor=admin_user, summary={"current": None})
    trail.mark()
    generate_minutes(session.id, by_id=admin_user.id)  # the job: no request, the requester named
    db.session.commit()
    event = expect(trail, "committee.minutes_generated", session, actor=admin_user, ip=None)
    assert event.summary["before"] is None and event.summary["after"] == session.minutes_sha256


def test_decision_notified_and_its_letter_stored(trail, db, admin_user, make_call, make_reviewed_dossier):
    from ptce_aap.enums import DecisionOutcome
    from ptce_aap.services import decision_letters
    from ptce_aap.services.decisions import DecisionInput, decide

    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decision = decide(dossier, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Trop tôt."), by=admin_user)
    db.session.commit()
    with trail.request():
        decision_letters.notify_decisions(call, by=admin_user)
    expect(trail, "decision.notified", dossier, actor=admin_user, summary={
        "decision_id": decision.id, "after": {"outcome": "rejected", "notified_at": decision.notified_at.isoformat(),
                                              "letter_key": decision.letter_key}})
    expect(trail, "dossier.status_changed", dossier, actor=admin_user)
    trail.mark()
    assert decision_letters.issue_letter(decision.id) == "issued"  # the job: no actor, no IP
    db.session.commit()
    stored = b"".join(get_storage().iter_chunks(decision.letter_key))
    expect(trail, "decision.letter_stored", dossier, actor=None, ip=None, summary={
        "decision_id": decision.id, "after": {"letter_key": decision.letter_key,
                                              "sha256": hashlib.sha256(stored).hexdigest(), "size": len(stored)}})
def test_results_published_then_corrected(trail, db, admin_user, make_call, make_reviewed_dossier):
    from datetime import date as _date
    from decimal import Decimal as _Decimal

    from ptce_aap.enums import DecisionOutcome, PaymentTerms
    from ptce_aap.services import decision_letters, publication
    from ptce_aap.services.decisions import DecisionInput, decide

    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decision = decide(dossier, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.",
                                             amount_eur=_Decimal("50000"), committee_date=_date(2026, 12, 3),
                                             payment_terms=PaymentTerms.SINGLE),
                      by=admin_user)
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    with trail.request():
        first = publication.publish(call, by=admin_user, note="")
    files = {f["kind"]: f["sha256"] for f in first.files}
    expect(trail, "call.published", call, actor=admin_user, summary={"after": {
        "version": 1, "laureates": [decision.id], "files": files, "note": ""}})
    expect(trail, "call.status_changed", call, actor=admin_user,
           summary={"before": {"status": "deliberation"}, "after": {"status": "published"}})
    dossier.carrier_legal_name = "Association corrigée"
    db.session.commit()
    with trail.request():
        second = publication.publish(call, by=admin_user, note="Nom corrigé.")
    expect(trail, "publication.corrected", call, actor=admin_user, summary={
        "before": {"version": 1}, "after": {"version": 2, "laureates": [decision.id],
                                            "files": {f["kind"]: f["sha256"] for f in second.files},
                                            "note": "Nom corrigé."}})


def test_scenario_saved_applied_and_deleted(trail, db, admin_user, make_call, make_reviewed_dossier):
    from ptce_aap.services import scenarios

    call = make_call(envelope_eur=Decimal("100000"))
    dossier = make_reviewed_dossier(call=call)
    with trail.request():
        result = scenarios.run(call, scenarios.Params(score_kind="raw"))
        scenario = scenarios.save(call, "Enveloppe seule", result, by=admin_user)
    expect(trail, "scenario.saved", scenario, actor=admin_user,
           summary={"call_id": call.id, "name": "Enveloppe seule", "score_kind": "raw", "selected": [],
                    "total_score": "0", "amount_spent": "0"})
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    with trail.request():
        recorded = scenarios.apply(scenario, dict.fromkeys(scenarios.DecisionOutcome, "Motif."), by=admin_user)
    expect(trail, "scenario.applied", scenario, actor=admin_user,
           summary={"call_id": call.id, "name": "Enveloppe seule", "decisions": [r.id for r in recorded],
                    "laureates": []})
    assert [r.dossier_id for r in recorded] == [dossier.id]
    with trail.request():
        scenarios.delete(scenario, by=admin_user)
    expect(trail, "scenario.deleted", scenario, actor=admin_user,
           summary={"call_id": call.id, "name": "Enveloppe seule", "selected": []})


# --- the walk covers every audited action ---------------------------------------------------------------

def _audited_actions() -> set[str]:
    """Every action string given to ``audit.record`` in the package (a literal, a conditional of
    literals, or a local variable assigned literals)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for call in [n for n in ast.walk(func) if isinstance(n, ast.Call)]:
                target = call.func
                if not (isinstance(target, ast.Attribute) and target.attr == "record"
                        and isinstance(target.value, ast.Name) and target.value.id == "audit") or not call.args:
                    continue
                first = call.args[0]
                literals = {n.value for n in ast.walk(first) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                if isinstance(first, ast.Name):
                    for assign in [n for n in ast.walk(func) if isinstance(n, ast.Assign)]:
                        if any(isinstance(t, ast.Name) and t.id == first.id for t in assign.targets):
                            literals |= {n.value for n in ast.walk(assign.value)
                                         if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                assert literals, f"{path}:{call.lineno}: audit.record with an action this test cannot read"
                found |= literals
    return found


def test_every_audited_action_is_asserted_by_the_walk():
    asserted = set(re.findall(r'expect\(trail, "([a-z_]+\.[a-z_]+)"', Path(__file__).read_text()))
    actions = _audited_actions()
    assert len(actions) > 30
    assert actions - asserted == set(), "audited actions no test asserts"
