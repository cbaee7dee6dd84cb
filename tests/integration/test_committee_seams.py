"""Where the pages of four helpers meet (issue 10's journey): every page of a call links to its siblings;
the reviewer can decline from the scoring page and the dashboard; a first password is « chosen », not
« changed »; one word (« institution ») and one name per institution across the pool, assignment and
scores pages; a declined dossier on the scores page leads to its replacement; breadcrumbs named after the
pages they lead to; icon buttons in groups keep their text. Through the test client, CSRF on."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap import tokens
from ptce_aap.enums import AssignmentStatus, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.reviews import Review
from ptce_aap.services import accounts

PAGES = {"tableau": "tableau-de-bord", "parametres": "parametres", "dossiers": "dossiers", "grille": "grille",
         "vivier": "rapporteurs", "conflits": "conflits", "affectations": "affectations", "notes": "notes",
         "regional": "avis-regionaux", "classement": "classement", "simulateur": "simulateur",
         "scenarios": "scenarios", "seances": "seances", "decisions": "decisions",
         "notification": "notification-des-decisions", "publication": "publication",
         "statistiques": "statistiques"}
GROUPS = {"L’appel": ["tableau", "parametres", "grille", "statistiques"],
          "Instruction": ["dossiers", "vivier", "conflits", "affectations", "regional", "notes"],
          "Comité": ["classement", "simulateur", "scenarios", "seances", "decisions"],
          "Résultats": ["notification", "publication"]}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def call_nav(body: str) -> dict[str, tuple[str, bool]]:
    """The links of the « Pages de l’appel » navigation: key → (href, is current)."""
    nav = re.search(r'<nav[^>]*id="pages-appel"[^>]*>(.*?)</nav>', body, re.S)
    assert nav, "no « Pages de l’appel » navigation"
    return {m.group(3): (m.group(1), bool(m.group(2)))
            for m in re.finditer(r'<a class="fr-tag fr-tag--sm" href="([^"]+)"( aria-current="page")? '
                                 r'data-page="([a-z]+)"', nav.group(1))}


@pytest.fixture
def world(db, make_call, make_eligible_dossier, make_pool_member, make_institution, make_user, admin_user):
    call = make_call(slug="aap-coutures", has_regional_instruction=True)
    dossier = make_eligible_dossier(call=call, pole_name="Pôle des Tisserands")
    anct = make_institution("Agence nationale de la cohésion des territoires", short_name="Agence nationale de la "
                            "cohésion des terr")  # what the pool page used to store: the name cut at 40
    cdc = make_institution("Caisse des Dépôts", short_name="I16")
    louise = make_user("louise@example.org", roles=(Role.REVIEWER,), full_name="Louise Martin")
    paul = make_user("paul@example.org", roles=(Role.REVIEWER,), full_name="Paul Durand")
    members = [make_pool_member(call, louise, institution=anct), make_pool_member(call, paul, institution=cdc)]
    return {"call": call, "dossier": dossier, "members": members, "admin": admin_user, "louise": louise,
            "paul": paul, "anct": anct, "cdc": cdc}


def test_every_page_of_a_call_links_to_every_other(client, login_as, world):
    call = world["call"]
    login_as(world["admin"])
    for key, path in PAGES.items():
        body = text(client.get(f"/admin/appels/{call.slug}/{path}"))
        links = call_nav(body)
        assert set(links) == set(PAGES), key
        for other, (href, current) in links.items():
            assert href == f"/admin/appels/{call.slug}/{PAGES[other]}", (key, other)
            assert current == (other == key), (key, other)


def test_the_call_navigation_is_grouped_along_the_call_s_life(client, login_as, world):
    login_as(world["admin"])
    body = text(client.get(f"/admin/appels/{world['call'].slug}/classement"))
    nav = re.search(r'<nav[^>]*id="pages-appel"[^>]*>(.*?)</nav>', body, re.S).group(1)
    groups = {}
    for group in re.finditer(r'<p [^>]*id="(pages-appel-\d)">([^<]+)</p>\s*<ul [^>]*aria-labelledby="\1">(.*?)</ul>',
                             nav, re.S):
        groups[group.group(2)] = re.findall(r'data-page="([a-z]+)"', group.group(3))
    assert groups == GROUPS


def test_without_regional_instruction_no_regional_link(client, login_as, make_call, admin_user):
    call = make_call(slug="aap-national")
    login_as(admin_user)
    links = call_nav(text(client.get(f"/admin/appels/{call.slug}/notes")))
    assert "regional" not in links and "notes" in links


def test_the_reviewer_can_decline_from_the_scoring_page_and_the_dashboard(client, db, login_as, world,
                                                                          make_assignment):
    dossier, louise = world["dossier"], world["louise"]
    assignment = make_assignment(dossier, louise, institution_id=world["anct"].id)
    login_as(louise)
    decline = f'href="/rapporteur/dossiers/{dossier.id}/declin"'
    review_page = text(client.get(f"/rapporteur/dossiers/{dossier.id}/evaluation"))
    assert decline in review_page and "Décliner ce dossier" in review_page
    dashboard = text(client.get("/rapporteur/"))
    assert decline in dashboard
    # The dossiers before the conflicts links.
    assert dashboard.index('id="progression"') < dashboard.index("Mes conflits d’intérêts")
    page = text(client.get(f"/rapporteur/dossiers/{dossier.id}/declin"))
    assert f'href="/rapporteur/dossiers/{dossier.id}/evaluation">Annuler' in page.replace('class="fr-btn fr-btn--secondary" ', "")
    assert "Mes évaluations" not in page  # the header and the breadcrumb say the dashboard's title
    assert "Mes dossiers à évaluer" in page
    # Handed in: nothing to decline any more.
    review = db.session.scalar(sa.select(Review).filter_by(assignment_id=assignment.id))  # opened: a draft
    review.submitted_at = utcnow()
    db.session.commit()
    assert decline not in text(client.get(f"/rapporteur/dossiers/{dossier.id}/evaluation"))
    assert decline not in text(client.get("/rapporteur/"))


def test_an_invited_reviewer_chooses_a_first_password(client, db, world):
    call = world["call"]
    from ptce_aap.services import pool

    member = pool.invite_reviewer(call, "nouvelle@example.org", full_name="Nina Nouvelle",
                                  settings=pool.MemberSettings(institution_id=world["cdc"].id), by=world["admin"])
    db.session.commit()
    user = member.user
    token = tokens.make_token(tokens.RESET_PASSWORD, {"uid": user.id, "fp": accounts.password_fingerprint(user)})
    page = text(client.get(f"/compte/reinitialiser/{token}"))
    assert "<h1>Choisir votre mot de passe</h1>" in page
    assert "sessions ouvertes" not in page and "nouveau mot de passe</h1>" not in page
    response = client.post(f"/compte/reinitialiser/{token}", data={"password": "Comite-interministeriel-2026",
                                                                  "password_confirm": "Comite-interministeriel-2026"})
    assert response.status_code == 302
    assert "Votre mot de passe est enregistré" in text(client.get("/compte/connexion"))


def test_a_forgotten_password_is_still_changed(client, db, make_user):
    user = make_user("ancien@example.org")
    token = tokens.make_token(tokens.RESET_PASSWORD, {"uid": user.id, "fp": accounts.password_fingerprint(user)})
    page = text(client.get(f"/compte/reinitialiser/{token}"))
    assert "<h1>Choisir un nouveau mot de passe</h1>" in page and "sessions ouvertes" in page
    client.post(f"/compte/reinitialiser/{token}", data={"password": "Comite-interministeriel-2026",
                                                        "password_confirm": "Comite-interministeriel-2026"})
    assert "Votre mot de passe a été modifié" in text(client.get("/compte/connexion"))


def test_institutions_named_alike_on_the_pool_assignment_and_scores_pages(client, login_as, world,
                                                                            make_assignment):
    call, dossier = world["call"], world["dossier"]
    make_assignment(dossier, world["louise"], institution_id=world["anct"].id)
    login_as(world["admin"])
    for path in ("rapporteurs", "affectations", "affectations/proposition", f"affectations/dossiers/{dossier.id}"):
        body = text(client.get(f"/admin/appels/{call.slug}/{path}"))
        assert "Agence nationale de la cohésion des territoires" in body, path
        assert "cohésion des terr<" not in body and ">I16<" not in body and "(I16)" not in body, path
        assert "rganisme" not in body.split("<main", 1)[1], path  # « institution », as on the pool page


def test_a_declined_dossier_on_the_scores_page_leads_to_a_replacement(client, login_as, world, make_assignment):
    call, dossier = world["call"], world["dossier"]
    make_assignment(dossier, world["louise"], institution_id=world["anct"].id,
                    status=AssignmentStatus.DECLINED_CONFLICT)
    login_as(world["admin"])
    body = text(client.get(f"/admin/appels/{call.slug}/notes"))
    assert f'href="/admin/appels/{call.slug}/affectations/dossiers/{dossier.id}" data-replace>' in body
    assert "(Notes des dossiers" not in body and ">Notes des dossiers</a>" in body  # breadcrumb and navigation


def test_a_dossier_and_its_reviewers_link_to_each_other(client, login_as, world):
    call, dossier = world["call"], world["dossier"]
    login_as(world["admin"])
    reviewers = f"/admin/appels/{call.slug}/affectations/dossiers/{dossier.id}"
    assert f'href="{reviewers}" id="lien-rapporteurs"' in text(client.get(f"/admin/dossiers/{dossier.id}"))
    assert f'href="/admin/dossiers/{dossier.id}" id="lien-dossier"' in text(client.get(reviewers))


def test_pool_breadcrumbs_say_the_pool_page_title(client, login_as, world):
    call = world["call"]
    login_as(world["admin"])
    for path in ("rapporteurs", "rapporteurs/inviter", f"rapporteurs/{world['members'][0].id}"):
        crumbs = re.search(r'<nav role="navigation" class="fr-breadcrumb".*?</nav>',
                           text(client.get(f"/admin/appels/{call.slug}/{path}")), re.S).group(0)
        assert "Vivier des rapporteurs" in crumbs, path
