"""The reading view of a dossier (issue 10, point 1): admins read any dossier, reviewers those assigned to them;
every section, the members, the budget, the documents (downloaded after the access check through a short-lived
presigned URL), the eligibility rule by rule, the history; a print version; a constant number of queries."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from decimal import Decimal

import pytest
import requests

from ptce_aap.enums import (
    AttachmentStatus,
    DossierStatus,
    FinancingKind,
    FundingSource,
    MemberCategory,
    ScanStatus,
)
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, FinancingLine, Member
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import submission
from ptce_aap.services.dossiers import set_dossier_status
from ptce_aap.storage import get_storage
from tests.integration.test_query_counts import assert_same, queries_for


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def submitted(make_dossier, applicant, db):
    """A complete dossier, submitted and checked (eligible)."""
    dossier = make_dossier(owner=applicant, complete=True, pole_name="Pôle des Coteaux Solidaires")
    dossier.members[0].name = "Légumerie de l'Ouest"
    dossier.summary = "Un résumé\nsur deux lignes."
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    eligibility_service.run_check(dossier)
    db.session.commit()
    return dossier


def _stored(db, dossier, data: bytes, *, filename="statuts.pdf", code="statuts", status=AttachmentStatus.READY):
    storage = get_storage()
    key = f"dossiers/{dossier.id}/{uuid.uuid4().hex}/{filename}"
    storage.put(key, io.BytesIO(data), content_type="application/pdf")
    attachment = Attachment(dossier_id=dossier.id, document_type_code=code, filename=filename,
                            storage_backend=storage.name, storage_key=key, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), mime="application/pdf",
                            declared_mime="application/pdf", status=status, scan_status=ScanStatus.NOT_SCANNED)
    db.session.add(attachment)
    db.session.commit()
    return attachment


def test_admin_reads_every_part_of_a_dossier(client, login_as, submitted, admin_user):
    login_as(admin_user)
    response = client.get(f"/admin/dossiers/{submitted.id}/lecture")
    assert response.status_code == 200
    text = _text(response)
    for expected in ("Pôle des Coteaux Solidaires", "Association Coopérations du Val", "Légumerie de l&#39;Ouest",
                     "Structure membre 2", "Un résumé\nsur deux lignes.", "Salaire de la coordinatrice",
                     "Subvention régionale", "Le plan de financement est équilibré.", "statuts.pdf",
                     "Statuts de la structure porteuse", "Lyon", "Rhône", "Auvergne-Rhône-Alpes",
                     "Locaux et matériel partagés.", "Éligible", 'data-rule="min_members"',
                     "Journal d’audit", 'data-action="dossier.status_changed"', "Version imprimable"):
        assert expected in text, expected
    # Every section of the dossier has its heading.
    for anchor in ("identite", "membres", "activites", "projet", "budget", "pieces", "eligibilite", "historique"):
        assert f'id="lecture-{anchor}"' in text
    # Its documents are downloaded through the admin's own route.
    for attachment in submitted.attachments:
        assert f"/admin/dossiers/{submitted.id}/pieces/{attachment.id}/telecharger" in text


def test_the_audit_trail_shows_the_latest_events_only(client, login_as, submitted, admin_user, monkeypatch):
    from ptce_aap.services import reading

    monkeypatch.setattr(reading, "EVENTS_SHOWN", 2)
    login_as(admin_user)
    text = _text(client.get(f"/admin/dossiers/{submitted.id}/lecture"))
    _events, total = reading._events(submitted)
    assert total > 2
    assert f"Les 2 événements les plus récents sur {total}." in text
    assert text.count('data-action="') == 2
    assert 'data-action="dossier.eligibility_checked"' in text  # the latest is kept


def test_the_admin_pages_link_to_the_reading_view(client, login_as, submitted, admin_user):
    login_as(admin_user)
    link = f"/admin/dossiers/{submitted.id}/lecture"
    assert link in _text(client.get(f"/admin/dossiers/{submitted.id}"))
    assert link in _text(client.get(f"/admin/appels/{submitted.call.slug}/dossiers"))


def test_admin_downloads_a_document_through_a_short_presigned_url(client, login_as, submitted, admin_user, db):
    data = b"%PDF-1.4 statuts signes"
    attachment = _stored(db, submitted, data, filename="Statuts signés.pdf")
    login_as(admin_user)
    response = client.get(f"/admin/dossiers/{submitted.id}/pieces/{attachment.id}/telecharger")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(os.environ["S3_ENDPOINT_URL"])
    assert "Expires=60" in location or "X-Amz-Expires=60" in location
    assert requests.get(location, timeout=10).content == data


def test_only_checked_files_are_served_to_readers(client, login_as, submitted, admin_user, db):
    quarantined = _stored(db, submitted, b"%PDF-1.4 x", filename="virus.pdf", status=AttachmentStatus.QUARANTINED)
    processing = _stored(db, submitted, b"%PDF-1.4 y", filename="en-cours.pdf", status=AttachmentStatus.PROCESSING)
    login_as(admin_user)
    blocked = client.get(f"/admin/dossiers/{submitted.id}/pieces/{quarantined.id}/telecharger")
    assert blocked.status_code == 403 and "Location" not in blocked.headers
    assert "bloqué par l&#39;antivirus" in _text(blocked)
    assert client.get(f"/admin/dossiers/{submitted.id}/pieces/{processing.id}/telecharger").status_code == 404
    page = _text(client.get(f"/admin/dossiers/{submitted.id}/lecture"))
    assert f"/pieces/{quarantined.id}/telecharger" not in page and f"/pieces/{processing.id}/telecharger" not in page
    assert "virus.pdf" in page and "En quarantaine" in page


def test_an_attachment_of_another_dossier_is_not_found_under_this_one(client, login_as, submitted, make_dossier,
                                                                      admin_user, db):
    other = make_dossier(pole_name="Pôle voisin")
    attachment = _stored(db, other, b"%PDF-1.4 z")
    login_as(admin_user)
    assert client.get(f"/admin/dossiers/{submitted.id}/pieces/{attachment.id}/telecharger").status_code == 404


def test_assigned_reviewer_reads_prints_and_downloads(client, login_as, submitted, reviewer, make_assignment, db):
    data = b"%PDF-1.4 budget"
    attachment = _stored(db, submitted, data, filename="budget.pdf", code="budget")
    make_assignment(submitted, reviewer)
    login_as(reviewer)
    page = client.get(f"/rapporteur/dossiers/{submitted.id}")
    assert page.status_code == 200
    text = _text(page)
    assert "Pôle des Coteaux Solidaires" in text and "Légumerie de l&#39;Ouest" in text
    assert f"/rapporteur/dossiers/{submitted.id}/pieces/{attachment.id}/telecharger" in text
    assert "Journal d’audit" not in text  # the audit trail is the admins'
    download = client.get(f"/rapporteur/dossiers/{submitted.id}/pieces/{attachment.id}/telecharger")
    assert download.status_code == 302
    assert requests.get(download.headers["Location"], timeout=10).content == data

    printed = client.get(f"/rapporteur/dossiers/{submitted.id}/impression")
    assert printed.status_code == 200
    text = _text(printed)
    assert "dsfr.print.min.css" in text and "Document confidentiel" in text and "Louis Rapporteur" in text
    assert "Légumerie de l&#39;Ouest" in text and "/telecharger" not in text


def test_admin_print_version(client, login_as, submitted, admin_user):
    login_as(admin_user)
    printed = client.get(f"/admin/dossiers/{submitted.id}/lecture/impression")
    assert printed.status_code == 200
    text = _text(printed)
    assert "Pôle des Coteaux Solidaires" in text and 'media="print"' in text
    assert f'href="/admin/dossiers/{submitted.id}/lecture"' in text


def _grow(db, dossier, n: int) -> None:
    """Add ``n`` members, ``n`` budget lines and ``n`` documents to the dossier."""
    start = len(dossier.members)
    for i in range(n):
        db.session.add(Member(dossier_id=dossier.id, position=start + i, name=f"Membre ajouté {start + i}",
                              category=MemberCategory.OTHER, department="69"))
        db.session.add(FinancingLine(dossier_id=dossier.id, position=100 + start + i, kind=FinancingKind.RESOURCE,
                                     source=FundingSource.FOUNDATION, funder="Fondation", label=f"Don {i}",
                                     amount_eur=Decimal("10")))
        db.session.add(Attachment(dossier_id=dossier.id, document_type_code="autre", filename=f"annexe-{i}.pdf",
                                  storage_backend="s3", storage_key=f"tests/{dossier.id}/{uuid.uuid4().hex}.pdf",
                                  size=10, status=AttachmentStatus.READY, scan_status=ScanStatus.NOT_SCANNED))
    db.session.commit()


@pytest.mark.parametrize("as_admin", [True, False], ids=["admin", "reviewer"])
def test_reading_view_runs_the_same_queries_at_n_and_3n(as_admin, client, login_as, submitted, admin_user,
                                                         reviewer, make_assignment, db):
    """Members, budget lines, documents, transitions, checks and audit events: one query each, not one per row."""
    make_assignment(submitted, reviewer)
    login_as(admin_user if as_admin else reviewer)
    url = f"/admin/dossiers/{submitted.id}/lecture" if as_admin else f"/rapporteur/dossiers/{submitted.id}"
    def check():
        eligibility_service.run_check(submitted)
        if not as_admin and submitted.status == DossierStatus.INELIGIBLE:
            # An ineligible dossier is closed to its reviewers: the secretariat overrides the verdict here, so
            # that the reviewer reads a dossier with its checks and transitions (what is counted).
            set_dossier_status(submitted, DossierStatus.ELIGIBLE, by=admin_user, reason="Pour la lecture.")
        db.session.commit()

    _grow(db, submitted, 3)
    check()
    client.get(url)  # warm-up
    few = queries_for(client, db, url)
    _grow(db, submitted, 6)
    check()
    many = queries_for(client, db, url)
    assert_same(few, many)
    page = _text(client.get(url))
    assert page.count('data-member="') == 4 + 9 and page.count("annexe-") >= 9
