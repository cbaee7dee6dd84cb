"""The instruction list of a call (issue 11, point 3): filters, sorts and the count give exactly the expected
rows; the CSV and XLSX exports hold the same rows in the same order, formulas neutralised; bulk actions go
through a confirmation then act through the services (audited); admins only, CSRF on."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from ptce_aap.enums import DossierStatus, Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import CallCategory
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.services import eligibility as eligibility_service
from tests.fixtures.builders import carrier_siret_for
from tests.fixtures.queries import count_queries
from tests.integration.test_eligibility import _bulk_dossiers

NAMES = ["Pôle Alpha", "Pôle Bêta", "=Pôle Gamma", "Pôle Delta", "Pôle Epsilon", "Pôle Zêta"]
REGIONS = ["84", "11", "84", "76", "84", "11"]
DEPARTMENTS = [["69"], ["75"], ["01"], ["31"], ["69", "38"], ["92"]]
DOMAINS = [["alimentation"], [], ["culture"], ["alimentation", "culture"], [], []]
AMOUNTS = [50000, 99000, 80000, 30000, 95000, 60000]
CATEGORIES = ["emergence", None, "emergence", None, None, "developpement"]


@pytest.fixture(autouse=True)
def _tasks():
    from ptce_aap import tasks as module  # registers the tasks, as create_app does

    return module


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-dossier="(\d+)">', page)]


@pytest.fixture
def listing(db, make_call, make_user, make_assignment, make_scored_review, make_conflict, admin_user):
    """Six submitted dossiers A…F of one call: A ineligible, B and C eligible, D E F not checked yet; B scored
    70 with a désaccord (100 and 40), D scored 60 (60 and 60); a conflict stands on E, one was cleared on F."""
    call = make_call()
    db.session.add_all([CallCategory(call_id=call.id, code="emergence", label="Émergence", position=0),
                        CallCategory(call_id=call.id, code="developpement", label="Développement", position=1)])
    ids = _bulk_dossiers(db, call, 6)
    for i, dossier_id in enumerate(ids):
        db.session.execute(sa.update(Dossier).where(Dossier.id == dossier_id).values(
            pole_name=NAMES[i], region_code=REGIONS[i], departments=DEPARTMENTS[i], activity_domains=DOMAINS[i],
            amount_requested_eur=Decimal(AMOUNTS[i]), category_code=CATEGORIES[i],
            carrier_siret=carrier_siret_for(i + 1), carrier_siren=carrier_siret_for(i + 1)[:9]))
    db.session.commit()
    db.session.expire_all()
    for i in ids[:3]:
        eligibility_service.run_check(db.session.get(Dossier, i))
    db.session.commit()
    first, second = make_user(roles=(Role.REVIEWER,)), make_user(roles=(Role.REVIEWER,))
    dossiers = {i: db.session.get(Dossier, i) for i in ids}
    for dossier_id, marks in ((ids[1], (5, 2)), (ids[3], (3, 3))):
        for reviewer, mark in zip((first, second), marks, strict=True):
            make_scored_review(make_assignment(dossiers[dossier_id], reviewer), [mark] * 6)
    make_conflict(first, call, pole_id=dossiers[ids[4]].pole_id)
    cleared = make_conflict(second, call, pole_id=dossiers[ids[5]].pole_id)
    cleared.cleared_at, cleared.cleared_by_id = utcnow(), admin_user.id
    db.session.commit()
    return call, dict(zip("ABCDEF", ids, strict=True))


def _url(call, query: str = "") -> str:
    return f"/admin/appels/{call.slug}/dossiers" + (f"?{query}" if query else "")


FILTERS = [
    ("statut=ineligible", "A"),
    ("region=84", "CAE"),  # by pole name: "=pôle gamma" sorts before "pôle alpha"
    ("departement=69", "AE"),
    ("departement=01", "C"),
    ("categorie=emergence", "CA"),
    ("domaine=alimentation", "AD"),
    ("domaine=culture", "CD"),
    ("eligibilite=recevable", "CB"),
    ("eligibilite=irrecevable", "A"),
    ("eligibilite=non_verifie", "DEF"),
    ("note_min=60", "BD"),
    ("note_min=60,5", "B"),
    ("note_min=70", "B"),
    ("note_min=70.1", ""),
    ("desaccord=1", "B"),
    ("conflit=1", "E"),
    ("q=alpha", "A"),
    ("q=P%C3%B4le+Z", "F"),
    ("region=84&eligibilite=recevable", "C"),
    ("region=11&note_min=50&desaccord=1", "B"),
    ("statut=draft&region=99&departement=zz", "CABDEF"),  # unknown values are dropped, not errors
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_gives_exactly_its_rows(query, expected, client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    response = client.get(_url(call, query + "&tri=pole"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _ids(page) == [ids[k] for k in expected]
    count = len(expected)
    if count:
        assert f"<strong>{count} dossier{'s' if count > 1 else ''}</strong>" in page
        if 'id="filtres-appliques"' in page:  # the verb agrees: « 1 dossier correspond aux filtres »
            verb = "correspondent" if count > 1 else "correspond"
            assert f"<strong>{count} dossier{'s' if count > 1 else ''}</strong> {verb} aux filtres" in page
    else:
        assert "Aucun dossier déposé ne correspond." in page


def test_search_by_siren_or_siret(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    siret = carrier_siret_for(3)  # C's
    for query in (siret, siret[:9], f"{siret[:3]} {siret[3:6]} {siret[6:9]}"):
        assert _ids(client.get(_url(call, f"q={query}")).get_data(as_text=True)) == [ids["C"]], query


def test_an_unreadable_minimum_score_is_kept_and_explained(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    response = client.get(_url(call, "note_min=beaucoup&region=84&tri=pole"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="beaucoup"' in page and "Indiquez une note entre 0 et 100" in page
    assert 'aria-invalid="true"' in page
    assert _ids(page) == [ids[k] for k in "CAE"]  # the other filters still apply
    assert client.get(_url(call, "note_min=101")).status_code == 422


def test_active_filters_are_removable_tags_and_links_keep_them(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    page = client.get(_url(call, "region=84&departement=69&tri=montant")).get_data(as_text=True)
    tags = re.search(r'<ul class="fr-tags-group[^>]*id="filtres-appliques">(.*?)</ul>', page, re.S).group(1)
    links = {t: h.replace("&amp;", "&") for h, t in re.findall(r'href="([^"]+)"[^>]*>([^<]+)</a>', tags)}
    assert links == {
        "Région : Auvergne-Rhône-Alpes": f"/admin/appels/{call.slug}/dossiers?departement=69&tri=montant",
        "Département : 69 — Rhône": f"/admin/appels/{call.slug}/dossiers?region=84&tri=montant",
    }
    # The CSV link and the sort links carry the filters.
    assert f'href="/admin/appels/{call.slug}/dossiers.csv?region=84&amp;departement=69&amp;tri=montant"' in page
    assert "region=84&amp;departement=69" in re.search(r'aria-sort="ascending">(.*?)</th>', page, re.S).group(1)


SORTS = [
    ("tri=montant", "DAFCEB"),
    ("tri=montant&ordre=desc", "BECFAD"),
    ("tri=note&ordre=desc", "BDACEF"),  # unscored last, by id
    ("tri=note", "DBACEF"),
    ("tri=region", "BFDACE"),
    ("tri=departement", "CDAEBF"),  # by the first department: 01, 31, 69 (A, then E by id), 75, 92
    ("tri=pole&ordre=desc", "FEDBAC"),
    ("tri=statut", "DEFBCA"),
]


@pytest.mark.parametrize(("query", "expected"), SORTS)
def test_sorts(query, expected, client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    page = client.get(_url(call, query)).get_data(as_text=True)
    assert _ids(page) == [ids[k] for k in expected]


# --- exports --------------------------------------------------------------------------------------------

def _csv_ids(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _xlsx_rows(response) -> list[tuple]:
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return list(book.active.iter_rows(values_only=True))


@pytest.mark.parametrize("query", ["tri=pole", "region=84&tri=montant&ordre=desc", "note_min=60&tri=note",
                                   "tri=note", "tri=note&ordre=desc", "eligibilite=non_verifie", "conflit=1", "desaccord=1&tri=depot", "q=zzz"])
def test_exports_hold_the_filtered_list_in_its_order(query, client, login_as, admin_user, listing, monkeypatch):
    from ptce_aap.admin import instruction as views

    call, ids = listing
    login_as(admin_user)
    monkeypatch.setattr(views, "PER_PAGE", 2)  # the list spans pages; the export takes them all
    listed, page = [], 1
    while True:
        rows = _ids(client.get(_url(call, f"{query}&page={page}")).get_data(as_text=True))
        if not rows or (listed and rows[-1] == listed[-1]):
            break
        listed += rows
        page += 1
    csv_rows = _csv_ids(client.get(f"/admin/appels/{call.slug}/dossiers.csv?{query}"))
    assert csv_rows[0][:2] == ["Dossier", "Pôle"]
    assert [int(r[0]) for r in csv_rows[1:]] == listed
    xlsx_rows = _xlsx_rows(client.get(f"/admin/appels/{call.slug}/dossiers.xlsx?{query}"))
    assert xlsx_rows[0][:2] == ("Dossier", "Pôle")
    assert [r[0] for r in xlsx_rows[1:]] == listed


def test_export_cells_formulas_neutralised_numbers_kept(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    rows = _csv_ids(client.get(f"/admin/appels/{call.slug}/dossiers.csv?tri=pole"))
    header, gamma, alpha = rows[0], rows[1], rows[2]
    assert gamma[1] == "'=Pôle Gamma"
    assert dict(zip(header, alpha, strict=True)) | {"Déposé le": ""} == {
        "Dossier": str(ids["A"]), "Pôle": "Pôle Alpha", "Structure porteuse": "Association 0",
        "SIRET": carrier_siret_for(1), "Statut": "Irrecevable", "Région": "Auvergne-Rhône-Alpes",
        "Départements": "69", "Catégorie": "Émergence", "Montant demandé (€)": "50000,00",
        "Éligibilité": "Non éligible", "Note moyenne (/100)": "", "Désaccord": "", "Conflit d’intérêts non levé": "non",
        "Déposé le": ""}
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/admin/appels/{call.slug}/dossiers.xlsx?tri=pole").get_data()))
    sheet = book.active
    assert sheet["B2"].value == "'=Pôle Gamma" and sheet["B2"].data_type == "s"
    assert sheet["I3"].value == 50000 and sheet["I3"].data_type == "n"
    bravo = [r for r in sheet.iter_rows(values_only=True) if r[0] == ids["B"]][0]
    assert bravo[10] == 70 and bravo[11] == "oui"


# --- bulk actions ----------------------------------------------------------------------------------------

def _selection(call, action, *ids):
    return f"/admin/appels/{call.slug}/dossiers/selection?action={action}&tri=pole" + "".join(f"&ids={i}" for i in ids)


def test_bulk_recheck_confirms_then_acts_through_the_service(client, login_as, admin_user, listing, db):
    call, ids = listing
    login_as(admin_user)
    before = db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id)))
    confirm = client.get(_selection(call, "verifier", ids["D"], ids["E"], 999999))
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "2 dossiers seront vérifiés de nouveau" in page
    assert _ids(page) == [ids["D"], ids["E"]]  # another call's or unknown ids are ignored
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == before  # GET changes nothing
    # Without the CSRF token: refused, nothing done.
    data = {"action": "verifier", "ids": [str(ids["D"]), str(ids["E"])]}
    assert client.post(f"/admin/appels/{call.slug}/dossiers/selection", data=data, csrf=False).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == before
    response = client.post(f"/admin/appels/{call.slug}/dossiers/selection", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    checked = db.session.scalars(sa.select(EligibilityCheck.dossier_id).where(
        EligibilityCheck.actor_id == admin_user.id)).all()
    assert sorted(checked) == sorted([ids["D"], ids["E"]])
    assert db.session.get(Dossier, ids["D"]).status == DossierStatus.ELIGIBLE
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "dossier.eligibility_checked",
                                                             AuditEvent.actor_id == admin_user.id)).all()
    assert sorted(int(e.object_id) for e in events) == sorted([ids["D"], ids["E"]])
    assert "2 dossiers ont été vérifiés de nouveau." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_bulk_recheck_keeps_forced_verdicts(client, login_as, admin_user, listing, db):
    call, ids = listing
    eligibility_service.override(db.session.get(Dossier, ids["A"]), is_eligible=True, reason="Pièce reçue",
                                 by=admin_user)
    db.session.commit()
    login_as(admin_user)
    client.post(f"/admin/appels/{call.slug}/dossiers/selection",
                data={"action": "verifier", "ids": [str(ids["A"]), str(ids["B"])]})
    db.session.expire_all()
    assert db.session.get(Dossier, ids["A"]).status == DossierStatus.ELIGIBLE  # the override stands
    assert db.session.scalars(sa.select(EligibilityCheck.dossier_id).where(
        EligibilityCheck.actor_id == admin_user.id, EligibilityCheck.is_override.is_(False))).all() == [ids["B"]]


def test_bulk_without_selection_or_action_goes_back_with_a_message(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    response = client.get(f"/admin/appels/{call.slug}/dossiers/selection?action=verifier&tri=pole")
    assert response.status_code == 302
    assert "Cochez au moins un dossier" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.get(f"/admin/appels/{call.slug}/dossiers/selection?action=supprimer&ids={ids['A']}")
    assert response.status_code == 302


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bulk_export_of_the_selection_is_audited(fmt, client, login_as, admin_user, listing, db):
    call, ids = listing
    login_as(admin_user)
    page = client.get(_selection(call, f"exporter_{fmt}", ids["E"], ids["A"])).get_data(as_text=True)
    assert "2 dossiers seront exportés" in page
    response = client.post(f"/admin/appels/{call.slug}/dossiers/selection",
                           data={"action": f"exporter_{fmt}", "tri": "pole", "ids": [str(ids["E"]), str(ids["A"])]})
    assert response.status_code == 200
    rows = _csv_ids(response)[1:] if fmt == "csv" else _xlsx_rows(response)[1:]
    assert [int(r[0]) for r in rows] == [ids["A"], ids["E"]]
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call.dossiers_exported")).all()
    assert (event.actor_id, event.object_id) == (admin_user.id, str(call.id))
    assert event.summary == {"after": {"format": fmt, "rows": 2, "selection": True}}


def test_list_page_has_the_selection_form_and_boxes(client, login_as, admin_user, listing):
    call, ids = listing
    login_as(admin_user)
    page = client.get(_url(call)).get_data(as_text=True)
    assert f'action="/admin/appels/{call.slug}/dossiers/selection" id="selection"' in page
    assert f'name="ids" value="{ids["A"]}" form="selection"' in page
    assert 'data-select-all="ids"' in page and "selection.js" in page


# --- access and query counts ------------------------------------------------------------------------------

def _new_urls(call):
    return [("get", f"/admin/appels/{call.slug}/dossiers"), ("get", f"/admin/appels/{call.slug}/dossiers.csv"),
            ("get", f"/admin/appels/{call.slug}/dossiers.xlsx"),
            ("get", f"/admin/appels/{call.slug}/dossiers/selection?action=verifier&ids=1"),
            ("post", f"/admin/appels/{call.slug}/dossiers/selection"),
            ("get", f"/admin/appels/{call.slug}/archive"), ("post", f"/admin/appels/{call.slug}/archive")]


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_applicants_and_reviewers_are_refused(who, client, login_as, listing, applicant, reviewer, db):
    call, ids = listing
    login_as({"applicant": applicant, "reviewer": reviewer}[who])
    checks = db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id)))
    for method, url in _new_urls(call):
        response = getattr(client, method)(url, data={"action": "verifier", "ids": [str(ids["D"])]})
        assert response.status_code == 403, url
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == checks
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action.in_(["call.dossiers_exported", "call.documents_zip_requested"]))) == 0


def test_list_query_count_is_constant(client, login_as, admin_user, listing, db, make_call):
    call, ids = listing
    login_as(admin_user)
    url = _url(call, "region=84&departement=69&categorie=emergence&domaine=alimentation&eligibilite=irrecevable"
                     "&note_min=1&desaccord=1&conflit=1&q=p&tri=note")
    plain = _url(call, "tri=note")
    client.get(url)  # warm-up
    with count_queries(db) as few:
        client.get(url)
        client.get(plain)
    _bulk_dossiers(db, call, 40)
    with count_queries(db) as many:
        client.get(url)
        assert len(_ids(client.get(plain).get_data(as_text=True))) == 46
    assert len(many) == len(few), "\n\n".join(s[:150] for s in few + ["-----"] + many)


def test_score_sort_without_any_review_keeps_the_id_order(client, login_as, admin_user, make_call, db):
    call = make_call()
    ids = _bulk_dossiers(db, call, 3)
    login_as(admin_user)
    for order in ("", "&ordre=desc"):
        page = client.get(_url(call, f"tri=note{order}")).get_data(as_text=True)
        assert _ids(page) == ids
