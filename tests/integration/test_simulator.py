"""The selection simulator's pages and the saved scenarios (issue 11 point 6): exact proposals on a small call,
bad input beside its field, constraints that clash explained (never a 500), scenarios saved, compared,
deleted after confirmation, and applied as decisions (envelope held, stale scenario refused); admins only.

The call of ``tests.integration.test_ranking.ranked``, scored « brute »: Alpha 100 (80 000 €, émergence),
« =HYPERLINK » 80 (50 000 €, émergence), Charlie 60 (60 000 €), Bravo 50 (90 000 €); envelope 200 000 €."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, DecisionOutcome, Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.decisions import Decision
from ptce_aap.models.scenarios import SelectionScenario
from tests.integration.test_ranking import as_admin, ranked  # noqa: F401  (fixtures)

HYP = '=HYPERLINK("x")'


def page(response) -> str:
    return " ".join(unescape(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ").split())


def table_ids(html: str, table: str) -> list[int]:
    body = html.split(f'id="{table}"')[1].split("</tbody>")[0]
    return [int(i) for i in re.findall(r'<tr data-dossier="(\d+)"', body)]


def run(client, call, **fields):
    data = {"note": "raw", "min_score": "", "forced_in": "", "forced_out": "", "amounts": "", "quota_0": "",
            "cap_0": "", "quota_1": "", "cap_1": ""} | fields
    return client.post(f"/admin/appels/{call.slug}/simulateur", data=data)


def test_the_form_prefills_the_category_quota(client, as_admin, ranked):  # noqa: F811
    html = page(client.get(f"/admin/appels/{ranked['call'].slug}/simulateur"))
    assert re.search(r'<input[^>]*name="quota_0"[^>]*value="1"', html)
    assert 'aria-current="page" data-page="simulateur"' in html


def test_the_form_lists_the_dossiers_with_the_numbers_its_fields_take(client, as_admin, ranked):  # noqa: F811
    """The forced and adjusted fields name dossiers by number: the page lists them, in rank order, before a run
    and after a refused one."""
    call, dossiers = ranked["call"], ranked["dossiers"]
    html = page(client.get(f"/admin/appels/{call.slug}/simulateur"))
    listed = table_ids(html, "dossiers-en-lice")
    assert sorted(listed) == sorted(d.id for d in dossiers.values())
    ranking = page(client.get(f"/admin/appels/{call.slug}/classement"))
    assert listed == [int(i) for i in re.findall(r'<td data-number>(\d+)</td>', ranking)]  # the same numbers
    refused = page(run(client, call, forced_in="abc"))
    assert sorted(table_ids(refused, "dossiers-en-lice")) == sorted(listed)
    assert "dossiers-en-lice" not in page(run(client, call))  # a result shows its own tables


def test_a_run_proposes_explains_and_costs_each_constraint(client, as_admin, ranked, db):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    free = page(run(client, call))
    assert table_ids(free, "laureats") == [d["Pôle Alpha"].id, d[HYP].id, d["Pôle Charlie"].id]
    assert "Total des notes : 240" in free and "Enveloppe utilisée : 190 000 € sur 200 000 €" in free
    assert "Enveloppe restante : 10 000 €" in free
    waiting = free.split('id="attente"')[1]
    assert table_ids(free, "attente") == [d["Pôle Bravo"].id]
    assert "l’enveloppe restante ne suffit pas (il manque 80 000 €)" in waiting
    quota = page(run(client, call, quota_0="1"))
    assert table_ids(quota, "laureats") == [d[HYP].id, d["Pôle Charlie"].id, d["Pôle Bravo"].id]
    assert "Total des notes : 190" in quota and "Enveloppe restante : 0 €" in quota
    costs = quota.split('id="couts"')[1].split("</tbody>")[0]
    assert "au plus 1 lauréat dans la catégorie « Émergence »" in costs and "<td data-cost>50</td>" in costs
    reasons = quota.split('id="attente"')[1].split("</tbody>")[0]
    assert "l’enveloppe restante ne suffit pas (il manque 80 000 €) ; quota de la catégorie atteint" in reasons
    assert db.session.scalar(sa.select(sa.func.count(SelectionScenario.id))) == 0  # a run writes nothing


def test_bad_input_is_shown_beside_its_field_and_kept(client, as_admin, ranked):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    response = run(client, call, min_score="beaucoup", forced_in="999999", amounts=f"{d['Pôle Alpha'].id} : 95 000")
    html = page(response)
    assert response.status_code == 422
    assert 'value="beaucoup"' in html and "Saisissez un nombre, par exemple 2 ou 2,5." in html
    assert "Numéros de dossier inconnus dans ce classement : 999999." in html
    assert f"Ligne 1 : le dossier {d['Pôle Alpha'].id} peut recevoir au plus 80 000 €." in html
    assert 'id="resultat"' not in html


def test_constraints_that_clash_are_explained_not_a_500(client, as_admin, ranked):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    forced = ", ".join(str(d[p].id) for p in ("Pôle Alpha", "Pôle Bravo", HYP))
    response = run(client, call, forced_in=forced)
    html = page(response)
    assert response.status_code == 200
    conflict = html.split('id="conflit"')[1].split("</div>")[0]
    assert "Ces contraintes ne peuvent pas être respectées ensemble" in conflict
    assert "Les dossiers retenus d'office demandent 220 000 € en tout." in conflict
    response = run(client, call, forced_in=str(d["Pôle Alpha"].id), forced_out=str(d["Pôle Alpha"].id))
    assert "est à la fois retenu et écarté d'office" in page(response)


def save(client, call, name, **fields):
    html = run(client, call, **fields).get_data(as_text=True)
    params = unescape(re.search(r'name="params" type="hidden" value="([^"]*)"', html).group(1))
    return client.post(f"/admin/appels/{call.slug}/simulateur/enregistrer", data={"name": name, "params": params})


def test_scenarios_are_saved_compared_and_deleted(client, as_admin, ranked, db, admin_user):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    assert save(client, call, "Quota émergence", quota_0="1").status_code == 302
    assert save(client, call, "Sans quota").status_code == 302
    again = save(client, call, "Sans quota")
    assert again.status_code == 422 and "Un scénario porte déjà ce nom dans cet appel." in page(again)
    first, second = db.session.scalars(sa.select(SelectionScenario).order_by(SelectionScenario.id)).all()
    assert first.result["selected"] == [
        {"id": d[HYP].id, "pole": HYP, "rank": 2, "score": "80.0", "amount": "50000.00"},
        {"id": d["Pôle Charlie"].id, "pole": "Pôle Charlie", "rank": 3, "score": "60.0", "amount": "60000.00"},
        {"id": d["Pôle Bravo"].id, "pole": "Pôle Bravo", "rank": 4, "score": "50.0", "amount": "90000.00"}]
    assert (first.params["quotas"], first.score_kind, first.created_by_id) == ({"emergence": 1}, "raw", admin_user.id)
    listing = page(client.get(f"/admin/appels/{call.slug}/scenarios"))
    assert "Quota émergence" in listing and listing.count("À jour") == 2
    compared = page(client.get(f"/admin/appels/{call.slug}/scenarios/comparer?ids={first.id}&ids={second.id}"))
    rows = {int(i): text for i, text in re.findall(r'<tr data-dossier="(\d+)">(.*?)</tr>', compared)}
    assert "Lauréat dans une partie des scénarios seulement" in rows[d["Pôle Alpha"].id]
    assert "Non lauréat" in rows[d["Pôle Alpha"].id] and "Identique" in rows[d[HYP].id]
    assert "Non lauréat" in rows[d["Pôle Bravo"].id]
    assert "<td>190</td><td>240</td>" in compared.replace("> <", "><")
    rerun = page(client.get(f"/admin/appels/{call.slug}/simulateur?scenario={first.id}"))
    assert table_ids(rerun, "laureats") == [line["id"] for line in first.result["selected"]]
    assert 'name="quota_0" type="text" value="1"' in rerun and 'id="enregistrer"' in rerun
    one = client.get(f"/admin/appels/{call.slug}/scenarios/comparer?ids={first.id}")
    assert one.status_code == 302
    confirm = client.get(f"/admin/appels/{call.slug}/scenarios/{first.id}/supprimer")
    assert "Supprimer le scénario « Quota émergence » ?" in page(confirm)
    assert client.post(f"/admin/appels/{call.slug}/scenarios/{first.id}/supprimer").status_code == 302
    assert db.session.scalars(sa.select(SelectionScenario.name)).all() == ["Sans quota"]
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "scenario.deleted")).one()
    assert event.summary["name"] == "Quota émergence"


def test_a_scenario_is_applied_as_decisions(client, as_admin, ranked, db):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    assert save(client, call, "Alpha ajusté", amounts=f"{d['Pôle Alpha'].id} : 70 000").status_code == 302
    scenario = db.session.scalars(sa.select(SelectionScenario)).one()
    url = f"/admin/appels/{call.slug}/scenarios/{scenario.id}/appliquer"
    assert client.get(url).status_code == 302  # the call does not deliberate yet
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    html = page(client.get(url))
    outcomes = dict(re.findall(r'<tr data-dossier="(\d+)">.*?<td data-outcome>([^<]+)</td>', html))
    assert outcomes == {str(d["Pôle Alpha"].id): "Lauréat", str(d[HYP].id): "Lauréat",
                        str(d["Pôle Charlie"].id): "Lauréat", str(d["Pôle Bravo"].id): "Liste complémentaire"}
    assert "Montant total accordé : 180 000 € sur une enveloppe de 200 000 €." in html
    refused = client.post(url, data={"motivation_laureate": "", "motivation_waitlisted": "Attente.",
                                     "payment_terms": "unique"})
    assert refused.status_code == 422 and "La motivation est obligatoire." in page(refused)
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    response = client.post(url, data={"motivation_laureate": "Classé {rang} sur {total}, note {note}.",
                                      "motivation_waitlisted": "En attente, classé {rang}.",
                                      "motivation_rejected": "Non.", "payment_terms": "unique"})
    assert response.status_code == 302
    decisions = {x.dossier_id: x for x in db.session.scalars(sa.select(Decision))}
    assert {k: (v.outcome, v.amount_eur) for k, v in decisions.items()} == {
        d["Pôle Alpha"].id: (DecisionOutcome.LAUREATE, Decimal("70000.00")),
        d[HYP].id: (DecisionOutcome.LAUREATE, Decimal("50000.00")),
        d["Pôle Charlie"].id: (DecisionOutcome.LAUREATE, Decimal("60000.00")),
        d["Pôle Bravo"].id: (DecisionOutcome.WAITLISTED, None)}
    assert decisions[d["Pôle Alpha"].id].motivation == "Classé 1 sur 4, note 100,0."
    assert decisions[d["Pôle Bravo"].id].motivation == "En attente, classé 4."
    assert sum(x.amount_eur or 0 for x in decisions.values()) <= call.envelope_eur
    assert db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "scenario.applied")).all()


def test_a_scenario_whose_data_changed_is_refused(client, as_admin, ranked, db):  # noqa: F811
    call, d = ranked["call"], ranked["dossiers"]
    assert save(client, call, "Sans quota").status_code == 302
    scenario = db.session.scalars(sa.select(SelectionScenario)).one()
    call.status = CallStatus.DELIBERATION
    d["Pôle Charlie"].amount_requested_eur = Decimal("65000")
    db.session.commit()
    response = client.get(f"/admin/appels/{call.slug}/scenarios/{scenario.id}/appliquer")
    assert response.status_code == 302
    listing = page(client.get(f"/admin/appels/{call.slug}/scenarios"))
    assert "ont changé depuis l'enregistrement de ce scénario" in listing and "Données modifiées depuis" in listing
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_every_simulator_and_ranking_url_refuses_applicants_and_reviewers(client, login_as, make_user, ranked,  # noqa: F811
                                                                          db, role):
    call = ranked["call"]
    scenario = SelectionScenario(call_id=call.id, name="S", params={}, result={"selected": [], "waiting": []},
                                 score_kind="raw")
    db.session.add(scenario)
    db.session.commit()
    login_as(make_user(f"{role.value}@example.org", roles=(role,)))
    base = f"/admin/appels/{call.slug}"
    for url in ("/classement", "/classement.csv", "/classement.xlsx", "/simulateur", "/scenarios",
                f"/scenarios/comparer?ids={scenario.id}", f"/scenarios/{scenario.id}/supprimer",
                f"/scenarios/{scenario.id}/appliquer"):
        assert client.get(base + url).status_code == 403, url
    for url in ("/simulateur", "/simulateur/enregistrer", f"/scenarios/{scenario.id}/supprimer",
                f"/scenarios/{scenario.id}/appliquer"):
        assert client.post(base + url, data={"name": "x"}).status_code == 403, url
    assert db.session.scalar(sa.select(sa.func.count(SelectionScenario.id))) == 1


def test_scenario_pages_read_a_constant_number_of_queries(client, as_admin, ranked, db):  # noqa: F811
    from ptce_aap.enums import Recommendation
    from tests.fixtures.queries import count_queries

    call = ranked["call"]
    call.status = CallStatus.DELIBERATION  # set-up: the apply page is open; dossiers were built before
    db.session.commit()

    def counts(name):
        assert save(client, call, name).status_code == 302
        scenario = db.session.scalars(sa.select(SelectionScenario).where(SelectionScenario.name == name)).one()
        base = f"/admin/appels/{call.slug}"
        out = []
        for url in (f"{base}/scenarios", f"{base}/scenarios/{scenario.id}/appliquer",
                    f"{base}/simulateur?scenario={scenario.id}"):
            db.session.expire_all()
            with count_queries(db) as statements:
                assert client.get(url).status_code == 200, url
            out.append(len(statements))
        return out

    before = counts("Quatre dossiers")
    call.status = CallStatus.OPEN  # set-up: more dossiers come in
    db.session.commit()
    for i in range(6):
        ranked["add"](f"Pôle en plus {i}", "52", "developpement", "10000", 2, Recommendation.RESERVED)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    assert counts("Dix dossiers") == before


def test_a_scenario_with_a_dossier_still_in_review_is_not_applied(client, as_admin, ranked, db,  # noqa: F811
                                                                  make_eligible_dossier):
    call = ranked["call"]
    make_eligible_dossier(call=call, pole_name="Pôle en cours")
    assert save(client, call, "Tous").status_code == 302
    scenario = db.session.scalars(sa.select(SelectionScenario)).one()
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    url = f"/admin/appels/{call.slug}/scenarios/{scenario.id}/appliquer"
    shown = page(client.get(url))
    assert "ne sont pas prêts pour une décision (leur instruction n’est pas terminée) : Pôle en cours." in shown
    assert 'id="appliquer"' not in shown  # nothing to confirm: the way to the expected reviews instead
    response = client.post(url, data={"motivation_laureate": "Oui.", "motivation_waitlisted": "Attente.",
                                      "motivation_rejected": "Non.", "payment_terms": "unique"})
    assert response.status_code == 422
    assert "(leur instruction n'est pas terminée) : Pôle en cours." in page(response)
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


def test_a_forged_save_is_refused_without_a_500(client, as_admin, ranked, db):  # noqa: F811
    url = f"/admin/appels/{ranked['call'].slug}/simulateur/enregistrer"
    for params in ('{"score_kind": "autre"}', "pas du json", '{"quotas": {"emergence": "x"}}', "[1]",
                   '{"caps": {"emergence": "NaN"}}', '{"forced_in": ["a"]}', '{"amounts": {"2": "1e309"}}',
                   '{"amounts": {"2": "-5"}}', '{"quotas": {"x": 1000000000000000000000000000000}}',
                   '{"min_score": -1000}', '{"min_score": "Infinity"}', '{"forced_out": [99999999999999999999]}',
                   '{"forced_in": [true]}'):
        response = client.post(url, data={"name": "Forgé", "params": params})
        assert response.status_code in (400, 422), params
    assert db.session.scalar(sa.select(sa.func.count(SelectionScenario.id))) == 0
