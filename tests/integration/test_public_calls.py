"""Public list of calls (/appels) and a call's page (/appels/<slug>)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus
from ptce_aap.models.base import utcnow

NNBSP = "\u202f"  # thousands separator of French numbers
NBSP = "\u00a0"

CARD_LINK = re.compile(r'<h3 class="fr-card__title"><a href="/appels/([^"]+)">')


def section_slugs(html: str, section_id: str) -> list[str]:
    """Slugs of the cards inside the ``<section id=…>`` of the list page."""
    start = html.index(f'<section class="fr-mt-6w" id="{section_id}"')
    end = html.index("</section>", start)
    return CARD_LINK.findall(html[start:end])


def text_of(html: str) -> str:
    """The visible text, tags removed and ASCII whitespace collapsed (no-break spaces are kept)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def element_text(html: str, element_id: str, end_tag: str) -> str:
    """The text of the element with ``id=element_id``, up to the first ``end_tag`` after it."""
    start = html.index(">", html.index(f'id="{element_id}"')) + 1
    return text_of(html[start:html.index(end_tag, start)])


@pytest.fixture
def calls_at_each_state(make_call):
    """One call in each public situation, plus a draft; returns their slugs by situation."""
    now = utcnow().replace(microsecond=0)
    days = timedelta(days=1)
    make_call(slug="ouvert-tard", title="Ouvert, clôture lointaine", opens_at=now - 10 * days,
              closes_at=now + 60 * days)
    make_call(slug="ouvert-tot", title="Ouvert, clôture proche", opens_at=now - 10 * days, closes_at=now + 3 * days)
    make_call(slug="a-venir", title="À venir", opens_at=now + 10 * days, closes_at=now + 70 * days)
    make_call(slug="echeance-passee", title="Ouvert mais échéance passée", opens_at=now - 40 * days,
              closes_at=now - 1 * days)
    make_call(slug="clos", title="Clos", status=CallStatus.CLOSED, opens_at=now - 90 * days,
              closes_at=now - 30 * days)
    make_call(slug="publie", title="Résultats publiés", status=CallStatus.PUBLISHED, opens_at=now - 400 * days,
              closes_at=now - 300 * days)
    make_call(slug="brouillon", title="Brouillon secret", status=CallStatus.DRAFT, opens_at=now + 5 * days,
              closes_at=now + 50 * days)


# --- list -------------------------------------------------------------------------------------------

def test_calls_list_groups_calls_by_state(client, calls_at_each_state):
    response = client.get("/appels")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert section_slugs(html, "appels-ouverts") == ["ouvert-tot", "ouvert-tard"]
    assert section_slugs(html, "appels-a-venir") == ["a-venir"]
    assert section_slugs(html, "appels-clos") == ["echeance-passee", "clos", "publie"]
    assert "brouillon" not in html and "Brouillon secret" not in html
    assert html.count("<h1") == 1
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", html) == [
        "Appels ouverts", "Appels à venir", "Appels clos"]


def test_calls_list_card_shows_dates_amounts_and_status(client, make_call):
    make_call(slug="carte", title="Appel 2027", opens_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
              closes_at=datetime(2027, 3, 15, 11, 0, tzinfo=UTC), envelope_eur=Decimal("3000000"),
              max_amount_eur=Decimal("150000"))
    html = client.get("/appels").get_data(as_text=True)
    card = element_text(html, "appel-carte", "</section>")
    assert card == (
        f"Appel 2027 Ouverture : 02/11/2026 à 09:00 (heure de Paris) "
        f"Date limite : 15/03/2027 à 12:00 (heure de Paris) Enveloppe totale : 3{NNBSP}000{NNBSP}000 € "
        f"Montant maximal par dossier : 150{NNBSP}000 € Ouvert")


def test_calls_list_closed_badge_for_open_call_past_its_deadline(client, make_call):
    now = utcnow()
    make_call(slug="passe", opens_at=now - timedelta(days=9), closes_at=now - timedelta(days=1))
    html = client.get("/appels").get_data(as_text=True)
    start = html.index('id="appel-passe"')
    assert '<p class="fr-badge fr-badge--warning fr-badge--sm">Clos</p>' in html[start:]


def test_calls_list_empty_sections_say_so(client, db):
    html = client.get("/appels").get_data(as_text=True)
    assert "Aucun appel à projets n’est ouvert actuellement." in html
    assert "Aucun appel à projets n’est annoncé pour le moment." in html
    assert "Aucun appel à projets clos." in html


def test_calls_list_paginates_closed_calls_most_recent_first(client, make_call):
    now = utcnow().replace(microsecond=0)
    for i in range(12):
        make_call(slug=f"clos-{i:02d}", status=CallStatus.CLOSED, opens_at=now - timedelta(days=200),
                  closes_at=now - timedelta(days=i + 1))
    make_call(slug="ouvert")

    first = client.get("/appels").get_data(as_text=True)
    second = client.get("/appels?page=2").get_data(as_text=True)
    beyond = client.get("/appels?page=9").get_data(as_text=True)

    assert section_slugs(first, "appels-clos") == [f"clos-{i:02d}" for i in range(10)]
    assert section_slugs(second, "appels-clos") == ["clos-10", "clos-11"]
    assert section_slugs(second, "appels-ouverts") == ["ouvert"]
    assert section_slugs(beyond, "appels-clos") == []
    assert 'href="/appels?page=2#appels-clos"' in first
    assert '<a class="fr-pagination__link" aria-current="page" title="Page 2">2</a>' in second


def test_calls_list_query_count_does_not_grow_with_calls(app, client, db, make_call):
    now = utcnow()

    def make_batch(n: int) -> None:
        for _ in range(n):
            make_call()
            make_call(opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=40))
            make_call(status=CallStatus.CLOSED, opens_at=now - timedelta(days=60), closes_at=now - timedelta(days=2),
                      categories=[{"code": "emergence", "label": "Émergence", "max_amount_eur": Decimal("50000")}])

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def queries_for_list() -> int:
        db.session.expire_all()
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/appels").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    make_batch(1)
    client.get("/appels")  # warm-up
    few = queries_for_list()
    make_batch(8)  # 27 calls, the closed ones over a page
    many = queries_for_list()
    assert few == many
    assert many <= 3


# --- a call's page ------------------------------------------------------------------------------------

def test_call_page_shows_title_breadcrumb_and_one_h1(client, make_call):
    make_call(slug="appel-2027", title="Appel à projets PTCE 2027")
    response = client.get("/appels/appel-2027")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.findall(r"<h1[^>]*>([^<]*)</h1>", html) == ["Appel à projets PTCE 2027"]
    crumbs = re.findall(r'<li><a class="fr-breadcrumb__link"([^>]*)>([^<]*)</a></li>', html)
    assert crumbs == [(' href="/"', "Accueil"), (' href="/appels"', "Appels à projets"),
                      (' aria-current="page"', "Appel à projets PTCE 2027")]
    assert "<title>Appel à projets PTCE 2027 — " in html


def test_call_page_unknown_slug_is_404(client, db):
    response = client.get("/appels/inexistant")
    assert response.status_code == 404
    assert "Page non trouvée" in response.get_data(as_text=True)


def test_draft_call_is_404_for_anonymous_and_applicants(client, make_call, make_user, login_as):
    make_call(slug="brouillon", title="Brouillon secret", status=CallStatus.DRAFT)
    assert client.get("/appels/brouillon").status_code == 404
    login_as(make_user("porteur@example.org"))
    response = client.get("/appels/brouillon")
    assert response.status_code == 404
    assert "Brouillon secret" not in response.get_data(as_text=True)
    assert "Brouillon secret" not in client.get("/appels").get_data(as_text=True)


def test_draft_call_is_visible_to_admin_with_a_warning(client, make_call, admin_user, login_as):
    make_call(slug="brouillon", title="Brouillon secret", status=CallStatus.DRAFT)
    login_as(admin_user)
    response = client.get("/appels/brouillon")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cet appel est un brouillon : cette page n’est visible que des administrateurs." in html
    assert "Cet appel n’est pas encore publié." in html
    assert "Déposer un dossier" not in html
    # Not listed publicly, even for the admin.
    assert "Brouillon secret" not in client.get("/appels").get_data(as_text=True)


@pytest.mark.parametrize(("closes_at", "shown"), [
    (datetime(2027, 3, 27, 11, 0, tzinfo=UTC), "27/03/2027 à 12:00 (heure de Paris)"),  # winter, UTC+1
    (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "28/03/2027 à 01:30 (heure de Paris)"),  # night of the change
    (datetime(2027, 3, 29, 10, 0, tzinfo=UTC), "29/03/2027 à 12:00 (heure de Paris)"),  # summer, UTC+2
])
def test_call_page_shows_deadline_in_paris_time_across_daylight_saving(client, make_call, closes_at, shown):
    make_call(slug="heure", closes_at=closes_at, opens_at=datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
              review_deadline_at=datetime(2027, 6, 30, 15, 0, tzinfo=UTC))
    html = client.get("/appels/heure").get_data(as_text=True)
    assert f"Date limite : {shown}" in html
    calendar = element_text(html, "table-calendrier", "</table>")
    assert calendar == (
        f"Calendrier de l’appel à projets (heure de Paris) Étape Date "
        f"Ouverture des dépôts 01/10/2026 à 10:00 (heure de Paris) "
        f"Date limite de dépôt des dossiers {shown} "
        f"Fin de l’évaluation par les rapporteurs 30/06/2027 à 17:00 (heure de Paris)")
    rule = re.search(r'data-rule="deadline">(.*?)</li>', html, re.S).group(1)
    assert text_of(rule) == (f"Condition obligatoire Le dossier doit être déposé avant le {shown} ; après cette "
                             f"date, le dépôt n’est plus possible.")


def test_call_page_description_markdown_is_sanitised(client, make_call):
    make_call(slug="md", description_md=(
        "Un appel **important** pour les pôles.\n\n<script>alert('piratage')</script>\n\n"
        '<p onclick="voler()">Cliquez</p>\n\n[Le décret](https://www.legifrance.gouv.fr/)'))
    html = client.get("/appels/md").get_data(as_text=True)
    start = html.index('<div id="presentation">')
    description = html[start:html.index("<section", start)]
    assert "<strong>important</strong>" in description
    assert "alert(" not in html and "piratage" not in html
    assert "onclick" not in html and "voler()" not in html
    assert '<a href="https://www.legifrance.gouv.fr/" rel="noopener noreferrer">Le décret</a>' in description


def test_call_page_amounts_categories_and_share(client, make_call):
    make_call(slug="montants", envelope_eur=Decimal("2700000"), max_amount_eur=Decimal("100000"),
              max_state_share=Decimal("0.8"), categories=[
                  {"code": "emergence", "label": "Émergence", "max_amount_eur": Decimal("50000")},
                  {"code": "developpement", "label": "Développement", "max_amount_eur": None}])
    html = client.get("/appels/montants").get_data(as_text=True)
    text = text_of(html)
    assert f"Enveloppe totale de l’appel : 2{NNBSP}700{NNBSP}000 €" in text
    assert f"Montant maximal par dossier : 100{NNBSP}000 €" in text
    assert f"Part maximale de l’État dans le budget total du projet : 80{NBSP}%" in text
    assert element_text(html, "table-categories", "</table>") == (
        f"Catégories de projets et plafonds Catégorie Montant maximal par dossier "
        f"Émergence 50{NNBSP}000 € Développement 100{NNBSP}000 €")


def test_call_page_rules_blocking_first_with_labels(client, db, make_call):
    call = make_call(slug="regles", max_amount_eur=Decimal("120000"), max_state_share=Decimal("0.5"))
    settings = dict(call.eligibility_settings)
    settings["min_members"] = {"mode": "blocking", "minimum": 4}
    settings["siret"] = {"mode": "off"}
    settings["budget_balanced"] = {"mode": "advisory"}
    settings["same_territory"] = {"mode": "advisory", "allow_adjacent": False}
    call.eligibility_settings = settings
    db.session.commit()

    html = client.get("/appels/regles").get_data(as_text=True)
    items = re.findall(r'<li class="fr-mb-2v" data-rule="([a-z_]+)">(.*?)</li>', html, re.S)
    assert [code for code, _ in items] == [
        "legal_person", "min_members", "ess_core", "enterprise_partner", "territorial_link",
        "not_previously_funded", "documents", "state_share", "deadline", "same_territory", "budget_balanced"]
    texts = {code: text_of(body) for code, body in items}
    assert texts["min_members"] == "Condition obligatoire Le pôle doit réunir au moins 4 personnes morales membres."
    assert texts["state_share"] == ("Condition obligatoire Le montant demandé à l’État ne doit pas dépasser "
                                    f"120{NNBSP}000 €, ni 50{NBSP}% du budget total du projet.")
    assert texts["same_territory"] == ("Critère indicatif Chaque membre doit être situé dans l’un des "
                                       "départements couverts par le pôle.")
    assert texts["budget_balanced"].startswith("Critère indicatif Le plan de financement doit être équilibré")
    assert "SIRET" not in text_of(html[html.index('id="eligibilite"'):html.index('id="pieces"')])


def test_call_page_lists_required_and_optional_documents(client, make_call):
    make_call(slug="pieces")
    html = client.get("/appels/pieces").get_data(as_text=True)
    required = re.search(r'<ul id="pieces-obligatoires">(.*?)</ul>', html, re.S).group(1)
    optional = re.search(r'<ul id="pieces-facultatives">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r"<li>([^<]+)</li>", required) == [
        "Statuts de la structure porteuse", "Derniers comptes approuvés", "Budget prévisionnel",
        "Lettres d&#39;engagement des membres", "RIB de la structure porteuse", "Liste des membres signée"]
    assert re.findall(r"<li>([^<]+)</li>", optional) == [
        "Délibération ou lettre de soutien d&#39;une collectivité", "Autre document"]


def test_call_page_scoring_grid_table_with_caption(client, make_call):
    make_call(slug="grille")
    html = client.get("/appels/grille").get_data(as_text=True)
    start = html.index('id="table-grille"')
    table = html[start:html.index("</table>", start)]
    assert "<caption>Grille d’évaluation : critères, pondération et éléments d’appréciation</caption>" in table
    rows = [text_of(row) for row in re.findall(r"<tbody>.*?</tbody>", table, re.S)[0].split("</tr>")[:-1]]
    assert rows == [
        "Qualité de la coopération et de la mutualisation 25 de 0 à 5 Formes de coopération pratiquées, "
        "profondeur, stratégie commune.",
        "Ancrage territorial et implication des acteurs locaux 20 de 0 à 5 Collectivités, habitants, "
        "ressources locales.",
        "Innovation sociale ou technologique 15 de 0 à 5 —",
        "Emplois créés ou consolidés, non délocalisables 15 de 0 à 5 —",
        "Modèle économique et hybridation des ressources 15 de 0 à 5 Pérennité de la cellule d&#39;animation.",
        "Gouvernance partagée 10 de 0 à 5 Démocratique, multi-acteurs.",
    ]
    assert html.count("<table") == html.count("<caption>")


def test_call_page_submit_button_while_open(client, make_call):
    make_call(slug="ouvert", closes_at=datetime(2027, 3, 27, 11, 0, tzinfo=UTC))
    html = client.get("/appels/ouvert").get_data(as_text=True)
    assert '<a class="fr-btn fr-mt-2w" id="deposer" href="/porteur/appels/ouvert/nouveau">Déposer un dossier</a>' in html
    assert "Le dépôt des dossiers est clos" not in html


def test_call_page_upcoming_call_announces_opening_without_button(client, make_call):
    make_call(slug="bientot", opens_at=datetime(2027, 1, 12, 8, 0, tzinfo=UTC),
              closes_at=datetime(2027, 4, 1, 10, 0, tzinfo=UTC))
    html = client.get("/appels/bientot").get_data(as_text=True)
    assert "Déposer un dossier" not in html and "Déposer une candidature" not in html
    assert '<h2 class="fr-callout__title">Candidatures à venir</h2>' in html
    assert ('<p class="fr-callout__text">Le dépôt des dossiers ouvrira le 12/01/2027 à 09:00 (heure de Paris).</p>'
            in html)
    assert '<p class="fr-badge fr-badge--info fr-badge--sm">À venir</p>' in html


STAGES = {
    CallStatus.OPEN: "Les dossiers déposés sont en cours d’instruction. Les résultats seront publiés sur cette page.",
    CallStatus.CLOSED: "Les dossiers déposés sont en cours d’instruction. Les résultats seront publiés sur cette page.",
    CallStatus.REVIEW: "Les dossiers recevables sont en cours d’évaluation par les rapporteurs. Les résultats seront "
                       "publiés sur cette page.",
    CallStatus.DELIBERATION: "Le comité de sélection délibère. Les résultats seront publiés sur cette page.",
    CallStatus.ARCHIVED: "Cet appel est terminé.",
}


@pytest.mark.parametrize(("status", "badge"), [
    (CallStatus.OPEN, '<p class="fr-badge fr-badge--warning fr-badge--sm">Clos</p>'),  # not yet switched
    (CallStatus.CLOSED, '<p class="fr-badge fr-badge--warning fr-badge--sm">Clos</p>'),
    (CallStatus.REVIEW, '<p class="fr-badge fr-badge--info fr-badge--sm">En instruction</p>'),
    (CallStatus.DELIBERATION, None),
    (CallStatus.ARCHIVED, None),
])
def test_call_page_after_deadline_says_the_stage_instead_of_a_deposit(client, make_call, status, badge):
    make_call(slug="fini", status=status, opens_at=datetime(2025, 11, 3, 8, 0, tzinfo=UTC),
              closes_at=datetime(2026, 1, 15, 11, 0, tzinfo=UTC))
    html = client.get("/appels/fini").get_data(as_text=True)
    assert "Déposer un dossier" not in html and "Déposer une candidature" not in html
    assert 'id="deposer"' not in html and "/porteur/appels/fini/nouveau" not in html
    if badge:
        assert badge in html
    assert ('<div class="fr-callout fr-mb-5w" id="etape">\n  <h2 class="fr-callout__title">Candidatures closes le '
            '15/01/2026 à 12:00 (heure de Paris)</h2>') in html
    assert f'<p class="fr-callout__text" id="etape-texte">{STAGES[status]}</p>' in html
    assert "Résultats publiés" not in html


def test_call_page_of_published_results_links_to_the_laureates(db, client, admin_user, make_call,
                                                                make_reviewed_dossier):
    from ptce_aap.services import decision_letters, publication
    from ptce_aap.services.decisions import decide
    from tests.integration.test_publication import FIRST, SECOND

    call = make_call(slug="resultats")
    dossiers = [make_reviewed_dossier(call=call, pole_name=name) for name in ("Pôle Alpha", "Pôle Bêta")]
    # set-up: the call's own path is tested in test_calls
    call.opens_at, call.closes_at = datetime(2025, 11, 3, 8, 0, tzinfo=UTC), datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    for dossier, data in zip(dossiers, (FIRST, SECOND), strict=True):
        decide(dossier, data, by=admin_user)
    db.session.commit()
    decision_letters.notify_decisions(call, by=admin_user)
    db.session.commit()
    publication.publish(call, by=admin_user, now=datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    db.session.commit()
    html = client.get("/appels/resultats").get_data(as_text=True)
    assert "Déposer un dossier" not in html and "Déposer une candidature" not in html
    assert '<h2 class="fr-callout__title">Résultats publiés le 05/12/2026</h2>' in html  # the day in Paris
    assert "Candidatures closes le 15/01/2026 à 12:00 (heure de Paris).\n        2 pôles lauréats.</p>" in html
    assert ('<a class="fr-btn fr-btn--secondary fr-mt-2w" id="voir-laureats" href="#resultats">Voir les lauréats'
            '</a>') in html
    assert 'id="resultats"' in html and "Pôle Alpha" in html
    # Archived later: the results stay what the page says.
    call.status = CallStatus.ARCHIVED
    db.session.commit()
    assert "Résultats publiés le 05/12/2026" in client.get("/appels/resultats").get_data(as_text=True)


def test_call_page_closed_early_says_closed_without_date(client, make_call):
    make_call(slug="ferme-tot", status=CallStatus.CLOSED)
    html = client.get("/appels/ferme-tot").get_data(as_text=True)
    assert "Déposer un dossier" not in html and "Déposer une candidature" not in html
    assert '<h2 class="fr-callout__title">Candidatures closes</h2>' in html
    assert STAGES[CallStatus.CLOSED] in html
