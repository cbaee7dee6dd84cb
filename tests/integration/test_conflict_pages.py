"""The conflicts pages: the admin's (three sources side by side, set, detect, clear, remove) and the
reviewer's own (declare, see, withdraw) — who may reach what, odd ids, and constant query counts."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ptce_aap.enums import ConflictSource, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.services import conflicts as service
from ptce_aap.services import submission
from tests.integration.test_pool import text
from tests.integration.test_query_counts import assert_same, queries_for

CARRIER = "732829320"


@pytest.fixture
def world(db, make_call, make_dossier, make_user, make_pool_member, make_institution):
    call, other_call = make_call(), make_call()
    owner = make_user("porteur@example.org")
    dossier = make_dossier(call=call, owner=owner, complete=True, pole_name="Pôle Alpha")
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    foreign = make_dossier(call=other_call, complete=True, pole_name="Pôle d'un autre appel")
    submission.submit_dossier(foreign, by=foreign.pole.memberships[0].user, now=utcnow())
    db.session.commit()
    me = make_pool_member(call, make_user("moi@example.org", roles=(Role.REVIEWER,), full_name="Moi Rapporteur"),
                          institution=make_institution("ANCT", siren=CARRIER))
    them = make_pool_member(call, make_user("eux@example.org", roles=(Role.REVIEWER,), full_name="Eux Rapporteur"))
    make_pool_member(other_call, me.user)
    service.detect_conflicts(call)
    theirs = service.add_conflict(call, them.user, kind="department", value="01", reason="Élu local", by=them.user)
    db.session.commit()
    return {"call": call, "other_call": other_call, "dossier": dossier, "foreign": foreign, "me": me, "them": them,
            "owner": owner, "theirs": theirs}


def conflicts_of(db, user):
    db.session.expire_all()
    return db.session.scalars(sa.select(ConflictOfInterest).where(ConflictOfInterest.reviewer_id == user.id)
                              .order_by(ConflictOfInterest.id)).all()


# --- the reviewer's page --------------------------------------------------------------------------------

def test_reviewer_sees_their_own_conflicts_only_and_declares_on_a_pole_by_name(client, login_as, db, world):
    me, call = world["me"].user, world["call"]
    login_as(me)
    url = f"/rapporteur/appels/{call.slug}/conflits"
    page = client.get(url)
    assert page.status_code == 200
    body = text(page)
    assert "Structure de SIREN 732829320" in body and "Détecté automatiquement" in body
    assert "structure porteuse du pôle « Pôle Alpha »" in body
    assert "Élu local" not in body and "Eux Rapporteur" not in body  # another reviewer's declaration
    assert "Pôle d'un autre appel" not in body
    # Nothing of the dossier beyond the pole's name: not its structure porteuse, members, SIRENs or amounts.
    for detail in ("Association Coopérations du Val", "Structure membre", "356000000", "90 000", "Lyon"):
        assert detail not in body, detail
    assert f'<option value="{world["dossier"].pole_id}">Pôle Alpha</option>' in page.get_data(as_text=True)
    assert "Mes conflits d’intérêts" in text(client.get("/rapporteur/"))  # the dashboard links here

    response = client.post(url, data={"kind": "pole", "pole_id": str(world["dossier"].pole_id), "reason": "Ancien bénévole"})
    assert response.status_code == 302
    declared = [c for c in conflicts_of(db, me) if c.source == ConflictSource.DECLARED]
    assert [(c.pole_id, c.reason) for c in declared] == [(world["dossier"].pole_id, "Ancien bénévole")]

    # A bad SIREN: the form again, the SIREN typed kept, the error beside it.
    refused = client.post(url, data={"kind": "siren", "siren": "123 456 780", "reason": "Mon conjoint y travaille"})
    assert refused.status_code == 400
    assert 'id="siren-desc-error"' in refused.get_data(as_text=True)
    assert 'value="123 456 780"' in refused.get_data(as_text=True) and "Mon conjoint y travaille" in text(refused)

    withdraw = client.post(f"{url}/{declared[0].id}/retrait")
    assert withdraw.status_code == 302
    assert [c.source for c in conflicts_of(db, me)] == [ConflictSource.DETECTED]


def test_reviewer_cannot_touch_another_reviewers_conflict_nor_a_detected_one(client, login_as, db, world):
    me, call = world["me"].user, world["call"]
    login_as(me)
    base = f"/rapporteur/appels/{call.slug}/conflits"
    assert client.post(f"{base}/{world['theirs'].id}/retrait").status_code == 404
    detected = conflicts_of(db, me)[0]
    assert client.post(f"{base}/{detected.id}/retrait").status_code == 403
    assert client.post(f"{base}/99999999999/retrait").status_code == 404
    assert len(conflicts_of(db, world["them"].user)) == 1 and len(conflicts_of(db, me)) == 1


def test_foreign_pole_or_call_ids_are_not_found(client, login_as, db, world, make_call):
    me = world["me"].user
    login_as(me)
    url = f"/rapporteur/appels/{world['call'].slug}/conflits"
    assert client.post(url, data={"kind": "pole", "pole_id": str(world["foreign"].pole_id)}).status_code == 404
    assert client.post(url, data={"kind": "pole", "pole_id": "99999999999"}).status_code == 404
    # A call whose pool they are not in, or that does not exist.
    assert client.get(f"/rapporteur/appels/{make_call().slug}/conflits").status_code == 404
    assert client.get("/rapporteur/appels/inconnu/conflits").status_code == 404
    # The other call's page lists only its own poles, and withdrawing there a conflict of this call is a 404.
    other = client.get(f"/rapporteur/appels/{world['other_call'].slug}/conflits")
    assert "Pôle d'un autre appel" in text(other) and "Pôle Alpha" not in text(other)
    detected = conflicts_of(db, me)[0]
    assert client.post(f"/rapporteur/appels/{world['other_call'].slug}/conflits/{detected.id}/retrait").status_code == 404


def test_applicants_are_refused_the_reviewer_pages(client, login_as, world):
    login_as(world["owner"])
    url = f"/rapporteur/appels/{world['call'].slug}/conflits"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"kind": "department", "department": "01"}).status_code == 403
    assert client.post(f"{url}/{world['theirs'].id}/retrait").status_code == 403


# --- the admin's page -----------------------------------------------------------------------------------

def test_admin_sees_the_three_sources_side_by_side_and_acts(client, login_as, db, world, admin_user):
    call, me, them = world["call"], world["me"].user, world["them"].user
    login_as(admin_user)
    url = f"/admin/appels/{call.slug}/conflits"
    response = client.post(url, data={"reviewer_id": str(them.id), "kind": "siren", "siren": "356 000 000",
                                      "reason": "Signalé par le préfet"})
    assert response.status_code == 302
    body = text(client.get(url))
    for shown in ("Déclaré par le rapporteur", "Signalé par l'administration", "Détecté automatiquement",
                  "Moi Rapporteur", "ANCT", "Eux Rapporteur", "Département 01 — Ain", "Structure de SIREN 356000000",
                  "Signalé par le préfet", "Élu local"):
        assert shown in body, shown
    only_detected = text(client.get(f"{url}?source=detected"))
    assert "Moi Rapporteur" in only_detected and "Élu local" not in only_detected

    detected = conflicts_of(db, me)[0]
    clear = f"{url}/{detected.id}/lever"
    assert client.get(clear).status_code == 200
    without_reason = client.post(clear, data={"reason": " "})
    assert without_reason.status_code == 400 and "Indiquez le motif" in text(without_reason)
    assert client.post(clear, data={"reason": "Direction régionale sans lien"}).status_code == 302
    body = text(client.get(url))
    assert "Levé par Camille Admin le" in body and "motif : Direction régionale sans lien" in body
    # The reviewer sees that it was cleared and why, not by whom.
    login_as(me)
    mine = text(client.get(f"/rapporteur/appels/{call.slug}/conflits"))
    assert "Levé par l’administration le" in mine and "Direction régionale sans lien" in mine
    assert "Camille Admin" not in mine

    login_as(admin_user)
    assert client.post(f"{url}/{world['theirs'].id}/suppression").status_code == 302
    assert client.post(f"{url}/{detected.id}/suppression", follow_redirects=True).status_code == 200
    assert conflicts_of(db, me)[0].id == detected.id  # a detected conflict is never deleted
    assert client.post(f"{url}/detection").status_code == 302


def test_admin_foreign_ids_are_not_found(client, login_as, db, world, admin_user, make_pool_member):
    call = world["call"]
    login_as(admin_user)
    url = f"/admin/appels/{call.slug}/conflits"
    outsider = make_pool_member(world["other_call"]).user
    assert client.post(url, data={"reviewer_id": str(outsider.id), "kind": "department", "department": "01"}).status_code == 404
    assert client.post(url, data={"reviewer_id": str(world["them"].user_id), "kind": "pole",
                                  "pole_id": str(world["foreign"].pole_id)}).status_code == 404
    foreign_conflict = service.add_conflict(world["other_call"], outsider, kind="department", value="02", by=outsider)
    db.session.commit()
    assert client.get(f"{url}/{foreign_conflict.id}/lever").status_code == 404
    assert client.post(f"{url}/{foreign_conflict.id}/suppression").status_code == 404
    assert client.get(f"{url}/99999999999/lever").status_code == 404
    assert client.get("/admin/appels/inconnu/conflits").status_code == 404


@pytest.mark.parametrize("who", ["owner", "me"])
def test_only_admins_reach_the_admin_conflicts_page(client, login_as, db, world, who):
    user = world["owner"] if who == "owner" else world["me"].user
    login_as(user)
    url = f"/admin/appels/{world['call'].slug}/conflits"
    assert client.get(url).status_code == 403
    for post in (url, f"{url}/detection", f"{url}/{world['theirs'].id}/lever", f"{url}/{world['theirs'].id}/suppression"):
        assert client.post(post, data={"reason": "x"}).status_code == 403, post
    assert len(conflicts_of(db, world["them"].user)) == 1


def test_conflict_pages_query_counts_are_constant(client, login_as, db, make_call, make_pool_member, make_user,
                                                  admin_user):
    from ptce_aap.domain import geography

    call = make_call()
    reviewer = make_pool_member(call).user
    departments = iter(sorted(geography.departments()))

    def add(n):
        for _ in range(n):
            member = make_pool_member(call)
            service.add_conflict(call, member.user, kind="department", value=next(departments), by=member.user)
            service.add_conflict(call, member.user, kind="siren", value="356000000", by=admin_user)
            service.add_conflict(call, reviewer, kind="department", value=next(departments), by=reviewer)
            db.session.commit()

    add(2)
    login_as(admin_user)
    url = f"/admin/appels/{call.slug}/conflits"
    client.get(url)
    few = queries_for(client, db, url)
    login_as(reviewer)
    mine = f"/rapporteur/appels/{call.slug}/conflits"
    client.get(mine)
    few_mine = queries_for(client, db, mine)
    add(4)
    many_mine = queries_for(client, db, mine)
    login_as(admin_user)
    many = queries_for(client, db, url)
    assert_same(few, many)
    assert_same(few_mine, many_mine)


def test_admin_conflicts_page_is_paginated_with_its_source_filter(client, login_as, db, world, admin_user,
                                                                  monkeypatch):
    from ptce_aap.admin import conflicts as page_module

    monkeypatch.setattr(page_module, "PER_PAGE", 2)
    call, them = world["call"], world["them"].user
    for department in ("38", "73"):
        service.add_conflict(call, them, kind="department", value=department, by=them)
    db.session.commit()
    login_as(admin_user)
    url = f"/admin/appels/{call.slug}/conflits"
    total = len(db.session.scalars(sa.select(ConflictOfInterest).where(ConflictOfInterest.call_id == call.id)).all())
    pages = [client.get(f"{url}?page={n}").get_data(as_text=True) for n in (1, 2, 99)]
    shown = [set(re.findall(r'data-conflict="(\d+)"', body)) for body in pages]
    assert total >= 4 and len(shown[0]) == 2 and len(shown[1]) == 2 and not shown[0] & shown[1]
    assert shown[2] and shown[2] <= {str(c.id) for c in db.session.scalars(sa.select(ConflictOfInterest))}
    assert f"{total} conflits d’intérêts — page 1 sur {-(-total // 2)}" in text(client.get(url))
    declared = client.get(f"{url}?source=declared&page=2")  # 3 declared: 2 pages, the filter kept in the links
    html = declared.get_data(as_text=True)
    assert "page 2 sur 2" in text(declared) and "source=declared" in html[html.index("fr-pagination"):]
