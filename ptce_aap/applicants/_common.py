"""What the applicant pages share: how a dossier page loads its dossier, and its remaining problems."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ptce_aap.domain import dossier_checks
from ptce_aap.domain.formatting import paris_today
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, DossierTransition
from ptce_aap.permissions import can_view_dossier, require
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.web import load_or_404

# Everything a page that shows or checks the whole dossier reads, in a few queries: the call (one row) with the
# dossier's own row, then its members, plan lines and attachments, and the call's document types and categories
# (about 1.5 ms of CPU a query: what is not shown is not loaded).
FULL = (
    selectinload(Dossier.members), selectinload(Dossier.financing_lines), selectinload(Dossier.attachments),
    joinedload(Dossier.call).selectinload(Call.document_types),
    joinedload(Dossier.call).selectinload(Call.categories),
)
# The summary also shows the dossier's history and asks whether the user manages its pole (the sections and the
# autosave do neither).
SUMMARY = (selectinload(Dossier.transitions).joinedload(DossierTransition.actor), joinedload(Dossier.pole))


def viewable_dossier(dossier_id: int, *, full: bool = False, options: tuple = ()) -> Dossier:
    """Load, then check: the dossier if the current user may see it (404 otherwise, also for others').
    ``full``: with what its checks read (``FULL``); ``options``: more to load with it (``SUMMARY``)."""
    dossier = load_or_404(Dossier, dossier_id, options=(FULL if full else ()) + tuple(options))
    require(can_view_dossier(current_user, dossier))
    return dossier


def checks_for(dossier: Dossier) -> list[dossier_checks.Problem]:
    return dossier_checks.check_dossier(dossier, dossier_service.call_rules(dossier.call, dossier=dossier),
                                        today=paris_today(utcnow()))
