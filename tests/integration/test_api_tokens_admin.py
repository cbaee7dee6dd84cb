"""« Jetons d'API » in the back office: the list (prefix, owner, created, expires, last use) and revocation,
confirmed and audited; the token then stops working. Only administrators reach it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from tests.integration.test_accounts import csrf_data
from tests.integration.test_api import new_token


def test_the_list_shows_every_token_without_the_secret(client, db, login_as, admin_user, make_user):
    from ptce_aap.enums import Role

    other = make_user("deux@example.org", roles=(Role.ADMIN,))
    token, raw = new_token(db, admin_user)
    new_token(db, other)
    client.get("/api/v1/calls", headers={"Authorization": f"Bearer {raw}"})
    login_as(admin_user)
    page = client.get("/admin/jetons-api")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert token.prefix in html and raw not in html and token.token_sha256 not in html
    assert "admin@example.org" in html and "deux@example.org" in html
    assert "jamais utilisé" in html  # the other token
    assert html.count('data-token="') == 2
    assert "Jetons d'API" in client.get("/admin/").get_data(as_text=True)


def test_revoking_asks_for_confirmation_then_stops_the_token(client, db, login_as, admin_user):
    token, raw = new_token(db, admin_user)
    headers = {"Authorization": f"Bearer {raw}"}
    login_as(admin_user)
    confirm = client.get(f"/admin/jetons-api/{token.id}/revoquer")
    assert confirm.status_code == 200 and "Révoquer le jeton" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None  # nothing done by the GET

    url = f"/admin/jetons-api/{token.id}/revoquer"
    done = client.post(url, data=csrf_data(client, url, {}))
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/jetons-api")
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert db.session.scalar(sa.select(AuditEvent.actor_id).where(AuditEvent.action == "api_token.revoke")) == \
        admin_user.id
    assert client.get("/api/v1/calls", headers=headers).status_code == 401
    listed = client.get("/admin/jetons-api").get_data(as_text=True)
    assert "Révoqué le" in listed and url not in listed
    again = client.post(url, data=csrf_data(client, url, {}))  # already revoked: said so, nothing new
    assert again.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "api_token.revoke")) == 1


def test_applicants_and_reviewers_are_refused(client, db, login_as, admin_user, applicant, reviewer):
    token, _raw = new_token(db, admin_user)
    for user in (applicant, reviewer):
        login_as(user)
        assert client.get("/admin/jetons-api").status_code == 403
        assert client.get(f"/admin/jetons-api/{token.id}/revoquer").status_code == 403


# --- creating a token from the page --------------------------------------------------------------------------

CREATE = "/admin/jetons-api"
RAW = re.compile(r'id="raw-token"[^>]*value="(ptce_[^"]+)"')


def _errors(html: str) -> dict[str, str]:
    """The message beside each field of the creation form (``id="<field>-desc-error"``)."""
    found = {}
    for field in ("label", "days", "scopes"):
        match = re.search(rf'id="{field}-desc-error"[^>]*>(?:<p[^>]*>)?([^<]+)<', html)
        if match:
            found[field] = unescape(match.group(1)).strip()
    return found


def test_an_admin_creates_a_token_for_themself_shown_once(client, db, login_as, admin_user, make_user, make_call,
                                                          caplog):
    from ptce_aap.enums import Role

    make_user("deux@example.org", roles=(Role.ADMIN,))
    call = make_call()
    login_as(admin_user)
    page = client.get(CREATE).get_data(as_text=True)
    # By default: 90 days, every scope ticked; the command documented without « ADRESSE -- / days N ».
    assert re.search(r'<input[^>]*id="days"[^>]*value="90"', page)
    assert sorted(re.findall(r'<input checked id="scopes-\d" name="scopes" type="checkbox" value="([^"]+)"', page)) == \
        ["calls:read", "decisions:read", "dossiers:read"]
    assert "create-token ADRESSE_ÉLECTRONIQUE \\\n  --days 90 \\\n" in page
    assert 'href="/api/v1/openapi.json">Documentation de l\'API (OpenAPI)</a>' in page

    before = utcnow()
    done = client.post(CREATE, data={"label": "  Tableau de bord DGCS ", "days": "30",
                                     "scopes": ["calls:read", "decisions:read"]})
    after = utcnow()
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    html = done.get_data(as_text=True)
    assert "Copiez ce jeton maintenant : il ne sera plus jamais affiché." in html
    raw = RAW.search(html).group(1)
    assert re.search(r'<label class="fr-label" for="raw-token">Jeton « Tableau de bord DGCS »', html)

    token = db.session.scalar(sa.select(ApiToken))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    assert token.user_id == admin_user.id and token.label == "Tableau de bord DGCS"
    assert token.scopes == ["calls:read", "decisions:read"]
    assert before + timedelta(days=30) <= token.expires_at <= after + timedelta(days=30)
    assert raw.startswith(token.prefix) and len(raw) > 40
    with client.session_transaction() as session:
        assert raw not in str(dict(session))  # not in a flash: the session is a cookie
    assert raw not in caplog.text and raw not in str(done.headers)

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.actor_id == admin_user.id and event.object_id == str(token.id)
    assert event.summary["after"]["scopes"] == ["calls:read", "decisions:read"]
    assert event.summary["after"]["user"] == "admin@example.org"
    assert raw not in str(event.summary)

    # Shown once: the list only shows its start and its label, under a « Libellé » heading.
    listed = client.get(CREATE)
    text = listed.get_data(as_text=True)
    assert raw not in text and raw not in str(listed.headers)
    assert f"<code>{token.prefix}…</code>" in text
    assert '<th scope="col">Libellé</th>' in text
    assert f'<td data-label-of="{token.id}">Tableau de bord DGCS</td>' in text
    with client.session_transaction() as session:
        assert raw not in str(dict(session))  # not in a flash either

    # The token works with exactly the scopes ticked.
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    assert client.get(f"/api/v1/calls/{call.slug}/decisions", headers=headers).status_code == 200
    assert client.get(f"/api/v1/calls/{call.slug}/dossiers", headers=headers).status_code == 403


@pytest.mark.parametrize(("data", "errors"), [
    ({"label": "Export", "days": "30"}, {"scopes": "Un jeton d'API doit avoir au moins un droit."}),
    ({"label": "Export", "days": "0", "scopes": ["calls:read"]},
     {"days": "La durée de validité d'un jeton va de 1 à 366 jours."}),
    ({"label": "Export", "days": "400", "scopes": ["calls:read"]},
     {"days": "La durée de validité d'un jeton va de 1 à 366 jours."}),
    ({"label": "Export", "days": "trois", "scopes": ["calls:read"]},
     {"days": "Indiquez la durée de validité en jours, par un nombre entier de 1 à 366."}),
    ({"label": "   ", "days": "400"},
     {"label": "Indiquez le libellé du jeton (à quoi il sert).",
      "days": "La durée de validité d'un jeton va de 1 à 366 jours.",
      "scopes": "Un jeton d'API doit avoir au moins un droit."}),
    ({"label": "x" * 101, "days": "30", "scopes": ["calls:read"]},
     {"label": "Le libellé d'un jeton ne doit pas dépasser 100 caractères."}),
])
def test_bad_input_is_refused_beside_its_field_what_was_typed_kept(client, db, login_as, admin_user, data, errors):
    login_as(admin_user)
    refused = client.post(CREATE, data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert _errors(html) == errors
    assert re.search(rf'<input[^>]*id="label"[^>]*value="{re.escape(data["label"])}"', html)
    assert re.search(rf'<input[^>]*id="days"[^>]*value="{data["days"]}"', html)
    ticked = re.findall(r'<input checked id="scopes-\d" name="scopes" type="checkbox" value="([^"]+)"', html)
    assert ticked == data.get("scopes", [])
    assert 'id="raw-token"' not in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "api_token.create")) == 0


def test_only_an_admin_creates_a_token_and_never_without_csrf(client, db, login_as, admin_user, applicant, reviewer):
    form = {"label": "Export", "days": "30", "scopes": ["calls:read"]}
    for user in (applicant, reviewer):
        login_as(user)
        assert client.post(CREATE, data=form).status_code == 403
    login_as(admin_user)
    refused = client.post(CREATE, data=form, csrf=False)
    assert refused.status_code == 400 and 'id="raw-token"' not in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_creation_is_limited_per_admin(client, db, login_as, admin_user, make_user):
    from ptce_aap.enums import Role

    other = make_user("deux@example.org", roles=(Role.ADMIN,))
    login_as(admin_user)
    form = {"label": "Boucle", "days": "1", "scopes": ["calls:read"]}
    assert [client.post(CREATE, data=form).status_code for _ in range(20)] == [200] * 20
    assert client.post(CREATE, data=form).status_code == 429
    assert client.get(CREATE).status_code == 200  # reading the list is not limited
    login_as(other)
    assert client.post(CREATE, data=form).status_code == 200  # another admin has their own allowance
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 21


def test_the_form_and_the_token_page_are_in_english(client, db, login_as, admin_user):
    from tests.integration.test_english_complete import TextParser, french_in, user_content

    login_as(admin_user)
    assert client.post("/langue/en").status_code == 302

    def french(response) -> list[str]:
        parser = TextParser()
        parser.feed(response.get_data(as_text=True))
        return french_in("\n".join(parser.chunks), [*user_content(db), "Tableau de bord DGCS"])

    page = client.get(CREATE)
    assert french(page) == [] and "create-token EMAIL_ADDRESS \\" in page.get_data(as_text=True)
    refused = client.post(CREATE, data={"label": "", "days": "400"})
    assert refused.status_code == 422 and french(refused) == []
    assert _errors(refused.get_data(as_text=True)) == {
        "label": "Enter the token’s label (what it is for).", "days": "A token is valid for 1 to 366 days.",
        "scopes": "An API token needs at least one scope."}
    created = client.post(CREATE, data={"label": "Tableau de bord DGCS", "days": "7", "scopes": ["calls:read"]})
    assert created.status_code == 200 and french(created) == []
    assert "Copy this token now: it will never be shown again." in created.get_data(as_text=True)
