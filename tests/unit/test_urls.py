"""ptce_aap.urls on its own: ``external_url`` follows PUBLIC_BASE_URL wherever it runs; ``safe_next``."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from ptce_aap.urls import external_url, safe_next


@pytest.fixture
def app():
    app = Flask("urls-unit")
    bp = Blueprint("applicants", __name__)

    @bp.route("/dossiers/<int:dossier_id>")
    def dossier(dossier_id):
        return ""

    @bp.route("/invitations/<token>")
    def accept_invitation(token):
        return ""

    app.register_blueprint(bp, url_prefix="/porteur")
    app.config["PUBLIC_BASE_URL"] = "https://ptce.example.gouv.fr"
    return app


@pytest.mark.parametrize("base, expected", [
    ("https://ptce.example.gouv.fr", "https://ptce.example.gouv.fr/porteur/dossiers/12"),
    ("https://ptce.example.gouv.fr/", "https://ptce.example.gouv.fr/porteur/dossiers/12"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000/porteur/dossiers/12"),
    ("https://intranet.example.org:8443/aap", "https://intranet.example.org:8443/aap/porteur/dossiers/12"),
    ("https://intranet.example.org:8443/outils/aap/", "https://intranet.example.org:8443/outils/aap/porteur/dossiers/12"),
])
def test_external_url_outside_a_request_uses_public_base_url(app, base, expected):
    app.config["PUBLIC_BASE_URL"] = base
    with app.app_context():
        assert external_url("applicants.dossier", dossier_id=12) == expected


def test_external_url_in_a_request_ignores_the_host_the_request_came_through(app):
    app.config["PUBLIC_BASE_URL"] = "https://ptce.example.gouv.fr:8443/aap"
    with app.test_request_context("/", base_url="http://10.0.0.7:8000/interne/"):
        assert external_url("applicants.dossier", dossier_id=3) == "https://ptce.example.gouv.fr:8443/aap/porteur/dossiers/3"


def test_external_url_quotes_values_and_adds_query_and_anchor(app):
    with app.app_context():
        assert (external_url("applicants.accept_invitation", token="a.b_c-d", source="mél", _anchor="coéditeurs")
                == "https://ptce.example.gouv.fr/porteur/invitations/a.b_c-d?source=m%C3%A9l#co%C3%A9diteurs")


def test_external_url_honours_url_defaults(app):
    @app.url_defaults
    def default_id(endpoint, values):
        if endpoint == "applicants.dossier":
            values.setdefault("dossier_id", 99)

    with app.app_context():
        assert external_url("applicants.dossier") == "https://ptce.example.gouv.fr/porteur/dossiers/99"


@pytest.mark.parametrize("base", ["ptce.example.gouv.fr", "/porteur", "ftp://ptce.example.gouv.fr", ""])
def test_external_url_needs_an_absolute_http_base(app, base):
    app.config["PUBLIC_BASE_URL"] = base
    with app.app_context(), pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        external_url("applicants.dossier", dossier_id=1)


@pytest.mark.parametrize("target, expected", [
    ("/porteur/dossiers/3", "/porteur/dossiers/3"),
    ("/porteur/?page=2", "/porteur/?page=2"),
    (None, None),
    ("", None),
    ("porteur", None),
    ("//evil.example/", None),
    ("https://evil.example/", None),
    ("/\\evil.example/", None),
    ("/porteur\r\nSet-Cookie: x=1", None),
    ("/%0d%0a", "/%0d%0a"),  # still encoded: a path on this site
])
def test_safe_next_keeps_only_paths_on_this_site(target, expected):
    assert safe_next(target) == expected
