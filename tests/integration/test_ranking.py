"""The ranking table of a call (issue 11 point 5): exact rows, filters, sort, pagination, CSV and XLSX
(formulas neutralised), a constant number of queries."""

from __future__ import annotations

import io
from decimal import Decimal
from html import unescape

import pytest
from openpyxl import load_workbook

from ptce_aap.enums import DecisionOutcome, DossierStatus, PaymentTerms, Recommendation, Role
from ptce_aap.models.calls import CallCategory
from ptce_aap.services.dossiers import set_dossier_status
from tests.fixtures.queries import count_queries

# pole, region, category, amount requested, uniform score out of 5 (total = 20 × score), recommendation
DOSSIERS = [
    ("Pôle Alpha", "84", "emergence", "80000", 5, Recommendation.FAVORABLE),
    ("Pôle Bravo", "84", "developpement", "90000", 4, Recommendation.FAVORABLE),
    ("Pôle Charlie", "11", "developpement", "60000", 3, Recommendation.RESERVED),
    ("=HYPERLINK(\"x\")", "53", "emergence", "50000", 4, Recommendation.UNFAVORABLE),
]


@pytest.fixture
def ranked(db, make_call, make_reviewed_dossier, make_user, make_assignment, make_scored_review):
    """A call in review with four reviewed dossiers, scored by one reviewer (so calibrated = raw) and a second
    reviewer on Bravo who disagrees; ``ranked(n)`` adds n more dossiers (for the query counts)."""
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))
    db.session.add_all([CallCategory(call_id=call.id, code="emergence", label="Émergence", quota=1, position=0),
                        CallCategory(call_id=call.id, code="developpement", label="Développement", position=1)])
    db.session.commit()
    first = make_user("r1@example.org", roles=(Role.REVIEWER,), full_name="Rita Une")
    second = make_user("r2@example.org", roles=(Role.REVIEWER,), full_name="Rémi Deux")
    dossiers = {}

    def add(pole, region, category, amount, score, recommendation):
        d = make_reviewed_dossier(call=call, pole_name=pole)
        d.region_code, d.category_code, d.amount_requested_eur = region, category, Decimal(amount)
        db.session.commit()
        make_scored_review(make_assignment(d, first), [score] * 6, recommendation=recommendation)
        dossiers[pole] = d
        return d

    for values in DOSSIERS:
        add(*values)
    make_scored_review(make_assignment(dossiers["Pôle Bravo"], second), [1] * 6,
                       recommendation=Recommendation.UNFAVORABLE)
    return {"call": call, "dossiers": dossiers, "add": add}


def rows_of(html: str) -> list[str]:
    body = unescape(html).split('id="classement"')[1].split("</tbody>")[0]
    return [" ".join(part.split("</tr>")[0].split()) for part in body.split("<tr data-dossier=")[1:]]


def text(row: str) -> str:
    import re
    return re.sub(r"<[^>]+>", " ", row).split()


@pytest.fixture
def as_admin(login_as, admin_user):
    login_as(admin_user)


def test_the_ranking_shows_every_eligible_dossier_with_exact_numbers(client, as_admin, ranked, db):
    d = ranked["dossiers"]
    # Bravo: Rita 80, Rémi 20 → mean 50, spread 60 points (désaccord above 30)
    html = client.get(f"/admin/appels/{ranked['call'].slug}/classement?note=brute").get_data(as_text=True)
    rows = rows_of(html)
    assert [r.split('"')[1] for r in rows] == [str(d[p].id) for p in
                                               ("Pôle Alpha", '=HYPERLINK("x")', "Pôle Charlie", "Pôle Bravo")]
    alpha = rows[0]
    assert "<td data-rank>1</td>" in alpha and "<td data-mean>100</td>" in alpha
    assert "1 évaluation :<br>1 favorable" in alpha and "<td data-region>Auvergne-Rhône-Alpes</td>" in alpha
    assert "<td data-category>Émergence</td>" in alpha and "<td data-decision>—</td>" in alpha
    bravo = rows[3]
    assert "<td data-mean>50</td>" in bravo and "60" in bravo.split("data-spread>")[1] and "Désaccord" in bravo
    assert "2 évaluations :<br>1 favorable, 1 défavorable" in bravo


def test_withdrawn_and_ineligible_dossiers_are_left_out(client, as_admin, ranked, db, make_eligible_dossier):
    gone = make_eligible_dossier(call=ranked["call"], pole_name="Pôle Retiré")
    set_dossier_status(gone, DossierStatus.WITHDRAWN, by=None)
    db.session.commit()
    html = client.get(f"/admin/appels/{ranked['call'].slug}/classement").get_data(as_text=True)
    assert "Pôle Retiré" not in html and len(rows_of(html)) == 4


def test_filters_sort_and_a_wrong_minimum_kept_beside_its_field(client, as_admin, ranked):
    slug, d = ranked["call"].slug, ranked["dossiers"]
    html = client.get(f"/admin/appels/{slug}/classement?note=brute&region=84").get_data(as_text=True)
    assert [r.split('"')[1] for r in rows_of(html)] == [str(d["Pôle Alpha"].id), str(d["Pôle Bravo"].id)]
    html = client.get(f"/admin/appels/{slug}/classement?note=brute&desaccord=y").get_data(as_text=True)
    assert [r.split('"')[1] for r in rows_of(html)] == [str(d["Pôle Bravo"].id)]
    html = client.get(f"/admin/appels/{slug}/classement?note=brute&min=70").get_data(as_text=True)
    assert len(rows_of(html)) == 2
    html = client.get(f"/admin/appels/{slug}/classement?categorie=developpement&tri=montant").get_data(as_text=True)
    assert [r.split('"')[1] for r in rows_of(html)] == [str(d["Pôle Bravo"].id), str(d["Pôle Charlie"].id)]
    response = client.get(f"/admin/appels/{slug}/classement?min=cent")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and 'value="cent"' in html
    assert "Saisissez un nombre, par exemple 2 ou 2,5." in html.split('id="min-desc-error"')[1][:200]


def test_csv_and_xlsx_exports_neutralise_formulas(client, as_admin, ranked):
    slug = ranked["call"].slug
    csv_text = client.get(f"/admin/appels/{slug}/classement.csv?note=brute").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Rang;Dossier;Pôle;Région;Catégorie;Montant demandé (€)")
    assert lines[1].split(";")[2:8] == ["Pôle Alpha", "Auvergne-Rhône-Alpes", "Émergence", "80000,00", "100,0",
                                        "100,0"]
    assert "'=HYPERLINK" in lines[2]
    response = client.get(f"/admin/appels/{slug}/classement.xlsx?note=brute")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:6] == (1, ranked["dossiers"]["Pôle Alpha"].id, "Pôle Alpha", "Auvergne-Rhône-Alpes",
                             "Émergence", 80000)
    assert values[2][2] == "'=HYPERLINK(\"x\")"  # text, never a formula
    assert all(not (isinstance(v, str) and v.startswith("=")) for row in values for v in row)


def test_the_current_decision_is_shown(client, as_admin, ranked, db, admin_user):
    from ptce_aap.enums import CallStatus
    from ptce_aap.services.decisions import DecisionInput, decide

    call, alpha = ranked["call"], ranked["dossiers"]["Pôle Alpha"]
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(alpha, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.", amount_eur=Decimal("70000"),
                                payment_terms=PaymentTerms.SINGLE), by=admin_user)
    db.session.commit()
    row = rows_of(client.get(f"/admin/appels/{call.slug}/classement").get_data(as_text=True))[0]
    assert "<td data-decision>Lauréat, 70 000 €</td>" in row.replace("\u202f", " ").replace("\xa0", " ")


def test_ranking_pages_read_a_constant_number_of_queries(client, as_admin, ranked, db, app):
    slug = ranked["call"].slug

    def count(path):
        db.session.expire_all()
        with count_queries(db) as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    urls = [f"/admin/appels/{slug}/classement", f"/admin/appels/{slug}/classement.csv",
            f"/admin/appels/{slug}/classement.xlsx"]
    before = [count(u) for u in urls]
    for i in range(6):
        ranked["add"](f"Pôle en plus {i}", "52", "developpement", "10000", 2, Recommendation.RESERVED)
    assert [count(u) for u in urls] == before


def test_the_rows_of_a_later_page_have_their_reviews_avis_and_decision(client, as_admin, ranked, monkeypatch):
    """The page reads the tallies, regional avis and decisions of its own rows only (``add_details``): a row of
    page 2 must have them as the whole-call CSV does."""
    from ptce_aap.admin import ranking as views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    html = client.get(f"/admin/appels/{ranked['call'].slug}/classement?note=brute&page=2").get_data(as_text=True)
    rows = rows_of(html)
    assert [r.split('"')[1] for r in rows] == [str(ranked["dossiers"][p].id) for p in ("Pôle Charlie", "Pôle Bravo")]
    assert "2 évaluations :<br>1 favorable, 1 défavorable" in rows[1]
    csv_text = client.get(f"/admin/appels/{ranked['call'].slug}/classement.csv?note=brute").get_data(as_text=True)
    bravo = next(line for line in csv_text.splitlines() if "Pôle Bravo" in line).split(";")
    assert bravo[11:14] == ["1", "0", "1"]  # favorable, réservé, défavorable


@pytest.mark.parametrize("tri", ["moyenne", "calibree", "ecart"])
def test_a_dossier_without_a_score_stays_last_in_either_order(client, as_admin, ranked, make_eligible_dossier, tri):
    """Sorting by a score puts the unscored dossiers last, reversed or not (reversing the whole list put them
    first: seen on the demo's call)."""
    slug = ranked["call"].slug
    waiting = make_eligible_dossier(call=ranked["call"], pole_name="Pôle Sans Note")
    for order in ("", "&ordre=inverse"):
        html = client.get(f"/admin/appels/{slug}/classement?note=brute&tri={tri}{order}").get_data(as_text=True)
        ids = [r.split('"')[1] for r in rows_of(html)]
        assert len(ids) == 5 and ids[-1] == str(waiting.id), (tri, order)
        lines = client.get(f"/admin/appels/{slug}/classement.csv?note=brute&tri={tri}{order}").get_data(
            as_text=True).lstrip("\ufeff").splitlines()
        assert lines[-1].split(";")[1] == str(waiting.id), (tri, order)
