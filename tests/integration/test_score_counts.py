"""The scores page counts the reviews expected from live assignments only (not declined, not blocked by a
conflict of interest), the same in the « remises » column, the reviewers' summary and the CSV; its
calibration note counts the uncalibrated reviewers exactly (new-user test, point 6)."""

from __future__ import annotations

from html import unescape

from ptce_aap.enums import AssignmentStatus, ConflictSource, Role
from ptce_aap.models.reviews import ConflictOfInterest
from tests.integration.test_reviews import world  # noqa: F401  (fixture)


def row_of(html: str, dossier) -> str:
    return " ".join(unescape(html).split(f'data-dossier="{dossier.id}"')[1].split("</tr>")[0].split())


def test_expected_reviews_are_the_live_unconflicted_assignments(client, login_as, world, make_scored_review,  # noqa: F811
                                                                make_user, make_assignment, db):
    make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1])
    make_scored_review(world["theirs"], [1, 1, 1, 1, 1, 1])
    gone = make_user("parti@example.org", roles=(Role.REVIEWER,), full_name="Paul Parti")
    make_assignment(world["dossier"], gone, status=AssignmentStatus.DECLINED, decline_reason="Indisponible")
    late = make_user("tard@example.org", roles=(Role.REVIEWER,), full_name="Tina Tardive")
    make_assignment(world["dossier"], late)
    db.session.add(ConflictOfInterest(reviewer_id=late.id, call_id=world["call"].id,
                                      pole_id=world["dossier"].pole_id, source=ConflictSource.DECLARED))
    db.session.commit()
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    html = client.get(f"/admin/appels/{world['call'].slug}/notes").get_data(as_text=True)
    row = row_of(html, world["dossier"])
    assert "<td data-submitted>2 / 2</td>" in row
    assert "<summary>2 rapporteurs (et 2 retirés : refus ou conflit d’intérêts)</summary>" in row
    assert "Tina Tardive (—) — conflit d’intérêts : ne compte plus" in row
    # both reviewers handed in one review each: neither is calibrated, and the note says two
    assert "2 rapporteurs non calibrés (une seule évaluation chacun)" in row
    assert "dont un rapporteur" not in row
    csv_text = client.get(f"/admin/appels/{world['call'].slug}/notes.csv").get_data(as_text=True)
    line = next(x for x in csv_text.splitlines() if x.startswith(f"{world['dossier'].id};"))
    assert ";2;2;" in line and "Tina" not in line and "Paul" not in line


def test_one_uncalibrated_reviewer_is_said_in_the_singular(client, login_as, world, make_scored_review,  # noqa: F811
                                                           make_user, db):
    make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1])
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    row = row_of(client.get(f"/admin/appels/{world['call'].slug}/notes").get_data(as_text=True), world["dossier"])
    assert "1 rapporteur non calibré (une seule évaluation)" in row and "<td data-submitted>1 / 2</td>" in row


def test_the_reopen_reason_is_shown_above_the_reopened_evaluation(client, login_as, world, make_scored_review,  # noqa: F811
                                                                  make_user, db):
    review = make_scored_review(world["mine"], [4, 3, 5, 2, 4, 1])
    login_as(world["reviewer"])
    before = unescape(client.get(f"/rapporteur/dossiers/{world['dossier'].id}/evaluation").get_data(as_text=True))
    assert 'id="reouverture"' not in before
    login_as(make_user("admin@example.org", roles=(Role.ADMIN,)))
    assert client.post(f"/admin/evaluations/{review.id}/reouvrir",
                       data={"reason": "La note 5 du critère 3 n'est pas motivée."}).status_code == 302
    login_as(world["reviewer"])
    html = unescape(client.get(f"/rapporteur/dossiers/{world['dossier'].id}/evaluation").get_data(as_text=True))
    alert = html.split('id="reouverture"')[1].split("</div>")[0]
    assert "Votre évaluation a été rouverte par le secrétariat" in alert
    assert "La note 5 du critère 3 n'est pas motivée." in alert
    assert html.index('id="reouverture"') < html.index('id="review-form"')
    # the skip link to the grid, at the top and first in the dossier's contents
    assert html.index('href="#grille-notation"') < html.index("ptce-review-reading")
    assert 'class="fr-summary__link" href="#grille-notation">Aller à la grille de notation' in html
    assert 'id="grille-notation"' in html
