"""The access matrix (issue 13, point 7), generated from the app's URL map: every endpoint has a recorded decision
(who may call it) in ``DECISIONS`` — a new route without one fails ``test_every_endpoint_has_a_decision`` — and every
endpoint that names another user's object is called by every role that is not its owner, for every method, with a
valid CSRF token: the answer is a refusal (401, 403, 404, or the login page for a visitor), never that object's data,
never a 500.

The admin blueprint is decided as a whole (``admin``: its role gate) and walked route by route by
``test_admin_access.py``; the reviewer's routes of a dossier are walked for every kind of assignment and conflict
by ``test_reviewer_access.py``. This file adds what they do not: each role against the applicant's routes, the
reviewer's routes for the applicant, another applicant, a visitor and an admin, and the API without a token.
"""

from __future__ import annotations

import html

import pytest
from flask import url_for
from werkzeug.routing import AnyConverter, IntegerConverter

from ptce_aap.enums import ConflictSource, Role
from ptce_aap.models.base import utcnow
from ptce_aap.services import submission

# Who may call each endpoint:
#   public        anyone, no object of a user in it
#   secret-link   anyone holding the signed token in the URL (mailed links)
#   signed-in     any signed-in user, about their own account only
#   applicant     any applicant, on no one else's object (their dashboard, a new dossier in an open call)
#   owner         a person of the dossier's pole (the dossier in the URL)
#   reviewer      any reviewer, on their own work only (their dashboard, their conflicts in a call)
#   assigned      the reviewer assigned to the dossier in the URL, without a conflict (test_reviewer_access.py)
#   regional      a reviewer of the call's regional group (the dossier in the URL: one of the group's region)
#   token         an API bearer token of an administrator
#   admin         an administrator (the whole blueprint, test_admin_access.py)
DECISIONS: dict[str, str] = {
    "public.home": "public", "public.calls": "public", "public.call": "public", "public.accessibility": "public",
    "public.legal": "public", "public.healthz": "public", "public.healthz_live": "public",
    "public.call_publications": "public", "public.call_results_file": "public", "public.publication_file": "public",
    "public.set_language": "public", "static": "public", "dsfr_static": "public",
    "storage.download": "secret-link", "storage.upload": "secret-link",
    "auth.login": "public", "auth.register": "public", "auth.forgot_password": "public",
    "auth.check_email": "public", "auth.resend_verification": "public",
    "auth.reset_password": "secret-link", "auth.verify_email": "secret-link",
    "auth.reviewer_invitation": "secret-link", "applicants.accept_invitation": "secret-link",
    "auth.account": "signed-in", "auth.change_password": "signed-in", "auth.end_other_sessions": "signed-in",
    "auth.logout": "signed-in",
    "applicants.dashboard": "applicant", "applicants.new_dossier": "applicant",
    "applicants.dossier": "owner", "applicants.edit_section": "owner", "applicants.submit": "owner",
    "applicants.withdraw": "owner", "applicants.receipt": "owner", "applicants.decision_letter": "owner",
    "applicants.attachments": "owner", "applicants.attachments_state": "owner", "applicants.start_upload": "owner",
    "applicants.confirm_upload": "owner", "applicants.upload_through_app": "owner",
    "applicants.download_attachment": "owner", "applicants.delete_attachment": "owner",
    "applicants.invite_coeditor": "owner", "applicants.cancel_invitation": "owner",
    "applicants.remove_coeditor": "owner", "applicants.answer_request": "owner",
    "applicants.reply_to_message": "owner",
    "reviewers.dashboard": "reviewer", "reviewers.conflicts": "reviewer", "reviewers.conflict_withdraw": "reviewer",
    "reviewers.dossier": "assigned", "reviewers.dossier_print": "assigned", "reviewers.download_attachment": "assigned",
    "reviewers.review": "assigned", "reviewers.submit_review": "assigned", "reviewers.decline": "assigned",
    "reviewers.regional": "regional", "reviewers.regional_ranking": "regional", "reviewers.regional_opinion": "regional",
    "api.openapi": "public", "api.calls": "token", "api.call": "token", "api.call_dossiers": "token",
    "api.call_decisions": "token", "api.dossier": "token", "api.attachment": "token",
}
BLUEPRINT_DECISIONS = {"admin": "admin"}

POLE = "Pôle Très Secret des Tilleuls"
MEMBER = "Coopérative Confidentielle du Plateau"
DOCUMENT = "statuts-confidentiels-tilleuls.pdf"
SUMMARY = "Projet confidentiel de légumerie des Tilleuls"
SECRETS = (POLE, MEMBER, DOCUMENT, SUMMARY)


def decision(endpoint: str) -> str | None:
    return DECISIONS.get(endpoint) or BLUEPRINT_DECISIONS.get(endpoint.partition(".")[0])


def test_every_endpoint_has_a_decision(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(e for e in endpoints if decision(e) is None) == [], "record who may call each new endpoint"
    assert sorted(set(DECISIONS) - endpoints) == [], "decisions of endpoints that no longer exist"


# --- The matrix -------------------------------------------------------------------------------------------

@pytest.fixture
def world(db, make_call, make_dossier, make_user, make_assignment, make_conflict, applicant):
    call = make_call()
    dossier = make_dossier(call=call, owner=applicant, complete=True, pole_name=POLE)
    dossier.members[0].name = MEMBER
    dossier.attachments[0].filename = DOCUMENT
    dossier.summary = SUMMARY
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    conflicted = make_user("conflit@example.org", roles=(Role.REVIEWER,), institution="ANCT")
    make_assignment(dossier, conflicted)
    make_conflict(conflicted, call, source=ConflictSource.DECLARED, pole_id=dossier.pole_id)
    users = {
        "other_applicant": make_user("autre-porteur@example.org"),
        "reviewer_not_assigned": make_user("lecteur@example.org", roles=(Role.REVIEWER,), institution="DGCS"),
        "reviewer_with_conflict": conflicted,
        "admin": make_user("admin@example.org", roles=(Role.ADMIN,)),
        "visitor": None,
        "owner": applicant,
    }
    db.session.commit()
    return {"call": call, "dossier": dossier, "users": users}


# Who is refused on which endpoints. An admin reads a dossier through the admin pages, not the applicant's or the
# reviewer's.
REFUSED = {
    "visitor": {"owner", "assigned", "regional", "token"},
    "other_applicant": {"owner", "assigned", "regional", "token"},
    "reviewer_not_assigned": {"owner", "assigned", "regional", "token"},  # in no regional group
    "reviewer_with_conflict": {"owner", "assigned", "regional", "token"},
    "owner": {"assigned", "regional", "token"},  # the applicant on the reviewers' side of their own dossier
    "admin": {"owner", "assigned", "regional", "token"},
}


def _url(app, rule, w: dict) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if name == "dossier_id":
            values[name] = w["dossier"].id
        elif name == "attachment_id":
            values[name] = w["dossier"].attachments[0].id
        elif name == "slug":
            values[name] = w["call"].slug
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "x"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.mark.parametrize("role", sorted(REFUSED))
def test_every_route_of_another_users_object_refuses_every_other_role(app, client, login_as, world, role):
    user = world["users"][role]
    if user is not None:
        login_as(user)
    checked, wrong = 0, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if decision(rule.endpoint) not in REFUSED[role]:
            continue
        url = _url(app, rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in ({}, {"Accept": "application/json"}):
                response = client.open(url, method=method, headers=headers)
                body = html.unescape(response.get_data(as_text=True))
                checked += 1
                leaked = [s for s in SECRETS if s in body]
                refused = response.status_code in (401, 403, 404) or (
                    user is None and response.status_code == 302
                    and "/compte/connexion" in response.headers.get("Location", ""))
                if not refused or leaked:
                    wrong.append((method, url, headers.get("Accept", "html"), response.status_code, leaked))
                response.close()
    assert checked > 30
    assert wrong == []
