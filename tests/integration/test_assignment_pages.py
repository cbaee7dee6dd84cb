"""The admin's assignment pages and the reviewer's decline page, through the test client (CSRF on)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import AssignmentStatus, ConflictSource, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import Notification
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, Review
from tests.integration.test_query_counts import assert_same, queries_for


@pytest.fixture
def world(db, make_call, make_eligible_dossier, make_pool_member, make_institution, admin_user):
    call = make_call(slug="aap-affect", review_deadline_at=utcnow().replace(microsecond=0) + timedelta(days=40))
    dossiers = [make_eligible_dossier(call=call, pole_name=f"Pôle {name}") for name in ("Alpha", "Bêta")]
    anct, cdc = make_institution("ANCT"), make_institution("Caisse des Dépôts")
    members = [make_pool_member(call, institution=inst, capacity=3) for inst in (anct, cdc, cdc)]
    return {"call": call, "dossiers": dossiers, "members": members, "admin": admin_user}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_only_admins_reach_the_assignment_pages(client, login_as, world, make_user, make_assignment):
    call = world["call"]
    assignment = make_assignment(world["dossiers"][0], world["members"][0].user)
    urls = [f"/admin/appels/{call.slug}/affectations", f"/admin/appels/{call.slug}/affectations/proposition",
            f"/admin/appels/{call.slug}/affectations/dossiers/{world['dossiers'][0].id}",
            f"/admin/affectations/{assignment.id}/retirer"]
    login_as(world["members"][0].user)
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/admin/appels/{call.slug}/affectations/confirmer",
                       data={"pairs": "", "fingerprint": "x"}).status_code == 403
    assert client.post(f"/admin/affectations/{assignment.id}/retirer").status_code == 403
    assert db_count(Assignment) == 1
    login_as(world["admin"])
    for url in urls:
        assert client.get(url).status_code == 200, url


def db_count(model):
    from ptce_aap.extensions import db

    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_the_admin_proposes_then_confirms(client, login_as, world, db):
    call = world["call"]
    login_as(world["admin"])
    page = client.get(f"/admin/appels/{call.slug}/affectations")
    assert "Proposer une affectation automatique" in text(page)
    proposal = client.get(f"/admin/appels/{call.slug}/affectations/proposition")
    body = text(proposal)
    assert "4 affectations proposées" in body
    assert "Charge par rapporteur" in body and "Pôle Alpha" in body
    pairs = re.search(r'name="pairs"[^>]*value="([^"]*)"', body) or re.search(r'value="([^"]*)"[^>]*name="pairs"', body)
    fingerprint = re.search(r'name="fingerprint"[^>]*value="([^"]*)"', body) or re.search(
        r'value="([^"]*)"[^>]*name="fingerprint"', body)
    response = client.post(f"/admin/appels/{call.slug}/affectations/confirmer",
                           data={"pairs": pairs.group(1), "fingerprint": fingerprint.group(1)})
    assert response.status_code == 302
    assert db_count(Assignment) == 4
    mails = db.session.scalars(sa.select(Notification).where(Notification.template == "reviewer_assignment")).all()
    assert sum(m.context["count"] for m in mails) == 4 and len({m.recipient for m in mails}) == len(mails)
    # the same proposal again: the state changed, so it is refused and recomputed
    again = client.post(f"/admin/appels/{call.slug}/affectations/confirmer",
                        data={"pairs": pairs.group(1), "fingerprint": fingerprint.group(1)}, follow_redirects=True)
    assert "La situation a changé" in text(again)
    assert "Aucune nouvelle affectation" in text(again)
    assert db_count(Assignment) == 4
    listing = text(client.get(f"/admin/appels/{call.slug}/affectations"))
    assert listing.count("2 sur 2") == 2


def test_uncovered_dossiers_are_shown_with_their_reason(client, login_as, world, db):
    call = world["call"]
    anct = world["members"][0]
    db.session.add(ConflictOfInterest(reviewer_id=anct.user_id, call_id=call.id,
                                      pole_id=world["dossiers"][0].pole_id, source=ConflictSource.ADMIN))
    db.session.commit()
    login_as(world["admin"])
    body = text(client.get(f"/admin/appels/{call.slug}/affectations/proposition"))
    assert f'data-dossier="{world["dossiers"][0].id}" data-reason="one_institution"' in body
    assert "une seule institution sans conflit d’intérêts" in body


def test_manual_add_and_remove_with_confirmation(client, login_as, world, db):
    call, dossier = world["call"], world["dossiers"][0]
    member = world["members"][0]
    login_as(world["admin"])
    page = text(client.get(f"/admin/appels/{call.slug}/affectations/dossiers/{dossier.id}"))
    assert "Remplacement suggéré" in page  # the solver's pick for this dossier
    response = client.post(f"/admin/appels/{call.slug}/affectations/dossiers/{dossier.id}/ajouter",
                           data={"reviewer_id": member.user_id})
    assert response.status_code == 302
    assignment = db.session.scalar(sa.select(Assignment))
    assert (assignment.dossier_id, assignment.reviewer_id) == (dossier.id, member.user_id)
    refused = client.post(f"/admin/appels/{call.slug}/affectations/dossiers/{dossier.id}/ajouter",
                          data={"reviewer_id": member.user_id}, follow_redirects=True)
    assert "déjà affecté" in text(refused)
    confirm = client.get(f"/admin/affectations/{assignment.id}/retirer")
    assert "Confirmer : retirer ce rapporteur" in text(confirm)
    assert db_count(Assignment) == 1
    assert client.post(f"/admin/affectations/{assignment.id}/retirer").status_code == 302
    assert db_count(Assignment) == 0


def test_a_started_review_cannot_be_removed_from_the_page(client, login_as, world, db, make_assignment):
    assignment = make_assignment(world["dossiers"][0], world["members"][0].user)
    db.session.add(Review(assignment_id=assignment.id))
    db.session.commit()
    login_as(world["admin"])
    assert "ne peut plus être retirée" in text(client.get(f"/admin/affectations/{assignment.id}/retirer"))
    response = client.post(f"/admin/affectations/{assignment.id}/retirer", follow_redirects=True)
    assert "commencé son évaluation" in text(response)
    assert db_count(Assignment) == 1


def test_the_reviewer_declines_their_own_assignment_only(client, login_as, world, db, make_assignment):
    dossier, other_dossier = world["dossiers"]
    reviewer, other = world["members"][0].user, world["members"][1].user
    mine = make_assignment(dossier, reviewer, assigned_by_id=world["admin"].id)
    make_assignment(other_dossier, other)
    login_as(reviewer)
    assert client.get(f"/rapporteur/dossiers/{other_dossier.id}/declin").status_code == 404
    assert client.post(f"/rapporteur/dossiers/{other_dossier.id}/declin",
                       data={"reason": "x", "for_conflict": "y"}).status_code == 404
    page = client.get(f"/rapporteur/dossiers/{dossier.id}/declin")
    assert page.status_code == 200 and "pour conflit d’intérêts" in text(page)
    empty = client.post(f"/rapporteur/dossiers/{dossier.id}/declin", data={"reason": "", "for_conflict": "y"})
    assert empty.status_code == 400 and "Indiquez la raison" in text(empty)
    response = client.post(f"/rapporteur/dossiers/{dossier.id}/declin",
                           data={"reason": "Je siège au conseil du pôle.", "for_conflict": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Assignment, mine.id).status == AssignmentStatus.DECLINED_CONFLICT
    assert db.session.scalar(sa.select(ConflictOfInterest.pole_id).where(
        ConflictOfInterest.reviewer_id == reviewer.id)) == dossier.pole_id
    alert = db.session.scalar(sa.select(Notification).where(Notification.template == "assignment_declined"))
    assert alert.recipient == world["admin"].email and alert.context["reason"] == "Je siège au conseil du pôle."
    assert client.get(f"/rapporteur/dossiers/{dossier.id}/declin").status_code == 404  # no access any more
    login_as(world["admin"])
    listing = text(client.get(f"/admin/appels/{world['call'].slug}/affectations"))
    assert "Refus à traiter" in listing and "Décliné (conflit d'intérêts)" in listing
    assert "Je siège au conseil du pôle." in listing


def test_an_admin_without_the_reviewer_role_cannot_decline(client, login_as, world, make_assignment):
    make_assignment(world["dossiers"][0], world["members"][0].user)
    login_as(world["admin"])
    assert client.get(f"/rapporteur/dossiers/{world['dossiers'][0].id}/declin").status_code == 403


def test_the_assignment_page_query_count_does_not_grow_with_dossiers(client, login_as, db, make_call,
                                                                     make_eligible_dossier, make_pool_member,
                                                                     make_assignment, admin_user):
    call = make_call()
    members = [make_pool_member(call) for _ in range(3)]

    def add(n: int) -> None:
        for i in range(n):
            dossier = make_eligible_dossier(call=call, pole_name=f"Pôle {db_count(Assignment)}-{i}")
            make_assignment(dossier, members[i % 3].user)
            make_assignment(dossier, members[(i + 1) % 3].user, status=AssignmentStatus.DECLINED,
                            decline_reason="Indisponible")

    login_as(admin_user)
    add(2)
    few = queries_for(client, db, f"/admin/appels/{call.slug}/affectations")
    add(4)
    many = queries_for(client, db, f"/admin/appels/{call.slug}/affectations")
    assert_same(few, many)


def test_a_reviewer_in_the_admin_space_is_refused(client, login_as, world, make_user):
    login_as(make_user(roles=(Role.APPLICANT,)))
    assert client.get(f"/admin/appels/{world['call'].slug}/affectations").status_code == 403


def test_six_simultaneous_confirmations_of_one_proposal_create_it_once(_app, client, login_as, world, db):
    from tests.integration._race import race

    call = world["call"]
    login_as(world["admin"])
    body = text(client.get(f"/admin/appels/{call.slug}/affectations/proposition"))
    pairs = re.search(r'name="pairs"[^>]*value="([^"]*)"', body) or re.search(r'value="([^"]*)"[^>]*name="pairs"', body)
    fingerprint = re.search(r'name="fingerprint"[^>]*value="([^"]*)"', body) or re.search(
        r'value="([^"]*)"[^>]*name="fingerprint"', body)
    codes = race(_app, client, 6, f"/admin/appels/{call.slug}/affectations/confirmer",
                 {"pairs": pairs.group(1), "fingerprint": fingerprint.group(1)})
    assert 500 not in codes and set(codes) <= {302, 409}, codes
    assert db_count(Assignment) == 4
