"""Access truth table for reviewers (issue 10): a reviewer × (assigned, not assigned, conflicted by each kind of
conflict, after a decline…) × EVERY URL rule of the reviewers blueprint that takes a ``dossier_id`` — read from
the URL map, so that routes added later are covered without touching this file — in HTML and in JSON.

Refused means 403 or 404 and never the dossier's data: its pole name, a member's name, a document's name and its
summary never appear in the body. Also: a reviewer never reaches the applicant's or the admin's pages of a
dossier; applicants never see who reviews their dossier nor their scores; admins read any dossier and download
its documents.
"""

from __future__ import annotations

import html

import pytest
from flask import Flask, url_for
from werkzeug.routing import AnyConverter, IntegerConverter

from ptce_aap.enums import AssignmentStatus, ConflictSource, DossierStatus, Role
from ptce_aap.models.accounts import Institution
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import PoleMembership
from ptce_aap.services import submission
from ptce_aap.services.dossiers import set_dossier_status

POLE = "Pôle Secret des Tilleuls"
MEMBER = "Coopérative Confidentielle du Plateau"
DOCUMENT = "statuts-confidentiels-tilleuls.pdf"
SUMMARY = "Projet confidentiel de légumerie des Tilleuls"
SECRETS = (POLE, MEMBER, DOCUMENT, SUMMARY)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Endpoints that may answer a refused reviewer with something else than 403/404 (say why): still never with the
# dossier's data. Empty: every reviewer route of a dossier refuses outright.
MAY_ANSWER: dict[str, str] = {}
# Rules an assigned reviewer does not reach, with why (refusals are still checked for them).
NOT_FOR_ASSIGNED: dict[str, str] = {
    "reviewers.regional_opinion": "the avis régional is given by the dossier's regional group, not by its assignees",
}


def _rules(blueprint: str) -> list[tuple[str, str]]:
    """``(endpoint, method)`` of every rule of ``blueprint`` that takes a ``dossier_id``, from its own URL map
    (read at collection time, before the test app exists: the blueprint on a bare app)."""
    import ptce_aap.admin
    import ptce_aap.applicants
    import ptce_aap.reviewers

    app = Flask("rules")
    for module in (ptce_aap.reviewers, ptce_aap.applicants, ptce_aap.admin):
        app.register_blueprint(module.bp)
    return sorted((rule.endpoint, method) for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith(f"{blueprint}.") and "dossier_id" in rule.arguments
                  for method in rule.methods - {"HEAD", "OPTIONS"})


REVIEWER_RULES = _rules("reviewers")
OTHER_ROLES_RULES = _rules("applicants") + _rules("admin")


def _id(rule: tuple[str, str]) -> str:
    return f"{rule[0]}:{rule[1]}"


# --- The dossier, the reviewer, and what each case sets up -----------------------------------------------

@pytest.fixture
def case(db, make_dossier, make_call, make_user, admin_user, applicant):
    """A submitted dossier full of recognisable data, its call, a reviewer (no assignment yet)."""
    call = make_call()
    dossier = make_dossier(call=call, owner=applicant, complete=True, pole_name=POLE)
    dossier.members[0].name = MEMBER
    dossier.attachments[0].filename = DOCUMENT
    dossier.summary = SUMMARY
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    reviewer = make_user("lecteur@example.org", roles=(Role.REVIEWER,), institution="Direction de la Cohésion Solidaire",
                         full_name="Paul Lecteur")
    return {"call": call, "dossier": dossier, "reviewer": reviewer, "admin": admin_user, "applicant": applicant}


def _assign(c, make_assignment, **values):
    c["assignment"] = make_assignment(c["dossier"], c["reviewer"], **values)


def _conflict(c, make_assignment, make_conflict, **target):
    _assign(c, make_assignment)
    source = target.pop("source", ConflictSource.DECLARED)
    make_conflict(c["reviewer"], c["call"], source=source, **target)


def _institution(db, siren: str) -> Institution:
    institution = Institution(name=f"Collectivité {siren}", short_name="Coll.", siren=siren)
    db.session.add(institution)
    db.session.commit()
    return institution


def _other_dossier(make_dossier, c):
    other = make_dossier(call=c["call"], complete=True, pole_name="Pôle voisin des Acacias")
    other.carrier_legal_name = "Association des Acacias"
    return other


DENIED = {
    "not_assigned": lambda c, f: None,
    "assigned_to_another_dossier": lambda c, f: f.make_assignment(_other_dossier(f.make_dossier, c), c["reviewer"]),
    "after_decline": lambda c, f: _assign(c, f.make_assignment, status=AssignmentStatus.DECLINED,
                                          declined_at=utcnow(), decline_reason="Indisponible"),
    "after_decline_for_a_conflict": lambda c, f: _assign(c, f.make_assignment, status=AssignmentStatus.DECLINED_CONFLICT,
                                                         declined_at=utcnow(), decline_reason="Je connais le pôle"),
    "conflict_on_the_pole": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict, pole_id=c["dossier"].pole_id),
    "conflict_on_the_carrier_siren": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict,
                                                            siren=c["dossier"].carrier_siren),
    "conflict_on_a_member_siren": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict,
                                                         siren=c["dossier"].members[2].siren),
    "conflict_on_a_department": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict, department="01"),
    "conflict_on_an_involved_institution": lambda c, f: _conflict(
        c, f.make_assignment, f.make_conflict, institution_id=_institution(f.db, c["dossier"].members[1].siren).id),
    "conflict_set_by_an_admin": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict,
                                                       pole_id=c["dossier"].pole_id, source=ConflictSource.ADMIN),
    "conflict_detected": lambda c, f: _conflict(c, f.make_assignment, f.make_conflict,
                                                siren=c["dossier"].carrier_siren, source=ConflictSource.DETECTED),
    "co_editor_of_the_pole": lambda c, f: (_assign(c, f.make_assignment), f.db.session.add(
        PoleMembership(pole_id=c["dossier"].pole_id, user_id=c["reviewer"].id)), f.db.session.commit()),
    "admin_too_but_conflicted": lambda c, f: (_grant_admin(f.db, c["reviewer"]), _conflict(
        c, f.make_assignment, f.make_conflict, pole_id=c["dossier"].pole_id)),
}


def _grant_admin(db, user) -> None:
    from ptce_aap.services import accounts

    accounts.grant_role(user, Role.ADMIN, by=None)
    db.session.commit()


def _cleared_conflict(c, f):
    _assign(c, f.make_assignment)
    conflict = f.make_conflict(c["reviewer"], c["call"], siren=c["dossier"].carrier_siren,
                               source=ConflictSource.DETECTED)
    conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), c["admin"].id, "Homonymie"
    f.db.session.commit()


def _conflicts_elsewhere(c, f):
    """Conflicts that concern other dossiers: another pole, a department and a SIREN the dossier does not
    have, and this pole but in another call."""
    _assign(c, f.make_assignment)
    other = _other_dossier(f.make_dossier, c)
    f.make_conflict(c["reviewer"], c["call"], pole_id=other.pole_id)
    f.make_conflict(c["reviewer"], c["call"], department="75")
    f.make_conflict(c["reviewer"], c["call"], siren="552100554")
    f.make_conflict(c["reviewer"], f.make_call(), pole_id=c["dossier"].pole_id)


def _no_carrier_siret_and_conflicts_elsewhere(c, f):
    """A dossier without SIRET (imported, or corrected later): a conflict without SIREN must not match it."""
    c["dossier"].carrier_siret = ""
    f.db.session.commit()
    _conflicts_elsewhere(c, f)


ALLOWED = {
    "assigned": lambda c, f: _assign(c, f.make_assignment),
    "assigned_no_carrier_siret_conflicts_elsewhere": _no_carrier_siret_and_conflicts_elsewhere,
    "assigned_with_a_cleared_conflict": _cleared_conflict,
    "assigned_with_conflicts_elsewhere": _conflicts_elsewhere,
}


class _Fixtures:
    def __init__(self, request):
        for name in ("db", "make_assignment", "make_conflict", "make_dossier", "make_call"):
            setattr(self, name, request.getfixturevalue(name))


def _url(app, endpoint: str, c: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {}
    for name in rule.arguments:
        if name == "dossier_id":
            values[name] = c["dossier"].id
        elif name == "attachment_id":
            values[name] = c["dossier"].attachments[0].id
        elif name == "assignment_id" and c.get("assignment") is not None:
            values[name] = c["assignment"].id
        elif name == "slug":
            values[name] = c["call"].slug
        elif isinstance(rule._converters.get(name), IntegerConverter):
            values[name] = 1
        elif isinstance(rule._converters.get(name), AnyConverter):
            values[name] = sorted(rule._converters[name].items)[0]
        else:
            values[name] = "x"
    with app.test_request_context():
        return url_for(endpoint, **values)


def _requests(client, method: str, url: str):
    """The same request as a page and as JSON: ``[(label, response), …]``."""
    if method in UNSAFE:
        return [("form", client.open(url, method=method, data={})),
                ("json", client.open(url, method=method, json={}, headers={"Accept": "application/json"}))]
    return [("html", client.open(url, method=method)),
            ("json", client.open(url, method=method, headers={"Accept": "application/json"}))]


def _leaks(response) -> list[str]:
    body = html.unescape(response.get_data(as_text=True))
    return [secret for secret in SECRETS if secret in body]


def _assert_refused(client, method: str, url: str, endpoint: str = "") -> None:
    for kind, response in _requests(client, method, url):
        if endpoint not in MAY_ANSWER:
            assert response.status_code in (403, 404), (kind, method, url, response.status_code)
            assert "Location" not in response.headers, (kind, method, url)
        assert response.status_code < 500, (kind, method, url)
        assert _leaks(response) == [], (kind, method, url)


# --- The truth table ---------------------------------------------------------------------------------

def test_the_table_covers_every_reviewer_rule_of_the_app(app):
    """The rules read at collection are those of the real app (same blueprint, same endpoints)."""
    live = sorted((rule.endpoint, method) for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("reviewers.") and "dossier_id" in rule.arguments
                  for method in rule.methods - {"HEAD", "OPTIONS"})
    assert live == REVIEWER_RULES
    assert {("reviewers.dossier", "GET"), ("reviewers.dossier_print", "GET"),
            ("reviewers.download_attachment", "GET")} <= set(REVIEWER_RULES)


@pytest.mark.parametrize("rule", REVIEWER_RULES, ids=_id)
@pytest.mark.parametrize("situation", sorted(DENIED))
def test_a_reviewer_without_access_gets_403_or_404_and_never_the_data(situation, rule, request, app, client,
                                                                       login_as, case):
    DENIED[situation](case, _Fixtures(request))
    login_as(case["reviewer"])
    endpoint, method = rule
    _assert_refused(client, method, _url(app, endpoint, case), endpoint)


@pytest.mark.parametrize("situation", sorted(ALLOWED))
def test_an_assigned_reviewer_reads_prints_and_downloads(situation, request, app, client, login_as, case):
    ALLOWED[situation](case, _Fixtures(request))
    login_as(case["reviewer"])
    dossier = case["dossier"]
    page = client.get(f"/rapporteur/dossiers/{dossier.id}")
    assert page.status_code == 200
    assert _leaks(page) == list(SECRETS)  # everything is there
    assert client.get(f"/rapporteur/dossiers/{dossier.id}/impression").status_code == 200
    download = client.get(f"/rapporteur/dossiers/{dossier.id}/pieces/{dossier.attachments[0].id}/telecharger")
    assert download.status_code == 302
    # Every other GET rule of the blueprint answers too (no 403/404, no error) for an assigned reviewer.
    for endpoint, method in REVIEWER_RULES:
        if method == "GET" and endpoint not in NOT_FOR_ASSIGNED:
            status = client.get(_url(app, endpoint, case)).status_code
            assert status in (200, 302), (endpoint, status)


@pytest.mark.parametrize("rule", OTHER_ROLES_RULES, ids=_id)
def test_a_reviewer_never_reaches_the_applicant_or_admin_pages_of_a_dossier(rule, request, app, client, login_as,
                                                                           case):
    """Even assigned: a reviewer reads a dossier through the reviewer's pages only."""
    ALLOWED["assigned"](case, _Fixtures(request))
    login_as(case["reviewer"])
    endpoint, method = rule
    _assert_refused(client, method, _url(app, endpoint, case))


def test_a_refused_download_gives_no_presigned_link(client, login_as, case):
    login_as(case["reviewer"])
    dossier = case["dossier"]
    for attachment in dossier.attachments:
        response = client.get(f"/rapporteur/dossiers/{dossier.id}/pieces/{attachment.id}/telecharger")
        assert response.status_code == 404 and "Location" not in response.headers


# --- Applicants never see reviews or reviewers ----------------------------------------------------------

def test_applicants_never_see_who_reviews_their_dossier_nor_the_scores(app, db, client, login_as, case,
                                                                      make_assignment, make_review):
    dossier, reviewer = case["dossier"], case["reviewer"]
    assignment = make_assignment(dossier, reviewer)
    criteria = dossier.call.criteria
    make_review(assignment, scores=dict.fromkeys(criteria, 4), submitted=True,
                confidential_note="Note confidentielle au comité : réserve sur la gouvernance")
    # The dossier's history as the services write it: the secretariat finds it eligible, its reviewer's first
    # review puts it in review, the last one submitted makes it reviewed (both moves authored by the reviewer).
    set_dossier_status(dossier, DossierStatus.ELIGIBLE, by=case["admin"])
    set_dossier_status(dossier, DossierStatus.IN_REVIEW, by=reviewer)
    set_dossier_status(dossier, DossierStatus.REVIEWED, by=reviewer)
    db.session.commit()
    hidden = ("Paul Lecteur", "lecteur@example.org", "Direction de la Cohésion Solidaire", "Commentaire cooperation",
              "Note confidentielle au comité", case["admin"].display_name)
    login_as(case["applicant"])
    urls = ["/porteur/"] + [_url(app, endpoint, case) for endpoint, method in _rules("applicants")
                            if method == "GET" and "attachment_id" not in _arguments(app, endpoint)]
    assert len(urls) > 3
    for url in urls:
        for kind, response in _requests(client, "GET", url):
            assert response.status_code < 500, (kind, url)
            body = html.unescape(response.get_data(as_text=True))
            shown = [h for h in hidden if h.lower() in body.lower()]
            assert shown == [], (kind, url, shown)
    login_as(case["applicant"])
    page = html.unescape(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "(le secrétariat)" in page  # the secretariat's move is told, without a name


def _arguments(app, endpoint: str) -> set[str]:
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint).arguments


# --- Admins read everything ---------------------------------------------------------------------------

def test_an_admin_reads_any_dossier_and_downloads_its_documents(client, login_as, case):
    """No assignment needed; the reading view, its print version and every document."""
    login_as(case["admin"])
    dossier = case["dossier"]
    page = client.get(f"/admin/dossiers/{dossier.id}/lecture")
    assert page.status_code == 200 and _leaks(page) == list(SECRETS)
    assert client.get(f"/admin/dossiers/{dossier.id}/lecture/impression").status_code == 200
    for attachment in dossier.attachments:
        response = client.get(f"/admin/dossiers/{dossier.id}/pieces/{attachment.id}/telecharger")
        assert response.status_code == 302, attachment.filename
        assert "X-Amz-Expires=60" in response.headers["Location"] or "Expires=" in response.headers["Location"]


def test_an_applicant_cannot_use_the_admin_or_reviewer_reading_view(client, login_as, case):
    login_as(case["applicant"])
    dossier = case["dossier"]
    for url in (f"/admin/dossiers/{dossier.id}/lecture", f"/rapporteur/dossiers/{dossier.id}",
                f"/admin/dossiers/{dossier.id}/pieces/{dossier.attachments[0].id}/telecharger",
                f"/rapporteur/dossiers/{dossier.id}/pieces/{dossier.attachments[0].id}/telecharger"):
        response = client.get(url)
        assert response.status_code in (403, 404) and _leaks(response) == [], url


def test_a_co_reviewer_learns_the_other_reviewers_names_only_once_their_own_review_is_in(
        db, client, login_as, case, make_user, make_assignment, make_review):
    """The dossier's history on the reviewer's pages names the reviewer who put it in review only for a
    co-reviewer whose own review is submitted (an admin in the pool included: the reviewer rule on reviewer
    pages whatever other roles)."""
    dossier, first = case["dossier"], case["reviewer"]
    second = make_user("second@example.org", roles=(Role.REVIEWER, Role.ADMIN), institution="Banque des Territoires",
                       full_name="Zoé Seconde")
    make_review(make_assignment(dossier, first), scores=dict.fromkeys(dossier.call.criteria, 4), submitted=True)
    mine = make_assignment(dossier, second)
    set_dossier_status(dossier, DossierStatus.ELIGIBLE, by=case["admin"])
    set_dossier_status(dossier, DossierStatus.IN_REVIEW, by=first)
    db.session.commit()
    login_as(second)
    page = html.unescape(client.get(f"/rapporteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert POLE in page and "Paul Lecteur" not in page
    assert case["admin"].display_name not in page and "(le secrétariat)" in page
    make_review(mine, scores=dict.fromkeys(dossier.call.criteria, 3), submitted=True)
    page = html.unescape(client.get(f"/rapporteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "Paul Lecteur" in page
