"""A reviewer declares a conflict of interest on a dossier already assigned to them (issue 10, new-user test
point 5): the assignment stops counting toward the dossier's K and the reviewer's load, the admin's page says
so (counts, « à traiter » box with a suggested replacement), the next proposal fills the hole without
over-counting, and the secretariat is told by mail once."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from ptce_aap.models.outbox import Notification
from ptce_aap.models.reviews import Assignment
from tests.integration.test_assignment_pages import world  # noqa: F401  (fixture)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def row_of(page: str, dossier_id: int) -> str:
    return re.search(rf'<tr id="dossier-{dossier_id}".*?</tr>', page, re.S).group(0)


def load_of(page: str, reviewer_id: int) -> str:
    row = re.search(rf'<tr data-reviewer="{reviewer_id}">.*?</tr>', page, re.S).group(0)
    return re.sub(r"<[^>]+>", " ", row)


def declare(client, call, dossier, reason="J'ai conseillé ce pôle l'an dernier."):
    return client.post(f"/rapporteur/appels/{call.slug}/conflits",
                       data={"kind": "pole", "pole_id": str(dossier.pole_id), "reason": reason})


def test_a_conflict_declared_after_assignment_stops_counting_and_alerts_the_secretariat(
        client, login_as, world, db, make_assignment):  # noqa: F811
    call, (alpha, beta) = world["call"], world["dossiers"]
    anct, cdc1, cdc2 = (m.user for m in world["members"])
    make_assignment(alpha, anct, assigned_by_id=world["admin"].id)
    mine = make_assignment(alpha, cdc1, assigned_by_id=world["admin"].id)
    make_assignment(beta, cdc1, assigned_by_id=world["admin"].id)
    db.session.commit()

    login_as(cdc1)
    assert declare(client, call, alpha).status_code == 302
    mails = db.session.scalars(sa.select(Notification).where(Notification.template == "assignment_conflict")).all()
    assert len(mails) == 1
    assert mails[0].recipient == world["admin"].email
    assert mails[0].context["pole_name"] == "Pôle Alpha" and mails[0].context["reviewer"] == cdc1.display_name
    assert mails[0].context["reason"] == "J'ai conseillé ce pôle l'an dernier."
    assert mails[0].context["suggestion"] == [cdc2.display_name]  # the other CDC reviewer: ANCT stays
    # another conflict on something else: no second mail for the same assignment (dedupe)
    assert client.post(f"/rapporteur/appels/{call.slug}/conflits",
                       data={"kind": "department", "department": "2A"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.template == "assignment_conflict")) == 1

    login_as(world["admin"])
    page = text(client.get(f"/admin/appels/{call.slug}/affectations"))
    assert "1 sur 2" in row_of(page, alpha.id) and "2 sur 2" not in page
    assert "Conflit d’intérêts : à retirer" in row_of(page, alpha.id)
    assert "2 sans tous leurs rapporteurs" in page
    box = re.search(r'id="refus-a-traiter".*?</div>', page, re.S).group(0)
    assert "Pôle Alpha" in box and f"conflit d’intérêts déclaré par {cdc1.display_name}" in box
    assert f"remplacement suggéré : {cdc2.display_name}" in box
    assert "1 sur 3" in load_of(page, cdc1.id)  # only Bêta counts: she no longer sees Alpha
    incomplete = text(client.get(f"/admin/appels/{call.slug}/affectations?filtre=incomplets"))
    assert f'id="dossier-{alpha.id}"' in incomplete
    to_handle = text(client.get(f"/admin/appels/{call.slug}/affectations?filtre=refus"))
    assert f'id="dossier-{alpha.id}"' in to_handle and f'id="dossier-{beta.id}"' not in to_handle

    # the proposal fills the hole: Alpha gets one more reviewer, and reads 2 of 2, not 3 of 2
    body = text(client.get(f"/admin/appels/{call.slug}/affectations/proposition"))
    pairs = re.search(r'name="pairs"[^>]*value="([^"]*)"', body) or re.search(r'value="([^"]*)"[^>]*name="pairs"', body)
    fingerprint = re.search(r'name="fingerprint"[^>]*value="([^"]*)"', body) or re.search(
        r'value="([^"]*)"[^>]*name="fingerprint"', body)
    assert f"{alpha.id}:{cdc2.id}" in pairs.group(1)
    assert client.post(f"/admin/appels/{call.slug}/affectations/confirmer",
                       data={"pairs": pairs.group(1), "fingerprint": fingerprint.group(1)}).status_code == 302
    page = text(client.get(f"/admin/appels/{call.slug}/affectations"))
    assert "2 sur 2" in row_of(page, alpha.id) and "3 sur 2" not in page
    assert "0 sans tous ses rapporteurs" in page  # French: zero takes the singular
    box = re.search(r'id="refus-a-traiter".*?</div>', page, re.S).group(0)  # still to remove
    assert "retirez l’affectation en conflit" in box
    db.session.expire_all()
    assert db.session.get(Assignment, mine.id) is not None


def test_a_conflict_on_no_assigned_dossier_sends_no_mail(client, login_as, world, db, make_assignment):  # noqa: F811
    call, (alpha, beta) = world["call"], world["dossiers"]
    make_assignment(beta, world["members"][1].user)
    db.session.commit()
    login_as(world["members"][1].user)
    assert declare(client, call, alpha).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.template == "assignment_conflict")) == 0
