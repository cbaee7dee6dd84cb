"""Every rate limit declared in the app, each at its exact threshold: the request past it is refused with
the French "too many attempts" page, and only that request.

(Login and the forgotten-password form are also covered in test_security.py.)
"""

from __future__ import annotations

import re
from html import unescape

import pytest

TOO_MANY = "Vous avez fait trop de tentatives. Patientez quelques minutes avant de réessayer."
PASSWORD = "Mot-de-passe-2026!"


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def assert_too_many(response) -> None:
    assert response.status_code == 429
    page = text(response)
    assert "Trop de tentatives" in page
    assert TOO_MANY in page
    assert int(response.headers["Retry-After"]) > 0


# Each POST that checks a password or sends a mail: LOGIN_RATE_LIMIT, "10 per minute;50 per hour".
AUTH_FORMS = {
    "/compte/inscription": lambda n: {"email": f"nouveau{n}@example.org", "full_name": "Nouveau Porteur",
                                      "password": PASSWORD, "accept_terms": "y"},
    "/compte/verification/renvoyer": lambda n: {"email": f"nouveau{n}@example.org"},
    "/compte/connexion": lambda n: {"email": "porteur@example.org", "password": "Pas-le-bon-2026!"},
    "/compte/mot-de-passe-oublie": lambda n: {"email": f"inconnu{n}@example.org"},
    "/compte/reinitialiser/lien-invalide": lambda n: {"password": PASSWORD},
    "/compte/invitation-rapporteur/lien-invalide": lambda n: {"password": PASSWORD},
}


@pytest.mark.parametrize("path", list(AUTH_FORMS))
def test_eleventh_post_in_a_minute_is_refused(app, client, make_user, smtp, path):
    from tests.integration.test_security import client_for

    make_user("porteur@example.org")

    answers = [client.post(path, data=AUTH_FORMS[path](n)).status_code for n in range(10)]
    refused = client.post(path, data=AUTH_FORMS[path](10))

    assert 429 not in answers
    assert_too_many(refused)
    assert client.get(path).status_code != 429  # only POSTs count
    elsewhere = client_for(app, REMOTE_ADDR="192.0.2.7")  # counted per client address
    assert elsewhere.post(path, data=AUTH_FORMS[path](11)).status_code != 429


def test_the_limit_is_per_form_not_shared_between_forms(client, smtp):
    for n in range(10):
        client.post("/compte/mot-de-passe-oublie", data={"email": f"x{n}@example.org"})

    assert client.post("/compte/verification/renvoyer", data={"email": "x@example.org"}).status_code == 302


def test_twenty_first_invitation_in_an_hour_is_refused(client, login_as, make_dossier, make_user, applicant, db):
    from ptce_aap.models.dossiers import Invitation

    # Two dossiers of one account: ten invitations each (the per-dossier daily limit, counted in the database).
    dossiers = [make_dossier(owner=applicant), make_dossier(owner=applicant, pole_name="Pôle bis")]
    login_as(applicant)
    urls = [f"/porteur/dossiers/{d.id}/coediteurs" for d in dossiers]

    answers = [client.post(urls[n % 2], data={"email": f"invite{n}@example.org"}).status_code for n in range(20)]
    refused = client.post(urls[0], data={"email": "invite20@example.org"})

    assert answers == [302] * 20
    assert_too_many(refused)
    assert db.session.query(Invitation).count() == 20
    # Counted per inviting account: a co-worker on the same address can still invite.
    colleague = make_user("collegue@example.org")
    login_as(colleague)
    theirs = make_dossier(owner=colleague, pole_name="Pôle voisin")
    assert client.post(f"/porteur/dossiers/{theirs.id}/coediteurs",
                       data={"email": "invite@example.org"}).status_code == 302


def test_fifty_first_post_in_an_hour_is_refused_even_a_minute_apart(client, make_user, monkeypatch):
    """LOGIN_RATE_LIMIT's second part: 50 per hour, whatever the pace (the clock of the memory storage is
    moved forward a minute between each run of ten)."""
    import time as real_time
    from types import SimpleNamespace

    import limits.storage.memory

    make_user("porteur@example.org")
    offset = 0.0
    monkeypatch.setattr(limits.storage.memory, "time", SimpleNamespace(time=lambda: real_time.time() + offset))
    wrong = {"email": "porteur@example.org", "password": "Pas-le-bon-2026!"}

    answers = []
    for _minute in range(5):
        answers += [client.post("/compte/connexion", data=wrong).status_code for _ in range(10)]
        offset += 61
    refused = client.post("/compte/connexion", data=wrong)
    offset += 3600
    later = client.post("/compte/connexion", data={**wrong, "password": PASSWORD})

    assert answers == [200] * 50
    assert_too_many(refused)
    assert later.status_code == 302
