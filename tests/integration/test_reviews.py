"""Reviews (issue 10, points 6 and 8): the reviewer's dashboard and scoring form (autosave under the
optimistic lock, never losing a word, validation, submit then locked, others' reviews hidden until one's
own is submitted), the admin's reopen and scores page, review reminders, and who may reach all of it."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.enums import AssignmentStatus, ConflictSource, DossierStatus, Recommendation, Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.reviews import ConflictOfInterest, Review
from ptce_aap.services import submission

AUTOSAVE = {"X-Autosave": "1", "Accept": "application/json"}


@pytest.fixture
def world(make_call, make_dossier, make_user, make_assignment, db):
    call = make_call(review_deadline_at=utcnow() + timedelta(days=20))
    owner = make_user("porteur@example.org")
    dossier = make_dossier(call=call, owner=owner, pole_name="Pôle des Tisserands", complete=True)
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT",
                         full_name="Louis Rapporteur")
    colleague = make_user("collegue@example.org", roles=(Role.REVIEWER,), institution="Caisse des Dépôts",
                          full_name="Anne Collègue")
    mine = make_assignment(dossier, reviewer)
    theirs = make_assignment(dossier, colleague)
    return {"call": call, "dossier": dossier, "reviewer": reviewer, "colleague": colleague, "mine": mine,
            "theirs": theirs, "criteria": list(call.criteria)}


def form_data(criteria, scores, *, comments=None, recommendation=None, note="", version=None, base=None):
    data = {}
    for i, c in enumerate(criteria):
        if scores[i] is not None:
            data[f"score_{c.id}"] = str(scores[i])
        data[f"comment_{c.id}"] = (comments or {}).get(i, "")
    if recommendation:
        data["recommendation"] = recommendation
    data["confidential_note"] = note
    if version is not None:
        data["version"] = str(version)
    if base is not None:
        data["base"] = base
    return data


def base_of(html: str) -> str:
    import html as h
    import re

    return h.unescape(re.search(r'name="base" type="hidden" value="([^"]*)"', html).group(1))


def url(dossier, suffix=""):
    return f"/rapporteur/dossiers/{dossier.id}/evaluation{suffix}"


def test_autosave_then_submit_then_locked(client, login_as, world, db):
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    page = client.get(url(dossier))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Grille d'évaluation" in html and 'data-autosave=' in html
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    assert review.version == 1 and review.submitted_at is None
    # An autosave without recommendation nor comments: a draft may be incomplete.
    answer = client.post(url(dossier), headers=AUTOSAVE,
                         data=form_data(criteria, [5, 3, None, None, None, None], version=1, base=base_of(html)))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["ok"] and body["version"] == 2
    # (25·5 + 20·3) / 500 × 100 = 185 / 5 = 37 (the missing ones count 0 in the running total)
    assert body["total"] == "37"
    db.session.expire_all()
    assert [(s.score, s.comment) for s in sorted(review.scores, key=lambda s: s.criterion_id)][:2] == [(5, ""), (3, "")]
    assert db.session.get(type(world["mine"]), world["mine"].id).status == AssignmentStatus.IN_PROGRESS

    # "Enregistrer et remettre" with problems: each is shown next to its field, nothing is submitted.
    answer = client.post(url(dossier), data={**form_data(criteria, [5, 3, 0, 4, 4, 2], version=2),
                                             "then": "submit"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "un commentaire est obligatoire pour une note extrême" in html  # 5 / 5 and 0 / 5 without comment
    assert "Choisissez un avis" in html
    assert html.count("fr-fieldset--error") == 1 and html.count("fr-input-group--error") == 2

    comments = {0: "Coopération exemplaire.", 2: "Aucune innovation décrite."}
    answer = client.post(url(dossier), data={**form_data(criteria, [5, 3, 0, 4, 4, 2], comments=comments,
                                                         recommendation="favorable", note="Pour le comité.",
                                                         version=3), "then": "submit"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(url(dossier, "/remise"))
    confirm = client.get(url(dossier, "/remise"))
    # 25·5 + 20·3 + 15·0 + 15·4 + 15·4 + 10·2 = 125 + 60 + 0 + 60 + 60 + 20 = 325 → 65 / 100
    assert "65 / 100" in confirm.get_data(as_text=True)
    assert client.post(url(dossier, "/remise"), data={"version": "4"}).status_code == 302
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert review.submitted_at is not None and review.recommendation == Recommendation.FAVORABLE
    assert review.assignment.status == AssignmentStatus.SUBMITTED

    # Locked: neither the autosave nor the button changes it any more.
    answer = client.post(url(dossier), headers=AUTOSAVE, data=form_data(criteria, [1, 1, 1, 1, 1, 1], version=5))
    assert answer.status_code == 409 and not answer.get_json()["ok"]
    assert client.post(url(dossier), data=form_data(criteria, [1] * 6, version=5)).status_code == 302
    db.session.expire_all()
    assert sorted(s.score for s in db.session.get(Review, review.id).scores) == [0, 2, 3, 4, 4, 5]
    page = client.get(url(dossier)).get_data(as_text=True)
    assert "elle n'est plus modifiable" in page and "data-autosave=" not in page
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "reviews")))
    assert actions == {"review.started", "review.updated", "review.submitted"}


def test_a_score_out_of_range_is_refused_next_to_its_field(client, login_as, world):
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    client.get(url(dossier))
    data = form_data(criteria, [6, None, None, None, None, None], version=1)
    answer = client.post(url(dossier), headers=AUTOSAVE, data=data)
    assert answer.status_code == 409
    assert answer.get_json() == {"ok": False, "field": f"score_{criteria[0].id}",
                                 "message": "La note doit être un nombre entier de 0 à 5."}
    answer = client.post(url(dossier), data={**data, f"comment_{criteria[1].id}": "Gardé tel quel."})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "La note doit être un nombre entier de 0 à 5." in html and "Gardé tel quel." in html


def test_a_stale_save_keeps_what_was_typed_and_merges_other_fields(client, login_as, world, db, app):
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    html = client.get(url(dossier)).get_data(as_text=True)
    base = base_of(html)
    # Another tab saves a score of criterion 2 and a comment on criterion 1.
    other = form_data(criteria, [None, 4, None, None, None, None], comments={0: "Autre onglet."}, version=1,
                      base=base)
    assert client.post(url(dossier), headers=AUTOSAVE, data=other).get_json()["version"] == 2
    # This tab still holds version 1: its autosave is refused, saying why.
    mine = form_data(criteria, [3, None, None, None, None, None], comments={0: "Mon texte."}, note="À garder",
                     version=1, base=base)
    answer = client.post(url(dossier), headers=AUTOSAVE, data=mine)
    assert answer.status_code == 409 and answer.get_json()["conflict"]
    # The button: the field only the other tab changed is merged in, the one both changed is shown, nothing lost.
    answer = client.post(url(dossier), data=mine)
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "Évaluation modifiée entre-temps" in page
    assert "Mon texte." in page and "Autre onglet." in page and "À garder" in page
    assert f'id="score_{criteria[1].id}-4" name="score_{criteria[1].id}" type="radio" value="4" checked' in page \
        or f'checked id="score_{criteria[1].id}-4"' in page
    # Saving again (the page now carries version 2) keeps mine on the conflicting field, theirs elsewhere.
    version = int(page.split('name="version" type="hidden" value="')[1].split('"')[0])
    answer = client.post(url(dossier), data={**mine, f"score_{criteria[1].id}": "4", "version": str(version),
                                             "base": base_of(page)})
    assert answer.status_code == 302
    db.session.expire_all()
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    given = {s.criterion_id: (s.score, s.comment) for s in review.scores}
    assert given[criteria[0].id] == (3, "Mon texte.") and given[criteria[1].id][0] == 4
    assert review.confidential_note == "À garder"


def test_others_reviews_hidden_until_ones_own_is_submitted(client, login_as, world, make_scored_review, db):
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1], comments=["Commentaire de la collègue"] * 6,
                note="Secret du comité")
    dossier = world["dossier"]
    login_as(world["reviewer"])
    page = client.get(url(dossier)).get_data(as_text=True)
    assert "Commentaire de la collègue" not in page and "Anne Collègue" not in page
    assert 'id="autres-masquees"' in page
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    review.submitted_at = utcnow()
    db.session.commit()
    page = client.get(url(dossier)).get_data(as_text=True)
    assert "Commentaire de la collègue" in page and "Anne Collègue — Caisse des Dépôts" in page
    assert "Secret du comité" not in page  # the confidential note is for admins only


def test_an_admin_in_the_pool_scores_blind_too(client, login_as, world, make_scored_review, make_user,
                                              make_assignment, db):
    """On the reviewer pages the reviewer rule holds whatever other roles the person has: an admin who is also
    one of the dossier's reviewers sees the others' reviews only once their own is submitted."""
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1], comments=["Commentaire de la collègue"] * 6)
    dossier = world["dossier"]
    both = make_user("double@example.org", roles=(Role.REVIEWER, Role.ADMIN), institution="DGCS",
                     full_name="Hélène Double")
    own = make_assignment(dossier, both)
    login_as(both)
    page = client.get(url(dossier)).get_data(as_text=True)
    assert "Commentaire de la collègue" not in page and "Anne Collègue" not in page
    assert 'id="autres-masquees"' in page
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=own.id))
    review.submitted_at = utcnow()
    db.session.commit()
    page = client.get(url(dossier)).get_data(as_text=True)
    assert "Commentaire de la collègue" in page


def test_admin_reopens_a_submitted_review_with_a_reason(client, login_as, world, make_scored_review, make_user, db):
    review = make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1])
    admin = make_user("admin@example.org", roles=(Role.ADMIN,))
    login_as(admin)
    page = client.get(f"/admin/evaluations/{review.id}/reouvrir")
    assert page.status_code == 200 and "Louis Rapporteur (ANCT)" in page.get_data(as_text=True)
    refused = client.post(f"/admin/evaluations/{review.id}/reouvrir", data={"reason": "  "})
    assert refused.status_code == 422 and "Indiquez le motif" in refused.get_data(as_text=True)
    done = client.post(f"/admin/evaluations/{review.id}/reouvrir", data={"reason": "Note 5 non motivée."})
    assert done.status_code == 302
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert review.submitted_at is None and review.assignment.status == AssignmentStatus.IN_PROGRESS
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="review.reopened"))
    assert event.actor_id == admin.id and event.summary["reason"] == "Note 5 non motivée."
    from ptce_aap.models.outbox import Notification

    [mail] = db.session.scalars(sa.select(Notification).filter_by(template="review_reopened")).all()
    assert mail.recipient == "rapporteur@example.org" and mail.context["reason"] == "Note 5 non motivée."
    assert mail.context["link"].endswith(url(world["dossier"]))
    # Not submitted any more: nothing to reopen.
    assert client.post(f"/admin/evaluations/{review.id}/reouvrir", data={"reason": "x"}).status_code == 403
    # The reviewer can edit it again.
    client.get("/compte/deconnexion")
    login_as(world["reviewer"])
    assert 'data-autosave=' in client.get(url(world["dossier"])).get_data(as_text=True)


def test_admin_scores_page_and_csv(client, login_as, world, make_scored_review, make_user, db):
    # Louis: 4,3,5,2,4,1 → 335 / 5 = 67; Anne: 1,1,1,1,1,1 → 100 / 5 = 20. Mean 43.5; spread 0.47 > 0.3.
    make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1], note="Réservé au comité")
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1])
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    page = client.get(f"/admin/appels/{world['call'].slug}/notes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = " ".join(html.split(f'data-dossier="{world["dossier"].id}"')[1].split("</tr>")[0].split())
    assert "<td data-mean>43,5</td>" in row and "Désaccord" in row and "2 / 2" in row
    assert "Louis Rapporteur (ANCT) — 67" in row and "Anne Collègue (Caisse des Dépôts) — 20" in row
    assert "non calibré" in row and "Réservé au comité" in row
    csv_text = client.get(f"/admin/appels/{world['call'].slug}/notes.csv").get_data(as_text=True)
    assert "Pôle des Tisserands;43,5;43,5;0,470;oui;2;2;Louis Rapporteur (ANCT) : 67,0 | Anne" in csv_text


def _conflicted(world, db):
    db.session.add(ConflictOfInterest(reviewer_id=world["reviewer"].id, call_id=world["call"].id,
                                      pole_id=world["dossier"].pole_id, source=ConflictSource.DECLARED))
    db.session.commit()


def _involved_institution(world, db):
    from ptce_aap.services import accounts

    institution = accounts.get_or_create_institution("Structure porteuse elle-même", "SP")
    institution.siren = world["dossier"].carrier_siren
    db.session.add(ConflictOfInterest(reviewer_id=world["reviewer"].id, call_id=world["call"].id,
                                      institution_id=institution.id, source=ConflictSource.DECLARED))
    db.session.commit()


def _declined(world, db):
    world["mine"].status = AssignmentStatus.DECLINED
    db.session.commit()


def _unassigned(world, db):
    db.session.delete(world["mine"])
    db.session.commit()


@pytest.mark.parametrize("situation", [_conflicted, _involved_institution, _declined, _unassigned])
def test_a_reviewer_without_live_assignment_reaches_nothing(client, login_as, world, make_scored_review, db, situation):
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1], comments=["Commentaire de la collègue"] * 6)
    situation(world, db)
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    assert client.get(url(dossier)).status_code == 404
    assert client.get(url(dossier, "/remise")).status_code == 404
    assert client.post(url(dossier, "/remise"), data={"version": "1"}).status_code == 404
    answer = client.post(url(dossier), headers=AUTOSAVE, data=form_data(criteria, [5] * 6, version=1))
    assert answer.status_code == 404 and "Commentaire de la collègue" not in answer.get_data(as_text=True)
    assert "Tisserands" not in client.get("/rapporteur/").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1


def test_applicants_and_other_roles_never_see_reviews(client, login_as, world, make_scored_review, db, make_user):
    review = make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1])
    owner = db.session.scalar(sa.select(type(world["reviewer"])).filter_by(email="porteur@example.org"))
    login_as(owner)
    assert client.get(url(world["dossier"])).status_code == 403
    assert client.get(f"/admin/appels/{world['call'].slug}/notes").status_code == 403
    assert client.get(f"/admin/evaluations/{review.id}/reouvrir").status_code == 403


def test_dashboard_progress_filters_and_sort(client, login_as, world, make_dossier, make_assignment, make_scored_review,
                                            db):
    reviewer, call = world["reviewer"], world["call"]
    make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1])
    for name in ("Pôle Alpha", "Pôle Zêta"):
        make_assignment(make_dossier(call=call, pole_name=name, complete=True), reviewer)
    login_as(reviewer)
    html = client.get("/rapporteur/").get_data(as_text=True)
    assert "1 / 3 évalués" in html
    assert html.index("Pôle Alpha") < html.index("Pôle Zêta")
    html = client.get("/rapporteur/?tri=pole&ordre=desc").get_data(as_text=True)
    assert html.index("Pôle Zêta") < html.index("Pôle Alpha")
    html = client.get("/rapporteur/?etat=done").get_data(as_text=True)
    assert "Tisserands" in html and "Pôle Alpha" not in html
    html = client.get("/rapporteur/?etat=todo").get_data(as_text=True)
    assert "Tisserands" not in html and "Pôle Alpha" in html


def test_review_reminders_follow_the_calls_deadline_once(world, make_scored_review, db):
    from ptce_aap import scheduler
    from ptce_aap.models.outbox import Notification

    deadline = world["call"].review_deadline_at
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1])  # handed in: no reminder for Anne
    assert scheduler.run_scheduled(deadline - timedelta(days=8)) == 0
    assert scheduler.run_scheduled(deadline - timedelta(days=6)) == 1
    assert scheduler.run_scheduled(deadline - timedelta(days=5)) == 0
    assert scheduler.run_scheduled(deadline - timedelta(days=1)) == 1
    assert scheduler.run_scheduled(deadline - timedelta(hours=2)) == 0
    recipients = db.session.scalars(sa.select(Notification.recipient).where(
        Notification.template == "review_reminder")).all()
    assert recipients == ["rapporteur@example.org"] * 2


def test_query_counts_are_constant(client, login_as, world, make_dossier, make_assignment, make_scored_review, make_user,
                                   db):
    from tests.integration.test_query_counts import assert_same, queries_for

    call, reviewer, colleague = world["call"], world["reviewer"], world["colleague"]

    def add(n):
        for i in range(n):
            d = make_dossier(call=call, pole_name=f"Pôle {i} {utcnow().microsecond}", complete=True)
            owner = d.pole.memberships[0].user if hasattr(d, "pole") and d.pole.memberships else None
            submission.submit_dossier(d, by=owner or reviewer, now=utcnow())
            db.session.commit()
            make_scored_review(make_assignment(d, reviewer), [i % 6, 3, 2, 4, 5, 1])
            make_assignment(d, colleague)

    add(2)
    login_as(reviewer)
    few = queries_for(client, db, "/rapporteur/")
    admin = make_user("admin@example.org", roles=(Role.ADMIN,))
    login_as(admin)
    few_admin = queries_for(client, db, f"/admin/appels/{call.slug}/notes")
    add(4)
    login_as(reviewer)
    assert_same(few, queries_for(client, db, "/rapporteur/"))
    login_as(admin)
    assert_same(few_admin, queries_for(client, db, f"/admin/appels/{call.slug}/notes"))


def test_the_running_total_formula_matches_the_domain():
    """static/review.js computes (2·num·1000 + den) // (2·den) tenths, as domain.scores.rounded_total does."""
    from pathlib import Path

    from ptce_aap.domain.scores import Line, rounded_total

    script = (Path(__file__).resolve().parents[2] / "ptce_aap/static/review.js").read_text()
    assert "Math.floor((2 * num * 1000 + den) / (2 * den))" in script
    lines = [Line(2, 4, 3), Line(1, 10, 7)]
    assert rounded_total(lines) == Decimal("72.2")
    assert json.dumps(str(rounded_total(lines))) == '"72.2"'


def test_an_expired_form_shows_the_scoring_form_again_with_what_was_typed(client, login_as, world, db):
    dossier, criteria = world["dossier"], world["criteria"]
    login_as(world["reviewer"])
    client.get(url(dossier))
    typed = form_data(criteria, [2, None, None, None, None, None], comments={0: "Mon commentaire précieux"},
                      version=1)
    answer = client.post(url(dossier), headers=AUTOSAVE, data={**typed, "csrf_token": "expire"})
    assert answer.status_code == 400 and answer.get_json()["expired"] is True
    answer = client.post(url(dossier), data={**typed, "csrf_token": "expire"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "Mon commentaire précieux" in page and "Le formulaire avait expiré" in page
    assert 'data-draft-state="unsaved"' in page
    db.session.expire_all()
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    assert review.scores == []


def test_the_dossier_follows_its_reviews(world, make_scored_review, make_user, db):
    from ptce_aap.enums import DossierStatus
    from ptce_aap.errors import DomainError
    from ptce_aap.services import reviews
    from ptce_aap.services.dossiers import set_dossier_status

    dossier, reviewer, criteria = world["dossier"], world["reviewer"], world["criteria"]
    set_dossier_status(dossier, DossierStatus.ELIGIBLE, by=None)
    db.session.commit()
    review = reviews.start_review(world["mine"], by=reviewer)
    assert dossier.status == DossierStatus.IN_REVIEW  # a first review started
    values = reviews.ReviewValues({c.id: (3, "") for c in criteria}, Recommendation.RESERVED, "")
    reviews.save_review(review, values, by=reviewer, expected_version=None)
    reviews.submit_review(review, by=reviewer)
    assert dossier.status == DossierStatus.IN_REVIEW  # Anne has not submitted yet
    world["theirs"].status = AssignmentStatus.DECLINED  # she declines: every live review is in
    db.session.commit()
    other = reviews.start_review(make_assignment_for(world, make_user, db), by=None)
    assert other.submitted_at is None and dossier.status == DossierStatus.IN_REVIEW
    reviews.save_review(other, values, by=None, expected_version=None)
    reviews.submit_review(other, by=None)
    assert dossier.status == DossierStatus.REVIEWED
    admin = make_user("admin@example.org", roles=(Role.ADMIN,))
    reviews.reopen_review(review, by=admin, reason="À motiver.")
    assert dossier.status == DossierStatus.IN_REVIEW
    db.session.commit()
    set_dossier_status(dossier, DossierStatus.WITHDRAWN, by=None)
    with pytest.raises(DomainError, match="ne peuvent plus être rouvertes"):
        reviews.reopen_review(other, by=admin, reason="Trop tard.")


def make_assignment_for(world, make_user, db):
    from ptce_aap.models.reviews import Assignment

    third = make_user("troisieme@example.org", roles=(Role.REVIEWER,), institution="DGCS")
    assignment = Assignment(dossier_id=world["dossier"].id, reviewer_id=third.id, institution_id=third.institution_id)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def test_a_withdrawn_dossier_is_closed_to_its_reviewers_and_left_out_of_the_scores(
        client, login_as, world, make_scored_review, make_user, db):
    from ptce_aap.errors import DomainError
    from ptce_aap.services import reviews as review_service
    from ptce_aap.services.dossiers import set_dossier_status

    dossier, criteria = world["dossier"], world["criteria"]
    make_scored_review(world["theirs"], [4, 4, 4, 4, 4, 4])
    login_as(world["reviewer"])
    assert client.get(url(dossier)).status_code == 200  # starts the review
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    set_dossier_status(dossier, DossierStatus.WITHDRAWN, by=None, reason="Le pôle se retire.")
    db.session.commit()
    attachment = dossier.attachments[0]
    for path in (f"/rapporteur/dossiers/{dossier.id}", f"/rapporteur/dossiers/{dossier.id}/impression",
                 f"/rapporteur/dossiers/{dossier.id}/pieces/{attachment.id}/telecharger", url(dossier),
                 url(dossier, "/remise")):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Pôle des Tisserands" not in answer.get_data(as_text=True)
    assert "Pôle des Tisserands" not in client.get("/rapporteur/").get_data(as_text=True)  # nor on the dashboard
    answer = client.post(url(dossier), headers=AUTOSAVE, data=form_data(criteria, [1] * 6, version=review.version))
    assert answer.status_code == 404
    assert client.post(url(dossier, "/remise"), data={"version": str(review.version)}).status_code == 404
    # The service refuses on its own (whoever calls it).
    values = review_service.ReviewValues({c.id: (3, "x") for c in criteria}, Recommendation.FAVORABLE, "")
    with pytest.raises(DomainError, match="n'est plus en instruction"):
        review_service.save_review(review, values, by=world["reviewer"], expected_version=None)
    db.session.rollback()
    with pytest.raises(DomainError, match="n'est plus en instruction"):
        review_service.submit_review(review, by=world["reviewer"])
    db.session.rollback()
    # Scores page and CSV: the dossier is no longer competing.
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    page = client.get(f"/admin/appels/{world['call'].slug}/notes").get_data(as_text=True)
    assert f'data-dossier="{dossier.id}"' not in page
    csv_text = client.get(f"/admin/appels/{world['call'].slug}/notes.csv").get_data(as_text=True)
    assert "Pôle des Tisserands" not in csv_text and "Statut du dossier" in csv_text


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"http://evil.example\";\"x\")", "+1+1", "-1+1", "@SUM(A1)",
                                     "\t=1", "\r=1"])
def test_the_scores_csv_never_hands_a_formula_to_the_spreadsheet(client, login_as, world, make_user, db, hostile):
    import csv
    import io

    world["dossier"].pole_name = hostile
    db.session.commit()
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    text = client.get(f"/admin/appels/{world['call'].slug}/notes.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][1] == "'" + hostile
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


# The scoring form reads the dossier once with what its reading view shows (members, budget lines, documents,
# transitions, the call's categories and documents), the others' reviews in bulk; the autosave answers from
# what it has just saved (nothing read again after its commit). Issue 13: 22 → 20, 24 → 22 and 20 → 14 (the
# first autosave of a session, audited; with the history's authors, which bench/review_pages.py has not).
SCORING_FORM_QUERIES = {"in progress": 20, "submitted": 22}
AUTOSAVE_QUERIES = 14


def test_scoring_form_and_autosave_run_a_constant_number_of_queries(client, login_as, world, make_user,
                                                                    make_assignment, make_scored_review, db):
    from tests.fixtures.queries import count_queries
    from tests.integration.test_query_counts import assert_same, queries_for
    from tests.integration.test_reading import _grow

    dossier, criteria = world["dossier"], world["criteria"]
    extra = []

    def other_reviews(n: int) -> None:
        for _ in range(n):
            person = make_user(f"autre{len(extra)}@example.org", roles=(Role.REVIEWER,), institution="Région",
                               full_name=f"Autre Rapporteur {len(extra)}")
            make_scored_review(make_assignment(dossier, person), [4, 3, 5, 2, 4, 1])
            extra.append(person)

    _grow(db, dossier, 2)
    other_reviews(1)
    make_scored_review(world["theirs"], [3, 3, 3, 3, 3, 3])
    login_as(world["reviewer"])
    client.get(url(dossier))  # starts the review
    few = queries_for(client, db, url(dossier))
    login_as(world["colleague"])
    few_done = queries_for(client, db, url(dossier))

    _grow(db, dossier, 6)
    other_reviews(3)
    login_as(world["reviewer"])
    many = queries_for(client, db, url(dossier))
    assert_same(few, many)
    assert len(many) == SCORING_FORM_QUERIES["in progress"], "\n".join(s[:160] for s in many)
    login_as(world["colleague"])
    many_done = queries_for(client, db, url(dossier))
    assert_same(few_done, many_done)
    assert len(many_done) == SCORING_FORM_QUERIES["submitted"], "\n".join(s[:160] for s in many_done)
    shown = client.get(url(dossier)).get_data(as_text=True)
    assert shown.count('class="fr-mb-4w ptce-other-review"') == 4  # the 4 others, the reviewer's draft hidden
    assert shown.count('data-member="') > 8

    login_as(world["reviewer"])
    html = client.get(url(dossier)).get_data(as_text=True)
    data = form_data(criteria, [4, None, None, None, None, None], version=1, base=base_of(html))
    db.session.expire_all()
    with count_queries(db) as statements:
        answer = client.post(url(dossier), headers=AUTOSAVE, data=data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    saved = db.session.scalar(sa.select(Review).filter_by(assignment_id=world["mine"].id))
    assert body["ok"] and body["version"] == saved.version == 2  # the answer is the saved version
    assert json.loads(body["base"])[f"score_{criteria[0].id}"] == "4" and body["saved_at"]
    assert len(statements) == AUTOSAVE_QUERIES, "\n".join(s[:160] for s in statements)
