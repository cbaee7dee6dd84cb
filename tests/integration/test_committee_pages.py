"""The committee's sessions, admin side, through the test client (CSRF on): a session created with the pool's
institutions convened, the attendance and the quorum stated, the agenda in discussion order, decisions taken
in the session listed on its page, the procès-verbal made as a PDF (stored, its SHA-256 shown, made again on
demand, downloaded by admins only); the session page reads a constant number of queries; applicants and
reviewers are refused on every committee URL."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms, Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.decisions import CommitteeSession
from ptce_aap.services import committee
from ptce_aap.storage import get_storage
from tests.fixtures.queries import count_queries


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def world(db, make_call, make_reviewed_dossier, make_pool_member, make_institution, admin_user):
    call = make_call(envelope_eur=Decimal("200000"), max_amount_eur=Decimal("100000"))
    dossiers = [make_reviewed_dossier(call=call, pole_name=f"Pôle {name}") for name in ("Alpha", "Bravo", "Charlie")]
    institutions = [make_institution(name) for name in ("ANCT", "Caisse des Dépôts", "DGCS")]
    for institution in institutions:
        make_pool_member(call, institution=institution)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    return {"call": call, "dossiers": dossiers, "institutions": institutions, "admin": admin_user}


def _create(client, call, **data) -> CommitteeSession:
    response = client.post(f"/admin/appels/{call.slug}/seances",
                           data={"held_on": "2026-12-03", "place": "Bercy, salle 1", **data})
    assert response.status_code == 302, text(response)
    return committee.sessions_of(call)[0]


def test_a_session_convenes_the_pools_institutions_and_states_the_quorum(client, db, login_as, world):
    call = world["call"]
    login_as(world["admin"])
    bad = client.post(f"/admin/appels/{call.slug}/seances", data={"held_on": "32/13/2026", "place": "x" * 201})
    assert bad.status_code == 400
    body = text(bad)
    assert "date valide" in body and "200 caractères" in body and 'value="32/13/2026"' in body
    session = _create(client, call)
    assert session.held_on == date(2026, 12, 3) and session.place == "Bercy, salle 1"
    assert sorted(row.institution.name for row in session.attendance) == ["ANCT", "Caisse des Dépôts", "DGCS"]
    page = text(client.get(f"/admin/seances/{session.id}"))
    assert "Quorum non atteint : 0 institution(s) présente(s) sur 3" in page and "au moins 2" in page
    # Attendance: present needs a name; two of three present reach the quorum.
    rows = {row.institution.name: i for i, row in enumerate(session.attendance)}
    data = {f"attendance-{i}-institution_id": str(row.institution_id) for i, row in enumerate(session.attendance)}
    data[f"attendance-{rows['ANCT']}-is_present"] = "y"
    refused = client.post(f"/admin/seances/{session.id}/presences", data=data)
    assert refused.status_code == 400 and "Indiquez qui représente" in text(refused)
    data[f"attendance-{rows['ANCT']}-attendees"] = "Jeanne Martin"
    data[f"attendance-{rows['DGCS']}-is_present"] = "y"
    data[f"attendance-{rows['DGCS']}-attendees"] = "Paul Durand, Lina Roy"
    assert client.post(f"/admin/seances/{session.id}/presences", data=data).status_code == 302
    page = text(client.get(f"/admin/seances/{session.id}"))
    assert "Quorum atteint : 2 institution(s) présente(s) sur 3 convoquée(s)" in page and "Paul Durand, Lina Roy" in page


def test_another_institution_is_convened_and_one_no_longer_is(client, db, login_as, world, make_institution):
    call = world["call"]
    login_as(world["admin"])
    session = _create(client, call)
    regional = make_institution("Région Occitanie")
    data = {f"attendance-{i}-institution_id": str(row.institution_id) for i, row in enumerate(session.attendance)}
    page = text(client.get(f"/admin/seances/{session.id}/presences"))
    assert f'<option value="{regional.id}">Région Occitanie</option>' in page
    added = client.post(f"/admin/seances/{session.id}/presences",
                        data={**data, "row_action": "add", "add_institution": str(regional.id)})
    assert added.status_code == 200 and 'name="attendance-3-institution_id"' in text(added)
    db.session.refresh(session)
    assert len(session.attendance) == 3  # nothing saved yet
    data |= {"attendance-3-institution_id": str(regional.id), "attendance-3-is_present": "y",
             "attendance-3-attendees": "Lina Roy"}
    removed = client.post(f"/admin/seances/{session.id}/presences", data={**data, "row_action": "remove:0"})
    assert removed.status_code == 200 and "attendance-3-institution_id" not in text(removed)
    kept = {k: v for k, v in data.items() if not k.startswith("attendance-0-")}
    assert client.post(f"/admin/seances/{session.id}/presences", data=kept).status_code == 302
    db.session.expire_all()
    assert sorted(row.institution.name for row in session.attendance) == ["Caisse des Dépôts", "DGCS",
                                                                           "Région Occitanie"]
    assert committee.quorum(session) == committee.Quorum(convened=3, present=1)


def test_one_absent_of_two_is_no_quorum(db, world):
    session = CommitteeSession(call_id=world["call"].id, held_on=date(2026, 12, 3), place="", agenda=[])
    session.attendance = [committee.CommitteeAttendance(institution_id=i.id, is_present=p)
                          for i, p in zip(world["institutions"][:2], (True, False), strict=True)]
    assert committee.quorum(session) == committee.Quorum(convened=2, present=1)
    assert not committee.quorum(session).reached
    session.attendance[1].is_present = True
    assert committee.quorum(session).reached


def test_the_agenda_is_ordered_and_decisions_taken_in_session_are_listed(client, db, login_as, world,
                                                                        make_reviewed_dossier, make_dossier):
    call, (alpha, bravo, charlie) = world["call"], world["dossiers"]
    login_as(world["admin"])
    session = _create(client, call)
    url = f"/admin/seances/{session.id}/ordre-du-jour"
    for dossier in (alpha, bravo, charlie):
        assert client.post(url, data={"action": "add:", "dossier_id": str(dossier.id)}).status_code == 302
    client.post(url, data={"action": f"up:{charlie.id}"})
    client.post(url, data={"action": f"remove:{alpha.id}"})
    db.session.refresh(session)
    assert session.agenda == [charlie.id, bravo.id]
    # Neither a dossier of another call, nor a draft of this one, nor an unknown id goes on the agenda.
    elsewhere = make_reviewed_dossier(pole_name="Pôle d'un autre appel")
    call.status = CallStatus.OPEN  # test set-up: a draft started while the call was open
    draft = make_dossier(call=call, pole_name="Pôle brouillon")
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    for dossier_id in (elsewhere.id, draft.id, 999999):
        refused = client.post(url, data={"action": "add:", "dossier_id": str(dossier_id)})
        assert refused.status_code == 302
        db.session.refresh(session)
        assert session.agenda == [charlie.id, bravo.id]
    assert "Seuls les dossiers instruits de cet appel" in text(client.get(f"/admin/seances/{session.id}"))
    page = text(client.get(f"/admin/seances/{session.id}"))
    assert page.index("Pôle Charlie") < page.index("Pôle Bravo")
    # A decision taken in the session: its date is the session's; it is listed with the session's total.
    decided = client.post(f"/admin/dossiers/{charlie.id}/decision?seance={session.id}", data={
        "outcome": "laureate", "amount_eur": "45 000", "motivation": "Projet exemplaire.", "payment_terms": "unique",
        "committee_date": "2026-12-03"})
    assert decided.status_code == 302 and decided.headers["Location"].endswith(f"/admin/seances/{session.id}#decisions")
    page = text(client.get(f"/admin/seances/{session.id}")).replace("\u202f", " ")
    assert "Projet exemplaire." in page and re.search(r"data-session-total>45 000 €", page)
    # Its date no longer changes once a decision is taken in it; its place does.
    moved = client.post(f"/admin/seances/{session.id}/modifier", data={"held_on": "2026-12-04", "place": "Ségur"})
    assert moved.status_code == 400 and "ne change plus" in text(moved)
    assert client.post(f"/admin/seances/{session.id}/modifier",
                       data={"held_on": "03/12/2026", "place": "Ségur"}).status_code == 302


def test_the_minutes_are_a_stored_pdf_whose_sha_is_shown_made_again_on_demand(client, db, login_as, world, worker):
    call, (alpha, _bravo, _charlie) = world["call"], world["dossiers"]
    login_as(world["admin"])
    session = _create(client, call)
    client.post(f"/admin/seances/{session.id}/ordre-du-jour", data={"action": "add:", "dossier_id": str(alpha.id)})
    client.post(f"/admin/dossiers/{alpha.id}/decision?seance={session.id}", data={
        "outcome": "rejected", "motivation": "Hors périmètre.", "committee_date": "2026-12-03"})
    assert client.get(f"/admin/seances/{session.id}/proces-verbal/telecharger").status_code == 302  # not yet: back
    assert client.post(f"/admin/seances/{session.id}/proces-verbal").status_code == 302
    assert "Établissement en cours" in text(client.get(f"/admin/seances/{session.id}"))  # made by a job
    assert worker() == 1
    db.session.expire_all()
    pdf = get_storage().open_stream(session.minutes_key).read()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == session.minutes_sha256
    page = text(client.get(f"/admin/seances/{session.id}"))
    assert session.minutes_sha256 in page and "Établissement en cours" not in page
    download = client.get(f"/admin/seances/{session.id}/proces-verbal/telecharger")
    assert download.status_code == 302 and "proces-verbal" in download.headers["Location"]
    first = session.minutes_sha256
    assert client.post(f"/admin/seances/{session.id}/modifier",
                       data={"held_on": "2026-12-03", "place": "Ségur, salle 2"}).status_code == 302
    assert client.post(f"/admin/seances/{session.id}/proces-verbal").status_code == 302
    worker()
    db.session.expire_all()
    assert session.minutes_sha256 != first  # made again from what is recorded now
    assert b"%PDF" in get_storage().open_stream(session.minutes_key).read(8)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "committee.minutes_generated")).all()
    assert [e.summary["after"] for e in events] == [first, session.minutes_sha256]


def test_the_minutes_say_what_the_session_decided(app, db, world):
    from ptce_aap.services.decisions import DecisionInput, decide
    from ptce_aap.services.minutes import minutes_context

    call, (alpha, bravo, _charlie) = world["call"], world["dossiers"]
    with app.test_request_context():
        session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=world["admin"])
        committee.set_agenda(session, [bravo.id, alpha.id], by=world["admin"])
        decide(alpha, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.",
                                    amount_eur=Decimal("60000"), payment_terms=PaymentTerms.SINGLE), by=world["admin"],
               session=session)
        context = minutes_context(session)
        from flask import render_template
        from flask_babel import force_locale

        with force_locale("fr"):
            html = render_template("pdf/minutes.html", generated_at="03/12/2026", **context)
    assert [d.id for d in context["agenda"]] == [bravo.id, alpha.id]
    assert context["session_total"] == Decimal("60000") and context["left"] == Decimal("140000")
    agenda = [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in re.findall(r"<li>(.*?)</li>", html)]
    assert [item.split(" — ", 2)[2] for item in agenda if "dossier n°" in item] == [
        "examiné sans décision pendant la séance", "décision : Lauréat, 60 000 €"]
    assert "Fait à Bercy, le 03/12/2026." in html
    assert "Le président ou la présidente de séance" in html and "Le ou la secrétaire de séance" in html


def test_the_session_page_reads_the_same_number_of_queries_whatever_n(client, db, login_as, world,
                                                                      make_reviewed_dossier):
    from ptce_aap.services.decisions import DecisionInput, decide

    call = world["call"]
    login_as(world["admin"])
    session = _create(client, call)

    def add(n):
        call.status = CallStatus.OPEN
        db.session.commit()
        new = [make_reviewed_dossier(call=call) for _ in range(n)]
        call.status = CallStatus.DELIBERATION
        db.session.commit()
        committee.set_agenda(session, [*session.agenda, *(d.id for d in new)], by=None)
        for d in new[: n // 2]:
            decide(d, DecisionInput(outcome=DecisionOutcome.REJECTED, motivation="Non."), by=world["admin"],
                   session=session)
        db.session.commit()

    def count():
        db.session.expire_all()
        with count_queries(db) as statements:
            assert client.get(f"/admin/seances/{session.id}").status_code == 200
        return len(statements)

    add(2)
    count()
    few = count()
    add(4)
    assert count() == few


COMMITTEE_URLS = [
    ("GET", "/admin/appels/{slug}/decisions"), ("GET", "/admin/appels/{slug}/seances"),
    ("POST", "/admin/appels/{slug}/seances"), ("GET", "/admin/dossiers/{dossier}/decision"),
    ("POST", "/admin/dossiers/{dossier}/decision"), ("GET", "/admin/seances/{session}"),
    ("GET", "/admin/seances/{session}/modifier"), ("POST", "/admin/seances/{session}/modifier"),
    ("GET", "/admin/seances/{session}/presences"), ("POST", "/admin/seances/{session}/presences"),
    ("POST", "/admin/seances/{session}/ordre-du-jour"), ("POST", "/admin/seances/{session}/proces-verbal"),
    ("GET", "/admin/seances/{session}/proces-verbal/telecharger"),
]


def test_the_list_covers_every_committee_url(app):
    from ptce_aap.admin import decisions, sessions

    modules = {decisions.__name__, sessions.__name__}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules()
             if app.view_functions[rule.endpoint].__module__ in modules for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(m, re.sub(r"\{(\w+)\}", lambda g: {"slug": "<slug>", "dossier": "<int:dossier_id>",
                                                   "session": "<int:session_id>"}[g.group(1)], u))
              for m, u in COMMITTEE_URLS}
    assert rules == listed


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_applicants_and_reviewers_are_refused_on_every_committee_url(client, db, login_as, make_user, world, role):
    call, dossier = world["call"], world["dossiers"][0]
    with client.application.test_request_context():
        session = committee.create_session(call, held_on=date(2026, 12, 3), place="", by=world["admin"])
        db.session.commit()
    login_as(make_user(roles=(role,)))
    for method, pattern in COMMITTEE_URLS:
        url = pattern.format(slug=call.slug, dossier=dossier.id, session=session.id)
        response = client.open(url, method=method, data={"held_on": "2026-12-05", "outcome": "rejected",
                                                         "motivation": "x", "action": "remove:1"})
        assert response.status_code in (403, 404), (method, url, response.status_code)
    db.session.refresh(session)
    assert session.held_on == date(2026, 12, 3) and session.minutes_key is None


def test_an_attendance_row_naming_no_plain_id_is_refused_beside_it_not_a_500(client, login_as, world):
    call = world["call"]
    login_as(world["admin"])
    session = _create(client, call)
    for odd in ("99999999999999999999", "²", "-1", "abc"):
        response = client.post(f"/admin/seances/{session.id}/presences", data={
            "attendance-0-institution_id": odd, "attendance-0-is_present": "y", "attendance-0-attendees": "Jeanne"})
        assert response.status_code == 400, odd
        assert "Cette institution n" in text(response), odd


def test_a_bulk_selection_with_odd_ids_selects_nothing_not_a_500(client, login_as, world):
    call, dossier = world["call"], world["dossiers"][0]
    login_as(world["admin"])
    for action in ("verifier", "exporter_csv"):
        response = client.get(f"/admin/appels/{call.slug}/dossiers/selection",
                              query_string={"action": action, "ids": [str(dossier.id), "²", "99999999999999999999"]})
        assert response.status_code in (200, 302), action


def test_convening_without_choosing_an_institution_says_so_and_saves_nothing(client, login_as, world, db):
    call = world["call"]
    login_as(world["admin"])
    session = _create(client, call)
    before = [(a.institution_id, a.is_present) for a in session.attendance]
    response = client.post(f"/admin/seances/{session.id}/presences", data={
        "row_action": "add", "add_institution": "",
        **{f"attendance-{i}-institution_id": str(inst) for i, (inst, _p) in enumerate(before)}})
    assert response.status_code == 400 and "Choisissez l’institution à convoquer." in text(response)
    db.session.expire_all()
    assert [(a.institution_id, a.is_present) for a in session.attendance] == before
