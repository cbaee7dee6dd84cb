"""A whole call in Chromium, with CSRF on (issue 11): the secretariat creates a call (the default grid) and
opens it; four poles of four regions submit complete dossiers (built through the services, found eligible by
the real eligibility job); the call is closed and its review launched from its pages; the automatic
assignment is proposed and confirmed; a reviewer scores and submits in the browser (the other reviews through
``services.reviews``); the call goes to deliberation; its dashboard counts the dossiers; the instruction list
is filtered and exported as CSV; a committee session is held (attendance, agenda, a decision in the session,
its minutes made by the worker and downloaded); the other decisions are recorded (a laureate paid in two
tranches, one waitlisted, one rejected); « Notifier » after its confirmation; the letters arrive over SMTP
with their PDF; the laureate's person reads the outcome and downloads the letter. Every new page passes axe."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.domain.defaults import DEFAULT_GRID
from ptce_aap.domain.formatting import format_amount
from ptce_aap.enums import CallStatus, DossierStatus, Recommendation, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.fixtures.builders import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

# (pole, region, departments): four poles of four regions.
POLES = [("Pôle des Tisserands", "84", ["69", "01"]), ("Pôle Vallée Solidaire", "76", ["34", "30"]),
         ("Pôle Bocage Coopératif", "53", ["35"]), ("Pôle Canal Commun", "11", ["93", "75"])]


def _login(page, email: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()


def _logout(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name=re.compile("Se connecter")).first.wait_for()


def _call_page(page, name: str) -> None:
    page.get_by_role("navigation", name="Pages de l’appel").get_by_role("link", name=name, exact=True).click()
    page.locator("h1").wait_for()


def _move_call(page, slug: str, action: str, status: str) -> None:
    """From the call's settings page, a status change after its confirmation page."""
    page.goto(f"/admin/appels/{slug}/parametres")
    page.get_by_role("link", name=action, exact=True).click()
    page.get_by_role("button", name=f"Confirmer : {action}").wait_for()
    page.get_by_role("button", name=f"Confirmer : {action}").click()
    page.get_by_text(f"L’appel à projets est désormais : {status}.").wait_for()


def _decide(page, outcome: str, motivation: str, *, amount: str = "", tranches=(), single: bool = False) -> None:
    """The decision form, filled as the secretariat would."""
    page.locator("label", has_text=re.compile(rf"^{outcome}$")).first.click()
    if amount:
        page.get_by_label(re.compile(r"^Montant accordé")).fill(amount)
    page.get_by_label(re.compile(r"^Motivation")).fill(motivation)
    if single:
        page.locator("label", has_text="Versement unique").click()
    if tranches:
        page.locator("label", has_text="Versement échelonné").click()
        for n, (day, value) in enumerate(tranches, start=1):
            page.get_by_role("button", name="Ajouter une tranche").click()
            page.get_by_label(f"Date de la tranche n° {n}", exact=True).fill(day)
            page.get_by_label(f"Montant (€) de la tranche n° {n}", exact=True).fill(value)
    page.get_by_role("button", name="Enregistrer la décision", exact=True).click()
    page.locator("#messages").get_by_text("est enregistrée").wait_for()


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF")
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def _squash(text: str) -> str:
    return "".join(text.split())


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"call_journey_{name}.png"), full_page=True)


def _submit_dossiers(db, call, make_dossier, make_user, worker) -> list[Dossier]:
    """Four complete dossiers submitted through the service; the outbox's eligibility jobs find them eligible
    (the receipts too are made, as after any submission)."""
    from ptce_aap.services import submission

    dossiers = []
    for n, (pole, region, departments) in enumerate(POLES):
        owner = make_user(f"porteur{n + 1}@example.org", full_name=f"Porteur {n + 1}")
        dossier = make_dossier(call=call, owner=owner, complete=True, pole_name=pole)
        dossier.region_code, dossier.departments = region, departments
        submission.submit_dossier(dossier, by=owner, now=utcnow())
        db.session.commit()
        dossiers.append(dossier)
    jobs.dispatch_outbox()
    worker()
    db.session.expire_all()
    assert [db.session.get(Dossier, d.id).status for d in dossiers] == [DossierStatus.ELIGIBLE] * 4
    return dossiers


def _review_by_service(db, assignment, scores) -> None:
    from ptce_aap.services import reviews

    reviewer = assignment.reviewer
    review = reviews.start_review(assignment, by=reviewer)
    db.session.flush()
    values = reviews.ReviewValues(scores={c.id: (s, "Motivé.") for c, s in zip(assignment.dossier.call.criteria,
                                                                              scores, strict=True)},
                                  recommendation=Recommendation.FAVORABLE, confidential_note="")
    reviews.save_review(review, values, by=reviewer, expected_version=None)
    reviews.submit_review(review, by=reviewer)
    db.session.commit()


def test_a_call_from_its_creation_to_the_laureates_letter(page, db, worker, smtp, make_user, make_dossier,
                                                          make_pool_member):
    admin = make_user("secretariat@example.org", roles=(Role.ADMIN,), full_name="Camille Secrétariat")
    opening = (utcnow() - timedelta(days=1)).date()  # yesterday, in Paris as in UTC: the call is open now
    deadline = opening + timedelta(days=60)

    # --- 1. The secretariat creates the call (the default grid comes with it) and opens it.
    _login(page, admin.email)
    page.goto("/admin/appels")
    check_accessibility(page, context="calls")
    page.get_by_role("link", name="Créer un appel à projets").click()
    assert page.locator("h1").inner_text() == "Nouvel appel à projets"
    check_accessibility(page, context="new call")
    page.get_by_label("Titre de l’appel à projets").fill("Appel PTCE du parcours complet")
    page.get_by_role("textbox", name=re.compile("^Date d’ouverture")).fill(opening.isoformat())
    page.get_by_label(re.compile("^Heure d’ouverture")).fill("09:00")
    page.get_by_role("textbox", name=re.compile("^Date limite de dépôt")).fill(deadline.isoformat())
    page.get_by_label(re.compile("^Heure limite de dépôt")).fill("17:00")
    page.get_by_label(re.compile(r"^Enveloppe totale")).fill("300 000")
    page.get_by_label(re.compile(r"^Montant maximal par dossier")).fill("100 000")
    page.get_by_label(re.compile("^Nom de l’organisme attribuant")).fill("Ministère de l'Économie")
    page.get_by_label(re.compile("^SIRET de l’organisme attribuant")).fill("11000201100044")
    page.get_by_role("button", name="Créer l’appel en brouillon").click()
    page.get_by_text("a été créé en brouillon").wait_for()
    assert page.locator("h1").inner_text() == "Paramètres de l’appel à projets"
    slug = re.search(r"/admin/appels/([^/]+)/parametres", page.url).group(1)
    check_accessibility(page, context="call settings")
    page.get_by_role("link", name="Ouvrir l’appel", exact=True).click()
    check_accessibility(page, context="confirm opening")
    page.get_by_role("button", name="Confirmer : Ouvrir l’appel").click()
    page.get_by_text("L’appel à projets est désormais : Ouvert.").wait_for()
    db.session.expire_all()
    call = db.session.scalar(sa.select(Call).where(Call.slug == slug))
    assert call.status == CallStatus.OPEN
    assert [c.code for c in call.criteria] == [c["code"] for c in DEFAULT_GRID]  # the grid comes by default
    criteria = list(call.criteria)

    # --- 2. Four poles submit; three reviewers of three institutions in the pool (fixtures, services).
    dossiers = _submit_dossiers(db, call, make_dossier, make_user, worker)
    by_name = {d.pole_name: d for d in dossiers}
    reviewers = [make_user(f"rapporteur{n}@example.org", roles=(Role.REVIEWER,), full_name=name, institution=inst)
                 for n, (name, inst) in enumerate([("Louise Martin", "Agence nationale de la cohésion des territoires"),
                                                   ("Paul Durand", "Caisse des Dépôts"),
                                                   ("Nora Benali", "Direction générale de la cohésion sociale")])]
    for reviewer in reviewers:
        make_pool_member(call, reviewer, institution=reviewer.institution)

    # --- 3. Closed, then the review launched, from the call's pages.
    _move_call(page, slug, "Clore l’appel", "Clos")
    _move_call(page, slug, "Lancer l’instruction", "En instruction")
    check_accessibility(page, context="call in review")

    # --- 4. The automatic assignment: proposal, then « Confirmer ».
    _call_page(page, "Affectations des rapporteurs")
    check_accessibility(page, context="assignments")
    page.get_by_role("link", name="Proposer une affectation automatique").click()
    assert page.locator("h1").inner_text() == "Proposition d’affectation automatique"
    assert "8 affectations proposées" in page.locator("main").inner_text()
    check_accessibility(page, context="assignment proposal")
    page.get_by_role("button", name=re.compile(r"^Confirmer")).click()
    page.wait_for_url(re.compile(rf"/admin/appels/{slug}/affectations"))
    for dossier in dossiers:
        assert page.locator(f"tr[data-dossier='{dossier.id}']").get_by_text(
            re.compile("Louise Martin|Paul Durand|Nora Benali")).count() == 2
    _logout(page)

    # --- 5. Louise scores one dossier and submits it in the browser; every other review through the service.
    db.session.expire_all()
    assignments = db.session.scalars(sa.select(Assignment).join(Dossier).where(Dossier.call_id == call.id)
                                     .order_by(Assignment.id)).all()
    assert len(assignments) == 8
    in_browser = next(a for a in assignments if a.reviewer_id == reviewers[0].id)
    scored = in_browser.dossier
    _login(page, reviewers[0].email)
    page.goto("/rapporteur/")
    check_accessibility(page, context="reviewer dashboard")
    page.get_by_role("link", name=scored.pole_name, exact=True).click()
    page.wait_for_url(re.compile(rf"/rapporteur/dossiers/{scored.id}/evaluation$"))
    check_accessibility(page, context="scoring page")
    for c, s in zip(criteria, [4, 3, 4, 3, 4, 3], strict=False):
        page.locator(f"label[for=score_{c.id}-{s}]").click()
    page.locator("label[for=recommendation-0]").click()
    page.get_by_role("button", name="Enregistrer et remettre mon évaluation").click()
    page.wait_for_url(re.compile(r"/evaluation/remise$"))
    check_accessibility(page, context="review submission")
    page.get_by_role("button", name="Je confirme la remise de mon évaluation").click()
    page.get_by_text("Votre évaluation est remise").wait_for()
    check_accessibility(page, context="review submitted")
    _logout(page)
    scores = {by_name["Pôle des Tisserands"].id: [5, 4, 4, 5, 4, 4], by_name["Pôle Vallée Solidaire"].id: [4] * 6,
              by_name["Pôle Bocage Coopératif"].id: [3] * 6, by_name["Pôle Canal Commun"].id: [2, 2, 3, 2, 2, 2]}
    for assignment in assignments:
        if assignment.id != in_browser.id:
            _review_by_service(db, assignment, scores[assignment.dossier_id][:len(criteria)])
    db.session.expire_all()
    assert {db.session.get(Dossier, d.id).status for d in dossiers} == {DossierStatus.REVIEWED}

    # --- 5b. The ranking, then the selection simulator under the envelope (300,000 €: three requests of 90,000).
    _login(page, admin.email)
    page.goto(f"/admin/appels/{slug}/classement")
    check_accessibility(page, context="ranking")
    ranked = [int(i) for i in page.locator("#classement tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.dossier)")]
    assert sorted(ranked) == sorted(d.id for d in dossiers)
    assert ranked[-1] == by_name["Pôle Canal Commun"].id  # the lowest scores, whoever scored in the browser
    _call_page(page, "Simulateur de sélection")
    assert page.locator("#dossiers-en-lice tbody tr").count() == 4
    page.get_by_role("button", name="Lancer la simulation").click()
    page.locator("#laureats").wait_for()
    proposed = {int(i) for i in page.locator("#laureats tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.dossier)")}
    assert proposed == set(ranked[:3])
    assert "30 000" in page.locator("#totaux").inner_text().replace("\u202f", " ")  # the envelope left
    check_accessibility(page, context="simulation result")
    page.get_by_label("Nom du scénario").fill("Enveloppe seule")
    page.get_by_role("button", name="Enregistrer le scénario").click()
    page.get_by_text("Le scénario « Enveloppe seule » est enregistré.").wait_for()
    # One laureate in every region cannot hold within 300,000 €: the clash is explained, not a crash.
    _call_page(page, "Simulateur de sélection")
    page.locator("label[for=regions]").click()
    page.get_by_role("button", name="Lancer la simulation").click()
    page.locator("#conflit").wait_for()
    check_accessibility(page, context="simulation with clashing constraints")
    _logout(page)

    # --- 6. Deliberation; the dashboard counts the dossiers.
    _login(page, admin.email)
    _move_call(page, slug, "Passer en délibération", "En délibération")
    page.goto(f"/admin/appels/{slug}/tableau-de-bord")
    assert page.locator("h1").inner_text() == "Tableau de bord de l’appel"
    assert page.locator("#statuts tr[data-status='reviewed'] [data-count]").inner_text() == "4"
    assert page.locator("#statuts tr[data-status='total'] [data-count]").inner_text() == "4"
    assert page.locator("#eligibilite tr[data-outcome='eligible'] [data-count]").inner_text() == "4"
    submitted = [int(page.locator(f"#rapporteurs tr[data-reviewer='{r.id}'] [data-submitted]").inner_text())
                 for r in reviewers]
    assert sum(submitted) == 8 and "100 %" in page.locator(f"#rapporteurs tr[data-reviewer='{reviewers[0].id}']").inner_text()
    check_accessibility(page, context="call dashboard")
    _shot(page, "dashboard")

    # --- 7. The instruction list: filtered by region, exported as CSV.
    _call_page(page, "Dossiers déposés")
    page.get_by_label("Région").select_option(label="Occitanie")
    page.get_by_role("button", name="Filtrer", exact=True).click()
    page.locator("#filtres-appliques").get_by_text("Région : Occitanie").wait_for()
    assert page.locator("#resultats").inner_text() == "1 dossier correspond aux filtres"
    assert page.locator("#dossiers tbody tr").count() == 1
    check_accessibility(page, context="filtered instruction list")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exporter la liste (CSV)").click()
    text = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:2] == ["Dossier", "Pôle"] and len(rows) == 2
    valley = by_name["Pôle Vallée Solidaire"]
    assert rows[1][0] == str(valley.id) and rows[1][1] == "Pôle Vallée Solidaire"
    assert "Occitanie" in rows[1] and "34, 30" in rows[1]

    # --- 8. The committee's session: created, attendance, agenda, a decision taken in it, its minutes.
    _call_page(page, "Séances du comité")
    check_accessibility(page, context="sessions")
    page.get_by_label(re.compile("^Date")).first.fill(utcnow().date().isoformat())
    page.get_by_label(re.compile("^Lieu")).fill("Bercy, salle Pierre Mendès France")
    page.get_by_role("button", name="Créer la séance").click()
    page.get_by_text("La séance est créée").wait_for()
    session_url = page.url.split("#")[0]
    page.get_by_role("link", name="Modifier les présences").click()
    check_accessibility(page, context="attendance")
    for name, person in (("Agence nationale de la cohésion des territoires", "Louise Martin"),
                         ("Caisse des Dépôts", "Paul Durand")):
        row = page.locator("fieldset", has_text=name)
        row.locator("label", has_text=re.compile("^Présente")).click()
        row.get_by_label(re.compile("^Personnes présentes")).fill(person)
    page.get_by_role("button", name="Enregistrer les présences").last.click()
    page.get_by_text("Les présences sont enregistrées.").wait_for()
    assert "Quorum atteint : 2 institution(s) présente(s) sur 3" in page.locator("#quorum").inner_text()
    for pole in ("Pôle des Tisserands", "Pôle Vallée Solidaire"):
        page.get_by_label("Inscrire un dossier").select_option(label=f"{pole} (n° {by_name[pole].id})")
        page.get_by_role("button", name="Inscrire à l’ordre du jour").click()
        page.locator("#table-ordre-du-jour").get_by_role("link", name=pole, exact=True).wait_for()
    weavers = by_name["Pôle des Tisserands"]
    page.locator(f"#table-ordre-du-jour tr[data-dossier='{weavers.id}']").get_by_role(
        "link", name=re.compile("^Décider")).click()
    page.locator("#seance").wait_for()
    check_accessibility(page, context="decision form in the session")
    _decide(page, "Lauréat", "Coopération ancienne et solide, ancrage territorial fort.", amount="80 000",
            single=True)
    assert page.url.startswith(session_url)
    assert page.locator("#table-decisions-seance [data-session-total]").inner_text() == "80\u202f000 €"
    page.get_by_role("button", name="Établir le procès-verbal").click()
    page.locator("#pv-en-cours").wait_for()
    check_accessibility(page, context="session with its minutes pending")
    worker()
    page.goto(session_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le procès-verbal (PDF)").click()
    minutes = download_info.value.path().read_bytes()
    assert minutes.startswith(b"%PDF")
    assert "Pôle des Tisserands" in _pdf_text(minutes)
    check_accessibility(page, context="session with its minutes")
    _shot(page, "session")

    # --- 9. The other decisions, from the call's decisions page.
    for pole, kwargs in (("Pôle Vallée Solidaire", dict(outcome="Lauréat", motivation="Projet solide, bien financé.",
                                                        amount="90 000", tranches=[("2027-01-15", "60 000"),
                                                                                   ("2027-09-01", "30 000")])),
                         ("Pôle Bocage Coopératif", dict(outcome="Liste complémentaire",
                                                         motivation="Classé après les lauréats.")),
                         ("Pôle Canal Commun", dict(outcome="Non retenu", motivation="Coopération encore récente."))):
        page.goto(f"/admin/appels/{slug}/decisions")
        page.locator(f"tr[data-dossier='{by_name[pole].id}']").get_by_role("link", name=re.compile("^Décider")).click()
        page.locator("#formulaire-decision").wait_for()
        _decide(page, **kwargs)
    page.goto(f"/admin/appels/{slug}/decisions")
    check_accessibility(page, context="decisions")
    outcomes = {d.id: page.locator(f"tr[data-dossier='{d.id}'] [data-outcome]").get_attribute("data-outcome")
                for d in dossiers}
    assert sorted(outcomes.values()) == ["laureate", "laureate", "rejected", "waitlisted"]

    # --- 10. « Notifier », after its confirmation; the worker makes the letters and sends them.
    _call_page(page, "Notification des décisions")
    check_accessibility(page, context="notification page")
    page.get_by_role("link", name="Notifier", exact=True).click()
    assert "4 lettres de décision vont partir" in page.locator("#a-envoyer").inner_text()
    check_accessibility(page, context="notification confirmation")
    page.get_by_role("button", name="Confirmer : notifier 4 décisions").click()
    assert "4 décisions notifiées" in page.locator(".fr-alert--success").inner_text()
    check_accessibility(page, context="after notification")
    _logout(page)
    worker()  # the letters stored, their mails queued
    worker()  # and sent
    expected = {"porteur1@example.org": ("80\u202f000", "Votre pôle est lauréat"),
                "porteur2@example.org": ("90\u202f000", "Votre pôle est lauréat"),
                "porteur3@example.org": (None, "liste complémentaire"),
                "porteur4@example.org": (None, "n'a pas été retenue")}
    for address, (amount, outcome) in expected.items():
        letters = [p for m in smtp.to(address) for p in m.iter_attachments()
                   if (p.get_filename() or "").startswith("decision-")]  # the receipt came before
        assert len(letters) == 1 and letters[0].get_content_type() == "application/pdf", address
        letter = _pdf_text(letters[0].get_content())
        assert outcome in letter, address
        if amount:
            assert _squash(format_amount(Decimal(amount.replace("\u202f", "")))) in _squash(letter), address
        if address == "porteur2@example.org":  # its two tranches
            assert _squash(format_amount(Decimal("30000"))) in _squash(letter) and "01/09/2027" in letter

    # --- 11. The laureate's person reads the outcome and downloads the letter.
    _login(page, "porteur2@example.org")
    page.goto(f"/porteur/dossiers/{valley.id}")
    decision = page.locator("#decision")
    assert "Lauréat" in decision.inner_text() and "90\u202f000 €" in decision.inner_text()
    check_accessibility(page, context="the laureate's dossier")
    with page.expect_download() as download_info:
        decision.get_by_role("link", name=re.compile("Télécharger la lettre de décision")).click()
    letter = _pdf_text(download_info.value.path().read_bytes())
    assert "Votre pôle est lauréat" in letter and _squash(format_amount(Decimal("90000"))) in _squash(letter)
    _shot(page, "laureate")
