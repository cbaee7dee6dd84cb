"""Regional instruction (issue 10, point 7): routing by region, the group's avis and ranking (motivation
required, ranks unique and complete, deadline lock, conflicts excluded), who may see what on every route, and
the national view side by side."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, DossierStatus, OpinionStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.reviews import ConflictOfInterest, RegionalOpinion
from ptce_aap.permissions import can_give_regional_opinion, can_rank_regional_group, conflicted_dossier_ids
from ptce_aap.services import regional
from tests.fixtures.builders import carrier_siret_for
from tests.fixtures.queries import count_queries

ARA, IDF, BRE = "84", "11", "53"  # Auvergne-Rhône-Alpes, Île-de-France, Bretagne


class World:
    """A call with regional instruction, groups for ARA and IDF (none for Bretagne), members, dossiers."""

    def __init__(self, db, make_call, make_dossier, make_user):
        self.db, self.make_dossier, self.make_user = db, make_dossier, make_user
        self.call = make_call(slug="ptce-regional", status=CallStatus.REVIEW, has_regional_instruction=True)
        self.ara = self.group(ARA, "Groupe Auvergne-Rhône-Alpes")
        self.idf = self.group(IDF, "Groupe Île-de-France")
        self.alice = self.member(self.ara, "alice@example.org", "Alice Région")
        self.bruno = self.member(self.ara, "bruno@example.org", "Bruno Région")
        self.iris = self.member(self.idf, "iris@example.org", "Iris Francilienne")
        self.outsider = make_user("hors-groupe@example.org", roles=(Role.REVIEWER,), full_name="Hors Groupe")
        self.owner = make_user("porteur-regional@example.org", full_name="Paul Porteur")
        self.a1 = self.dossier("Pôle Lyon Solidaire", ARA, owner=self.owner)
        self.a2 = self.dossier("Pôle Grenoble Alpin", ARA)
        self.a3 = self.dossier("Pôle Clermont Volcans", ARA)
        self.i1 = self.dossier("Pôle Paris Est", IDF)
        self.b1 = self.dossier("Pôle Rennes Breizh", BRE)
        self.draft = self.dossier("Pôle brouillon ARA", ARA, status=DossierStatus.DRAFT)
        self.ineligible = self.dossier("Pôle irrecevable ARA", ARA, status=DossierStatus.INELIGIBLE)

    def group(self, code, name):
        group = RegionalGroup(call_id=self.call.id, region_code=code, name=name)
        self.db.session.add(group)
        self.db.session.commit()
        return group

    def member(self, group, email, name, call=None):
        user = self.make_user(email, roles=(Role.REVIEWER,), full_name=name, institution=f"Institution {name}")
        self.db.session.add(ReviewerPoolMember(call_id=(call or self.call).id, user_id=user.id,
                                               institution_id=user.institution_id, regional_group_id=group.id))
        self.db.session.commit()
        return user

    def dossier(self, pole, region, *, owner=None, status=DossierStatus.ELIGIBLE):
        call_status, self.call.status = self.call.status, CallStatus.OPEN  # dossiers start in an open call
        self.db.session.commit()
        dossier = self.make_dossier(call=self.call, owner=owner, pole_name=pole, complete=True)
        self.call.status = call_status
        dossier.region_code = region
        dossier.status = status  # the routing reads the status; how it got there is tested elsewhere
        dossier.submitted_at = None if status == DossierStatus.DRAFT else utcnow()
        self.db.session.commit()
        return dossier

    def conflict(self, user, **target):
        self.db.session.add(ConflictOfInterest(reviewer_id=user.id, call_id=self.call.id, **target))
        self.db.session.commit()


@pytest.fixture
def w(db, make_call, make_dossier, make_user):
    return World(db, make_call, make_dossier, make_user)


def _opinion(w, dossier, group, by, recommendation="favorable", motivation="Un pôle solide.", seen=""):
    opinion = regional.save_opinion(dossier, group, recommendation=recommendation, motivation=motivation, by=by,
                                    now=utcnow(), seen_version=seen)
    w.db.session.commit()
    return opinion


# --- routing ----------------------------------------------------------------------------------------------

def test_eligible_dossiers_go_to_their_regions_group_and_a_region_without_group_is_listed_apart(w):
    rows = {row.region_code: row for row in regional.national_view(w.call)}

    assert set(rows) == {ARA, IDF, BRE}
    assert rows[ARA].group.id == w.ara.id and rows[IDF].group.id == w.idf.id
    assert {d.id for d in rows[ARA].dossiers} == {w.a1.id, w.a2.id, w.a3.id}  # no draft, no ineligible one
    assert [d.id for d in rows[IDF].dossiers] == [w.i1.id]
    assert rows[BRE].group is None and [d.id for d in rows[BRE].dossiers] == [w.b1.id]
    assert [r.region_code for r in regional.national_view(w.call)][-1] == BRE  # « sans groupe » last
    assert [m.id for m in rows[ARA].missing] == [d.id for d in rows[ARA].dossiers]


# --- the avis ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("motivation", ["", "   \n  "])
def test_the_motivation_is_required(w, motivation):
    with pytest.raises(DomainError) as refused:
        regional.save_opinion(w.a1, w.ara, recommendation="favorable", motivation=motivation, by=w.alice,
                              now=utcnow())
    assert refused.value.field == "motivation"
    with pytest.raises(DomainError) as refused:
        regional.save_opinion(w.a1, w.ara, recommendation="excellent", motivation="Bien.", by=w.alice, now=utcnow())
    assert refused.value.field == "recommendation"


def test_one_opinion_per_dossier_and_group_any_member_edits_it_and_it_records_who(w, db):
    first = _opinion(w, w.a1, w.ara, w.alice)
    second = _opinion(w, w.a1, w.ara, w.bruno, "reserve", "Plan de financement fragile.",
                      seen=regional.opinion_version(first))

    assert second.id == first.id
    opinions = db.session.scalars(sa.select(RegionalOpinion)).all()
    assert len(opinions) == 1
    assert (opinions[0].status, opinions[0].recommendation.value, opinions[0].author_id) == (
        OpinionStatus.SUBMITTED, "reserve", w.bruno.id)
    assert regional.opinions_by_dossier(w.call) == {w.a1.id: opinions[0]}
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "regional_opinion.saved")
                                .order_by(AuditEvent.id)).all()
    assert [e.actor_id for e in events] == [w.alice.id, w.bruno.id]
    assert events[1].summary["before"]["motivation"] == "Un pôle solide."
    assert events[1].summary["after"]["motivation"] == "Plan de financement fragile."


def test_an_avis_changed_by_another_member_meanwhile_is_not_overwritten(w):
    seen = regional.opinion_version(None)
    _opinion(w, w.a1, w.ara, w.alice)  # Alice gives it while Bruno is writing

    with pytest.raises(regional.OpinionChanged):
        regional.save_opinion(w.a1, w.ara, recommendation="defavorable", motivation="Non.", by=w.bruno,
                              now=utcnow(), seen_version=seen)


def test_a_dossier_of_another_region_is_refused(w):
    with pytest.raises(DomainError):
        regional.save_opinion(w.i1, w.ara, recommendation="favorable", motivation="Bien.", by=w.alice, now=utcnow())


# --- the ranking ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ranks", [
    lambda w: {w.a1.id: 1, w.a2.id: 1, w.a3.id: 2},          # a rank twice
    lambda w: {w.a1.id: 1, w.a2.id: 2},                      # a dossier left out
    lambda w: {w.a1.id: 1, w.a2.id: 2, w.a3.id: 4},          # not 1..n
    lambda w: {w.a1.id: 0, w.a2.id: 1, w.a3.id: 2},
    lambda w: {w.a1.id: 1, w.a2.id: 2, w.a3.id: 3, w.i1.id: 4},  # another region's dossier
])
def test_ranks_are_unique_and_complete(w, db, ranks):
    with pytest.raises(DomainError) as refused:
        regional.save_ranking(w.ara, ranks(w), by=w.alice, now=utcnow())
    assert refused.value.field == "ranks"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(RegionalOpinion.id))) == 0


def test_a_ranking_orders_the_group_and_keeps_the_avis(w, db):
    _opinion(w, w.a2, w.ara, w.alice)
    regional.save_ranking(w.ara, {w.a1.id: 2, w.a2.id: 1, w.a3.id: 3}, by=w.bruno, now=utcnow())
    db.session.commit()

    opinions = regional.opinions_by_dossier(w.call)
    assert {d: o.rank for d, o in opinions.items()} == {w.a1.id: 2, w.a2.id: 1, w.a3.id: 3}
    assert opinions[w.a2.id].status == OpinionStatus.SUBMITTED and opinions[w.a2.id].motivation == "Un pôle solide."
    assert opinions[w.a1.id].status == OpinionStatus.DRAFT  # ranked, avis not given yet
    row = next(r for r in regional.national_view(w.call) if r.region_code == ARA)
    assert [d.id for d in row.dossiers] == [w.a2.id, w.a1.id, w.a3.id]
    assert row.ranking_complete and row.given == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "regional_group.ranking_saved"))
    assert event.actor_id == w.bruno.id
    assert event.summary == {"before": {}, "after": {str(w.a1.id): 2, str(w.a2.id): 1, str(w.a3.id): 3}}

    regional.save_ranking(w.ara, {w.a1.id: 1, w.a2.id: 2, w.a3.id: 3}, by=w.alice, now=utcnow())  # a swap
    db.session.commit()
    assert {d: o.rank for d, o in regional.opinions_by_dossier(w.call).items()} == {
        w.a1.id: 1, w.a2.id: 2, w.a3.id: 3}


# --- the deadline -----------------------------------------------------------------------------------------

def test_after_the_regional_deadline_the_opinions_are_locked_until_an_admin_extends_it(w, db, admin_user):
    w.call.regional_deadline_at = utcnow() - timedelta(minutes=1)
    w.call.closes_at = utcnow() - timedelta(days=1)  # in review: submissions closed (the deadline's rule)
    db.session.commit()

    with pytest.raises(DomainError):
        _opinion(w, w.a1, w.ara, w.alice)
    db.session.rollback()
    with pytest.raises(DomainError):
        regional.save_ranking(w.ara, {w.a1.id: 1, w.a2.id: 2, w.a3.id: 3}, by=w.alice, now=utcnow())
    db.session.rollback()
    with pytest.raises(DomainError) as refused:
        regional.set_regional_deadline(w.call, utcnow() - timedelta(hours=1), by=admin_user, now=utcnow())
    assert refused.value.field == "deadline"

    regional.set_regional_deadline(w.call, utcnow() + timedelta(days=2), by=admin_user, now=utcnow())
    db.session.commit()
    assert _opinion(w, w.a1, w.ara, w.alice).status == OpinionStatus.SUBMITTED
    assert db.session.scalar(sa.select(AuditEvent.actor_id).where(
        AuditEvent.action == "call.regional_deadline_set")) == admin_user.id


def test_in_deliberation_the_opinions_are_locked(w, db):
    w.call.status = CallStatus.DELIBERATION
    db.session.commit()
    with pytest.raises(DomainError):
        _opinion(w, w.a1, w.ara, w.alice)


# --- conflicts and groups ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    lambda w: {"pole_id": w.a1.pole_id},
    lambda w: {"siren": w.a1.carrier_siren},
    lambda w: {"siren": w.a1.members[0].siren},
    lambda w: {"department": "69"},
])
def test_a_conflicted_member_neither_sees_the_dossier_nor_takes_part(w, db, target, client, login_as):
    for d in (w.a2, w.a3):
        d.departments = ["38"]
    w.a1.members[0].siret = carrier_siret_for(77)  # a member of Lyon's pole only (the builder shares SIRETs)
    db.session.commit()
    w.conflict(w.alice, **target(w))

    assert not can_give_regional_opinion(w.alice, w.a1)
    assert can_give_regional_opinion(w.bruno, w.a1)
    assert conflicted_dossier_ids(w.alice, [w.a1, w.a2, w.a3]) == {w.a1.id}
    assert not can_rank_regional_group(w.alice, w.ara, [w.a1, w.a2, w.a3])
    assert can_rank_regional_group(w.bruno, w.ara, [w.a1, w.a2, w.a3])

    login_as(w.alice)
    page = client.get("/rapporteur/appels/ptce-regional/region").get_data(as_text=True)
    assert "Pôle Grenoble Alpin" in page and "Pôle Lyon Solidaire" not in page
    assert 'name="rang-' not in page  # the ranking would place the hidden dossier too
    url = f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}"
    assert client.get(url).status_code == 404
    response = client.post(url, data={"recommendation": "defavorable", "motivation": "Non."})
    assert response.status_code == 404
    response = client.post("/rapporteur/appels/ptce-regional/region/classement",
                           data={f"rang-{d.id}": str(i) for i, d in enumerate([w.a1, w.a2, w.a3], 1)})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(RegionalOpinion.id))) == 0


def test_a_cleared_conflict_and_another_calls_conflict_do_not_exclude(w, db, make_call, admin_user):
    other = make_call(slug="autre-appel")
    db.session.add(ConflictOfInterest(reviewer_id=w.alice.id, call_id=other.id, pole_id=w.a1.pole_id))
    db.session.add(ConflictOfInterest(reviewer_id=w.alice.id, call_id=w.call.id, pole_id=w.a1.pole_id,
                                      cleared_at=utcnow(), cleared_by_id=admin_user.id, cleared_reason="Erreur."))
    db.session.commit()
    assert can_give_regional_opinion(w.alice, w.a1)


def test_a_member_of_another_regions_group_cannot_see_nor_write(w, db, client, login_as):
    login_as(w.iris)
    page = client.get("/rapporteur/appels/ptce-regional/region").get_data(as_text=True)
    assert "Pôle Paris Est" in page and "Pôle Lyon Solidaire" not in page
    url = f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"recommendation": "favorable", "motivation": "Oui."}).status_code == 404
    assert not can_give_regional_opinion(w.iris, w.a1)
    assert db.session.scalar(sa.select(sa.func.count(RegionalOpinion.id))) == 0


# --- the pages, as a member -------------------------------------------------------------------------------

def test_a_member_gives_the_avis_and_ranks_the_region(w, db, client, login_as):
    login_as(w.alice)
    page = client.get("/rapporteur/appels/ptce-regional/region").get_data(as_text=True)
    assert all(name in page for name in ("Pôle Lyon Solidaire", "Pôle Grenoble Alpin", "Pôle Clermont Volcans"))
    assert "Pôle Paris Est" not in page and "Pôle brouillon ARA" not in page and "Pôle irrecevable" not in page
    assert "0 / 3 avis rendus" in page

    url = f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"recommendation": "reserve", "motivation": "   ", "seen": ""})
    assert response.status_code == 400
    assert "la motivation est obligatoire" in response.get_data(as_text=True)
    response = client.post(url, data={"recommendation": "reserve", "motivation": "Gouvernance à préciser.",
                                      "seen": ""})
    assert response.status_code == 302
    opinion = regional.opinions_by_dossier(w.call)[w.a1.id]
    assert (opinion.recommendation.value, opinion.author_id) == ("reserve", w.alice.id)

    ranking = "/rapporteur/appels/ptce-regional/region/classement"
    typed = {f"rang-{w.a1.id}": "2", f"rang-{w.a2.id}": "2", f"rang-{w.a3.id}": "x"}
    response = client.post(ranking, data=typed)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Le rang 2 est donné à plusieurs dossiers." in body and 'value="x"' in body  # what was typed stays
    response = client.post(ranking, data={f"rang-{w.a1.id}": "2", f"rang-{w.a2.id}": "1", f"rang-{w.a3.id}": "3"})
    assert response.status_code == 302
    db.session.expire_all()
    assert {d: o.rank for d, o in regional.opinions_by_dossier(w.call).items()} == {
        w.a1.id: 2, w.a2.id: 1, w.a3.id: 3}


def test_a_save_over_an_avis_changed_meanwhile_keeps_the_text_typed(w, client, login_as):
    login_as(w.bruno)
    url = f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}"
    client.get(url)
    _opinion(w, w.a1, w.ara, w.alice, motivation="L'avis d'Alice.")

    response = client.post(url, data={"recommendation": "defavorable", "motivation": "Le texte de Bruno.",
                                      "seen": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Le texte de Bruno." in body and "L&#39;avis d&#39;Alice." in body
    assert regional.opinions_by_dossier(w.call)[w.a1.id].motivation == "L'avis d'Alice."


def test_after_the_deadline_the_pages_show_the_lock_and_refuse(w, db, client, login_as):
    w.call.regional_deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login_as(w.alice)
    page = client.get("/rapporteur/appels/ptce-regional/region").get_data(as_text=True)
    assert 'id="verrouille"' in page and 'name="rang-' not in page
    url = f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}"
    assert 'name="motivation"' not in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"recommendation": "favorable", "motivation": "Trop tard.", "seen": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "verrouillés" in body and "Trop tard." in body  # the text stays
    assert regional.opinions_by_dossier(w.call) == {}


# --- who may open what ------------------------------------------------------------------------------------

def _routes(w):
    base = "/rapporteur/appels/ptce-regional/region"
    return [("GET", base), ("POST", f"{base}/classement"), ("GET", f"{base}/dossiers/{w.a1.id}"),
            ("POST", f"{base}/dossiers/{w.a1.id}"), ("GET", "/admin/appels/ptce-regional/avis-regionaux"),
            ("POST", "/admin/appels/ptce-regional/avis-regionaux/echeance")]


@pytest.mark.parametrize("who", ["outsider", "owner", "iris", "conflicted", "anonymous", "other_call_member"])
def test_no_one_outside_the_group_gets_data_on_any_route(w, db, client, login_as, who, make_call):
    _opinion(w, w.a1, w.ara, w.bruno, motivation="Motivation confidentielle du groupe.")
    if who == "conflicted":
        w.conflict(w.alice, pole_id=w.a1.pole_id)
        user = w.alice
    elif who == "other_call_member":  # a member of the ARA group of another call
        other = make_call(slug="autre-appel", status=CallStatus.REVIEW, has_regional_instruction=True)
        group = RegionalGroup(call_id=other.id, region_code=ARA, name="ARA ailleurs")
        db.session.add(group)
        db.session.commit()
        user = w.member(group, "ailleurs@example.org", "Ailleurs", call=other)
    else:
        user = {"outsider": w.outsider, "owner": w.owner, "iris": w.iris, "anonymous": None}[who]
    if user is not None:
        login_as(user)

    for method, url in _routes(w):
        if who in ("iris",) and method == "GET" and url.endswith("/region"):
            continue  # her own group's workspace: tested above, it never shows ARA's dossiers
        if who == "conflicted" and (url.endswith("/region")):
            continue  # her group's workspace, without the dossier (tested above)
        response = client.open(url, method=method, data={"recommendation": "favorable", "motivation": "Pirate.",
                                                         f"rang-{w.a1.id}": "1", "deadline": "2030-01-01T10:00"})
        own_ranking = who == "iris" and url.endswith("/classement")  # her group's: refused, IDF's ranks missing
        assert response.status_code in ((400,) if own_ranking else (302, 403, 404)), (who, method, url)
        if response.status_code == 302:
            assert "/compte/connexion" in response.headers["Location"], (who, method, url)
        body = response.get_data(as_text=True)
        assert "Pôle Lyon Solidaire" not in body and "Motivation confidentielle" not in body, (who, url)
    db.session.expire_all()
    assert regional.opinions_by_dossier(w.call)[w.a1.id].motivation == "Motivation confidentielle du groupe."
    assert w.call.regional_deadline_at is None


def test_a_call_without_regional_instruction_has_no_workspace(w, db, client, login_as):
    w.call.has_regional_instruction = False
    db.session.commit()
    login_as(w.alice)
    assert client.get("/rapporteur/appels/ptce-regional/region").status_code == 404
    assert client.get(f"/rapporteur/appels/ptce-regional/region/dossiers/{w.a1.id}").status_code == 404


# --- the national view ------------------------------------------------------------------------------------

def _card(page: str, code: str) -> str:
    start = page.index(f'id="region-{code}"')
    end = page.find('id="region-', start + 1)
    return page[start:end if end > 0 else len(page)]


def test_the_admin_sees_the_regional_rankings_side_by_side(w, db, client, login_as, admin_user):
    _opinion(w, w.a2, w.ara, w.alice, "favorable", "Très bon ancrage territorial.")
    regional.save_ranking(w.ara, {w.a1.id: 3, w.a2.id: 1, w.a3.id: 2}, by=w.alice, now=utcnow())
    db.session.commit()
    login_as(admin_user)

    page = client.get("/admin/appels/ptce-regional/avis-regionaux").get_data(as_text=True)

    ara = _card(page, ARA)
    assert ara.index("Pôle Grenoble Alpin") < ara.index("Pôle Clermont Volcans") < ara.index("Pôle Lyon Solidaire")
    assert "1 / 3 avis rendus" in ara and "2 avis manquants" in ara
    assert "Très bon ancrage territorial." in ara and "Favorable" in ara
    assert f"/admin/dossiers/{w.a2.id}" in ara  # the reading view (or the dossier page before it exists)
    idf = _card(page, IDF)
    assert "0 / 1 avis rendus" in idf and "Classement incomplet" in idf
    bretagne = _card(page, BRE)
    assert page.index('id="region-11"') < page.index('id="region-84"') < page.index('id="region-53"')
    assert "Sans groupe régional" in bretagne and "Pôle Rennes Breizh" in bretagne


def test_the_admin_extends_the_deadline_in_paris_time(w, db, client, login_as, admin_user):
    w.call.closes_at = utcnow() - timedelta(days=1)  # in review: submissions closed (the deadline's rule)
    db.session.commit()
    login_as(admin_user)
    url = "/admin/appels/ptce-regional/avis-regionaux/echeance"
    response = client.post(url, data={"deadline": "2020-01-01T10:00"})
    assert response.status_code == 400 and "Choisissez une échéance à venir." in response.get_data(as_text=True)
    response = client.post(url, data={"deadline": "pas une date"})
    assert response.status_code == 400
    year = utcnow().year + 1
    assert client.post(url, data={"deadline": f"{year}-07-01T18:00"}).status_code == 302
    db.session.expire_all()
    assert w.call.regional_deadline_at.isoformat() == f"{year}-07-01T16:00:00+00:00"  # 18:00 in Paris, summer


# --- query counts -----------------------------------------------------------------------------------------

def _add_ara(w, n, start):
    for i in range(n):
        dossier = w.dossier(f"Pôle ARA {start + i}", ARA)
        _opinion(w, dossier, w.ara, [w.alice, w.bruno][i % 2], motivation=f"Motivation {start + i}.")


def _count(client, db, url):
    db.session.expire_all()
    with count_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return statements


@pytest.mark.parametrize("as_admin", [False, True])
def test_both_pages_run_the_same_number_of_queries_at_n_and_3n(w, db, client, login_as, admin_user, as_admin):
    url = "/admin/appels/ptce-regional/avis-regionaux" if as_admin else "/rapporteur/appels/ptce-regional/region"
    w.conflict(w.bruno, department="99")  # some conflict rows to read, none matching
    login_as(admin_user if as_admin else w.bruno)
    _add_ara(w, 2, 0)
    client.get(url)
    few = _count(client, db, url)
    _add_ara(w, 4, 2)
    many = _count(client, db, url)
    assert "Pôle ARA 5" in client.get(url).get_data(as_text=True)
    assert len(many) == len(few), "\n\n".join(s[:160] for s in [*few, "----- 3N -----", *many])


def test_the_members_read_their_regions_dossiers_on_the_reviewer_reading_view(w, app, client, login_as):
    """Once the reading view exists (another part of issue 10), it lets the group's members without conflict
    read the dossiers they give an avis on, and no one else."""
    w.conflict(w.bruno, pole_id=w.a1.pole_id)
    url = f"/rapporteur/dossiers/{w.a1.id}"
    for user, status in [(w.alice, 200), (w.bruno, 404), (w.iris, 404), (w.outsider, 404)]:
        login_as(user)
        assert client.get(url).status_code == status, user.email
        if w.a1.attachments:
            download = f"{url}/pieces/{w.a1.attachments[0].id}/telecharger"
            assert client.get(download).status_code == (302 if status == 200 else 404), user.email


def test_the_regional_deadline_lies_between_the_submission_deadline_and_the_review_deadline(
        w, db, client, login_as, admin_user):
    from datetime import datetime, timedelta

    from ptce_aap.domain.formatting import PARIS

    now = utcnow()
    w.call.closes_at = now + timedelta(days=10)
    w.call.review_deadline_at = now + timedelta(days=40)
    db.session.commit()
    login_as(admin_user)
    url = "/admin/appels/ptce-regional/avis-regionaux/echeance"

    def local(when: datetime) -> str:
        return when.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")

    before_close = client.post(url, data={"deadline": local(now + timedelta(days=5))})
    body = before_close.get_data(as_text=True)
    assert before_close.status_code == 422 and "postérieure à la date limite de dépôt" in body
    assert local(now + timedelta(days=5)) in body  # what was typed stays
    after_review = client.post(url, data={"deadline": local(now + timedelta(days=41))})
    assert after_review.status_code == 422
    assert "doit précéder la date limite des évaluations nationales" in after_review.get_data(as_text=True)
    db.session.expire_all()
    assert w.call.regional_deadline_at is None or w.call.regional_deadline_at > w.call.closes_at
    assert client.post(url, data={"deadline": local(now + timedelta(days=20))}).status_code == 302
