"""Nothing typed is lost: conditional texts are kept (and flagged) when their box is off, an expired form
(CSRF) shows the section again with what was typed, and a conflict merges field by field."""

import json
import re

from ptce_aap.models.dossiers import Dossier


def _reload(db, dossier):
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


def _form(client, url: str) -> dict:
    """The hidden fields of the section form as the page gives them (CSRF token, version, base values)."""
    page = client.get(url).get_data(as_text=True)
    fields = {}
    for name in ("csrf_token", "version", "base"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        if tag:
            value = re.search(r'value="([^"]*)"', tag.group(0))
            fields[name] = value.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&") \
                if value else ""
    return fields


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
