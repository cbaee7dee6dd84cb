"""The interface in English: language switch (/langue/<code>), translated pages, dates still in Paris time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

HOME_TITLE_FR = "Appel à projets en faveur des pôles territoriaux de coopération économique"
HOME_TITLE_EN = "Call for projects for territorial economic cooperation hubs (PTCE)"


def html_lang(html: str) -> str:
    return re.search(r"<html lang=\"([^\"]+)\"", html).group(1)


def headings(html: str, level: int) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in re.findall(rf"<h{level}[^>]*>([^<]+)</h{level}>", html)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def card_text(html: str, slug: str) -> str:
    """The text of a call's card on /appels and of what follows it."""
    return text_of(html[html.index(">", html.index(f'id="appel-{slug}"')) + 1:])


def switch_to(client, code: str, next_url: str | None = None):
    response = client.post(f"/langue/{code}", data={"next": next_url} if next_url else {})
    assert response.status_code == 302
    return response


def test_home_page_is_in_english_after_switching(client):
    assert switch_to(client, "en").headers["Location"] == "/"

    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html_lang(html) == "en"
    assert headings(html, 1) == [HOME_TITLE_EN]
    assert "View the calls for projects" in html and "Sign in" in html
    assert HOME_TITLE_FR not in html and "Se connecter" not in html
    # the switch now offers French, labelled in French
    assert 'action="/langue/fr"' in html and 'lang="fr"' in html


def test_calls_page_in_english_with_paris_time(client, make_call):
    make_call(slug="appel-2027", title="Appel 2027", opens_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
              closes_at=datetime(2099, 3, 15, 11, 0, tzinfo=UTC))
    assert switch_to(client, "en", "/appels").headers["Location"] == "/appels"

    html = client.get("/appels").get_data(as_text=True)
    assert html_lang(html) == "en"
    assert headings(html, 1) == ["Calls for projects"]
    assert headings(html, 2) == ["Open calls", "Upcoming calls", "Closed calls"]
    card = card_text(html, "appel-2027")
    assert card.startswith("Appel 2027 Opens: 02/11/2026 09:00 (Paris time) Deadline: 15/03/2099 12:00 (Paris time)")
    assert "heure de Paris" not in html


def test_switching_back_to_french(client):
    switch_to(client, "en")
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"

    switch_to(client, "fr")
    html = client.get("/").get_data(as_text=True)
    assert html_lang(html) == "fr"
    assert headings(html, 1) == [HOME_TITLE_FR]
    assert "Se connecter" in html


def test_unknown_language_is_ignored(client):
    switch_to(client, "de")
    assert html_lang(client.get("/").get_data(as_text=True)) == "fr"


def test_english_speaking_user_sees_paris_time(client, db, make_user, login_as, make_call):
    """The account's language applies without any switch; dates stay in Europe/Paris, said so in English."""
    user = make_user("anglophone@example.org", full_name="Jane Smith")
    user.locale = "en"
    db.session.commit()
    make_call(slug="hiver", title="Appel hiver", opens_at=datetime(2026, 12, 1, 23, 30, tzinfo=UTC),
              closes_at=datetime(2099, 1, 15, 16, 0, tzinfo=UTC))
    login_as(user)

    html = client.get("/appels").get_data(as_text=True)
    assert html_lang(html) == "en"
    card = card_text(html, "hiver")
    # 23:30 UTC on 1 December is already 2 December in Paris (UTC+1 in winter)
    assert card.startswith("Appel hiver Opens: 02/12/2026 00:30 (Paris time) "
                           "Deadline: 15/01/2099 17:00 (Paris time)")
    assert "Sign out" in html


def test_french_plurals_follow_the_french_rule_zero_is_singular(app):
    """Without a French catalog ngettext applies the English rule and writes « 0 dossiers »."""
    from flask_babel import force_locale, ngettext

    one, many = "%(num)d dossier a été vérifié de nouveau.", "%(num)d dossiers ont été vérifiés de nouveau."
    with app.test_request_context(), force_locale("fr"):
        assert [ngettext(one, many, n) for n in (0, 1, 2)] == [
            "0 dossier a été vérifié de nouveau.", "1 dossier a été vérifié de nouveau.",
            "2 dossiers ont été vérifiés de nouveau."]
    with app.test_request_context(), force_locale("en"):
        assert ngettext(one, many, 0) == "0 applications were checked again."


def test_the_french_catalog_holds_every_plural_message_of_the_sources():
    from babel.messages.pofile import read_po

    from ptce_aap.settings import ROOT

    translations = ROOT / "ptce_aap" / "translations"
    with open(translations / "messages.pot", "rb") as f:
        plurals = {m.id for m in read_po(f) if m.id and m.pluralizable}
    with open(translations / "fr" / "LC_MESSAGES" / "messages.po", "rb") as f:
        french = read_po(f)
    assert french.plural_expr == "(n > 1)"
    assert {m.id for m in french if m.id} == plurals, "run scripts/translations.sh"
    assert all(m.string == m.id for m in french if m.id)


def test_translations_looked_up_once_a_request_follow_force_locale_and_refresh(app):
    """The request's translations are kept for the request (``extensions.RequestDomain``), in Python and in
    templates alike, but ``force_locale`` (the minutes are French whoever makes them) and ``refresh()`` (a
    language changed during the request) still switch them, and restore them after."""
    from flask import render_template_string, session
    from flask_babel import force_locale, gettext, refresh

    def both() -> tuple[str, str]:
        return gettext("Se connecter"), render_template_string("{{ _('Se connecter') }}")

    with app.test_request_context():
        session["lang"] = "en"
        assert both() == ("Sign in", "Sign in")
        with force_locale("fr"):
            assert both() == ("Se connecter", "Se connecter")
        assert both() == ("Sign in", "Sign in")
        session["lang"] = "fr"
        assert both() == ("Sign in", "Sign in")  # the request keeps its language (flask_babel keeps its locale)
        refresh()
        assert both() == ("Se connecter", "Se connecter")
    with app.app_context(), app.test_request_context():  # a new request looks its language up again
        session["lang"] = "en"
        assert both() == ("Sign in", "Sign in")


def test_template_gettext_formats_and_escapes_as_jinja_newstyle(app):
    """The templates' ``_()`` and ``ngettext`` (``i18n._gettext``): a literal ``%`` is written ``%%`` with or
    without variables, variables are escaped, the text itself is not."""
    from flask import render_template_string

    with app.test_request_context():
        assert render_template_string("{{ _('50 %% des pièces') }}") == "50 % des pièces"
        assert render_template_string("{{ _('Envoi en cours : %(percent)s %%', percent='<b>') }}") == \
            "Envoi en cours : &lt;b&gt; %"
        assert render_template_string("{{ _('Sans variable') }}") == "Sans variable"
        assert render_template_string("{{ ngettext('%(num)d pièce', '%(num)d pièces', 3) }}") == "3 pièces"
        assert render_template_string("{{ ngettext('%(num)d pièce', '%(num)d pièces', 1) }}") == "1 pièce"
        assert render_template_string("{{ ngettext('%(num)d sur %(total)s', '%(num)d sur %(total)s', 2, "
                                      "total='<i>') }}") == "2 sur &lt;i&gt;"


def test_the_remembered_catalogue_follows_force_locale_and_refresh(app):
    """A request remembers its language's catalogue (``i18n.RequestDomain``); a language forced for a moment
    (the procès-verbal is French whoever makes it) or refreshed is followed, in Python and in templates."""
    from flask import render_template_string, session
    from flask_babel import force_locale, gettext, lazy_gettext, refresh

    label = lazy_gettext("Se connecter")
    with app.test_request_context("/"):
        session["lang"] = "en"
        app.preprocess_request()
        assert (gettext("Se connecter"), str(label), render_template_string("{{ _('Se connecter') }}")) == \
            ("Sign in", "Sign in", "Sign in")
        with force_locale("fr"):
            assert (gettext("Se connecter"), str(label), render_template_string("{{ _('Se connecter') }}")) == \
                ("Se connecter", "Se connecter", "Se connecter")
        assert (gettext("Se connecter"), render_template_string("{{ _('Se connecter') }}")) == ("Sign in", "Sign in")
        session["lang"] = "fr"
        refresh()
        assert (gettext("Se connecter"), str(label)) == ("Se connecter", "Se connecter")
