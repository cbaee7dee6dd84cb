"""Statistics for the ministry's report (issue 12, point 2): exact figures of one call and of two calls compared
(dossiers, laureates by their current decision, amounts, regions, departments, domains, categories, members,
forms, jobs), withdrawn dossiers and drafts left out, the CSV, the empty states, admins only, a constant
number of queries."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest

from ptce_aap.enums import CallStatus, DecisionOutcome, DossierStatus, GovernanceForm, PaymentTerms, Role
from ptce_aap.services.decisions import DecisionInput, decide
from ptce_aap.services.dossiers import set_dossier_status
from tests.integration.test_query_counts import assert_same, queries_for

NARROW = re.compile("[\u202f\u00a0]")


def text(response) -> str:
    assert response.status_code == 200
    return NARROW.sub(" ", unescape(response.get_data(as_text=True)))


def cell(body: str, table: str, key: str, col: str, row_attr: str = "data-key") -> str:
    """The text of the cell ``data-col="col"`` in the row ``row_attr="key"`` of the table ``id=table``."""
    start = body.index(f'id="{table}"')
    part = body[start:body.index("</table>", start)]
    row = re.search(rf'<tr {row_attr}="{re.escape(key)}"[^>]*>(.*?)</tr>', part, re.S)
    assert row, (table, key)
    found = re.search(rf'<td data-col="{re.escape(col)}">(.*?)</td>', row.group(1), re.S)
    assert found, (table, key, col)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def laureate(amount: str, reason: str = "") -> DecisionInput:
    return DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Projet solide.", amount_eur=Decimal(amount),
                         reference="DEC-1", committee_date=date(2026, 12, 3), payment_terms=PaymentTerms.SINGLE,
                         correction_reason=reason)


REJECTED = DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Ancrage territorial trop faible.")


@pytest.fixture
def world(db, make_call, make_reviewed_dossier, make_dossier, admin_user):
    from ptce_aap.models.base import utcnow

    now = utcnow().replace(microsecond=0)
    old = make_call(slug="aap-2013", title="AAP PTCE 2013", opens_at=now - timedelta(days=400),
                    closes_at=now + timedelta(days=30),
                    categories=[{"code": "emergence", "label": "Émergence"},
                                {"code": "developpement", "label": "Développement"}])
    new = make_call(slug="aap-2015", title="AAP PTCE 2015")

    def reviewed(call, name, *, members, region="84", departments=("69", "01"), **values):
        dossier = make_reviewed_dossier(call=call, pole_name=name, members=members)
        dossier.region_code, dossier.departments = region, list(departments)
        for key, value in values.items():
            setattr(dossier, key, value)
        db.session.commit()
        return dossier

    # members=5: ESS, enterprise, collectivity, research, training (the builder's order of categories).
    a1 = reviewed(old, "Pôle A1", members=5, category_code="emergence")
    a2 = reviewed(old, "Pôle A2", members=3, region="53", departments=("35",), category_code="developpement",
                  governance_form=GovernanceForm.AD_HOC, cooperation={"mutualisation_projets": "Projets communs."},
                  activity_domains=["numerique"], jobs_existing_fte=Decimal("10"), jobs_to_create_fte=None)
    a3 = reviewed(old, "Pôle A3", members=4)
    aw = reviewed(old, "Pôle retiré", members=6, region="11", departments=("75",), category_code="emergence")
    make_dossier(call=old, pole_name="Brouillon")  # a draft: nowhere
    b1 = reviewed(new, "Pôle B1", members=6, region="53", departments=("35", "22"),
                  jobs_existing_fte=Decimal("1.5"), jobs_to_create_fte=Decimal("3"))

    for call in (old, new):
        call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(a1, laureate("50000"), by=admin_user)
    decide(a1, laureate("60000", reason="Budget revu."), by=admin_user)  # the correction: counted once, 60 000
    decide(a2, laureate("40000"), by=admin_user)
    decide(a2, REJECTED.__class__(**{**REJECTED.__dict__, "correction_reason": "Erreur."}), by=admin_user)
    decide(aw, laureate("70000"), by=admin_user)
    decide(b1, laureate("30000.50"), by=admin_user)
    set_dossier_status(aw, DossierStatus.WITHDRAWN, by=None)  # then withdrawn: left out with its decision
    db.session.commit()
    return {"old": old, "new": new, "admin": admin_user, "a3": a3}


CALL_URL = "/admin/appels/aap-2013/statistiques"


def test_one_call_summary_and_breakdowns(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(CALL_URL))
    assert cell(body, "synthese", "aap-2013", "dossiers", "data-call") == "3"
    assert cell(body, "synthese", "aap-2013", "retires", "data-call") == "1"
    assert cell(body, "synthese", "aap-2013", "laureats", "data-call") == "1"
    assert cell(body, "synthese", "aap-2013", "montant", "data-call") == "60 000 €"
    assert "1 dossier retiré exclu." in body and "les brouillons et les dossiers retirés" in body
    assert cell(body, "regions", "84", "dossiers") == "2" and cell(body, "regions", "84", "montant") == "60 000 €"
    assert cell(body, "regions", "53", "dossiers") == "1" and cell(body, "regions", "53", "laureats") == "0"
    assert 'data-key="11"' not in body[body.index('id="regions"'):body.index('id="titre-departements"')]
    assert cell(body, "departements", "69", "dossiers") == "2" and cell(body, "departements", "01", "laureats") == "1"
    assert 'data-key="75"' not in body[body.index('id="departements"'):]  # the withdrawn one's department
    assert cell(body, "domaines", "alimentation", "dossiers") == "2"
    assert cell(body, "domaines", "numerique", "dossiers") == "1"
    assert cell(body, "domaines", "culture", "dossiers") == "0"  # every domain listed, for comparisons
    assert cell(body, "categories", "emergence", "dossiers") == "1"
    assert cell(body, "categories", "emergence", "montant") == "60 000 €"
    assert cell(body, "categories", "developpement", "dossiers") == "1"
    assert cell(body, "categories", "non-renseigne", "dossiers") == "1"
    assert "Sans catégorie" in body and "Émergence" in body


def test_one_call_members_forms_and_jobs(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(CALL_URL))
    # 5, 3 and 4 members (the withdrawn pole's 6 left out).
    for col, value in {"poles": "3", "moyenne": "4", "mediane": "4", "minimum": "3", "maximum": "5"}.items():
        assert cell(body, "membres-par-pole", "aap-2013", col, "data-call") == value
    # ESS 3, enterprises 3, collectivities 3, research 2, training 1, other 0: 12 members.
    assert cell(body, "membres-categories", "ess", "membres") == "3"
    assert cell(body, "membres-categories", "ess", "part") == "25,0 %"
    assert cell(body, "membres-categories", "research", "part") == "16,7 %"
    assert cell(body, "membres-categories", "training", "part") == "8,3 %"
    assert cell(body, "membres-categories", "other", "part") == "0,0 %"
    assert cell(body, "cooperation", "mutualisation_moyens", "dossiers") == "2"
    assert cell(body, "cooperation", "mutualisation_projets", "dossiers") == "1"
    assert cell(body, "cooperation", "cooperation_strategique", "laureats") == "1"
    assert cell(body, "gouvernance", "structure_dediee", "dossiers") == "2"
    assert cell(body, "gouvernance", "ad_hoc", "dossiers") == "1"
    jobs = body[body.index('id="emplois"'):]
    # Existing: 4.5, 10, 4.5; to create: 6, (A2 none), 6; the laureate A1: 4.5 and 6.
    assert cell(jobs, "emplois", "existants_tous", "total") == "19"
    assert cell(jobs, "emplois", "existants_tous", "moyenne") == "6,33"
    assert cell(jobs, "emplois", "existants_tous", "mediane") == "4,5"
    assert cell(jobs, "emplois", "a_creer_tous", "renseignes") == "2"
    assert cell(jobs, "emplois", "a_creer_tous", "total") == "12"
    assert cell(jobs, "emplois", "existants_laureats", "total") == "4,5"
    assert cell(jobs, "emplois", "a_creer_laureats", "mediane") == "6"


def test_charts_and_maps_are_images_with_their_values_written(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(CALL_URL))
    start = body.index('id="graphique-regions"')
    chart = body[start:body.index("</figure>", start)]
    assert 'role="img" aria-labelledby="graphique-regions-legende"' in chart
    assert re.search(r'<g data-key="84">.*?<g data-series="0" data-value="2">.*?'
                     r'class="ptce-chart__value"[^>]*>2</text>', chart, re.S)
    assert re.search(r'<g data-key="84">.*?<g data-series="1" data-value="1">', chart, re.S)
    assert "Auvergne-Rhône-Alpes — Lauréats : 1" in chart
    assert "Barre n° 1 : Dossiers déposés" in chart and "Barre n° 2 : Lauréats" in chart
    assert 'data-department="69" data-count="2"' in body[body.index('id="carte-dossiers"'):]
    laureates = body[body.index('id="carte-laureats"'):]
    assert 'data-department="69" data-count="1"' in laureates and 'data-department="35" data-count="0"' in laureates
    assert 'id="legende-carte-dossiers"' in body and 'id="legende-carte-laureats"' in body


def test_calls_compared_side_by_side(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get("/admin/statistiques"))
    assert cell(body, "synthese", "aap-2013", "dossiers", "data-call") == "3"
    assert cell(body, "synthese", "aap-2015", "laureats", "data-call") == "1"
    assert cell(body, "synthese", "ensemble", "dossiers", "data-call") == "4"
    assert cell(body, "synthese", "ensemble", "montant", "data-call") == "90 000,50 €"
    assert cell(body, "regions", "53", "aap-2013-dossiers") == "1"
    assert cell(body, "regions", "53", "aap-2015-montant") == "30 000,50 €"
    assert cell(body, "regions", "53", "dossiers") == "2"
    assert cell(body, "departements", "35", "dossiers") == "2" and cell(body, "departements", "22", "laureats") == "1"
    assert cell(body, "membres-par-pole", "ensemble", "mediane", "data-call") == "4,5"  # 3 4 5 6
    assert cell(body, "membres-par-pole", "aap-2015", "moyenne", "data-call") == "6"
    assert cell(body, "membres-categories", "ess", "aap-2015-membres") == "1"
    assert cell(body, "membres-categories", "ess", "membres") == "4"
    assert body.index("AAP PTCE 2013</th>") < body.index("AAP PTCE 2015</th>")  # oldest first
    assert 'id="appel-aap-2013" name="appel" value="aap-2013" checked' in body

    only = text(client.get("/admin/statistiques?appel=aap-2015"))
    assert cell(only, "synthese", "aap-2015", "dossiers", "data-call") == "1"
    assert 'data-call="aap-2013"' not in only and 'id="appel-aap-2013" name="appel" value="aap-2013">' in only
    assert "/admin/statistiques.csv?appel=aap-2015" in only


def test_the_default_choice_is_the_calls_with_submitted_dossiers(client, login_as, world, make_call):
    make_call(slug="aap-vide", title="AAP sans dossier")
    login_as(world["admin"])
    body = text(client.get("/admin/statistiques"))
    assert 'data-call="aap-vide"' not in body and 'value="aap-vide">' in body
    assert 'href="/admin/statistiques"' in text(client.get("/admin/"))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    data = response.get_data(as_text=True)
    assert data.startswith("\ufeff")
    return list(csv.reader(io.StringIO(data[1:]), delimiter=";"))


def test_the_csv_of_one_call_and_of_several(client, login_as, world, db):
    world["new"].title = "=HYPERLINK(\"http://x\")"  # a title that a spreadsheet would run
    db.session.commit()
    login_as(world["admin"])
    rows = csv_rows(client.get("/admin/appels/aap-2013/statistiques.csv"))
    assert rows[0] == ["tableau", "appel", "titre de l’appel", "code", "libellé", "mesure", "valeur"]
    assert ["synthese", "aap-2013", "AAP PTCE 2013", "montant_accorde", "", "euros", "60000,00"] in rows
    assert ["regions", "aap-2013", "AAP PTCE 2013", "84", "Auvergne-Rhône-Alpes", "laureats", "1"] in rows
    assert ["membres_par_categorie", "aap-2013", "AAP PTCE 2013", "research",
            "Centre de recherche / enseignement supérieur", "part_pct", "16,7"] in rows
    assert ["emplois", "aap-2013", "AAP PTCE 2013", "existants_tous", "Emplois existants, tous les dossiers",
            "moyenne_etp", "6,33"] in rows
    assert {row[1] for row in rows[1:]} == {"aap-2013"}

    both = csv_rows(client.get("/admin/statistiques.csv"))
    assert ["synthese", "ensemble", "Ensemble des appels choisis", "montant_accorde", "", "euros", "90000,50"] in both
    assert ["synthese", "aap-2015", "'=HYPERLINK(\"http://x\")", "laureats", "", "nombre", "1"] in both
    assert not any(cell.startswith("=") for row in both for cell in row)


def test_a_call_without_dossiers_and_a_call_without_decisions(client, login_as, world, make_call, make_dossier,
                                                              make_eligible_dossier):
    empty = make_call(slug="aap-vide")
    make_dossier(call=empty, pole_name="Brouillon seul")
    undecided = make_call(slug="aap-sans-decision")
    make_eligible_dossier(call=undecided, pole_name="Pôle déposé")
    login_as(world["admin"])
    body = text(client.get("/admin/appels/aap-vide/statistiques"))
    assert "Aucun dossier déposé : pas de statistiques à présenter." in body
    assert csv_rows(client.get("/admin/appels/aap-vide/statistiques.csv"))[1][-1] == "0"
    body = text(client.get("/admin/appels/aap-sans-decision/statistiques"))
    assert "Aucun lauréat n’est encore décidé" in body
    assert cell(body, "synthese", "aap-sans-decision", "dossiers", "data-call") == "1"
    assert cell(body, "emplois", "existants_laureats", "moyenne") == "—"
    nothing = text(client.get("/admin/statistiques?appel=inconnu"))
    assert 'data-call="aap-2013"' in nothing  # an unknown call: the default choice


def test_the_page_is_in_the_call_navigation(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(CALL_URL))
    nav = re.search(r'<nav[^>]*id="pages-appel"[^>]*>(.*?)</nav>', body, re.S).group(1)
    assert f'href="{CALL_URL}" aria-current="page" data-page="statistiques"' in nav
    assert 'data-page="statistiques"' in text(client.get("/admin/appels/aap-2013/tableau-de-bord"))


def test_applicants_and_reviewers_are_refused(client, login_as, world, make_user):
    for role in (Role.APPLICANT, Role.REVIEWER):
        login_as(make_user(roles=(role,)))
        for url in (CALL_URL, CALL_URL + ".csv", "/admin/statistiques", "/admin/statistiques.csv"):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert "Pôle A1" not in response.get_data(as_text=True) and "60000" not in response.get_data(as_text=True)


def test_query_count_is_constant(client, login_as, db, world, make_reviewed_dossier, admin_user):
    old = world["old"]

    def add(n: int) -> None:
        old.status = CallStatus.OPEN
        db.session.commit()
        made = [make_reviewed_dossier(call=old, pole_name=f"Pôle ajouté {i}-{n}") for i in range(n)]
        old.status = CallStatus.DELIBERATION
        db.session.commit()
        for dossier in made:
            decide(dossier, laureate("1000"), by=admin_user)
            decide(dossier, laureate("2000", reason="Corrigé."), by=admin_user)
        db.session.commit()

    login_as(world["admin"])
    urls = [CALL_URL, CALL_URL + ".csv", "/admin/statistiques", "/admin/statistiques.csv"]
    add(2)
    for url in urls:
        client.get(url)
    few = {url: queries_for(client, db, url) for url in urls}
    add(6)
    many = {url: queries_for(client, db, url) for url in urls}
    for url in urls:
        assert_same(few[url], many[url])
    body = text(client.get(CALL_URL))
    assert cell(body, "synthese", "aap-2013", "laureats", "data-call") == "9"
    assert cell(body, "synthese", "aap-2013", "montant", "data-call") == "76 000 €"  # 60 000 + 8 × 2 000


def test_no_call_with_submitted_dossiers(client, login_as, admin_user, make_call, make_dossier):
    make_dossier(call=make_call(slug="aap-brouillons"), pole_name="Brouillon")
    login_as(admin_user)
    body = text(client.get("/admin/statistiques"))
    assert "Aucun appel n’a encore de dossier déposé : pas de statistiques à présenter." in body
    assert 'id="appel-aap-brouillons" name="appel" value="aap-brouillons">' in body
    assert csv_rows(client.get("/admin/statistiques.csv"))[:5] == [
        ["tableau", "appel", "titre de l’appel", "code", "libellé", "mesure", "valeur"],
        ["synthese", "ensemble", "Ensemble des appels choisis", "dossiers", "", "nombre", "0"],
        ["synthese", "ensemble", "Ensemble des appels choisis", "retires_exclus", "", "nombre", "0"],
        ["synthese", "ensemble", "Ensemble des appels choisis", "laureats", "", "nombre", "0"],
        ["synthese", "ensemble", "Ensemble des appels choisis", "montant_accorde", "", "euros", "0,00"]]
