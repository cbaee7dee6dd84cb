"""The reading view of a dossier: everything its readers (an admin, a reviewer it is assigned to) see of it —
every section, the members, the budget and financing plan, the documents, the eligibility rule by rule and the
history — loaded in a constant number of queries whatever the number of members, lines, documents or events.

``build_reading(dossier_id)`` loads; the views check access first (``permissions.can_view_dossier`` for
admins, ``permissions.can_read_as_reviewer`` for reviewers) and the partial ``templates/reading/_dossier.html``
shows it. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ptce_aap.domain import geography
from ptce_aap.domain.dossier_checks import totals
from ptce_aap.domain.eligibility import RULE_LABELS
from ptce_aap.enums import ActivityDomain, CooperationForm, FinancingKind, TerritoryType
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import Call, CallCategory, DocumentType
from ptce_aap.models.dossiers import (
    Attachment,
    Dossier,
    DossierTransition,
    EligibilityCheck,
    FinancingLine,
    Member,
)
from ptce_aap.models.messages import DossierMessage
from ptce_aap.services.messages import thread

# Everything the reading view reads with the dossier: one query each, whatever their number.
READING_OPTIONS = (
    selectinload(Dossier.members), selectinload(Dossier.financing_lines), selectinload(Dossier.attachments),
    selectinload(Dossier.transitions).joinedload(DossierTransition.actor),
    selectinload(Dossier.call).selectinload(Call.document_types),
    selectinload(Dossier.call).selectinload(Call.categories),
)

# Audit events shown in an admin's history of the dossier (on the dossier itself and on its documents): the
# latest ones only.
EVENTS_SHOWN = 200


@dataclass(frozen=True)
class DocumentGroup:
    """The files of one document type the call asks for (or of no known type: ``code`` is ``None``)."""

    code: str | None
    label: str
    is_required: bool
    attachments: list[Attachment]


@dataclass
class Reading:
    dossier: Dossier
    call: Call
    category: CallCategory | None
    region: str
    departments: list[tuple[str, str]]
    territory_types: list[str]
    activity_domains: list[str]
    cooperation: list[tuple[str, str]]
    members: list[Member]
    expenses: list[FinancingLine]
    resources: list[FinancingLine]
    total_expenses: Decimal
    total_resources: Decimal
    documents: list[DocumentGroup]
    latest_check: EligibilityCheck | None
    latest_run: EligibilityCheck | None
    checks: list[tuple[EligibilityCheck, User | None]]
    transitions: list[DossierTransition]
    messages: list[DossierMessage] = field(default_factory=list)
    events: list[tuple[AuditEvent, User | None]] = field(default_factory=list)
    event_count: int = 0
    rule_labels: dict[str, str] = field(default_factory=lambda: RULE_LABELS)

    @property
    def is_balanced(self) -> bool:
        return self.total_expenses == self.total_resources

    @property
    def document_count(self) -> int:
        return sum(len(group.attachments) for group in self.documents)


def _labels(enum, values) -> list[str]:
    known = {m.value: m for m in enum}
    return [known[v].label if v in known else str(v) for v in values or []]


def _documents(dossier: Dossier, document_types: list[DocumentType]) -> list[DocumentGroup]:
    by_type: dict[str, list[Attachment]] = {dt.code: [] for dt in document_types}
    orphans: list[Attachment] = []
    for attachment in dossier.attachments:
        by_type.get(attachment.document_type_code, orphans).append(attachment)
    groups = [DocumentGroup(dt.code, dt.label, dt.is_required, by_type[dt.code]) for dt in document_types]
    if orphans:
        groups.append(DocumentGroup(None, "", False, orphans))
    return groups


def _events(dossier: Dossier) -> tuple[list[tuple[AuditEvent, User | None]], int]:
    """The latest ``EVENTS_SHOWN`` audit events of the dossier and of its documents, oldest first, each with its
    actor, and how many there are in all (a draft saved automatically for weeks has thousands)."""
    attachment_ids = [str(a.id) for a in dossier.attachments]
    on_dossier = sa.and_(AuditEvent.object_type == "dossiers", AuditEvent.object_id == str(dossier.id))
    on_documents = sa.and_(AuditEvent.object_type == "attachments", AuditEvent.object_id.in_(attachment_ids))
    condition = sa.or_(on_dossier, on_documents) if attachment_ids else on_dossier
    total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(condition)) or 0
    rows = db.session.execute(
        sa.select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id).where(condition)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(EVENTS_SHOWN)).all()
    return [tuple(row) for row in reversed(rows)], total


def _checks(dossier: Dossier) -> list[tuple[EligibilityCheck, User | None]]:
    """Every eligibility check of the dossier, newest first, each with its actor."""
    return [tuple(row) for row in db.session.execute(
        sa.select(EligibilityCheck, User).outerjoin(User, User.id == EligibilityCheck.actor_id)
        .where(EligibilityCheck.dossier_id == dossier.id).order_by(EligibilityCheck.id.desc())).all()]


def load_dossier(dossier_id: int) -> Dossier | None:
    """The dossier with everything the reading view shows (None if there is none)."""
    return db.session.scalar(sa.select(Dossier).where(Dossier.id == dossier_id).options(*READING_OPTIONS))


def build_reading(dossier: Dossier, *, with_audit: bool = False) -> Reading:
    """What ``templates/reading/_dossier.html`` shows. ``dossier`` is best loaded by ``load_dossier`` (else its
    collections load lazily, one query each: still a constant number). ``with_audit``: add the audit trail
    (admins only; reviewers see the status changes)."""
    call = dossier.call
    checks = _checks(dossier)
    expenses = [ln for ln in dossier.financing_lines if ln.kind == FinancingKind.EXPENSE]
    resources = [ln for ln in dossier.financing_lines if ln.kind == FinancingKind.RESOURCE]
    total_expenses, total_resources = totals(dossier.financing_lines)
    cooperation_labels = {m.value: m.label for m in CooperationForm}
    events, event_count = _events(dossier) if with_audit else ([], 0)
    return Reading(
        dossier=dossier, call=call,
        category=next((c for c in call.categories if c.code == dossier.category_code), None),
        region=geography.region_name(dossier.region_code) if dossier.region_code else "",
        departments=[(code, geography.department_name(code)) for code in dossier.departments or []],
        territory_types=_labels(TerritoryType, dossier.territory_types),
        activity_domains=_labels(ActivityDomain, dossier.activity_domains),
        cooperation=[(str(cooperation_labels.get(form, form)), text)
                     for form, text in (dossier.cooperation or {}).items()],
        members=list(dossier.members), expenses=expenses, resources=resources,
        total_expenses=total_expenses, total_resources=total_resources,
        documents=_documents(dossier, list(call.document_types)),
        latest_check=checks[0][0] if checks else None,
        latest_run=next((check for check, _actor in checks if not check.is_override), None),
        checks=checks, transitions=list(dossier.transitions), messages=thread(dossier),
        events=events, event_count=event_count,
    )
