"""All models, imported here so that Alembic and the app see the whole schema."""

from ptce_aap.models.accounts import ApiToken, Institution, User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import Call, CallCategory, Criterion, DocumentType
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import (
    Attachment,
    Dossier,
    DossierTransition,
    EligibilityCheck,
    FinancingLine,
    Invitation,
    Member,
    Pole,
    PoleMembership,
)
from ptce_aap.models.outbox import JobRun, Notification, OutboxEntry
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, RegionalOpinion, Review, ReviewScore

__all__ = [
    "ApiToken", "Assignment", "Attachment", "AuditEvent", "Call", "CallCategory", "ConflictOfInterest",
    "Criterion", "Decision", "DocumentType", "Dossier", "DossierTransition", "EligibilityCheck",
    "FinancingLine", "Institution", "Invitation", "JobRun", "Member", "Notification", "OutboxEntry", "Pole",
    "PoleMembership", "RegionalOpinion", "Review", "ReviewScore", "User",
]
