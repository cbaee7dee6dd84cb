"""Publication of a call's results (issue 12 point 1): SCDL subventions 2.1.1 files equal to the notified
decisions, versions (a correction is version 2, version 1 still served unchanged), the public page (table, map,
files) with nothing of a non-laureate, the admin page and its refusals."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from stdnum import luhn

from ptce_aap.domain import scdl
from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.outbox import Notification
from ptce_aap.models.publications import Publication
from ptce_aap.services import decision_letters, publication
from ptce_aap.services.decisions import DecisionInput, Tranche, decide, granted_total

FIRST = DecisionInput(
    outcome=DecisionOutcome.LAUREATE, motivation="Projet solide.", amount_eur=Decimal("80000.50"),
    reference="DEC-2026-001", committee_date=date(2026, 12, 3), payment_terms=PaymentTerms.STAGED,
    tranches=[Tranche(date(2027, 1, 15), Decimal("50000.50")), Tranche(date(2027, 9, 1), Decimal("30000"))])
SECOND = DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Bon projet.", amount_eur=Decimal("45000"),
                       reference="DEC-2026-002", committee_date=date(2026, 12, 3), payment_terms=PaymentTerms.SINGLE)
REJECTED = DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Trop récent.", reference="DEC-2026-003",
                         committee_date=date(2026, 12, 3))
SECRET_POLE = "Pôle Secret Refusé"


@pytest.fixture
def decided(db, make_call, make_reviewed_dossier, admin_user):
    """A deliberating call with two laureates and one rejected dossier, all notified."""
    call = make_call(envelope_eur=Decimal("300000"), max_amount_eur=Decimal("100000"))
    dossiers = [make_reviewed_dossier(call=call, pole_name=name)
                for name in ("Pôle Alpha", "Pôle Bêta", SECRET_POLE)]
    dossiers[1].departments = ["974", "13"]
    dossiers[1].carrier_legal_name = "Coopérative Bêta"
    dossiers[2].carrier_legal_name = "Association Très Secrète"
    call.status = CallStatus.DELIBERATION  # set-up: the call's own path is tested in test_calls
    db.session.commit()
    for dossier, data in zip(dossiers, (FIRST, SECOND, REJECTED), strict=True):
        decide(dossier, data, by=admin_user)
    db.session.commit()
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    return call, dossiers


def read_csv(data: bytes) -> list[dict]:
    assert not data.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_files_equal_the_decisions_and_follow_the_schema(db, client, admin_user, decided):
    call, dossiers = decided
    published = publication.publish(call, by=admin_user)
    db.session.commit()
    assert call.status == CallStatus.PUBLISHED and published.version == 1
    data = client.get(f"/appels/{call.slug}/laureats.csv")
    assert data.status_code == 200 and data.mimetype == "text/csv"
    header = data.data.decode().split("\r\n")[0]
    assert header == ",".join(scdl.COLUMNS)
    rows = read_csv(data.data)
    decisions = db.session.scalars(sa.select(Decision).where(Decision.outcome == DecisionOutcome.LAUREATE)
                                   .order_by(Decision.id)).all()
    assert len(rows) == 2
    by_ref = {r["referenceDecision"]: r for r in rows}
    for decision in decisions:
        row, dossier = by_ref[decision.reference], decision.dossier
        assert Decimal(row["montant"]) == decision.amount_eur
        assert row["idBeneficiaire"] == dossier.carrier_siret and luhn.is_valid(row["idBeneficiaire"])
        assert row["nomBeneficiaire"] == dossier.carrier_legal_name
        assert row["idAttribuant"] == call.awarding_body_siret and luhn.is_valid(row["idAttribuant"])
        assert row["nomAttribuant"] == call.awarding_body_name and row["dispositifAide"] == call.title
        assert row["dateConvention"] == "2026-12-03"  # no agreement yet: the decision's date
        assert row["nature"] == "aide en numéraire" and row["notificationUE"] == "non"
        assert row["conditionsVersement"] == decision.payment_terms.scdl
        assert Decimal(row["pourcentageSubvention"]) == (decision.amount_eur / dossier.total_budget_eur).quantize(
            Decimal("0.01"))
        assert row["objet"] == dossier.summary and len(row["objet"]) < 256
    assert by_ref["DEC-2026-001"]["datesPeriodeVersement"] == "2027-01-15/2027-09-01"
    assert by_ref["DEC-2026-001"]["conditionsVersement"] == "échelonné"
    assert sum(Decimal(r["montant"]) for r in rows) == granted_total(call) == Decimal("125000.50")
    as_json = client.get(f"/appels/{call.slug}/laureats.json")
    assert json.loads(as_json.data) == rows  # the same cells, keys in the schema's order
    assert list(json.loads(as_json.data)[0]) == list(scdl.COLUMNS)
    for f in published.files:  # the stored files are what is served, with their SHA-256
        served = client.get(f"/appels/{call.slug}/laureats.{f['kind']}")
        assert hashlib.sha256(served.data).hexdigest() == f["sha256"] == served.headers["X-Content-SHA256"]


def test_public_pages_show_the_laureates_and_nothing_of_the_others(db, client, admin_user, decided):
    call, dossiers = decided
    secret_siret = dossiers[2].carrier_siret
    assert client.get(f"/appels/{call.slug}/laureats.csv").status_code == 404  # nothing published yet
    assert client.get(f"/appels/{call.slug}/publications").status_code == 404
    publication.publish(call, by=admin_user)
    db.session.commit()
    page = client.get(f"/appels/{call.slug}").get_data(as_text=True)
    assert 'id="table-laureats"' in page and "Pôle Alpha" in page and "Coopérative Bêta" in page
    assert 'id="carte-laureats"' in page and 'role="img"' in page and 'aria-labelledby="carte-laureats-legende"' in page
    assert 'data-department="974" data-count="1"' in page and 'data-department="69" data-count="1"' in page
    assert 'id="table-laureats-departements"' in page  # the map's figures as a table
    assert "Rhône (69) : 1 pôle lauréat</title>" in page and "pôles lauréats couvrant le département" in page
    versions = client.get(f"/appels/{call.slug}/publications").get_data(as_text=True)
    files = [client.get(f"/appels/{call.slug}/laureats.{k}").get_data(as_text=True) for k in ("csv", "json")]
    for text in [page, versions, *files]:
        assert SECRET_POLE not in text and "Très Secrète" not in text and secret_siret not in text
        assert "DEC-2026-003" not in text and "Trop récent" not in text
    snapshot = db.session.scalar(sa.select(Publication)).snapshot
    assert secret_siret not in json.dumps(snapshot, ensure_ascii=False) and SECRET_POLE not in json.dumps(
        snapshot, ensure_ascii=False)


def test_a_correction_is_version_2_and_version_1_stays_unchanged(db, client, admin_user, decided):
    call, dossiers = decided
    first = publication.publish(call, by=admin_user)
    db.session.commit()
    v1 = {f["kind"]: f["sha256"] for f in first.files}
    v1_csv = client.get(f"/appels/{call.slug}/publications/1/laureats.csv").data
    with pytest.raises(DomainError, match="Rien n'a changé"):
        publication.publish(call, by=admin_user)
    db.session.rollback()
    dossiers[1].carrier_legal_name = "Coopérative Bêta (SCIC)"  # a laureate's field corrected
    db.session.commit()
    second = publication.publish(call, by=admin_user, note="Nom de la structure corrigé.")
    db.session.commit()
    assert second.version == 2 and second.is_current
    db.session.refresh(first)
    assert first.superseded_at is not None
    assert "Coopérative Bêta (SCIC)" in client.get(f"/appels/{call.slug}/laureats.csv").get_data(as_text=True)
    old = client.get(f"/appels/{call.slug}/publications/1/laureats.csv")
    assert old.data == v1_csv and hashlib.sha256(old.data).hexdigest() == v1["csv"]
    assert "(SCIC)" not in old.get_data(as_text=True)
    old_json = client.get(f"/appels/{call.slug}/publications/1/laureats.json")
    assert hashlib.sha256(old_json.data).hexdigest() == v1["json"]
    listing = client.get(f"/appels/{call.slug}/publications").get_data(as_text=True)
    assert v1["csv"] in listing and second.files[0]["sha256"] in listing and "Nom de la structure corrigé." in listing
    assert client.get(f"/appels/{call.slug}/publications/3/laureats.csv").status_code == 404
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "calls",
                                                                    AuditEvent.object_id == str(call.id))).all()
    assert actions.count("call.published") == 1 and actions.count("publication.corrected") == 1


def test_refused_while_a_decision_is_not_notified_or_data_is_invalid(db, make_call, make_reviewed_dossier, admin_user):
    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(dossier, SECOND, by=admin_user)
    db.session.commit()
    with pytest.raises(DomainError, match="pas encore été notifiées"):
        publication.publish(call, by=admin_user)
    db.session.rollback()
    decision_letters.notify_decisions(call, by=admin_user)
    call.awarding_body_siret = "11000201100045"  # a wrong Luhn key
    db.session.commit()
    with pytest.raises(DomainError, match="idAttribuant"):
        publication.publish(call, by=admin_user)
    db.session.rollback()
    assert call.status == CallStatus.DELIBERATION and db.session.scalar(sa.select(Publication)) is None


def test_admin_page_previews_confirms_and_publishes_and_mails_the_poles(db, client, login_as, admin_user, decided):
    call, dossiers = decided
    login_as(admin_user)
    page = client.get(f"/admin/appels/{call.slug}/publication").get_data(as_text=True)
    assert 'id="apercu"' in page and "Coopérative Bêta" in page and "Très Secrète" not in page
    assert 'data-page="publication"' in page
    confirm = client.get(f"/admin/appels/{call.slug}/publication/publier").get_data(as_text=True)
    assert "2 lauréats seront rendus publics" in confirm
    assert db.session.scalar(sa.select(Publication)) is None  # nothing before the confirmation
    response = client.post(f"/admin/appels/{call.slug}/publication/publier", data={"note": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Publication)).version == 1
    page = client.get(f"/admin/appels/{call.slug}/publication").get_data(as_text=True)
    assert "Version 1 publiée" in page and 'id="a-jour"' in page
    mails = db.session.scalars(sa.select(Notification).where(Notification.template == "publication")).all()
    assert len(mails) == 3  # one person per decided pole (laureates and the others)
    # A second press changes nothing: refused with a message, no version 2.
    again = client.post(f"/admin/appels/{call.slug}/publication/publier", data={"note": ""}, follow_redirects=True)
    assert "Rien n" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Publication.id))) == 1


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_applicants_and_reviewers_are_refused(db, client, login_as, make_user, decided, role):
    call, _dossiers = decided
    login_as(make_user(roles=(role,)))
    assert client.get(f"/admin/appels/{call.slug}/publication").status_code == 403
    assert client.post(f"/admin/appels/{call.slug}/publication/publier").status_code == 403
    assert db.session.scalar(sa.select(Publication)) is None


def test_the_pages_count_their_queries_whatever_the_number_of_laureates(
        db, client, login_as, admin_user, make_call, make_reviewed_dossier):
    from tests.integration.test_query_counts import assert_same, queries_for

    def published_call(n: int):
        call = make_call(envelope_eur=Decimal("900000"))
        dossiers = [make_reviewed_dossier(call=call, pole_name=f"Pôle {i}") for i in range(n)]
        dossiers[-1].departments = ["974"]
        call.status = CallStatus.DELIBERATION
        db.session.commit()
        for dossier in dossiers:
            decide(dossier, SECOND, by=admin_user)
        decision_letters.notify_decisions(call, by=admin_user)
        db.session.commit()
        publication.publish(call, by=admin_user)
        db.session.commit()
        return call

    few, many = published_call(2), published_call(6)
    login_as(admin_user)
    for page in ("/admin/appels/{}/publication", "/appels/{}", "/appels/{}/publications"):
        assert_same(queries_for(client, db, page.format(few.slug)), queries_for(client, db, page.format(many.slug)))
    assert client.get(f"/appels/{many.slug}").get_data(as_text=True).count('<tr><th scope="row">Pôle ') == 6


def test_a_version_number_no_column_holds_is_not_found(client, make_call):
    call = make_call()
    for version in ("9223372036854775808", "99999999999999999999999", "2"):
        assert client.get(f"/appels/{call.slug}/publications/{version}/laureats.csv").status_code == 404


def test_laureates_in_french_alphabetical_order_and_open_data_links_above_the_table(
        db, client, make_call, make_reviewed_dossier, admin_user):
    call = make_call(envelope_eur=Decimal("400000"), max_amount_eur=Decimal("100000"))
    names = ["EPV - Estuaire", "Eco-domaine de Bouquetot", "ECLIS", "Écopôle"]
    dossiers = [make_reviewed_dossier(call=call, pole_name=name) for name in names]
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    for dossier in dossiers:
        decide(dossier, FIRST, by=admin_user)
    db.session.commit()
    decision_letters.notify_decisions(call, by=admin_user)
    publication.publish(call, by=admin_user)
    db.session.commit()
    expected = ["ECLIS", "Eco-domaine de Bouquetot", "Écopôle", "EPV - Estuaire"]
    assert [r["nomBeneficiaire"] for r in read_csv(client.get(f"/appels/{call.slug}/laureats.csv").data)] == [
        db.session.get(Dossier, d.id).carrier_legal_name for name in expected for d in dossiers
        if d.pole_name == name]
    page = client.get(f"/appels/{call.slug}").get_data(as_text=True)
    table = page[page.index('id="table-laureats"'):]
    assert [html.unescape(n) for n in re.findall(r'<th scope="row">([^<]+)</th>', table)][:4] == expected
    assert page.index('id="donnees-ouvertes"') < page.index('id="table-laureats"')
