"""Applicant (porteur) pages, one module per page family; ``_common`` holds what they share."""

from ptce_aap.applicants import attachments, coeditors, dashboard, dossier, messages, submission  # noqa: F401
from ptce_aap.applicants.blueprint import bp

__all__ = ["bp"]
