"""The deadline at its boundary (SPEC §3 rule `deadline`: "submitted before closes_at", server clock):
at exactly ``closes_at`` a submission is refused, one second (or one microsecond) before it is accepted, and
the eligibility rule then agrees with what the submission accepted."""

from datetime import timedelta

import pytest

from ptce_aap.domain.eligibility import run_rule
from ptce_aap.enums import DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.dossiers import Dossier
from ptce_aap.services import submission
from ptce_aap.services.eligibility import call_facts, dossier_facts

LATE = "La date limite de dépôt est dépassée : le dossier ne peut plus être déposé."


def reload(db, dossier_id) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def test_submission_at_exactly_closes_at_is_refused(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    closes_at = dossier.call.closes_at

    with pytest.raises(DomainError, match=f"^{LATE}$"):
        submission.submit_dossier(dossier, by=applicant, now=closes_at)
    db.session.rollback()

    d = reload(db, dossier.id)
    assert (d.status, d.submitted_at, d.receipt_number) == (DossierStatus.DRAFT, None, None)


@pytest.mark.parametrize("before", [timedelta(seconds=1), timedelta(microseconds=1)])
def test_submission_just_before_closes_at_is_accepted(make_dossier, applicant, db, before):
    dossier = make_dossier(owner=applicant, complete=True)
    closes_at = dossier.call.closes_at

    submission.submit_dossier(dossier, by=applicant, now=closes_at - before)
    db.session.commit()

    d = reload(db, dossier.id)
    assert d.status == DossierStatus.SUBMITTED
    assert d.submitted_at == closes_at - before
    # The eligibility rule reads the same boundary: what was accepted is "before the deadline".
    result = run_rule("deadline", dossier_facts(d), call_facts(d.call))
    assert result.passed, result.message


def test_submission_at_exactly_opens_at_is_accepted_and_just_before_refused(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    opens_at = dossier.call.opens_at

    with pytest.raises(DomainError, match="^L'appel à projets n'est pas encore ouvert.$"):
        submission.submit_dossier(dossier, by=applicant, now=opens_at - timedelta(seconds=1))
    db.session.rollback()
    submission.submit_dossier(dossier, by=applicant, now=opens_at)
    db.session.commit()
    assert reload(db, dossier.id).status == DossierStatus.SUBMITTED
