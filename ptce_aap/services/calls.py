"""Call use cases."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from ptce_aap import audit
from ptce_aap.domain.defaults import DEFAULT_DOCUMENT_TYPES, DEFAULT_ELIGIBILITY, DEFAULT_GRID
from ptce_aap.enums import CallStatus
from ptce_aap.extensions import db
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
