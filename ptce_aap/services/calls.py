"""Call use cases: create a call, change its status (``set_call_status``, the only write path)."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from ptce_aap import audit
from ptce_aap.domain.defaults import DEFAULT_DOCUMENT_TYPES, DEFAULT_ELIGIBILITY, DEFAULT_GRID
from ptce_aap.domain.messages import N_
from ptce_aap.enums import CALL_TRANSITIONS, CallStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call, CallCategory, Criterion, DocumentType


def create_call(*, slug: str, title: str, opens_at: datetime, closes_at: datetime, envelope_eur: Decimal,
                max_amount_eur: Decimal, by=None, description_md: str = "",
                status: CallStatus = CallStatus.DRAFT, categories: list[dict] | None = None,
                **settings) -> Call:
    """A call with the default grid, document types and eligibility settings (SPEC §3, §4)."""
    call = Call(slug=slug, title=title, description_md=description_md, opens_at=opens_at,
                closes_at=closes_at, envelope_eur=Decimal(envelope_eur), max_amount_eur=Decimal(max_amount_eur),
                status=status, eligibility_settings=copy.deepcopy(DEFAULT_ELIGIBILITY), **settings)
    call.criteria = [Criterion(position=i, max_score=5, **c) for i, c in enumerate(DEFAULT_GRID)]
    call.document_types = [DocumentType(position=i, **d) for i, d in enumerate(DEFAULT_DOCUMENT_TYPES)]
    call.categories = [CallCategory(position=i, **c) for i, c in enumerate(categories or [])]
    db.session.add(call)
    db.session.flush()
    audit.record("call.created", call, actor=by, summary={"after": {"slug": slug, "status": call.status.value}})
    return call


def _guard_open(call: Call, now: datetime) -> None:
    if not call.criteria or sum(c.weight or 0 for c in call.criteria) <= 0:
        raise DomainError(N_("L'appel à projets ne peut pas être ouvert sans grille de notation."))
    if call.closes_at <= now:
        raise DomainError(N_("L'appel à projets ne peut pas être ouvert : sa date de clôture est passée."),
                          field="closes_at")
    if call.opens_at >= call.closes_at:
        raise DomainError(N_("La date d'ouverture doit précéder la date de clôture."), field="opens_at")


# Checks run before entering a status, beyond the transition table (SPEC §2).
GUARDS = {CallStatus.OPEN: _guard_open}


def set_call_status(call: Call, to: CallStatus, *, by, now: datetime | None = None) -> None:
    """The only write path of ``Call.status``: checks the transition and its guard, then audits it."""
    current = call.status
    if to not in CALL_TRANSITIONS[current]:
        raise DomainError(N_("Transition impossible pour l'appel à projets : %(before)s → %(after)s.", before=current,
                             after=to))
    now = now or utcnow()
    guard = GUARDS.get(to)
    if guard is not None:
        guard(call, now)
    call.status = to
    if to == CallStatus.PUBLISHED and call.published_at is None:
        call.published_at = now
    audit.record("call.status_changed", call, actor=by,
                 summary={"before": {"status": current.value}, "after": {"status": to.value}})
