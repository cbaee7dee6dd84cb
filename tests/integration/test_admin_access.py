"""Every admin URL, read from the app's URL map, refuses applicants and reviewers (403) and sends anonymous
visitors to the login page, for every method it takes, with real objects in its arguments and a valid CSRF
token — so that the refusal is the role's, not a missing token's. A new admin route is covered by itself;
one whose argument this test cannot fill fails it."""

from __future__ import annotations

import pytest

from ptce_aap.enums import CallStatus, Role


@pytest.fixture
def objects(db, make_call, make_reviewed_dossier, admin_user):
    """One of each object an admin URL names (ids of real rows: a refusal is never a 404 for lack of data)."""
    from datetime import date

    from ptce_aap.models.outbox import JobRun
    from ptce_aap.services import committee

    call = make_call()
    dossier = make_reviewed_dossier(call=call)
    call.status = CallStatus.DELIBERATION
    session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=admin_user)
    db.session.commit()
    run = db.session.query(JobRun).first()
    return {"slug": call.slug, "dossier_id": dossier.id, "session_id": session.id, "run_id": run.id if run else 1,
            "to": "review", "criterion_id": call.criteria[0].id}


def _admin_rules(app):
    return sorted(((rule, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
                   for method in sorted(rule.methods - {"HEAD", "OPTIONS"})), key=lambda rm: (rm[0].rule, rm[1]))


def _url(rule, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        args[name] = values.get(name, 1)  # an id this test does not build: 1 (the role is refused first)
    return rule.build(args, append_unknown=False)[1]


@pytest.mark.parametrize("who", ["applicant", "reviewer", None])
def test_every_admin_url_refuses_whoever_is_not_an_admin(app, client, login_as, make_user, objects, who):
    if who:
        login_as(make_user(roles=(Role.APPLICANT,) if who == "applicant" else (Role.REVIEWER,)))
    rules = _admin_rules(app)
    assert len(rules) > 60
    wrong = []
    for rule, method in rules:
        url = _url(rule, objects)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        expected = (403,) if who else (302,)
        if response.status_code not in expected or (not who and "/compte/connexion" not in response.headers.get(
                "Location", "")):
            wrong.append((method, url, response.status_code))
        response.close()
    assert wrong == [], wrong
