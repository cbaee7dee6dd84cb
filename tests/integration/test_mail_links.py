"""Links in mails point to PUBLIC_BASE_URL — its scheme, host, port and path prefix — whether the mail is
built in a request (whatever host the request came through), in a background job or by the scheduler, and
the links work when the app is served under that prefix."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from ptce_aap import jobs, scheduler
from ptce_aap.models.base import utcnow
from ptce_aap.services import submission

PUBLIC = "https://ptce.example.gouv.fr:8443/aap"


@pytest.fixture
def public_base_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC + "/")
    return PUBLIC


def links(message) -> list[str]:
    """Every absolute link of the text part, and checks the HTML part carries the same ones."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    found = [link for link in re.findall(r"https?://[^\s<>\"')]+", text) if link != PUBLIC]
    for link in found:
        assert f'href="{link}"' in html
    return found


def follow(client, link: str):
    """Request ``link`` as the reverse proxy would pass it on: the path prefix in SCRIPT_NAME (on the test
    client's host, whose cookies hold the session)."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}/aap/" == PUBLIC + "/"
    return client.get(parts.path.removeprefix("/aap"), base_url="http://localhost/aap/")


def test_mails_built_in_background_jobs_link_to_the_public_address(public_base_url, make_dossier, applicant, db,
                                                                  worker, smtp, client, login_as):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    jobs.dispatch_outbox()
    worker()  # the receipt and the eligibility check, each of which queues its mail (links built here)
    worker()  # send the mails

    mails = smtp.wait_for(2)
    receipt = next(m for m in mails if m["Subject"].startswith("Accusé de réception"))
    result = next(m for m in mails if m is not receipt)
    expected = f"{PUBLIC}/porteur/dossiers/{dossier.id}"
    assert links(receipt) == [expected]
    assert links(result) == [expected]
    login_as(applicant)
    page = follow(client, expected)
    assert page.status_code == 200
    assert dossier.pole_name in page.get_data(as_text=True)


def test_a_mail_sent_on_a_request_links_to_the_public_address_not_the_request_host(public_base_url, client, make_user,
                                                                                   worker, smtp, db):
    make_user("porteur@example.org")
    # Through another host, and mounted under the prefix: the prefix is not doubled. (The form page first,
    # as a browser would: its session cookie and CSRF token belong to that host.)
    form = client.get("/compte/mot-de-passe-oublie", base_url="http://10.0.0.7:8000/aap/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org", "csrf_token": token},
                           base_url="http://10.0.0.7:8000/aap/")
    assert (response.status_code, response.headers["Location"]) == (302, "/aap/compte/verifiez-vos-courriels")
    worker()

    [link] = links(smtp.wait_for(1)[0])
    assert re.fullmatch(re.escape(PUBLIC) + r"/compte/reinitialiser/[\w.-]+", link)
    page = follow(client, link)
    assert page.status_code == 200
    assert "<h1>Choisir un nouveau mot de passe</h1>" in page.get_data(as_text=True)


def test_invitation_link_to_the_public_address_opens_the_invitation(public_base_url, client, login_as, make_dossier,
                                                                    applicant, make_user, worker, smtp):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    assert client.post(f"/porteur/dossiers/{dossier.id}/coediteurs",
                       data={"email": "claire@example.org"}).status_code == 302
    worker()

    [link] = links(smtp.wait_for(1)[0])
    assert re.fullmatch(re.escape(PUBLIC) + r"/porteur/invitations/[\w.-]+", link)
    login_as(make_user("claire@example.org"))
    page = follow(client, link)
    assert page.status_code == 200
    assert "Vous êtes invité(e) à compléter les dossiers" in page.get_data(as_text=True)


def test_reminders_from_the_scheduler_link_to_the_public_address(public_base_url, make_call, make_dossier, make_user,
                                                                 db, worker, smtp):
    now = utcnow().replace(microsecond=0)
    call = make_call(closes_at=now + timedelta(days=6, hours=12))
    owner = make_user("brouillon@example.org")
    draft = make_dossier(call=call, owner=owner)
    db.session.commit()

    assert scheduler.run_scheduled(now) == 1
    jobs.dispatch_outbox()
    worker()

    [reminder] = [m for m in smtp.wait_for(1) if "brouillon@example.org" in m["To"]]
    assert links(reminder) == [f"{PUBLIC}/porteur/dossiers/{draft.id}"]
