"""All models, imported here so that Alembic and the app see the whole schema.

Deleting: configuration belongs to its call (criteria, categories, document types, regional groups,
the reviewer pool go with the call: CASCADE); history never goes silently (assignments, reviews,
scores, conflicts, regional opinions, decisions, committee sessions and publications refuse the
deletion of what they point to: RESTRICT). Accounts that acted are disabled, not deleted.
"""

from ptce_aap.models.accounts import ApiToken, Institution, User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import Call, CallCategory, Criterion, DocumentType
from ptce_aap.models.decisions import CommitteeAttendance, CommitteeSession, Decision
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
from ptce_aap.models.messages import DossierMessage
from ptce_aap.models.outbox import JobRun, Notification, OutboxEntry
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.publications import Publication
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, RegionalOpinion, Review, ReviewScore
from ptce_aap.models.scenarios import SelectionScenario

__all__ = [
    "ApiToken", "Assignment", "Attachment", "AuditEvent", "Call", "CallCategory", "CommitteeAttendance",
    "CommitteeSession", "ConflictOfInterest", "Criterion", "Decision", "DocumentType", "Dossier", "DossierMessage",
    "DossierTransition", "EligibilityCheck", "FinancingLine", "Institution", "Invitation", "JobRun", "Member",
    "Notification", "OutboxEntry", "Pole", "PoleMembership", "Publication", "RegionalGroup", "RegionalOpinion",
    "Review", "ReviewScore", "ReviewerPoolMember", "SelectionScenario", "User",
]
