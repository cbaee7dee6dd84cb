"""« Jetons d'API » in the back office: the list (prefix, owner, created, expires, last use) and revocation,
confirmed and audited; the token then stops working. Only administrators reach it."""

from __future__ import annotations

import sqlalchemy as sa

from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.audit import AuditEvent
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
