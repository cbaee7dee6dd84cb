"""The whole committee in Chromium, with CSRF on (issue 10): the admin builds the call's pool from the pool
page (two reviewers of two institutions, one of them created on the way), confirms the automatic assignment
from its proposal; a reviewer sets their password from the invitation mail, declines one dossier for a
conflict of interest (it leaves their dashboard, its URL answers 404), scores the other with autosave (kept
after a reload, the running total shown), submits after the confirmation page; the admin sees the score,
the reviewers' names and institutions. Every page visited passes axe-core."""

import re

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.domain.scores import Line, rounded_total
from ptce_aap.enums import AssignmentStatus, InstitutionKind, Role
from ptce_aap.models.accounts import User
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, Review
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

PASSWORD = "Comite-interministeriel-2026"


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _login(page, email: str, password: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"journey_{name}.png"), full_page=True)


def _mails_to(smtp, address: str, count: int = 1):
    for _ in range(50):
        found = smtp.to(address)
        if len(found) >= count:
            return found
        smtp.wait_for(len(smtp.messages) + 1, timeout=0.1)
    return smtp.to(address)


def _invite(page, call, *, email: str, name: str, institution: str, new_kind: str | None = None) -> None:
    page.get_by_role("link", name="Inviter un rapporteur").click()
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Prénom et nom").fill(name)
    if new_kind:
        page.get_by_label(re.compile(r"^Institution")).select_option(label="Nouvelle institution…")
        page.get_by_label("Nom de la nouvelle institution").fill(institution)
        page.get_by_label("Type d’institution").select_option(label=new_kind)
    else:
        page.get_by_label(re.compile(r"^Institution")).select_option(label=institution)
    check_accessibility(page, context=f"invite {email}")
    page.get_by_role("button", name="Inviter", exact=True).click()
    page.wait_for_url(re.compile(rf"/admin/appels/{call.slug}/rapporteurs$"))
    page.get_by_text(f"{name} a été ajouté(e) au vivier des rapporteurs").wait_for()


def test_pool_assignment_conflict_scoring_and_scores(page, worker, smtp, live_server, make_call, make_user,
                                                     make_eligible_dossier, make_institution, db):
    call = make_call()
    woven = make_eligible_dossier(call=call, pole_name="Pôle des Tisserands")
    valley = make_eligible_dossier(call=call, pole_name="Pôle Vallée Solidaire")
    make_institution("Caisse des Dépôts", kind=InstitutionKind.CDC)
    make_user("admin@example.org", roles=(Role.ADMIN,), full_name="Camille Admin")
    criteria = list(call.criteria)

    # --- The admin builds the pool from the call's page.
    _login(page, "admin@example.org", DEFAULT_PASSWORD)
    page.goto(f"/admin/appels/{call.slug}/dossiers")
    check_accessibility(page, context="call page")
    page.get_by_role("navigation", name="Pages de l’appel").get_by_role("link", name="Vivier des rapporteurs").click()
    page.wait_for_url(re.compile(rf"/admin/appels/{call.slug}/rapporteurs$"))
    check_accessibility(page, context="empty pool")
    _invite(page, call, email="louise.martin@example.org", name="Louise Martin",
            institution="Agence nationale de la cohésion des territoires", new_kind="Agence de l'État")
    _invite(page, call, email="paul.durand@example.org", name="Paul Durand", institution="Caisse des Dépôts")
    pool = page.locator("#vivier")
    assert "Agence nationale de la cohésion des territoires" in pool.inner_text()
    assert "Caisse des Dépôts" in pool.inner_text()
    check_accessibility(page, context="pool with two reviewers")
    _shot(page, "pool")

    # --- The automatic assignment, from the pool page: proposal, then « Confirmer ».
    page.get_by_role("navigation", name="Pages de l’appel").get_by_role("link", name="Affectations des rapporteurs").click()
    page.wait_for_url(re.compile(rf"/admin/appels/{call.slug}/affectations$"))
    check_accessibility(page, context="assignments before")
    page.get_by_role("link", name="Proposer une affectation automatique").click()
    assert page.locator("h1").inner_text() == "Proposition d’affectation automatique"
    assert "4 affectations proposées" in page.locator("main").inner_text()
    check_accessibility(page, context="assignment proposal")
    _shot(page, "proposal")
    page.get_by_role("button", name=re.compile(r"^Confirmer")).click()
    page.wait_for_url(re.compile(rf"/admin/appels/{call.slug}/affectations"))
    for dossier in (woven, valley):
        row = page.locator(f"tr[data-dossier='{dossier.id}']")
        assert "Louise Martin" in row.inner_text() and "Paul Durand" in row.inner_text()
    check_accessibility(page, context="assignments confirmed")
    page.get_by_role("button", name="Se déconnecter").click()

    # --- Louise chooses her password from the invitation mail (the assignment mail followed it).
    jobs.dispatch_outbox()
    worker()
    mails = _mails_to(smtp, "louise.martin@example.org", 2)
    invitation = next(m for m in mails if "choisissez votre mot de passe" in m.get_body(("plain",)).get_content())
    link = _path(re.search(r"https?://\S+/compte/\S+", invitation.get_body(("plain",)).get_content()).group(0))
    assert any("Pôle des Tisserands" in m.get_body(("plain",)).get_content() for m in mails)  # the assignment
    page.goto(link)
    assert page.locator("h1").inner_text() == "Bienvenue — choisissez votre mot de passe"  # her own invitation
    check_accessibility(page, context="choose password")
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    _shot(page, "choose_password")
    page.get_by_role("button", name="Activer mon compte").click()
    page.wait_for_url(re.compile(rf"/rapporteur/appels/{call.slug}/conflits"))  # logged in: conflicts first
    page.get_by_text("votre compte est activé").wait_for()
    _shot(page, "after_password")
    page.goto("/rapporteur/")
    page.get_by_text("0 / 2 évalués").wait_for()
    check_accessibility(page, context="reviewer dashboard")
    _shot(page, "reviewer_dashboard")

    # --- A conflict on the Tisserands: declined from the scoring page.
    page.get_by_role("link", name="Pôle des Tisserands", exact=True).click()
    page.wait_for_url(re.compile(rf"/rapporteur/dossiers/{woven.id}/evaluation$"))
    check_accessibility(page, context="scoring page")
    page.get_by_role("link", name="Décliner ce dossier").click()
    page.wait_for_url(re.compile(rf"/rapporteur/dossiers/{woven.id}/declin$"))
    check_accessibility(page, context="decline page")
    page.get_by_label("Raison").fill("J’ai présidé une structure membre de ce pôle jusqu’en 2025.")
    page.locator("label", has_text="Je décline pour conflit d’intérêts avec ce pôle").click()
    _shot(page, "decline")
    page.get_by_role("button", name="Décliner ce dossier").click()
    page.wait_for_url(re.compile(r"/rapporteur/$"))
    page.get_by_text("Vous avez décliné le dossier « Pôle des Tisserands »").wait_for()
    page.get_by_text("0 / 1 évalués").wait_for()
    assert page.locator(f"tr[data-dossier='{woven.id}']").count() == 0
    check_accessibility(page, context="dashboard after decline")
    for url in (f"/rapporteur/dossiers/{woven.id}/evaluation", f"/rapporteur/dossiers/{woven.id}"):
        assert page.request.get(url).status == 404
    db.session.expire_all()
    louise = db.session.scalar(sa.select(Assignment).join(User, User.id == Assignment.reviewer_id)
                               .where(Assignment.dossier_id == woven.id, User.email == "louise.martin@example.org"))
    assert louise.status == AssignmentStatus.DECLINED_CONFLICT
    assert db.session.scalar(sa.select(sa.func.count(ConflictOfInterest.id))
                             .where(ConflictOfInterest.reviewer_id == louise.reviewer_id)) == 1

    # --- The Vallée Solidaire scored with autosave: kept after a reload.
    page.get_by_role("link", name="Pôle Vallée Solidaire", exact=True).click()
    page.wait_for_url(re.compile(rf"/rapporteur/dossiers/{valley.id}/evaluation$"))
    scores = [4, 3, 4, 3, 4, 3]
    for c, s in zip(criteria, scores, strict=True):
        page.locator(f"label[for=score_{c.id}-{s}]").click()
    page.locator("label[for=recommendation-0]").click()
    page.get_by_label("Note confidentielle au comité").fill("Un pôle solide, à soutenir.")
    expected = rounded_total([Line(c.weight, c.max_score, s) for c, s in zip(criteria, scores, strict=True)])
    shown = f"{expected:f}".replace(".", ",").removesuffix(",0")
    assert page.locator("#running-total [data-total]").inner_text() == shown
    page.locator("#autosave-status").get_by_text(re.compile("Enregistré")).wait_for()
    page.wait_for_timeout(1200)  # the note's autosave (typed after the scores) too
    page.locator("#autosave-status").get_by_text(re.compile("Enregistré")).wait_for()
    page.reload()
    for c, s in zip(criteria, scores, strict=True):
        assert page.locator(f"#score_{c.id}-{s}").is_checked(), c.label
    assert page.get_by_label("Note confidentielle au comité").input_value() == "Un pôle solide, à soutenir."
    assert page.locator("#running-total [data-total]").inner_text() == shown
    check_accessibility(page, context="scoring page after reload")
    _shot(page, "scoring")

    # --- Submitted after the confirmation page.
    page.get_by_role("button", name="Enregistrer et remettre mon évaluation").click()
    page.wait_for_url(re.compile(r"/evaluation/remise$"))
    assert page.locator("#total").inner_text() == f"{shown} / 100"
    check_accessibility(page, context="submit confirmation")
    page.get_by_role("button", name="Je confirme la remise de mon évaluation").click()
    page.get_by_text("Votre évaluation est remise").wait_for()
    check_accessibility(page, context="submitted review")
    db.session.expire_all()
    review = db.session.scalar(sa.select(Review).join(Assignment).where(Assignment.dossier_id == valley.id,
                                                                         Assignment.reviewer_id == louise.reviewer_id))
    assert review.submitted_at is not None
    page.get_by_role("button", name="Se déconnecter").click()

    # --- The admin: the decline to handle, then the scores with names and institutions.
    _login(page, "admin@example.org", DEFAULT_PASSWORD)
    page.goto(f"/admin/appels/{call.slug}/affectations")
    page.locator("#refus-a-traiter").wait_for()
    page.get_by_role("navigation", name="Pages de l’appel").get_by_role("link", name="Notes des dossiers").click()
    page.wait_for_url(re.compile(rf"/admin/appels/{call.slug}/notes"))
    row = page.locator(f"tr[data-dossier='{valley.id}']")
    assert row.locator("[data-mean]").inner_text() == shown
    row.get_by_text("2 rapporteurs", exact=True).click()
    row.get_by_text("Louise Martin (Agence nationale de la cohésion des territoires)").wait_for()
    row.get_by_text("Paul Durand (Caisse des Dépôts)").wait_for()
    assert "Un pôle solide, à soutenir." in row.inner_text()
    declined = page.locator(f"tr[data-dossier='{woven.id}']")
    declined.locator("summary").click()  # « 1 rapporteur (et 1 retiré : refus ou conflit d’intérêts) »
    assert "1 retiré" in declined.locator("summary").inner_text()
    assert "Déclin" in declined.inner_text() or "conflit" in declined.inner_text().lower()
    check_accessibility(page, context="admin scores page")
    _shot(page, "admin_scores")
