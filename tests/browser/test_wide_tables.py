"""Tables that fit (new-user test, point 13): at 1280 px and at 375 px, no cell of the admin's and the
reviewer's list pages is past the right edge of the window (actions cut off, a status column hidden), and the
pages stay axe-core clean. The data is long on purpose: long call titles, institution names and e-mails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ptce_aap.enums import ConflictSource, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.services.notifications import notify
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)
LONG = "Appel à projets Pôles territoriaux de coopération économique — édition nationale de printemps"


def _log_in(page, email):
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def _cells_past_the_edge(page) -> list[str]:
    """Every table cell (th, td) whose right edge is past the window's visible width, as « text @ right »."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        return [...document.querySelectorAll('main table th, main table td')]
            .filter(c => c.offsetParent !== null || c.getClientRects().length)
            .filter(c => c.getBoundingClientRect().right > width + 0.5)
            .map(c => c.innerText.trim().slice(0, 40) + ' @ ' + Math.round(c.getBoundingClientRect().right)
                      + ' > ' + width);
    }""")


def _check(page, pages: list[tuple[str, str]]) -> None:
    """Every page at every width; the cells past the edge of all of them are reported together."""
    past = {}
    for url, name in pages:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            assert page.locator("main table").count(), f"no table on {url}"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"wide-tables-{name}-{width}.png"), full_page=True)
            cells = _cells_past_the_edge(page)
            if cells:
                past[f"{url} at {width} px"] = cells[:4]
            try:
                check_accessibility(page, context=f"{url} at {width} px")
            except AssertionError as exc:
                past[f"axe: {url} at {width} px"] = str(exc)[:300]
    assert past == {}


@pytest.fixture
def filled(make_call, make_eligible_dossier, make_pool_member, make_institution, make_user, make_assignment,
           make_scored_review, admin_user, db):  # noqa: PLR0913
    call = make_call(title=LONG, slug="aap-ptce-printemps",
                     review_deadline_at=utcnow().replace(microsecond=0) + timedelta(days=30))
    make_call(title=LONG + " (copie de travail)", slug="aap-ptce-copie")
    reviewer = make_user("louise.rapporteuse-de-la-direction-generale@example.org", roles=(Role.REVIEWER,),
                         full_name="Louise-Marguerite de La Fontaine-Rapporteuse")
    institutions = [make_institution("Agence nationale de la cohésion des territoires — direction des programmes"),
                    make_institution("Caisse des Dépôts et consignations — Banque des Territoires")]
    members = [make_pool_member(call, reviewer, institution=institutions[0], capacity=5,
                                activity_domains=["alimentation", "mobilite"]),
               make_pool_member(call, institution=institutions[1], capacity=5)]
    dossiers = [make_eligible_dossier(call=call, pole_name=f"Société coopérative d'intérêt collectif des "
                                                           f"Jardins solidaires de la vallée n° {i}")
                for i in range(3)]
    for d in dossiers:
        make_assignment(d, reviewer)
        make_assignment(d, members[1].user)
    first = make_assignment(dossiers[0], make_pool_member(call, institution=institutions[1]).user)
    make_scored_review(first, [4, 3, 5, 2, 4, 1], note="Une note confidentielle assez longue pour le comité.")
    db.session.add(ConflictOfInterest(reviewer_id=reviewer.id, call_id=call.id, pole_id=dossiers[2].pole_id,
                                      source=ConflictSource.DECLARED, declared_by_id=reviewer.id,
                                      reason="J'ai accompagné ce pôle pendant deux ans comme conseillère."))
    notify(reviewer.email, "reviewer_added", {"name": reviewer.display_name, "call_title": call.title,
                                              "link": "/rapporteur/", "conflicts_link": "/rapporteur/"},
           dedupe_key="wide-tables", user=reviewer)
    db.session.commit()
    return {"call": call, "reviewer": reviewer, "admin": admin_user, "dossier": dossiers[1]}


def test_admin_tables_fit_at_1280_and_375(page, filled):
    slug = filled["call"].slug
    _log_in(page, filled["admin"].email)
    _check(page, [("/admin/appels", "calls"), (f"/admin/appels/{slug}/rapporteurs", "pool"),
                  (f"/admin/appels/{slug}/affectations", "assignments"), (f"/admin/appels/{slug}/notes", "scores"),
                  (f"/admin/appels/{slug}/dossiers", "dossiers"), ("/admin/", "admin-dashboard"),
                  (f"/admin/appels/{slug}/conflits", "conflicts"), (f"/admin/appels/{slug}/grille", "grid"),
                  (f"/admin/appels/{slug}/affectations/dossiers/{filled['dossier'].id}", "assignment-dossier"),
                  (f"/admin/appels/{slug}/affectations/proposition", "proposal")])


def test_the_reviewer_dashboard_fits_at_1280_and_375(page, filled):
    _log_in(page, filled["reviewer"].email)
    _check(page, [("/rapporteur/", "reviewer-dashboard"),
                  (f"/rapporteur/appels/{filled['call'].slug}/conflits", "reviewer-conflicts")])


def test_on_a_phone_each_dossier_card_labels_its_box_as_a_selection(page, filled):
    """The « select all » heading holds a box: the stacked rows say « Sélectionner », not the heading's text."""
    _log_in(page, filled["admin"].email)
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto(f"/admin/appels/{filled['call'].slug}/dossiers")
    first = page.locator("#dossiers tbody tr").first.locator("td").first
    first.locator("input[name=ids]").wait_for(state="attached")
    assert first.get_attribute("data-label") == "Sélectionner"
