"""In Chromium, with CSRF on: a reviewer finds the dossier on their dashboard, scores it (the running
weighted total follows, the autosave stores it), motivates the extreme scores, submits after the
confirmation; the pages pass axe-core."""

import re

import pytest
import sqlalchemy as sa

from ptce_aap.domain.scores import Line, rounded_total
from ptce_aap.enums import AssignmentStatus, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.reviews import Review
from ptce_aap.services import submission
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_reviewer_scores_with_autosave_and_submits(page, make_call, make_dossier, make_user, make_assignment, db):
    call = make_call()
    owner = make_user("porteur@example.org")
    dossier = make_dossier(call=call, owner=owner, pole_name="Pôle des Tisserands", complete=True)
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT",
                         full_name="Louis Rapporteur")
    assignment = make_assignment(dossier, reviewer)
    criteria = list(call.criteria)

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(reviewer.email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/rapporteur/")
    page.get_by_text("0 / 1 évalués").wait_for()
    check_accessibility(page, context="reviewer dashboard")
    page.get_by_role("link", name="Pôle des Tisserands").click()
    page.wait_for_url(re.compile(rf"/rapporteur/dossiers/{dossier.id}/evaluation$"))

    total = page.locator("#running-total [data-total]")
    scores = [5, 3, 4, 2, 4, 0]
    for c, s in zip(criteria[:2], scores[:2], strict=True):
        page.locator(f"label[for=score_{c.id}-{s}]").click()
    # (25·5 + 20·3) / 500 × 100 = 37, the four others not yet scored: the browser says what the server says
    partial = rounded_total([Line(c.weight, c.max_score, s) for c, s in zip(criteria, scores[:2] + [None] * 4,
                                                                              strict=True)], partial=True)
    assert partial == 37
    assert total.inner_text() == "37"
    assert "4 critères non notés" in page.locator("#running-total").inner_text()
    page.locator("#autosave-status").get_by_text("Enregistré automatiquement").wait_for()
    db.session.expire_all()
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=assignment.id))
    assert sorted(s.score for s in review.scores) == [3, 5]

    for c, s in zip(criteria[2:], scores[2:], strict=True):
        page.locator(f"label[for=score_{c.id}-{s}]").click()
    # 25·5 + 20·3 + 15·4 + 15·2 + 15·4 + 10·0 = 125 + 60 + 60 + 30 + 60 + 0 = 335 → 67
    expected = rounded_total([Line(c.weight, c.max_score, s) for c, s in zip(criteria, scores, strict=True)])
    assert total.inner_text() == f"{expected:f}".replace(".", ",").removesuffix(",0") == "67"
    page.get_by_role("button", name="Enregistrer et remettre mon évaluation").click()
    # The 5 and the 0 need a comment, and an avis is missing: said beside each field.
    page.locator("#error-summary").wait_for()
    assert page.locator(".fr-input-group--error").count() == 2
    check_accessibility(page, context="scoring form with errors")
    page.get_by_label(f"Commentaire sur « {criteria[0].label} »").fill("Une coopération ancienne et dense.")
    page.get_by_label(f"Commentaire sur « {criteria[5].label} »").fill("Gouvernance non décrite.")
    page.locator("label[for=recommendation-0]").click()
    page.get_by_label("Note confidentielle au comité").fill("À discuter en séance.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review_form.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer et remettre mon évaluation").click()

    page.wait_for_url(re.compile(r"/evaluation/remise$"))
    assert page.locator("#total").inner_text() == "67 / 100"
    check_accessibility(page, context="submit confirmation")
    page.get_by_role("button", name="Je confirme la remise de mon évaluation").click()
    page.get_by_text("Votre évaluation est remise").wait_for()
    check_accessibility(page, context="submitted review")
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert review.submitted_at is not None and review.confidential_note == "À discuter en séance."
    assert review.assignment.status == AssignmentStatus.SUBMITTED
    page.goto("/rapporteur/")
    page.get_by_text("1 / 1 évalués").wait_for()
    page.screenshot(path=str(ARTIFACTS / "review_dashboard.png"), full_page=True)

    # The admin sees the score, the reviewer and the confidential note.
    make_user("admin@example.org", roles=(Role.ADMIN,), full_name="Camille Admin")
    page.get_by_role("button", name="Se déconnecter").click()
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("admin@example.org")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/admin/appels/{call.slug}/dossiers")
    page.get_by_role("link", name="Notes des dossiers").click()
    row = page.locator(f"tr[data-dossier='{dossier.id}']")
    assert row.locator("[data-mean]").inner_text() == "67"
    row.get_by_text("1 rapporteur", exact=True).click()
    row.get_by_text("Louis Rapporteur (ANCT)").wait_for()
    assert "À discuter en séance." in row.inner_text()
    check_accessibility(page, context="admin scores page")
    page.screenshot(path=str(ARTIFACTS / "admin_scores.png"), full_page=True)
