"""The call's scores are computed once and kept (``services.ranking.call_scores``) while the fingerprint of their
inputs is unchanged: every change of an input must be seen by the very next reading — a stale score shown to a
committee is the bug these tests are for — and an unchanged call must not be computed again.

Each test reads the scores (kept), changes one input through its write path where there is one, and reads them
again, through both ways of making the fingerprint (in PostgreSQL, and in Python as on SQLite)."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.domain import scores as domain_scores
from ptce_aap.enums import DossierStatus, Recommendation, Role
from ptce_aap.models.calls import Criterion
from ptce_aap.services import ranking
from ptce_aap.services import reviews as review_service
from ptce_aap.services.dossiers import set_dossier_status


@pytest.fixture(params=["database", "python"])
def fingerprint_way(request, monkeypatch):
    """Both ways of computing the fingerprint (PostgreSQL's md5, or the rows hashed in Python)."""
    if request.param == "python":
        monkeypatch.setattr(review_service, "totals_fingerprint",
                            functools.partial(review_service.totals_fingerprint, in_database=False))
        monkeypatch.setattr(ranking, "ranked_dossiers_fingerprint",
                            functools.partial(ranking.ranked_dossiers_fingerprint, in_database=False))
    return request.param


@pytest.fixture
def computations(monkeypatch):
    """How many times ``domain.scores.call_scores`` ran (the costly part the cache saves)."""
    seen = []
    original = domain_scores.call_scores

    def counting(totals, threshold):
        seen.append(len(totals))
        return original(totals, threshold)

    monkeypatch.setattr(domain_scores, "call_scores", counting)
    return seen


@pytest.fixture
def scored(db, make_call, make_user, make_reviewed_dossier, make_assignment, make_scored_review):
    """A call in review: Alpha (Rita 80, Rémi 40: mean 60, spread 0.4 > 0.3, désaccord) and Bravo (Rita 60)."""
    call = make_call()
    rita = make_user("rita@example.org", roles=(Role.REVIEWER,), full_name="Rita Une")
    remi = make_user("remi@example.org", roles=(Role.REVIEWER,), full_name="Rémi Deux")
    alpha = make_reviewed_dossier(call=call, pole_name="Pôle Alpha")
    bravo = make_reviewed_dossier(call=call, pole_name="Pôle Bravo")
    reviews = {"alpha-rita": make_scored_review(make_assignment(alpha, rita), [4] * 6),
               "alpha-remi": make_scored_review(make_assignment(alpha, remi), [2] * 6),
               "bravo-rita": make_scored_review(make_assignment(bravo, rita), [3] * 6)}
    return {"call": call, "alpha": alpha, "bravo": bravo, "rita": rita, "remi": remi, "reviews": reviews}


def means(call) -> dict[str, Decimal | None]:
    by_dossier = ranking.call_scores(call).by_dossier
    return {name: s.mean for name, s in ((d, by_dossier.get(i)) for d, i in ())} if False else by_dossier


def mean_of(call, dossier):
    score = ranking.call_scores(call).by_dossier.get(dossier.id)
    return None if score is None else score.mean


def test_an_unchanged_call_is_computed_once(scored, db, fingerprint_way, computations):
    call = scored["call"]
    first = ranking.call_scores(call)
    db.session.expire_all()
    assert ranking.call_scores(call) is first
    assert computations == [3]
    assert first.by_dossier[scored["alpha"].id].mean == Decimal("60.0")


def test_pages_read_the_kept_scores(scored, db, client, login_as, admin_user, fingerprint_way, computations):
    """The instruction list, the ranking and the scores page share one computation while nothing changes."""
    login_as(admin_user)
    slug = scored["call"].slug
    for path in (f"/admin/appels/{slug}/dossiers?tri=note", f"/admin/appels/{slug}/classement",
                 f"/admin/appels/{slug}/dossiers?page=1", f"/admin/appels/{slug}/notes"):
        assert client.get(path).status_code == 200
    assert computations == [3]


def test_a_submitted_review_is_seen_at_once(scored, db, make_assignment, fingerprint_way, computations):
    call, bravo = scored["call"], scored["bravo"]
    set_dossier_status(bravo, DossierStatus.IN_REVIEW, by=None)
    db.session.commit()
    assert mean_of(call, bravo) == Decimal("60.0")
    review = review_service.start_review(make_assignment(bravo, scored["remi"]), by=scored["remi"])
    criteria = review_service.criteria_of(review)
    review_service.save_review(review, review_service.ReviewValues(
        {c.id: (5, "Excellent.") for c in criteria}, Recommendation.FAVORABLE, ""), by=scored["remi"],
        expected_version=None)
    db.session.commit()
    assert mean_of(call, bravo) == Decimal("60.0")  # saved, not submitted: not counted yet
    review_service.submit_review(review, by=scored["remi"])
    db.session.commit()
    assert mean_of(call, bravo) == Decimal("80.0")
    assert len(computations) == 2


def test_a_reopened_review_is_seen_at_once(scored, db, admin_user, fingerprint_way):
    call, alpha = scored["call"], scored["alpha"]
    assert mean_of(call, alpha) == Decimal("60.0")
    review_service.reopen_review(scored["reviews"]["alpha-remi"], by=admin_user, reason="Notes à revoir.")
    db.session.commit()
    score = ranking.call_scores(call).by_dossier[alpha.id]
    assert (score.mean, score.submitted, score.disagreement) == (Decimal("80.0"), 1, False)


def test_a_review_submitted_again_with_other_scores_is_seen_at_once(scored, db, admin_user, fingerprint_way):
    call, alpha, remi = scored["call"], scored["alpha"], scored["remi"]
    review = scored["reviews"]["alpha-remi"]
    assert mean_of(call, alpha) == Decimal("60.0")
    review_service.reopen_review(review, by=admin_user, reason="Notes à revoir.")
    db.session.commit()
    assert mean_of(call, alpha) == Decimal("80.0")
    values = review_service.ReviewValues({c.id: (3, "Revu.") for c in review_service.criteria_of(review)},
                                         Recommendation.RESERVED, "")
    review_service.save_review(review, values, by=remi, expected_version=None)
    review_service.submit_review(review, by=remi)
    db.session.commit()
    score = ranking.call_scores(call).by_dossier[alpha.id]
    assert (score.mean, score.submitted, score.disagreement) == (Decimal("70.0"), 2, False)


def test_the_same_number_of_reviews_with_other_scores_is_seen(scored, db, admin_user, fingerprint_way):
    """Reopened and submitted again between two readings, even with the same submission time: same reviews,
    same count, other totals (the review's version moved)."""
    call, alpha, remi = scored["call"], scored["alpha"], scored["remi"]
    review = scored["reviews"]["alpha-remi"]
    first_submitted = review.submitted_at
    assert mean_of(call, alpha) == Decimal("60.0")
    review_service.reopen_review(review, by=admin_user, reason="Notes à revoir.")
    values = review_service.ReviewValues({c.id: (5, "Revu.") for c in review_service.criteria_of(review)},
                                         Recommendation.FAVORABLE, "")
    review_service.save_review(review, values, by=remi, expected_version=None)
    review_service.submit_review(review, by=remi, now=first_submitted)
    db.session.commit()
    assert mean_of(call, alpha) == Decimal("90.0")


@pytest.mark.parametrize("status", [DossierStatus.WITHDRAWN, DossierStatus.INELIGIBLE])
def test_a_dossier_leaving_the_competition_is_seen_at_once(scored, db, make_eligible_dossier, make_assignment,
                                                           make_scored_review, fingerprint_way, status):
    call, rita = scored["call"], scored["rita"]
    # Rita's reviews calibrate each other: a dossier leaving changes the others' calibrated scores too.
    charlie = make_eligible_dossier(call=call, pole_name="Pôle Charlie")
    make_scored_review(make_assignment(charlie, rita), [5] * 6)
    before = ranking.call_scores(call).by_dossier
    assert charlie.id in before
    bravo_calibrated = before[scored["bravo"].id].calibrated
    set_dossier_status(charlie, status, by=None)
    db.session.commit()
    after = ranking.call_scores(call).by_dossier
    assert charlie.id not in after
    assert after[scored["bravo"].id].calibrated != bravo_calibrated


def test_a_new_disagreement_threshold_is_seen_at_once(scored, db, fingerprint_way):
    """The settings service changes the threshold only in a draft call; the kept scores must not rely on it."""
    call, alpha = scored["call"], scored["alpha"]
    assert ranking.call_scores(call).by_dossier[alpha.id].disagreement is True
    call.disagreement_threshold = Decimal("0.5")
    db.session.commit()
    assert ranking.call_scores(call).by_dossier[alpha.id].disagreement is False


def test_new_criteria_weights_are_seen_at_once(scored, db, fingerprint_way):
    """Weights are settings of a draft call; the kept scores must not rely on it either."""
    call, alpha = scored["call"], scored["alpha"]
    assert mean_of(call, alpha) == Decimal("60.0")
    criteria = db.session.scalars(sa.select(Criterion).where(Criterion.call_id == call.id)
                                  .order_by(Criterion.id)).all()
    criteria[0].max_score = 10  # Rita's 4 and Rémi's 2 on this criterion now weigh less
    db.session.commit()
    assert mean_of(call, alpha) != Decimal("60.0")


def test_the_ranking_page_shows_a_resubmitted_score(scored, db, client, login_as, admin_user):
    """End to end: the page read before and after a review is submitted again with other scores."""
    login_as(admin_user)
    url = f"/admin/appels/{scored['call'].slug}/classement?note=brute"

    def alpha_mean():
        html = client.get(url).get_data(as_text=True)
        row = html.split(f'data-dossier="{scored["alpha"].id}"')[1].split("</tr>")[0]
        return re.search(r"<td data-mean>([^<]*)</td>", row).group(1)

    assert alpha_mean() == "60"
    review, remi = scored["reviews"]["alpha-remi"], scored["remi"]
    review_service.reopen_review(review, by=admin_user, reason="Notes à revoir.")
    values = review_service.ReviewValues({c.id: (5, "Revu.") for c in review_service.criteria_of(review)},
                                         Recommendation.FAVORABLE, "")
    review_service.save_review(review, values, by=remi, expected_version=None)
    review_service.submit_review(review, by=remi)
    db.session.commit()
    assert alpha_mean() == "90"


def test_the_fingerprint_is_read_before_the_totals(scored, db, monkeypatch):
    """A review committed between the two readings must leave the kept entry older than its scores (computed
    again next time), never newer (a stale score kept as current)."""
    order = []
    fingerprint, totals = review_service.totals_fingerprint, review_service.submitted_totals
    monkeypatch.setattr(review_service, "totals_fingerprint", lambda *a, **k: order.append("f") or fingerprint(*a, **k))
    monkeypatch.setattr(review_service, "submitted_totals", lambda *a, **k: order.append("t") or totals(*a, **k))
    ranking.call_scores(scored["call"])
    assert order == ["f", "t"]


# The ranked order (``ranking.ranking(..., light=True)``, the ranking page) is kept too: every input of the order
# and of the kept rows must be seen by the next reading. Alpha and Bravo have the same raw mean (60): their raw
# order is by the smaller cap (request, call's cap, category's cap), then by id.

def ranked(call, kind=ranking.RAW):
    return [(r.dossier.id, r.cap, r.dossier.status, r.rank) for r in ranking.ranking(call, kind, light=True)]


def order(call, kind=ranking.RAW):
    return [row[0] for row in ranked(call, kind)]


def test_an_unchanged_ranking_is_kept(scored, db, fingerprint_way):
    call = scored["call"]
    first = ranking.ranking(call, ranking.RAW, light=True)
    db.session.expire_all()
    again = ranking.ranking(call, ranking.RAW, light=True)
    assert again is not first and all(a is b for a, b in zip(again, first, strict=True))
    assert ranking.ranking(call, ranking.CALIBRATED, light=True)[0] is not first[0]  # each kind its own order


def test_a_new_amount_requested_is_seen_at_once(scored, db, fingerprint_way):
    call, alpha, bravo = scored["call"], scored["alpha"], scored["bravo"]
    alpha.amount_requested_eur, bravo.amount_requested_eur = Decimal("1000"), Decimal("2000")
    db.session.commit()
    assert order(call) == [alpha.id, bravo.id]
    alpha.amount_requested_eur = Decimal("3000")
    db.session.commit()
    assert order(call) == [bravo.id, alpha.id]
    assert {d: cap for d, cap, _s, _r in ranked(call)}[alpha.id] == Decimal("3000")


def test_a_new_call_cap_is_seen_at_once(scored, db, fingerprint_way):
    call, alpha, bravo = scored["call"], scored["alpha"], scored["bravo"]
    alpha.amount_requested_eur, bravo.amount_requested_eur = Decimal("3000"), Decimal("2000")
    call.max_amount_eur = Decimal("100000")
    db.session.commit()
    assert order(call) == [bravo.id, alpha.id]
    call.max_amount_eur = Decimal("1500")  # both capped at 1,500: equal, so by id
    db.session.commit()
    assert [cap for _d, cap, _s, _r in ranked(call)] == [Decimal("1500")] * 2
    assert order(call) == sorted([alpha.id, bravo.id])


def test_a_new_category_cap_is_seen_at_once(scored, db, fingerprint_way):
    from ptce_aap.models.calls import CallCategory

    call, alpha, bravo = scored["call"], scored["alpha"], scored["bravo"]
    category = CallCategory(call_id=call.id, code="emergent", label="Émergent", max_amount_eur=None, position=99)
    db.session.add(category)
    alpha.amount_requested_eur, bravo.amount_requested_eur = Decimal("3000"), Decimal("2000")
    alpha.category_code = "emergent"
    db.session.commit()
    assert order(call) == [bravo.id, alpha.id]
    category.max_amount_eur = Decimal("1000")
    db.session.commit()
    assert order(call) == [alpha.id, bravo.id]
    bravo.category_code = "emergent"  # a dossier's category is an input too
    db.session.commit()
    assert order(call) == sorted([alpha.id, bravo.id])


def test_a_new_status_is_seen_at_once(scored, db, make_eligible_dossier, fingerprint_way):
    """A dossier without reviews (its scores' fingerprint unchanged) entering and leaving the ranking, and a
    ranked dossier's status (shown in the exports) changing."""
    call, bravo = scored["call"], scored["bravo"]
    charlie = make_eligible_dossier(call=call, pole_name="Pôle Charlie")
    db.session.commit()
    assert charlie.id in order(call)
    set_dossier_status(charlie, DossierStatus.WITHDRAWN, by=None)
    db.session.commit()
    assert charlie.id not in order(call)
    bravo.status = DossierStatus.WAITLISTED
    db.session.commit()
    assert {d: s for d, _c, s, _r in ranked(call)}[bravo.id] == DossierStatus.WAITLISTED


def test_the_ranking_page_shows_a_new_decision_and_amount(scored, db, client, login_as, admin_user):
    """End to end on the page read before: a decision (read for the rows shown, never kept) and an amount."""
    from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms
    from ptce_aap.services.decisions import DecisionInput, decide

    login_as(admin_user)
    call, alpha = scored["call"], scored["alpha"]
    url = f"/admin/appels/{call.slug}/classement?note=brute"

    def alpha_row():
        html = client.get(url).get_data(as_text=True)
        return html.split(f'data-dossier="{alpha.id}"')[1].split("</tr>")[0].replace("\u202f", " ").replace("\xa0", " ")

    assert "Lauréat" not in alpha_row()
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(alpha, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.", amount_eur=Decimal("7000"),
                                payment_terms=PaymentTerms.SINGLE), by=admin_user)
    db.session.commit()
    assert "<td data-decision>Lauréat, 7 000 €</td>" in alpha_row()
    alpha.amount_requested_eur = Decimal("12345")
    db.session.commit()
    assert "12 345" in alpha_row()
