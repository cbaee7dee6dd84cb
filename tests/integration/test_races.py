"""Lost races and automated bursts on the reviewer side: simultaneous submits, reopens, declines (real
concurrency, PostgreSQL, see ``_race``) never give a 500 and take effect once; autosave is rate limited per
user and its audit rows coalesced."""

from __future__ import annotations

import sqlalchemy as sa

from ptce_aap.enums import Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.reviews import Review
from tests.integration import test_reviews
from tests.integration.test_reviews import AUTOSAVE, base_of, form_data, url

world = test_reviews.world  # the fixture: a submitted dossier, two reviewers assigned


# --- Lost races: never a 500, one effect ------------------------------------------------------------------

def test_six_simultaneous_submits_hand_the_review_in_once(_app, client, login_as, world, make_scored_review, db):
    from tests.integration._race import race

    review = make_scored_review(world["mine"], [4, 3, 4, 3, 4, 3], submitted=False)
    login_as(world["reviewer"])
    codes = race(_app, client, 6, url(world["dossier"], "/remise"), {"version": str(review.version)})
    assert 500 not in codes and set(codes) <= {302, 409}, codes
    db.session.expire_all()
    assert db.session.get(Review, review.id).submitted_at is not None
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "review.submitted")) == 1


def test_four_simultaneous_reopens_reopen_once(_app, client, login_as, world, make_scored_review, make_user, db):
    from tests.integration._race import race

    review = make_scored_review(world["mine"], [4, 3, 4, 3, 4, 3])
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    codes = race(_app, client, 4, f"/admin/evaluations/{review.id}/reouvrir", {"reason": "Note non motivée."})
    assert 500 not in codes and set(codes) <= {302, 409, 422}, codes
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "review.reopened")) == 1


def test_two_simultaneous_declines_decline_once(_app, client, login_as, world, db):
    from tests.integration._race import race

    login_as(world["reviewer"])
    codes = race(_app, client, 2, f"/rapporteur/dossiers/{world['dossier'].id}/declin",
                 {"reason": "Je connais trop bien ce pôle."})
    assert 500 not in codes, codes
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "assignment.declined")) == 1


def test_autosave_is_rate_limited_per_user_and_its_audit_rows_coalesced(app, client, login_as, world, db,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "AUTOSAVE_RATE_LIMIT", "5 per minute")
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    html = client.get(url(dossier)).get_data(as_text=True)
    version = 1
    for n in range(5):
        answer = client.post(url(dossier), headers=AUTOSAVE, data=form_data(
            criteria, [n % 6, None, None, None, None, None], version=version, base=base_of(html)))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        version = answer.get_json()["version"]
    refused = client.post(url(dossier), headers=AUTOSAVE, data=form_data(criteria, [5] + [None] * 5, version=version))
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == 429
    # A person's button is never limited; four autosaves of one writing session left one audit row.
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "review.updated")) == 1
    saved = client.post(url(dossier), data=form_data(criteria, [3] + [None] * 5, version=version))
    assert saved.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "review.updated")) == 2


def test_a_lost_race_answers_the_views_own_message_with_409(client, login_as, world, make_scored_review, db,
                                                            monkeypatch):
    """Deterministic interleaving: the commit loses to a concurrent submit (StaleDataError at flush)."""
    from sqlalchemy.orm.exc import StaleDataError

    from ptce_aap.services import reviews as review_service

    review = make_scored_review(world["mine"], [4, 3, 4, 3, 4, 3], submitted=False)

    def lost(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'reviews' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(review_service, "submit_review", lost)
    login_as(world["reviewer"])
    answer = client.post(url(world["dossier"], "/remise"), data={"version": str(review.version)})
    assert answer.status_code == 409
    assert "Cette évaluation a déjà été remise" in answer.get_data(as_text=True)
    json_answer = client.post(url(world["dossier"], "/remise"), data={"version": str(review.version)},
                              headers={"Accept": "application/json"})
    assert json_answer.status_code == 409 and json_answer.get_json()["error"]["code"] == 409


def test_applicant_section_autosave_is_rate_limited_per_user_not_the_button(app, client, login_as, make_dossier,
                                                                            applicant, monkeypatch):
    monkeypatch.setitem(app.config, "AUTOSAVE_RATE_LIMIT", "3 per minute")
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    path = f"/porteur/dossiers/{dossier.id}/projet"
    version = dossier.version
    for n in range(3):
        answer = client.post(path, data={"version": version, "strategy": f"Auto {n}"},
                             headers={"X-Autosave": "1", "Accept": "application/json"})
        assert answer.status_code == 200
        version = answer.get_json()["version"]
    refused = client.post(path, data={"version": version, "strategy": "Trop"},
                          headers={"X-Autosave": "1", "Accept": "application/json"})
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == 429
    assert client.post(path, data={"version": version, "strategy": "Bouton"}).status_code != 429
