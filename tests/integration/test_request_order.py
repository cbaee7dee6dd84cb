"""The request order's helpers (``ptce_aap.web``): ``load_or_404`` (never a 500 for an impossible id) and the
one place a ``DomainError`` becomes a flash and a redirect, or a JSON error."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import get_flashed_messages
from sqlalchemy.orm import registry
from werkzeug.exceptions import NotFound

from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.models.dossiers import Attachment, Dossier, Pole
from ptce_aap.web import _fits_key, domain_error_response, load_or_404

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", [
    f"/porteur/dossiers/{HUGE}", f"/porteur/dossiers/{HUGE}/budget", f"/porteur/dossiers/{HUGE}/pieces",
    f"/porteur/dossiers/{HUGE}/deposer", "/porteur/dossiers/{id}/pieces/" + HUGE + "/telecharger",
    f"/porteur/dossiers/{2**31}", "/porteur/dossiers/0",
])
def test_an_id_too_large_for_the_database_is_a_404_for_applicants(client, login_as, make_dossier, applicant, path):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = client.get(path.replace("{id}", str(dossier.id)))
    assert response.status_code == 404
    assert "Page non trouvée" in response.get_data(as_text=True)


@pytest.mark.parametrize("method,path", [
    ("get", f"/admin/dossiers/{HUGE}"), ("get", f"/admin/taches/{HUGE}"), ("get", f"/admin/taches/{HUGE}.json"),
    ("post", f"/admin/notifications/{HUGE}/renvoyer"), ("post", f"/admin/dossiers/{HUGE}/verifier"),
])
def test_an_id_too_large_for_the_database_is_a_404_for_admins(client, login_as, make_user, method, path):
    login_as(make_user(roles=(Role.ADMIN,)))
    assert getattr(client, method)(path).status_code == 404


def test_load_or_404_by_key_or_by_column(app, make_dossier):
    dossier = make_dossier()
    assert load_or_404(Dossier, dossier.id) is dossier
    assert load_or_404(Dossier, dossier.id, pole_id=dossier.pole_id) is dossier
    with app.test_request_context():
        for ident, by in ((dossier.id, {"pole_id": dossier.pole_id + 1}), (int(HUGE), {}), (-1, {})):
            with pytest.raises(NotFound):
                load_or_404(Dossier, ident, **by)


def test_domain_error_becomes_a_json_error_for_a_json_request(app, db):
    with app.test_request_context("/porteur/x", method="POST", json={"a": 1}):
        db.session.add(Pole(name="Rollback me"))
        response, status = domain_error_response(DomainError("Refusé.", field="email"))
        assert (status, response.get_json()) == (409, {"ok": False, "message": "Refusé.", "field": "email"})
    assert db.session.scalar(sa.select(sa.func.count(Pole.id))) == 0


def test_domain_error_becomes_a_flash_and_a_redirect_back(app):
    with app.test_request_context("/porteur/x", method="POST", headers={"Referer": "http://localhost/porteur/a?b=1"}):
        response = domain_error_response(DomainError("Refusé."))
        assert (response.status_code, response.location) == (302, "/porteur/a?b=1")
        assert get_flashed_messages(with_categories=True) == [("error", "Refusé.")]
    with app.test_request_context("/porteur/x", method="POST", headers={"Referer": "https://evil.example/a"}):
        assert domain_error_response(DomainError("Refusé."), back=None).location == "/"
    with app.test_request_context("/porteur/x", method="POST"):
        assert domain_error_response(DomainError("Refusé."), back="/porteur/").location == "/porteur/"


def test_a_refusal_that_persists_is_committed(app, db):
    class Recorded(DomainError):
        persist = True

    with app.test_request_context("/porteur/x", method="POST", json={}):
        db.session.add(Pole(name="Kept"))
        domain_error_response(Recorded("Refusé, et c'est noté."))
    assert db.session.scalar(sa.select(Pole.name)) == "Kept"


def test_an_uncaught_domain_error_in_a_view_is_flashed_not_a_500(client, login_as, make_dossier, applicant, make_user):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    stranger = make_user("inconnu@example.org")
    response = client.post(f"/porteur/dossiers/{dossier.id}/coediteurs/{stranger.id}/retirer",
                           data={"confirm": "y"})
    assert (response.status_code, response.location) == (302, f"/porteur/dossiers/{dossier.id}#coediteurs")
    page = client.get(response.location).get_data(as_text=True)
    assert "Cette personne ne fait pas partie des éditeurs du dossier." in page


def test_the_key_limit_follows_the_column_type():
    class Wide:  # a stand-in for a model whose key is a BIGINT
        pass

    assert _fits_key(Dossier, 2**31 - 1) and not _fits_key(Dossier, 2**31)
    assert _fits_key(Attachment, 1) and not _fits_key(Attachment, 0)
    big = sa.Table("wide", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True))
    registry().map_imperatively(Wide, big)
    assert _fits_key(Wide, 2**31) and not _fits_key(Wide, 2**63)
