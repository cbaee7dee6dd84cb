"""Editing a draft dossier: saving what was typed, flags, optimistic locking, access, query counts."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.enums import DossierStatus, LegalForm
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.dossiers import Dossier
from tests.fixtures.queries import count_queries


def _post(client, dossier, section, data, **kw):
    return client.post(f"/porteur/dossiers/{dossier.id}/{section}", data=data, **kw)


def _reload(db, dossier):
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


def test_new_dossier_from_an_open_call(client, login_as, applicant, open_call, db):
    login_as(applicant)
    response = client.post(f"/porteur/appels/{open_call.slug}/nouveau", data={"pole_name": "Pôle Sud Coop"})
    dossier = db.session.scalar(sa.select(Dossier))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/porteur/dossiers/{dossier.id}"
    assert dossier.pole_name == "Pôle Sud Coop"
    assert dossier.status == DossierStatus.DRAFT
    assert [t.to_status for t in dossier.transitions] == [DossierStatus.DRAFT]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pôle Sud Coop" in page
    assert "Incomplète" in page


def test_closed_call_refuses_new_dossier(client, login_as, applicant, make_call, db):
    from datetime import timedelta

    from ptce_aap.models.base import utcnow

    call = make_call(closes_at=utcnow() - timedelta(seconds=1))
    login_as(applicant)
    response = client.post(f"/porteur/appels/{call.slug}/nouveau", data={"pole_name": "Trop tard"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 0


def test_identity_saves_invalid_values_and_flags_them(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _post(client, dossier, "identite", {
        "version": dossier.version, "pole_name": "Pôle <script>alert(1)</script>",
        "carrier_siret": "123 456 789", "carrier_legal_form": "association", "cooperation_start_year": "deux mille",
        "commune_insee": "69123", "region_code": "84", "departments": ["69", "01"], "territory_types": ["rural"],
    })
    assert response.status_code == 302
    d = _reload(db, dossier)
    assert d.pole_name == "Pôle <script>alert(1)</script>"  # kept as typed…
    assert d.carrier_siret == "123456789"
    assert d.carrier_legal_form == LegalForm.ASSOCIATION
    assert d.cooperation_start_year is None
    assert d.raw_inputs == {"cooperation_start_year": "deux mille"}
    assert d.departments == ["69", "01"]
    page = client.get(f"/porteur/dossiers/{d.id}/identite").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page  # …and escaped when shown
    assert "Pôle &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'value="deux mille"' in page
    assert "Le numéro SIRET n&#39;est pas valide" in page
    assert "« deux mille » n&#39;est pas une année ; saisissez-la sur quatre chiffres" in page
    summary = client.get(f"/porteur/dossiers/{d.id}").get_data(as_text=True)
    assert "À corriger" in summary


def test_every_save_is_audited_with_its_author(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "projet", {"version": dossier.version, "summary": "Un résumé."})
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "dossier.updated")).one()
    assert event.actor_id == applicant.id
    assert event.summary["fields"] == ["summary"]
    assert event.summary["after"] == {"summary": "Un résumé."}
    assert _reload(db, dossier).updated_by_id == applicant.id


def test_budget_amounts_negative_or_absurd_are_kept_and_flagged(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "budget", {
        "version": dossier.version, "total_budget_eur": "-5", "amount_requested_eur": "12 000 000 000",
        "expenses-0-label": "Salaires", "expenses-0-amount_eur": "100 000,50",
        "resources-0-source": "etat", "resources-0-funder": "État", "resources-0-label": "AAP",
        "resources-0-amount_eur": "beaucoup", "resources-0-status": "sollicite",
    })
    d = _reload(db, dossier)
    assert d.total_budget_eur is None and d.amount_requested_eur is None
    assert d.raw_inputs == {"total_budget_eur": "-5", "amount_requested_eur": "12 000 000 000",
                            "lines-1-amount_eur": "beaucoup"}
    assert [(ln.label, ln.amount_eur) for ln in d.financing_lines] == [
        ("Salaires", Decimal("100000.50")), ("AAP", None)]
    page = client.get(f"/porteur/dossiers/{d.id}/budget").get_data(as_text=True)
    assert 'value="-5"' in page and 'value="beaucoup"' in page
    assert "« beaucoup » n&#39;est pas un montant valide" in page


def test_overlong_summary_is_saved_and_flagged(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "projet", {"version": dossier.version, "summary": "x" * 1600})
    d = _reload(db, dossier)
    assert len(d.summary) == 1600
    page = client.get(f"/porteur/dossiers/{d.id}").get_data(as_text=True)
    assert "Résumé du projet : 1600 caractères pour 1500 au maximum." in page


def test_member_rows_added_and_removed_without_javascript(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _post(client, dossier, "membres", {"version": dossier.version, "row_action": "add_member"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<input autofocus class="fr-input" id="members-0-name"' in page  # an empty row to fill, focused
    page = client.get(f"/porteur/dossiers/{dossier.id}/membres").get_data(as_text=True)
    assert 'id="members-0-name"' not in page  # an empty row is not stored
    d = _reload(db, dossier)
    rows = {"version": d.version,
            "members-0-name": "Coop A", "members-0-category": "ess", "members-0-department": "69",
            "members-0-role": "fondateur", "members-0-siret": "73282932000074", "members-0-is_legal_person": "y",
            "members-1-name": "Entreprise B", "members-1-category": "enterprise", "members-1-department": "01",
            "members-1-role": "membre", "members-1-siret": "", "members-1-is_legal_person": "y"}
    _post(client, d, "membres", rows)
    d = _reload(db, dossier)
    assert [(m.name, m.category.value, m.department) for m in d.members] == [
        ("Coop A", "ess", "69"), ("Entreprise B", "enterprise", "01")]
    _post(client, d, "membres", {**rows, "version": d.version, "row_action": "remove_member:0"})
    d = _reload(db, dossier)
    assert [m.name for m in d.members] == ["Entreprise B"]


def test_stale_version_gets_conflict_screen_and_keeps_typed_text(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    stale = dossier.version
    _post(client, dossier, "projet", {"version": stale, "summary": "Version de l'onglet A"})
    response = _post(client, dossier, "projet", {"version": stale, "summary": "Version de l'onglet B"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Ce dossier a été modifié entre-temps" in page
    assert "Version de l&#39;onglet B" in page  # what the user typed is still in the form
    assert "Version de l&#39;onglet A" in page  # and the saved version is shown beside it
    assert _reload(db, dossier).summary == "Version de l'onglet A"
    # Saving again from the conflict screen deliberately keeps the user's version.
    current = _reload(db, dossier).version
    _post(client, dossier, "projet", {"version": current, "summary": "Version de l'onglet B"})
    assert _reload(db, dossier).summary == "Version de l'onglet B"


def test_autosave_returns_json_and_new_version(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    version = dossier.version
    response = _post(client, dossier, "projet", {"version": version, "strategy": "Auto"},
                     headers={"X-Autosave": "1"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["ok"] is True and body["version"] == version + 1
    assert body["saved_at"].startswith("Enregistré automatiquement : ")
    stale = _post(client, dossier, "projet", {"version": version, "strategy": "Autre"},
                  headers={"X-Autosave": "1"})
    assert stale.status_code == 409 and stale.get_json()["conflict"] is True


def test_autosave_reads_only_the_dossier_row_it_saves(client, login_as, make_dossier, applicant, db):
    """A section's autosave loads neither the members, plan lines and documents nor the call's lists (it runs no
    check), and its reply, read after the commit, refreshes the dossier's row alone (not eager loads of all of it);
    the reply is what the page shows once reloaded."""
    import html
    import re

    dossier = make_dossier(owner=applicant, complete=True, members=15)
    dossier_id, version = dossier.id, dossier.version
    login_as(applicant)
    db.session.expire_all()
    with count_queries(db) as statements:
        response = client.post(f"/porteur/dossiers/{dossier_id}/projet", data={"version": version, "strategy": "Auto"},
                               headers={"X-Autosave": "1"})
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is True and body["version"] == version + 1
    selects = [" ".join(s.split()) for s in statements if s.lstrip().startswith("SELECT")]
    read = [s.split(" FROM ", 1)[1].split()[0] for s in selects if " FROM " in s]  # each query's first table
    assert not {"members", "financing_lines", "attachments", "call_categories", "document_types"} & set(read), read
    assert read.count("dossiers") == 2, read  # the load, then the reply's refresh after the commit
    page = client.get(f"/porteur/dossiers/{dossier_id}/projet").get_data(as_text=True)
    assert html.unescape(re.search(r'name="base" type="hidden" value="([^"]*)"', page).group(1)) == body["base"]


def test_two_concurrent_saves_from_the_same_version_exactly_one_wins(_app, make_dossier, applicant, login_as,
                                                                     client, db):
    import threading

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    with client.session_transaction() as sess:
        cookie_session = dict(sess)
    version, dossier_id = dossier.version, dossier.id
    results = []
    barrier = threading.Barrier(2)

    def save(text):
        c = _app.test_client()
        with c.session_transaction() as sess:
            sess.update(cookie_session)
        barrier.wait()
        r = c.post(f"/porteur/dossiers/{dossier_id}/projet", data={"version": version, "summary": text},
                   headers={"X-Autosave": "1"})
        results.append((r.status_code, text))

    threads = [threading.Thread(target=save, args=(t,)) for t in ("Onglet 1", "Onglet 2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _text in results)
    assert codes == [200, 409]
    winner = next(text for code, text in results if code == 200)
    assert _reload(db, dossier).summary == winner
    assert _reload(db, dossier).version == version + 1


@pytest.mark.parametrize("path", ["", "/identite", "/membres", "/activites", "/projet", "/budget", "/pieces"])
def test_another_applicant_gets_404_on_every_dossier_url(client, login_as, make_dossier, make_user, path):
    dossier = make_dossier()
    intruder = make_user("intrus@example.org")
    make_dossier(owner=intruder, pole_name="Pôle de l'intrus")  # has data of their own
    login_as(intruder)
    assert client.get(f"/porteur/dossiers/{dossier.id}{path}").status_code == 404
    if path and path != "/pieces":
        response = client.post(f"/porteur/dossiers/{dossier.id}{path}", data={"summary": "piraté"})
        assert response.status_code == 404


def test_submitted_dossier_is_read_only(client, login_as, make_dossier, applicant, db):
    from ptce_aap.services.dossiers import set_dossier_status

    dossier = make_dossier(owner=applicant, complete=True)
    set_dossier_status(dossier, DossierStatus.SUBMITTED, by=applicant)
    db.session.commit()
    login_as(applicant)
    response = _post(client, dossier, "projet", {"version": dossier.version, "summary": "Modifié après dépôt"})
    assert response.status_code == 302
    assert _reload(db, dossier).summary == "Un pôle qui relocalise l'alimentation."


def _count_queries(db, fn):
    db.session.expire_all()  # the test client shares the test's session: start from a cold identity map
    with count_queries(db) as statements:
        fn()
    return len(statements)


@pytest.mark.parametrize("path", ["", "/membres", "/budget", "/pieces"])
def test_query_count_does_not_grow_with_rows(client, login_as, make_dossier, make_user, make_call, db, path):
    call = make_call()
    small_owner, big_owner = make_user(), make_user()
    small = make_dossier(call=call, owner=small_owner, complete=True, members=2)
    big = make_dossier(call=call, owner=big_owner, complete=True, members=40, pole_name="Grand pôle")
    from ptce_aap.enums import FinancingKind
    from ptce_aap.models.dossiers import FinancingLine

    for i in range(30):
        big.financing_lines.append(FinancingLine(position=10 + i, kind=FinancingKind.EXPENSE, label=f"L{i}",
                                                 amount_eur=Decimal(1)))
    db.session.commit()
    login_as(small_owner)
    n_small = _count_queries(db, lambda: client.get(f"/porteur/dossiers/{small.id}{path}"))
    login_as(big_owner)
    n_big = _count_queries(db, lambda: client.get(f"/porteur/dossiers/{big.id}{path}"))
    assert n_big == n_small


def test_dashboard_lists_only_my_dossiers_with_their_timeline(client, login_as, make_dossier, make_user, applicant,
                                                             db):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import submission

    mine = make_dossier(owner=applicant, pole_name="Mon pôle", complete=True)
    submission.submit_dossier(mine, by=applicant, now=utcnow())
    db.session.commit()
    make_dossier(owner=make_user("autre@example.org"), pole_name="Pôle d'un autre")
    login_as(applicant)
    page = client.get("/porteur/").get_data(as_text=True)
    assert "Mon pôle" in page and "Pôle d&#39;un autre" not in page
    timeline = page[page.index("Historique"):]
    assert timeline.index("Dossier créé (brouillon)") < timeline.index("Déposé")
    assert "(Julie Porteur)" in timeline


def test_submitted_dossier_sections_are_shown_read_only(client, login_as, make_dossier, applicant, db):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import submission

    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/projet").get_data(as_text=True)
    assert "vous le consultez en lecture seule" in page
    assert '<fieldset class="ptce-plain-fieldset" disabled>' in page
    assert "Un pôle qui relocalise l&#39;alimentation." in page
    assert "data-autosave" not in page and ">Enregistrer</button>" not in page


def test_text_longer_than_its_column_is_kept_flagged_and_not_a_500(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    long_name = "Pôle " + "très " * 60
    response = _post(client, dossier, "identite", {"version": dossier.version, "pole_name": long_name,
                                                    "carrier_rna": "W123456789X"})
    assert response.status_code == 302
    d = _reload(db, dossier)
    assert d.raw_inputs["pole_name"] == long_name.strip() and len(d.pole_name) == 200
    page = client.get(f"/porteur/dossiers/{d.id}/identite").get_data(as_text=True)
    assert f"Nom du pôle : {len(long_name.strip())} caractères pour 200 au maximum." in page
    assert long_name.strip() in page  # the full text typed is shown back


def test_wrong_values_are_shown_on_the_fields_with_precise_messages(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "identite", {"version": dossier.version, "carrier_siret": "732 829 320 00075",
                                         "commune_insee": "75001", "commune_name": "Paris"})
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    assert "sa clé de contrôle est incorrecte" in page
    assert 'aria-invalid="true" aria-describedby="carrier_siret-hint carrier_siret-desc-error"' in page or \
        'id="carrier_siret-desc-error"' in page
    assert "75001 est un code postal, pas un code INSEE" in page
    r = _post(client, dossier, "identite", {"version": dossier.version + 1, "commune_insee": "69002",
                                             "commune_name": "Lyon"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    assert "Le code INSEE 69002 correspond à la commune « Aigueperse », pas à « Lyon »" in page


def test_saved_message_says_what_is_left(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    page = _post(client, dossier, "projet", {"version": dossier.version, "summary": "Résumé"},
                 follow_redirects=True).get_data(as_text=True)
    assert "Section enregistrée. Il reste 6 points à compléter ou corriger." in page


def test_autosave_after_the_session_ended_answers_401_json(client, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    response = _post(client, dossier, "projet", {"version": 1, "summary": "x"}, headers={"X-Autosave": "1"})
    assert response.status_code == 401
    assert response.get_json()["message"].startswith("Votre session a expiré : vos dernières saisies")


@pytest.mark.parametrize("save", [
    lambda s, d, by: s.save_fields(d, {"summary": "Changé après dépôt"}, by=by, expected_version=None),
    lambda s, d, by: s.replace_members(d, [{"name": "Intrus"}], by=by, expected_version=None),
    lambda s, d, by: s.replace_financing_lines(d, [{"kind": "expense", "label": "Intrus", "amount_eur": "1"}],
                                               by=by, expected_version=None),
], ids=["fields", "members", "financing_lines"])
def test_the_services_refuse_to_change_a_submitted_dossier(db, make_dossier, applicant, save):
    """Not only the pages: the service itself refuses (a job, the CLI or a future API reach it directly)."""
    from ptce_aap.errors import DomainError
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import dossiers as dossier_service
    from ptce_aap.services.submission import submit_dossier

    dossier = make_dossier(owner=applicant, complete=True)
    submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    version = dossier.version
    with pytest.raises(DomainError, match="plus modifiable"):
        save(dossier_service, dossier, applicant)
    db.session.rollback()
    assert _reload(db, dossier).version == version


def test_saved_amounts_come_back_as_typed_in_the_page_language(client, login_as, make_dossier, applicant, db):
    """« 8 500,50 » saved comes back « 8 500,50 » (not « 8500,50 »), and the page parser reads it back to
    the same value; in English the inputs take the page's decimal mark, as the totals: « 8 500.50 »."""
    from ptce_aap.domain.money import parse_amount

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "budget", {
        "version": dossier.version, "total_budget_eur": "120000", "amount_requested_eur": "60 000,5",
        "expenses-0-label": "Salaires", "expenses-0-amount_eur": "8 500,50",
        "resources-0-source": "etat", "resources-0-funder": "État", "resources-0-label": "AAP",
        "resources-0-amount_eur": "1234567", "resources-0-status": "sollicite"})
    _post(client, dossier, "projet", {"version": _reload(db, dossier).version, "jobs_existing_fte": "2,5",
                                      "jobs_to_create_fte": "12"})
    page = client.get(f"/porteur/dossiers/{dossier.id}/budget").get_data(as_text=True)
    for value in ('value="120 000"', 'value="60 000,50"', 'value="8 500,50"', 'value="1 234 567"'):
        assert value in page
    assert parse_amount("8 500,50") == Decimal("8500.50")
    projet = client.get(f"/porteur/dossiers/{dossier.id}/projet").get_data(as_text=True)
    assert 'value="2,5"' in projet and 'value="12"' in projet
    applicant.locale = "en"
    db.session.commit()
    english = client.get(f"/porteur/dossiers/{dossier.id}/budget").get_data(as_text=True)
    assert 'value="8 500.50"' in english and 'value="60 000.50"' in english and "8,500.50 €" in english
    assert parse_amount("8 500.50") == Decimal("8500.50")


def test_the_budget_page_carries_the_amount_messages_for_the_check_on_leaving_a_field(client, login_as, make_dossier,
                                                                                     applicant):
    import html
    import json

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/budget").get_data(as_text=True)
    raw = page[page.index("data-amount-messages='") + len("data-amount-messages='"):]
    messages = json.loads(html.unescape(raw[:raw.index("'")]))
    assert messages["negative"] == "Le montant doit être positif ou nul."
    assert set(messages) == {"invalid", "refused", "format", "exponent", "negative", "too_large"}
    assert page.count("data-amount-check") == 2
