"""What the eligibility rules (``domain.eligibility``) read of a dossier, as plain values: built by
``services.eligibility`` from the ORM objects, so that the rules stay pure. Pure: no Flask, no DB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class MemberFacts:
    name: str
    category: str | None  # a MemberCategory value
    siret: str = ""
    department: str = ""
    is_legal_person: bool = True


@dataclass(frozen=True)
class AttachmentFacts:
    document_type_code: str
    status: str  # an AttachmentStatus value
    scan_status: str  # a ScanStatus value
    filename: str = ""
    rejection_reason: str = ""  # why the verification refused it (a rejected or quarantined file)
    # Verified (and refused) after the dossier was submitted: the submission did not wait for its verification.
    refused_after_submission: bool = False


@dataclass(frozen=True)
class DossierFacts:
    """What the rules read of a dossier. Amounts are ``Decimal`` euros; ``None`` when not given."""

    carrier_siret: str = ""
    carrier_legal_form: str | None = None  # a LegalForm value
    members: tuple[MemberFacts, ...] = ()
    departments: tuple[str, ...] = ()
    expenses_eur: Decimal = Decimal(0)
    resources_eur: Decimal = Decimal(0)
    financing_line_count: int = 0
    amount_requested_eur: Decimal | None = None
    total_budget_eur: Decimal | None = None
    attachments: tuple[AttachmentFacts, ...] = ()
    submitted_at: datetime | None = None
    category_code: str | None = None
