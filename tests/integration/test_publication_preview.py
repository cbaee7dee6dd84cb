"""The admin's preview of the open-data file (issue 12, new-user pass): the human columns first — bénéficiaire,
objet, montant, référence — and every one of the sixteen columns per laureate under « Toutes les colonnes », in
words and by its schema name; the full preview as a CSV download, equal to what would be published."""

from __future__ import annotations

import re
from html import unescape

from ptce_aap.domain import scdl
from ptce_aap.enums import Role
from ptce_aap.services import publication
from tests.integration import test_publication
from tests.integration.test_publication import read_csv

decided = test_publication.decided  # the fixture shared with test_publication


def test_the_preview_shows_the_human_columns_first_and_the_rest_per_laureate(db, client, login_as, admin_user,
                                                                             decided):
    call, _dossiers = decided
    login_as(admin_user)
    html = unescape(client.get(f"/admin/appels/{call.slug}/publication").get_data(as_text=True))
    table = html[html.index('id="apercu"'):html.index("</table>", html.index('id="apercu"'))]
    assert re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table) == [
        "Bénéficiaire (structure porteuse)", "Objet", "Montant", "Référence de la décision", "Toutes les colonnes"]
    rows = re.findall(r'<tr data-laureate="\d+">(.*?)</tr>', table, re.S)
    assert len(rows) == 2
    alpha = rows[0]
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", alpha.split("<details>")[0] + "</td>", re.S)]
    dossier = next(d for d in _dossiers if d.pole_name == "Pôle Alpha")
    assert cells[:4] == [f"{dossier.carrier_legal_name} SIRET {dossier.carrier_siret}", dossier.summary,
                         "80 000,50 €", "DEC-2026-001"]
    # Every column of the file, in words and by its name, with the very value the file will hold.
    expected = publication.preview(call)["rows"]
    details = re.findall(r'<dd lang="fr" data-column="(\w+)">([^<]*)</dd>', alpha)
    assert [c for c, _v in details] == list(scdl.COLUMNS)
    assert dict(details) == {c: (expected[0][c] or "—") for c in scdl.COLUMNS}
    assert '<dt>Nom de l’organisme attribuant <code lang="fr">nomAttribuant</code></dt>' in alpha
    assert ('<dt>Part de la subvention dans le budget (de 0 à 1) <code lang="fr">pourcentageSubvention</code></dt>'
            in alpha)
    assert "Très Secrète" not in html


def test_the_full_preview_downloads_as_the_csv_that_would_be_published(db, client, login_as, admin_user, decided):
    call, _dossiers = decided
    login_as(admin_user)
    page = client.get(f"/admin/appels/{call.slug}/publication").get_data(as_text=True)
    assert f'id="apercu-csv" href="/admin/appels/{call.slug}/publication/apercu.csv"' in page
    response = client.get(f"/admin/appels/{call.slug}/publication/apercu.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="apercu-laureats-{call.slug}.csv"'
    assert response.data == scdl.to_csv(publication.preview(call)["rows"])
    rows = read_csv(response.data)
    assert [r["referenceDecision"] for r in rows] == ["DEC-2026-001", "DEC-2026-002"]
    assert list(rows[0]) == list(scdl.COLUMNS)
    published = publication.publish(call, by=admin_user)
    db.session.commit()
    assert client.get(f"/appels/{call.slug}/laureats.csv").data == response.data  # what was previewed is published
    assert published.version == 1


def test_the_preview_download_is_for_administrators(db, client, login_as, make_user, decided):
    call, _dossiers = decided
    url = f"/admin/appels/{call.slug}/publication/apercu.csv"
    for role in (Role.APPLICANT, Role.REVIEWER):
        login_as(make_user(roles=(role,)))
        assert client.get(url).status_code == 403
