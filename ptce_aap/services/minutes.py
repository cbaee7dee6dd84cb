"""The procès-verbal of a committee session: a PDF (WeasyPrint, ``templates/pdf/minutes.html``) with the date
and place, the institutions present and absent and the quorum, the agenda, each decision taken in the session
(outcome, amount, motivation) and the totals against the call's envelope.

Asked for by an admin (``request_minutes``: audited, a ``generate_minutes`` job scheduled in the same
transaction), made by the job (``generate_minutes``: WeasyPrint's first PDF in a process takes seconds, so
never in a request), stored under a key naming its SHA-256 (a new version never overwrites a file an earlier
transaction pointed to), audited again with its fingerprint. Nothing here commits.
"""

from __future__ import annotations

import hashlib
import io

from flask import render_template
from flask_babel import force_locale

from ptce_aap import audit, jobs
from ptce_aap import storage as file_storage
from ptce_aap.domain.messages import N_
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.decisions import CommitteeSession
from ptce_aap.services import committee
from ptce_aap.services.decisions import granted_total


def minutes_context(session: CommitteeSession) -> dict:
    call = session.call
    decisions = committee.session_decisions(session)
    granted = granted_total(call)
    outcomes = {}  # what the session decided for each dossier: its decision still in force, else its last
    for decision in decisions:
        if decision.dossier_id not in outcomes or decision.is_current:
            outcomes[decision.dossier_id] = decision
    return {
        "session": session, "call": call, "quorum": committee.quorum(session),
        "present": [row for row in session.attendance if row.is_present],
        "absent": [row for row in session.attendance if not row.is_present],
        "agenda": committee.agenda_dossiers(session), "decisions": decisions, "outcomes": outcomes,
        "session_total": committee.laureate_total(decisions), "granted": granted,
        "left": call.envelope_eur - granted,
    }


def render_minutes_pdf(session: CommitteeSession, *, generated_at) -> bytes:
    from weasyprint import HTML  # heavy (Pango, fonts): loaded only by the process that renders a PDF

    with force_locale("fr"):  # the procès-verbal is a French administrative document, whoever makes it
        html = render_template("pdf/minutes.html", generated_at=format_paris(generated_at),
                               **minutes_context(session))
    return HTML(string=html).write_pdf()


def minutes_key(session: CommitteeSession, sha256: str) -> str:
    return f"committee/{session.call_id}/{session.id}/proces-verbal-{sha256[:16]}.pdf"


def request_minutes(session: CommitteeSession, *, by) -> CommitteeSession:
    """Ask for the session's procès-verbal (again): the job makes it from what is recorded when it runs."""
    if session.held_on is None:
        raise DomainError(N_("Indiquez la date de la séance avant d'en établir le procès-verbal."))
    session.minutes_requested_at = utcnow()
    jobs.schedule("generate_minutes", session_id=session.id, by_id=getattr(by, "id", None))
    audit.record("committee.minutes_requested", session, actor=by, summary={"current": session.minutes_sha256})
    return session


def minutes_pending(session: CommitteeSession) -> bool:
    """Asked for and not made since."""
    return session.minutes_requested_at is not None and (
        session.minutes_generated_at is None or session.minutes_generated_at < session.minutes_requested_at)


def generate_minutes(session_id: int, *, by_id: int | None = None) -> str:
    """Make the session's procès-verbal from what is recorded now, store it, remember its SHA-256 (the job;
    idempotent: the same content lands under the same key)."""
    session = db.session.get(CommitteeSession, session_id)
    if session is None:
        return "missing"
    now = utcnow()
    pdf = render_minutes_pdf(session, generated_at=now)
    sha = hashlib.sha256(pdf).hexdigest()
    key = minutes_key(session, sha)
    file_storage.get_storage().put(key, io.BytesIO(pdf), content_type="application/pdf")
    before = session.minutes_sha256
    session.minutes_key, session.minutes_sha256, session.minutes_generated_at = key, sha, now
    by = db.session.get(User, by_id) if by_id else None
    audit.record("committee.minutes_generated", session, actor=by,
                 summary={"before": before, "after": sha, "size": len(pdf)})
    return "generated"
