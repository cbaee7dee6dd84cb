"""Nothing typed is lost: conditional texts are kept (and flagged) when their box is off, an expired form
(CSRF) shows the section again with what was typed, and a conflict merges field by field."""

import json
import re
from html.parser import HTMLParser

import pytest

from ptce_aap.models.dossiers import Dossier
from tests.fixtures.builders import DEFAULT_PASSWORD


def _reload(db, dossier):
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


class _SectionForm(HTMLParser):
    """What a browser would post from the page's section form (``#section-form``): inputs, ticked boxes,
    selected options, textareas; no buttons."""

    def __init__(self):
        super().__init__()
        self.pairs, self.inside, self._select, self._textarea = [], False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "section-form"
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value") or ("y" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.pairs.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = [a.get("name"), ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def _page_form(page: str) -> dict:
    parser = _SectionForm()
    parser.feed(page)
    data: dict = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    return {k: v if len(v) > 1 else v[0] for k, v in data.items()}


def _form(client, url: str) -> dict:
    return _page_form(client.get(url).get_data(as_text=True))


def test_unticked_cooperation_text_is_kept_and_flagged(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    url = f"/porteur/dossiers/{dossier.id}/activites"
    text = "Nous portons ensemble trois projets de recyclerie."
    response = client.post(url, data={**_form(client, url), "coop_mutualisation_moyens": "y",
                                      "coop_mutualisation_moyens_text": "Un local partagé.",
                                      "coop_mutualisation_projets_text": text})
    assert response.status_code == 302
    d = _reload(db, dossier)
    assert d.cooperation == {"mutualisation_moyens": "Un local partagé."}  # the unticked form does not count…
    page = client.get(url).get_data(as_text=True)
    assert text in page  # …but what was typed is kept and shown, with why it does not count
    assert "sans cocher sa case : la description est conservée" in page
    summary = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    assert "sans cocher sa case" in summary
    # Ticking the box makes it count; the flag goes.
    client.post(url, data={**_form(client, url), "coop_mutualisation_moyens": "y",
                           "coop_mutualisation_moyens_text": "Un local partagé.",
                           "coop_mutualisation_projets": "y", "coop_mutualisation_projets_text": text})
    d = _reload(db, dossier)
    assert d.cooperation["mutualisation_projets"] == text
    assert not any(k.startswith("unticked:") for k in d.raw_inputs or {})
    assert "sans cocher sa case" not in client.get(url).get_data(as_text=True)


def test_conflict_merges_fields_only_one_side_changed(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    url = f"/porteur/dossiers/{dossier.id}/projet"
    tab_a, tab_b = _form(client, url), _form(client, url)  # two tabs load the same version
    assert json.loads(tab_a["base"])["summary"] == ""
    saved = client.post(url, data={**tab_a, "summary": "Résumé de l'onglet A", "strategy": ""})
    assert saved.status_code == 302
    # Tab B changed another field only: merged silently, tab A's summary is not reverted.
    response = client.post(url, data={**tab_b, "summary": "", "strategy": "Stratégie de l'onglet B"})
    assert response.status_code == 302
    d = _reload(db, dossier)
    assert (d.summary, d.strategy) == ("Résumé de l'onglet A", "Stratégie de l'onglet B")
    assert "ces modifications ont été conservées" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_conflict_screen_lists_only_fields_both_sides_changed(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    url = f"/porteur/dossiers/{dossier.id}/projet"
    tab_a, tab_b = _form(client, url), _form(client, url)
    client.post(url, data={**tab_a, "summary": "Résumé A", "innovation": "Innovation A"})
    response = client.post(url, data={**tab_b, "summary": "Résumé B", "rd_partners": "Partenaires B"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    table = page[page.index("Champs modifiés à la fois par vous et ailleurs"):]
    table = table[:table.index("</table>")]
    assert "Résumé B" in table and "Résumé A" in table
    assert "Innovation" not in table and "Partenaires" not in table
    # The form holds B's changes and A's other change; saving it keeps both sides' other fields.
    assert "Innovation A" in page and "Partenaires B" in page
    again = _page_form(page)
    client.post(url, data={**again, "summary": "Résumé B", "innovation": "Innovation A",
                           "rd_partners": "Partenaires B"})
    d = _reload(db, dossier)
    assert (d.summary, d.innovation, d.rd_partners) == ("Résumé B", "Innovation A", "Partenaires B")


def test_financing_table_changed_in_another_tab_survives_a_budget_field_change(client, login_as, make_dossier,
                                                                               applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    url = f"/porteur/dossiers/{dossier.id}/budget"
    tab_a, tab_b = _form(client, url), _form(client, url)
    assert client.post(url, data={**tab_a, "expenses-0-label": "Poste renommé par A"}).status_code == 302
    assert client.post(url, data={**tab_b, "total_budget_eur": "999999"}).status_code == 302
    d = _reload(db, dossier)
    assert d.total_budget_eur == 999999
    assert [ln.label for ln in d.financing_lines][0] == "Poste renommé par A"


# --- the session ends while typing (CSRF on, as in production) --------------------------------------------

@pytest.fixture
def csrf_client(app):
    """A client of a second app on the same services, with CSRF on."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db as _db

    extra = create_app({"WTF_CSRF_ENABLED": True})
    extra.test_client_class = app.test_client_class
    yield extra.test_client()
    with extra.app_context():
        _db.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(client, email: str, next_url: str | None = None):
    url = "/compte/connexion" + (f"?next={next_url}" if next_url else "")
    token = _token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token})


def test_expired_form_shows_the_section_again_with_what_was_typed(csrf_client, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    _sign_in(csrf_client, applicant.email)
    url = f"/porteur/dossiers/{dossier.id}/projet"
    fields = _form(csrf_client, url)
    response = csrf_client.post(url, data={**fields, "csrf_token": "expire", "summary": "Mon résumé précieux"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Mon résumé précieux" in page  # the section, with what was typed, not an error page
    assert "Le formulaire avait expiré : rien n’a été enregistré" in page
    assert 'data-draft-state="unsaved"' in page
    assert _reload(db, dossier).summary == ""
    again = csrf_client.post(url, data={**_page_form(page), "summary": "Mon résumé précieux"})
    assert again.status_code == 302
    assert _reload(db, dossier).summary == "Mon résumé précieux"
    assert 'data-draft-state="saved"' in csrf_client.get(url).get_data(as_text=True)  # the script drops its copy
    assert 'data-draft-state="clean"' in csrf_client.get(url).get_data(as_text=True)


def test_signed_out_while_typing_goes_to_login_and_back_to_the_section(csrf_client, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    _sign_in(csrf_client, applicant.email)
    url = f"/porteur/dossiers/{dossier.id}/projet"
    fields = _form(csrf_client, url)
    assert f'data-draft-key="ptce-draft:{applicant.id}:{dossier.id}:projet"' in csrf_client.get(url).get_data(
        as_text=True)
    header = csrf_client.get("/").get_data(as_text=True)
    csrf_client.post("/compte/deconnexion", data={"csrf_token": _token(header)})  # "another tab"
    autosave = csrf_client.post(url, data={**fields, "summary": "Tapé après"}, headers={"X-Autosave": "1"})
    assert autosave.status_code == 401
    assert autosave.get_json()["expired"] is True and "conservé dans ce navigateur" in autosave.get_json()["message"]
    response = csrf_client.post(url, data={**fields, "summary": "Tapé après"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/compte/connexion?next=/porteur/dossiers/{dossier.id}/projet"
    back = _sign_in(csrf_client, applicant.email, next_url=url)
    assert back.headers["Location"] == url  # the login brings them back to the section, where the text is restored
    assert _reload(db, dossier).summary == ""
    restored = csrf_client.post(url, data={**_form(csrf_client, url), "summary": "Tapé après", "restored": "1"})
    assert restored.status_code == 302
    assert "conservées dans ce navigateur pendant l’interruption" in csrf_client.get(url).get_data(as_text=True)
    assert _reload(db, dossier).summary == "Tapé après"
