"""axe-core (WCAG 2.1 A/AA) on the ranking, the selection simulator (its form, a result, a refused input) and the
saved scenarios' pages (list, comparison, apply and delete confirmations), each with content on it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser.conftest import check_accessibility
from tests.browser.test_accessibility import _log_in, _visit

pytestmark = pytest.mark.browser


@pytest.fixture
def selection(db, make_call, make_reviewed_dossier, make_user, make_assignment, make_scored_review, admin_user):
    from ptce_aap.enums import CallStatus, Recommendation, Role
    from ptce_aap.models.calls import CallCategory
    from ptce_aap.services import scenarios

    call = make_call(slug="ptce-2026", title="Appel PTCE 2026", envelope_eur=Decimal("150000"))
    db.session.add(CallCategory(call_id=call.id, code="emergence", label="Émergence", quota=1))
    db.session.commit()
    reviewer = make_user("r1@example.org", roles=(Role.REVIEWER,), full_name="Rita Une")
    for name, region, amount, score in (("Pôle Alpha", "84", "80000", 5), ("Pôle Bravo", "11", "60000", 4),
                                        ("Pôle Charlie", "53", "50000", 3)):
        dossier = make_reviewed_dossier(call=call, pole_name=name)
        dossier.region_code, dossier.category_code = region, "emergence"
        dossier.amount_requested_eur = Decimal(amount)
        db.session.commit()
        make_scored_review(make_assignment(dossier, reviewer), [score] * 6, recommendation=Recommendation.FAVORABLE)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    saved = [scenarios.save(call, name, scenarios.run(call, scenarios.Params(score_kind="raw", quotas=quotas)),
                            by=admin_user) for name, quotas in (("Quota", {"emergence": 1}), ("Libre", {}))]
    db.session.commit()
    return {"call": call, "scenarios": saved}


def test_selection_pages_are_accessible(page, selection):
    call, (first, second) = selection["call"], selection["scenarios"]
    base = f"/admin/appels/{call.slug}"
    _log_in(page, "admin@example.org")
    _visit(page, f"{base}/classement", 200, "Classement des dossiers")
    _visit(page, f"{base}/classement?note=brute&min=abc", 200, "Classement des dossiers")
    _visit(page, f"{base}/simulateur", 200, "Simulateur de sélection")
    page.locator("label[for=note-1]").click()  # DSFR: the label covers the radio
    page.get_by_role("button", name="Lancer la simulation").click()
    assert page.locator("#laureats tbody tr").count() == 1  # the quota of 1, prefilled from the category
    assert page.locator("#couts").is_visible() and page.locator("#attente tbody tr").count() == 2
    check_accessibility(page, context="simulator result")
    page.get_by_label("Note minimale (sur 100)").fill("beaucoup")
    page.get_by_role("button", name="Lancer la simulation").click()
    assert page.locator("#min_score-desc-error").is_visible()
    check_accessibility(page, context="simulator refused input")
    _visit(page, f"{base}/scenarios", 200, "Scénarios de sélection")
    _visit(page, f"{base}/scenarios/comparer?ids={first.id}&ids={second.id}", 200, "Comparaison de scénarios")
    _visit(page, f"{base}/scenarios/{first.id}/appliquer", 200, "Appliquer le scénario « Quota »")
    _visit(page, f"{base}/scenarios/{first.id}/supprimer", 200, "Supprimer le scénario « Quota » ?")
