"""Security base: rate limiting, CSRF, headers, session cookie, role gates."""

from __future__ import annotations

import re

import pytest

from ptce_aap.enums import Role

PASSWORD = "Mot-de-passe-2026!"
TOO_MANY = "Vous avez fait trop de tentatives. Patientez quelques minutes avant de réessayer."
CSRF_MESSAGE = ("Le formulaire a expiré ou n'est pas valide. Rechargez la page et réessayez : ce que vous "
                "aviez saisi n'a pas été enregistré.")
FORBIDDEN = "Vous n'avez pas les droits nécessaires pour accéder à cette page."


def client_for(app, **environ):
    client = app.test_client()
    client.environ_base.update(environ)
    return client


@pytest.fixture
def other_app(app):
    """``other_app(overrides)``: a second app on the same services, e.g. with secure cookies."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    made = []

    def _make(overrides: dict):
        extra = create_app(overrides)
        extra.test_client_class = app.test_client_class  # each request in its own app context
        made.append(extra)
        return extra

    yield _make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


def text(response) -> str:
    from html import unescape

    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ptce_session=")]
    return cookie


def login(client, email, password=PASSWORD, *, csrf=True, **extra):
    return client.post("/compte/connexion", data={"email": email, "password": password, **extra}, csrf=csrf)


# --- rate limiting -------------------------------------------------------------------------------

def test_eleventh_login_attempt_in_a_minute_is_refused_with_a_french_page(client, app, make_user):
    make_user("porteur@example.org")

    answers = [login(client, "porteur@example.org", "Pas-le-bon-2026!").status_code for _ in range(10)]
    refused = login(client, "porteur@example.org")  # even with the right password

    assert answers == [200] * 10
    assert refused.status_code == 429
    page = text(refused)
    assert "Trop de tentatives" in page
    assert TOO_MANY in page
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/porteur/").status_code == 302  # not logged in
    assert client.get("/compte/connexion").status_code == 200  # only POSTs count
    elsewhere = client_for(app, REMOTE_ADDR="192.0.2.7")
    assert login(elsewhere, "porteur@example.org").headers["Location"] == "/porteur/"


def test_forgotten_password_requests_are_rate_limited_too(client, smtp):
    answers = [client.post("/compte/mot-de-passe-oublie", data={"email": "x@example.org"}).status_code
               for _ in range(11)]

    assert answers == [302] * 10 + [429]


# --- CSRF ----------------------------------------------------------------------------------------

def test_login_post_without_csrf_token_is_refused_and_with_it_works(client, make_user):
    make_user("porteur@example.org")
    form = client.get("/compte/connexion").get_data(as_text=True)
    [token] = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', form)

    refused = login(client, "porteur@example.org", csrf=False)
    forged = login(client, "porteur@example.org", csrf_token=token[:-4] + "AAAA")
    accepted = login(client, "porteur@example.org", csrf_token=token)

    for response in (refused, forged):
        assert response.status_code == 400
        assert "Requête invalide" in text(response)
        assert CSRF_MESSAGE in text(response)
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == "/porteur/"


def test_logout_without_csrf_token_is_refused(client, make_user):
    make_user("porteur@example.org")
    token = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"',
                       client.get("/compte/connexion").get_data(as_text=True))[0]
    login(client, "porteur@example.org", csrf_token=token)

    refused = client.post("/compte/deconnexion", csrf=False)

    assert refused.status_code == 400
    assert client.get("/porteur/").status_code == 200  # still logged in
    header_token = re.findall(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))[0]
    assert client.post("/compte/deconnexion", data={"csrf_token": header_token}).status_code == 302
    assert client.get("/porteur/").status_code == 302


# --- headers and cookies -------------------------------------------------------------------------

def csp_of(response) -> dict[str, str]:
    directives = [d.split(" ", 1) for d in response.headers["Content-Security-Policy"].split("; ")]
    assert len({name for name, _ in directives}) == len(directives)  # no directive twice
    return dict(directives)


CSP = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self' data:", "frame-ancestors": "'none'", "base-uri": "'self'", "object-src": "'none'",
}


@pytest.mark.parametrize("path", ["/", "/compte/connexion", "/compte/inscription"])
def test_security_headers_are_sent(client, path, test_settings):
    response = client.get(path)

    s3 = test_settings["S3_ENDPOINT_URL"]  # uploads go from the browser straight to the S3 store
    assert csp_of(response) == {**CSP, "connect-src": f"'self' {s3}", "form-action": f"'self' {s3}"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(("storage", "connect_src", "form_action"), [
    ({"STORAGE_BACKEND": "local"}, "'self'", "'self'"),
    ({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": "https://s3.example.net:9000/some/path"},
     "'self' https://s3.example.net:9000", "'self' https://s3.example.net:9000"),
    ({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": None}, "'self' https://*.amazonaws.com", "'self'"),
])
def test_csp_follows_the_storage_backend(other_app, storage, connect_src, form_action):
    response = other_app(storage).test_client().get("/compte/connexion")

    assert response.status_code == 200
    assert csp_of(response) == {**CSP, "connect-src": connect_src, "form-action": form_action}


def test_session_cookie_is_httponly_and_samesite_lax_but_not_secure_over_http(client, make_user):
    make_user("porteur@example.org")

    cookie = session_cookie(login(client, "porteur@example.org"))

    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes


def test_session_cookie_is_secure_when_configured(other_app, make_user):
    make_user("porteur@example.org")
    client = client_for(other_app({"SESSION_COOKIE_SECURE": True}))

    response = login(client, "porteur@example.org")

    attributes = {part.strip().split("=")[0].lower() for part in session_cookie(response).split(";")[1:]}
    assert {"secure", "httponly"} <= attributes
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


# --- role gates ----------------------------------------------------------------------------------

SPACES = ["/porteur/", "/rapporteur/", "/admin/"]


@pytest.mark.parametrize("path", SPACES)
def test_anonymous_visitor_is_sent_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/compte/connexion?next={path.replace('/', '%2F')}"


@pytest.mark.parametrize(("roles", "allowed"), [
    ((Role.APPLICANT,), {"/porteur/"}),
    ((Role.REVIEWER,), {"/rapporteur/"}),
    ((Role.ADMIN,), {"/admin/"}),
    ((Role.REVIEWER, Role.ADMIN), {"/rapporteur/", "/admin/"}),
])
def test_each_space_is_open_to_its_role_only(client, login_as, make_user, roles, allowed):
    login_as(make_user("compte@example.org", roles=roles))

    for path in SPACES:
        response = client.get(path)
        if path in allowed:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 403, path
            assert "Accès refusé" in text(response)
            assert FORBIDDEN in text(response)


def test_disabled_account_loses_its_session(client, db, login_as, make_user):
    user = make_user("porteur@example.org")
    login_as(user)
    assert client.get("/porteur/").status_code == 200

    user.is_disabled = True
    db.session.commit()

    assert client.get("/porteur/").headers["Location"] == "/compte/connexion?next=%2Fporteur%2F"


def test_password_change_ends_existing_sessions(client, db, login_as, make_user):
    from ptce_aap.services import accounts

    user = make_user("porteur@example.org")
    login_as(user)
    assert client.get("/porteur/").status_code == 200

    accounts.set_password(user, "Nouveau-secret-2027?")
    db.session.commit()

    assert client.get("/porteur/").status_code == 302
