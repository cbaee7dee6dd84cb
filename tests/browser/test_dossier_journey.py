"""The applicant's whole journey in Chromium: register, create a dossier, fill every section, upload PDFs
straight to S3 through presigned POST forms, submit, download the récépissé and read it."""

import hashlib
import io
import re

import pytest
from weasyprint import HTML

from tests.browser.conftest import check_accessibility
from tests.browser.test_account_journey import tick_box

pytestmark = pytest.mark.browser


def _pdf(title: str) -> bytes:
    return HTML(string=f"<h1>{title}</h1><p>Document de test du pôle.</p>").write_pdf()


def _register(page, worker, smtp, live_server, email):
    page.goto("/compte/inscription")
    page.get_by_label("Prénom et nom").fill("Julie Perrin")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Coop-territoire-2026")
    page.get_by_label("Confirmation du mot de passe").fill("Coop-territoire-2026")
    tick_box(page, "J’accepte les conditions d’utilisation de la plateforme")
    page.get_by_role("button", name="Créer mon compte").click()
    worker()
    text = smtp.wait_for(1)[-1].get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/compte/verifier/\S+", text).group(0)
    page.goto(live_server + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.get_by_label("Mot de passe choisi à l’inscription").fill("Coop-territoire-2026")
    page.get_by_role("button", name="Confirmer mon adresse et me connecter").click()
    assert page.locator("h1").inner_text() == "Mes dossiers"


def _save(page):
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    assert "Section enregistrée." in page.locator("#messages").inner_text()


def test_applicant_journey_from_registration_to_receipt(page, worker, smtp, live_server, make_call, db, tmp_path):
    from pypdf import PdfReader

    call = make_call(slug="ptce-parcours", title="Appel PTCE — parcours complet")
    _register(page, worker, smtp, live_server, "julie.perrin@example.org")

    page.goto(f"/appels/{call.slug}")
    page.get_by_role("link", name="Déposer un dossier").first.click()
    page.get_by_label("Nom du pôle").fill("Pôle Coopérations du Val")
    page.get_by_role("button", name="Créer le dossier").click()
    assert page.locator("h1").inner_text() == "Pôle Coopérations du Val"
    summary_url = page.url

    # Identité
    page.get_by_role("link", name="Identité du pôle et structure porteuse").click()
    page.get_by_label(re.compile("^Année de début de la coopération")).fill("2016")
    tick_box(page, "Urbain", exact=True)
    page.get_by_label("Raison sociale de la structure porteuse").fill("Association Coopérations du Val")
    page.get_by_label(re.compile("^SIRET de la structure porteuse")).fill("732 829 320 00074")
    page.get_by_label("Forme juridique").select_option(label="Association")
    page.get_by_label("Adresse").fill("12 rue de la République")
    page.get_by_label(re.compile("^Code INSEE")).fill("69123")
    page.get_by_label(re.compile("^Commune")).fill("Lyon")
    page.get_by_label("Région", exact=True).select_option(label="Auvergne-Rhône-Alpes")
    page.get_by_label("Rechercher un département").fill("rhône")  # the picker: search, then tick
    tick_box(page, "69 — Rhône", exact=True)
    page.get_by_label("Rechercher un département").fill("")
    tick_box(page, "01 — Ain", exact=True)
    _save(page)
    check_accessibility(page, context="identity section")

    # Membres: four structures, added row by row (no JavaScript needed for that)
    page.goto(summary_url + "/membres")
    members = [("Coop A", "Entreprise de l'ESS", "73282932000074"), ("Entreprise B", "Entreprise (hors ESS)",
               "35600000000048"), ("Métropole", "Collectivité territoriale ou groupement", "55208131766522"),
               ("Université", "Centre de recherche / enseignement supérieur", "44306184100047")]
    for i, (name, category, siret) in enumerate(members):
        page.get_by_role("button", name="Ajouter un membre").click()
        n = i + 1
        page.get_by_label(f"Nom du membre n° {n}", exact=True).fill(name)
        page.get_by_label(f"SIRET du membre n° {n}", exact=True).fill(siret)
        page.get_by_label(f"Catégorie du membre n° {n}", exact=True).select_option(label=category)
        page.get_by_label(f"Département du membre n° {n}", exact=True).select_option("69")
        page.get_by_label(f"Rôle du membre n° {n}", exact=True).select_option(label="Membre")
    _save(page)
    assert page.get_by_label("Nom du membre n° 4", exact=True).input_value() == "Université"

    # Activités, coopération, gouvernance
    page.goto(summary_url + "/activites")
    tick_box(page, "Alimentation et agriculture durable")
    tick_box(page, "Mutualisation de moyens, ressources ou services")
    page.get_by_label("Description de la mutualisation de moyens").fill("Locaux et matériel partagés.")
    page.locator("label[for=governance_form-0]").click()
    page.get_by_label("Modalités de prise de décision").fill("Conseil collégial, quatre collèges.")
    _save(page)

    # Projet: the live counter shows the length while typing
    page.goto(summary_url + "/projet")
    page.get_by_label("Résumé du projet").fill("Un pôle qui relocalise l'alimentation.")
    assert page.locator("#summary-counter").inner_text() == "38 / 1500 caractères"
    page.get_by_label("Stratégie du pôle").fill("Structurer une filière.")
    page.get_by_label("Innovation sociale ou technologique").fill("Une légumerie solidaire.")
    page.get_by_label("Ancrage territorial").fill("Avec la métropole et les habitants.")
    page.get_by_label("Impacts attendus").fill("Vingt emplois d'insertion.")
    page.get_by_label(re.compile("^Emplois existants")).fill("4,5")
    page.get_by_label(re.compile("^Emplois à créer")).fill("6")
    _save(page)

    # Budget: live totals and balance
    page.goto(summary_url + "/budget")
    page.get_by_label(re.compile("^Budget total du projet")).fill("400 000")
    page.get_by_label(re.compile("^Montant demandé à l'État")).fill("90 000")
    page.get_by_role("button", name="Ajouter une dépense").click()
    page.get_by_label("Poste de dépense n° 1", exact=True).fill("Coordination")
    page.get_by_label("Montant de la dépense n° 1", exact=True).fill("180 000")
    page.get_by_role("button", name="Ajouter une ressource").click()
    page.get_by_label("Origine de la ressource n° 1", exact=True).select_option(label="État")
    page.get_by_label("Financeur de la ressource n° 1", exact=True).fill("État")
    page.get_by_label("Intitulé de la ressource n° 1", exact=True).fill("AAP PTCE")
    page.get_by_label("Montant de la ressource n° 1", exact=True).fill("90 000")
    page.get_by_label("Statut de la ressource n° 1", exact=True).select_option(label="Sollicité")
    assert page.locator("#balance").inner_text() == "Écart entre ressources et dépenses : -90\u202f000 €."
    page.get_by_role("button", name="Ajouter une ressource").click()
    page.get_by_label("Origine de la ressource n° 2", exact=True).select_option(label="Région")
    page.get_by_label("Financeur de la ressource n° 2", exact=True).fill("Région")
    page.get_by_label("Intitulé de la ressource n° 2", exact=True).fill("Subvention")
    page.get_by_label("Montant de la ressource n° 2", exact=True).fill("90 000")
    page.get_by_label("Statut de la ressource n° 2", exact=True).select_option(label="Acquis")
    assert page.locator("#balance").inner_text() == "Le plan de financement est équilibré."
    _save(page)
    check_accessibility(page, context="budget section")

    # Pièces: each required PDF goes straight to S3 through the presigned POST, then is verified
    page.goto(summary_url + "/pieces")
    uploaded = {}
    for code in ["statuts", "comptes", "budget", "engagements", "rib", "liste_membres"]:
        content = _pdf(f"Pièce {code}")
        path = tmp_path / f"{code}.pdf"
        path.write_bytes(content)
        uploaded[code] = hashlib.sha256(content).hexdigest()
        page.locator(f"#fichier-{code}").set_input_files(str(path))
        with page.expect_navigation():
            page.locator(f"#televersement-{code} button[type=submit]").click()
        worker()  # the processing job: SHA-256 while streaming, type sniffing
    page.goto(summary_url + "/pieces")
    page.wait_for_load_state("networkidle")
    check_accessibility(page, context="attachments")
    text = page.locator("#pieces").inner_text()
    for sha in uploaded.values():
        assert sha in text

    # Submission
    page.goto(summary_url)
    assert "Toutes les sections sont complètes." in page.locator("main").inner_text()
    page.get_by_role("link", name="Vérifier et déposer le dossier").click()
    check_accessibility(page, context="submission")
    page.get_by_role("button", name="Je confirme le dépôt du dossier").click()
    message = page.locator("#messages").inner_text()
    number = re.search(r"PTCE-\d{4}-\d{6}", message).group(0)
    worker()  # receipt PDF, then its mail
    worker()
    page.goto(summary_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le récépissé (PDF)").click()
    receipt = download_info.value
    assert receipt.suggested_filename == f"recepisse-{number}.pdf"
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.path().read_bytes())).pages)
    flat = "".join(pdf_text.split())
    assert number in pdf_text
    for sha in uploaded.values():
        assert sha in flat
    mail = [m for m in smtp.messages if "julie.perrin@example.org" in m["To"] and number in m["Subject"] + str(
        m.get_body(("plain",)).get_content())]
    assert len(mail) == 1
