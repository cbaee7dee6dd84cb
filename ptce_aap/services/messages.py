"""The thread between the secretariat and a pole (issue 11, point 4): messages, requests for complements and
their answers — like démarches-simplifiées' « demande de correction ».

- ``send_message``: the secretariat writes to the pole (mailed to its people);
- ``request_complements``: the same, naming the sections and documents to complete until a date (Paris time):
  the dossier goes to « compléments demandés », where only those parts may change
  (``permissions.dossier_accepts_changes``);
- ``answer_request``: the applicant's « Répondre »: the dossier is submitted again (same receipt number, a
  receipt re-issued with the documents' new fingerprints, eligibility checked again), the secretariat mailed;
- ``close_request``: the secretariat ends an unanswered request (past its date…): submitted again as it stands.

The views authorise (``permissions.can_*``); these check the state, audit on the dossier, never commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ptce_aap import audit, jobs
from ptce_aap.domain.call_settings import SettingError, parse_paris
from ptce_aap.domain.messages import N_
from ptce_aap.domain.sections import BY_CODE, SECTION_CODES
from ptce_aap.domain.text import one_line
from ptce_aap.enums import AttachmentStatus, DossierStatus, MessageKind
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.models.accounts import User
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.messages import DossierMessage
from ptce_aap.permissions import COMPLEMENTS_CALL_STATUSES, COMPLEMENTS_REQUESTABLE, open_request
from ptce_aap.services.dossiers import lock_for_change, set_dossier_status
from ptce_aap.services.notifications import notify
from ptce_aap.services.submission import blocking_problems
from ptce_aap.urls import external_url

BODY_MAX = 5000
SIGNATURE = N_("Le secrétariat de l'appel")


def thread(dossier: Dossier) -> list[DossierMessage]:
    """The dossier's messages, oldest first, with their authors (one query)."""
    return list(db.session.scalars(sa.select(DossierMessage).where(DossierMessage.dossier_id == dossier.id)
                                   .options(sa.orm.joinedload(DossierMessage.author))
                                   .order_by(DossierMessage.created_at, DossierMessage.id)))


def _body(problems: Problems, text: str | None, *, field: str = "body") -> str:
    text = (text or "").strip()
    if not text:
        problems.add(N_("Écrivez votre message."), field=field)
    elif len(text) > BODY_MAX:
        problems.add(N_("Le message ne doit pas dépasser %(max)s caractères.", max="5 000"), field=field)
    return text


def pole_people(dossier: Dossier) -> list[User]:
    """Everyone of the dossier's pole (owner first, then co-editors), whom the secretariat's messages reach."""
    return list(db.session.scalars(sa.select(User).join(PoleMembership, PoleMembership.user_id == User.id)
                                   .where(PoleMembership.pole_id == dossier.pole_id).order_by(PoleMembership.id)))


def _mail_pole(dossier: Dossier, message: DossierMessage) -> None:
    context = {"pole_name": one_line(dossier.pole_name, max_length=200), "body": message.body,
               "is_request": message.kind == MessageKind.REQUEST,
               "due_at_text": format_paris(message.due_at) if message.due_at else "",
               "link": external_url("applicants.dossier", dossier_id=dossier.id) + "#echanges"}
    for user in pole_people(dossier):
        if user.is_active:
            notify(user.email, "dossier_message", {**context, "name": one_line(user.display_name, max_length=80)},
                   dedupe_key=f"dossier_message:{message.id}:{user.id}", user=user)


def send_message(dossier: Dossier, *, body: str, by) -> DossierMessage:
    """The secretariat writes to the pole of a submitted dossier. Caller commits."""
    if dossier.status == DossierStatus.DRAFT:
        raise DomainError(N_("Ce dossier n'a pas encore été déposé : le pôle ne peut pas encore être contacté "
                             "ici."))
    problems = Problems()
    body = _body(problems, body, field="message_body")
    problems.raise_any()
    message = DossierMessage(dossier_id=dossier.id, kind=MessageKind.MESSAGE, author_id=by.id, body=body,
                             sections=[], document_types=[], files=[])
    db.session.add(message)
    db.session.flush()
    audit.record("dossier.message_sent", dossier, actor=by, summary={"after": {"message": message.id}})
    _mail_pole(dossier, message)
    return message


def _due_at(problems: Problems, due_on: str | None, due_time: str | None, now: datetime) -> datetime | None:
    try:
        due_at = parse_paris(due_on, (due_time or "").strip() or "23:59")
    except SettingError as exc:
        problems.add(exc.message, field="due_on")
        return None
    if due_at is None:
        problems.add(N_("Indiquez la date limite de réponse."), field="due_on")
    elif due_at <= now:
        problems.add(N_("La date limite de réponse doit être dans le futur."), field="due_on")
    return due_at


def request_complements(dossier: Dossier, *, body: str, sections: list[str], document_types: list[str],
                        due_on: str | None, due_time: str | None = None, by, now: datetime) -> DossierMessage:
    """Ask the pole for complements: ``sections`` (``domain.sections`` codes) and ``document_types`` (the call's
    codes) may change until ``due_on`` at ``due_time`` (typed, Paris time; 23:59 by default), in the future.
    Every problem is reported at once, each beside its field. Caller commits."""
    lock_for_change(dossier)
    if dossier.status not in COMPLEMENTS_REQUESTABLE or dossier.call.status not in COMPLEMENTS_CALL_STATUSES:
        raise DomainError(N_("Des compléments ne peuvent être demandés que pour un dossier déposé, en cours "
                             "d'examen de recevabilité (le dossier est « %(status)s »).", status=dossier.status))
    problems = Problems()
    body = _body(problems, body, field="request_body")
    sections = [code for code in SECTION_CODES if code in set(sections or [])]
    known_types = [dt.code for dt in dossier.call.document_types]
    document_types = [code for code in known_types if code in set(document_types or [])]
    if not sections and not document_types:
        problems.add(N_("Choisissez au moins une partie du dossier ou un document à compléter."), field="sections")
    due_at = _due_at(problems, due_on, due_time, now)
    problems.raise_any()
    message = DossierMessage(dossier_id=dossier.id, kind=MessageKind.REQUEST, author_id=by.id, body=body,
                             sections=sections, document_types=document_types, files=[], due_at=due_at,
                             created_at=now)
    db.session.add(message)
    db.session.flush()
    set_dossier_status(dossier, DossierStatus.CORRECTION, by=by, expected_from=COMPLEMENTS_REQUESTABLE, at=now,
                       details={"request": message.id})
    audit.record("dossier.complements_requested", dossier, actor=by, summary={"after": {
        "request": message.id, "sections": sections, "document_types": document_types,
        "due_at": due_at.isoformat()}})
    _mail_pole(dossier, message)
    return message


def _open_request_of(request_row: DossierMessage, dossier: Dossier) -> None:
    lock_for_change(dossier)
    db.session.refresh(request_row)
    current = open_request(dossier)
    if current is None or current.id != request_row.id:
        raise DomainError(N_("Cette demande de compléments n'est plus ouverte : elle a déjà reçu sa réponse ou "
                             "a été close par le secrétariat."))


def _submit_again(dossier: Dossier, request_row: DossierMessage, *, by, now: datetime, reason: str = "") -> None:
    """Back to submitted: same receipt number, a re-issued receipt, eligibility checked again."""
    set_dossier_status(dossier, DossierStatus.SUBMITTED, by=by, expected_from=DossierStatus.CORRECTION, at=now,
                       reason=reason, details={"request": request_row.id, "receipt": dossier.receipt_number})
    dossier.updated_at = now
    dossier.updated_by_id = by.id
    jobs.schedule("generate_receipt", dedupe_key=f"receipt:{dossier.id}:request:{request_row.id}",
                  dossier_id=dossier.id)
    # The rules again on the dossier as it now is (``force``: an earlier override was about the old content).
    jobs.schedule("eligibility_check", dedupe_key=f"eligibility:request:{request_row.id}", dossier_id=dossier.id,
                  force=True)


def answer_request(request_row: DossierMessage, *, body: str, by, now: datetime) -> DossierMessage:
    """The applicant's answer, with the documents received for the request: the dossier is submitted again.
    Refused after the due date, on a closed request, or while a requested document is still being checked."""
    dossier = request_row.dossier
    _open_request_of(request_row, dossier)
    if request_row.is_overdue(now):
        raise DomainError(N_("La date limite de réponse à cette demande est passée : contactez le secrétariat "
                             "de l'appel."))
    problems = Problems()
    body = _body(problems, body)
    problems.raise_any()
    db.session.expire(dossier, ["attachments"])
    requested = [a for a in dossier.attachments
                 if a.document_type_code in request_row.document_types or "pieces" in request_row.sections]
    if any(a.status in (AttachmentStatus.UPLOADING, AttachmentStatus.PROCESSING) for a in requested
           if a.created_at >= request_row.created_at):
        raise DomainError(N_("Un document envoyé est encore en cours de vérification (antivirus, empreinte) : "
                             "répondez dans quelques instants."))
    files = [{"document_type": a.document_type_code, "filename": a.filename, "sha256": a.sha256, "size": a.size}
             for a in requested if a.status == AttachmentStatus.READY and a.created_at >= request_row.created_at]
    missing = [code for code in request_row.document_types
               if not any(f["document_type"] == code for f in files)]
    if missing:
        labels = {dt.code: dt.label for dt in dossier.call.document_types}
        raise DomainError(N_("Envoyez d'abord le document demandé : « %(label)s ».",
                             label=labels.get(missing[0], missing[0])))
    reopened = set(request_row.sections) | ({"pieces"} if request_row.document_types else set())
    left = [p for p in blocking_problems(dossier, now=now) if p.section in reopened]
    if left:  # what was reopened must still be complete: the answer submits the dossier again
        raise DomainError(N_("Le dossier est incomplet : corrigez les points signalés dans « %(section)s » avant "
                             "de répondre.", section=N_(BY_CODE[left[0].section].title)))
    answer = DossierMessage(dossier_id=dossier.id, kind=MessageKind.ANSWER, author_id=by.id, body=body,
                            sections=list(request_row.sections), document_types=list(request_row.document_types),
                            files=files, reply_to_id=request_row.id, created_at=now)
    db.session.add(answer)
    request_row.answered_at = now
    db.session.flush()
    _submit_again(dossier, request_row, by=by, now=now)
    audit.record("dossier.complements_answered", dossier, actor=by, summary={
        "before": {"request": request_row.id}, "after": {"answer": answer.id, "files": files}})
    _mail_secretariat(dossier, request_row, answer)
    return answer


def _secretariat_readers(first: DossierMessage) -> list[User]:
    """The author of the secretariat's message, if still an active admin; otherwise every active admin
    (someone must read the pole's answer)."""
    author = first.author
    if author is not None and author.is_active and author.is_admin:
        return [author]
    return list(db.session.scalars(sa.select(User).where(User.is_admin.is_(True),
                                                         User.is_disabled.is_(False)).order_by(User.id)))


def reply_to_message(message_row: DossierMessage, *, body: str, by, now: datetime) -> DossierMessage:
    """The pole answers a message of the secretariat (a plain message: a request for complements is answered
    by ``answer_request``, which submits the dossier again). Nothing of the dossier changes; the reply goes in
    the thread, audited, and is mailed to the secretariat. Caller commits."""
    dossier = message_row.dossier
    if message_row.kind != MessageKind.MESSAGE:
        raise DomainError(N_("Seul un message du secrétariat peut recevoir une réponse ici."))
    if dossier.status in (DossierStatus.DRAFT, DossierStatus.WITHDRAWN):
        raise DomainError(N_("Ce dossier a été retiré : il n'est plus possible d'écrire au secrétariat à son "
                             "sujet ici."))
    problems = Problems()
    body = _body(problems, body)
    problems.raise_any()
    reply = DossierMessage(dossier_id=dossier.id, kind=MessageKind.ANSWER, author_id=by.id, body=body,
                           sections=[], document_types=[], files=[], reply_to_id=message_row.id, created_at=now)
    db.session.add(reply)
    message_row.answered_at = now
    db.session.flush()
    audit.record("dossier.message_answered", dossier, actor=by, summary={
        "before": {"message": message_row.id}, "after": {"answer": reply.id}})
    for admin in _secretariat_readers(message_row):
        notify(admin.email, "message_answered", {
            "name": one_line(admin.display_name, max_length=80),
            "pole_name": one_line(dossier.pole_name, max_length=200),
            "receipt_number": dossier.receipt_number or "", "body": reply.body,
            "link": external_url("admin.dossier", dossier_id=dossier.id) + f"#message-{reply.id}"},
            dedupe_key=f"message_answered:{reply.id}:{admin.id}", user=admin)
    return reply


def _mail_secretariat(dossier: Dossier, request_row: DossierMessage, answer: DossierMessage) -> None:
    for admin in _secretariat_readers(request_row):
        notify(admin.email, "complements_answered", {
            "name": one_line(admin.display_name, max_length=80),
            "pole_name": one_line(dossier.pole_name, max_length=200),
            "receipt_number": dossier.receipt_number or "", "files": len(answer.files),
            "link": external_url("admin.dossier", dossier_id=dossier.id) + "#echanges"},
            dedupe_key=f"complements_answered:{answer.id}:{admin.id}", user=admin)


def close_request(request_row: DossierMessage, *, by, now: datetime) -> None:
    """The secretariat closes an unanswered request: the dossier is submitted again as it stands."""
    dossier = request_row.dossier
    _open_request_of(request_row, dossier)
    request_row.closed_at = now
    _submit_again(dossier, request_row, by=by, now=now, reason="")
    audit.record("dossier.complements_closed", dossier, actor=by, summary={
        "before": {"request": request_row.id, "status": "open"}, "after": {"status": "closed"}})
