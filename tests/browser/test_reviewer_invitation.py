"""A person invited to a call's reviewers, without an account: the real mail's link opens « Bienvenue —
choisissez votre mot de passe », the password chosen logs them in on the call's conflicts page (their first
step), then the dashboard; the link, opened again, says it has served. Every page passes axe-core."""

import re

import pytest

from ptce_aap import jobs
from ptce_aap.enums import InstitutionKind
from ptce_aap.services import pool as pool_service
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser

PASSWORD = "Rapporteur-territoire-2026"


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_invited_reviewer_from_the_mail_to_the_dashboard(page, worker, smtp, make_call, make_institution, admin_user,
                                                         db):
    call = make_call(title="AAP PTCE 2027")
    institution = make_institution("Agence nationale de la cohésion des territoires", kind=InstitutionKind.STATE_AGENCY)
    pool_service.invite_reviewer(call, "nina.invitee@example.org", full_name="Nina Invitée", by=admin_user,
                                 settings=pool_service.MemberSettings(institution_id=institution.id))
    db.session.commit()
    jobs.dispatch_outbox()  # what a request does after its commit
    worker()
    [mail] = smtp.wait_for(1)
    body = mail.get_body(("plain",)).get_content()
    assert "il est valable 14 jours" in body
    link = _path(re.search(r"https?://\S+/compte/invitation-rapporteur/\S+", body).group(0))

    page.goto(link)
    assert page.locator("h1").inner_text() == "Bienvenue — choisissez votre mot de passe"
    main = page.locator("main").inner_text()
    assert "Vous êtes invité(e) comme rapporteur de l’appel à projets « AAP PTCE 2027 »" in main
    assert "Camille Admin" in main and "nina.invitee@example.org" in main
    check_accessibility(page, context="welcome page")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reviewer_invitation_welcome.png"), full_page=True)

    # A mistake first: the error is next to its field, the page is the same.
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD + "!")
    page.get_by_role("button", name="Activer mon compte").click()
    assert "Les deux mots de passe ne sont pas identiques." in page.locator("main").inner_text()
    check_accessibility(page, context="welcome page with an error")

    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Activer mon compte").click()

    assert page.url.endswith(f"/rapporteur/appels/{call.slug}/conflits")
    assert ("Bienvenue Nina Invitée : votre compte est activé. Première étape : déclarez ici vos éventuels conflits "
            "d’intérêts") in page.locator("main").inner_text()
    check_accessibility(page, context="conflicts page after activation")
    page.screenshot(path=str(ARTIFACTS / "reviewer_invitation_landing.png"), full_page=True)

    page.goto("/rapporteur/")
    assert page.url.endswith("/rapporteur/")
    check_accessibility(page, context="reviewer dashboard")

    # The link has served: it says so, and what to do.
    page.context.clear_cookies()
    page.goto(link)
    assert page.locator("h1").inner_text() == "Invitation déjà utilisée"
    assert "Mot de passe oublié" in page.locator("main").inner_text()
    check_accessibility(page, context="used invitation")
