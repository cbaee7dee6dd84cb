"""The signatory of the decision letters (``Call.signatory_name`` / ``signatory_title``) is known late: it can be
set or changed on the settings page of a call that has left draft, in any status until the results are
published, audited, checked as the draft form checks it; everything else stays frozen once the call is open.
The « Notification des décisions » page says when the letters would be signed by the awarding body."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.services import calls as call_service

SIGNATORY = {"signatory_name": "Camille Durand", "signatory_title": "La directrice générale du Trésor"}


@pytest.fixture
def admin(client, login_as, admin_user):
    return login_as(admin_user)


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _events(db, call) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call.signatory_changed",
                                                          AuditEvent.object_id == str(call.id))
                              .order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("status", [CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEW, CallStatus.DELIBERATION])
def test_the_signatory_is_set_from_the_settings_page_until_publication_and_audited(admin, make_call, db, admin_user,
                                                                                   status):
    call = make_call(status=status)
    page = _text(admin.get(f"/admin/appels/{call.slug}/parametres"))
    assert "Signataire des lettres de décision" in page and 'id="formulaire-signataire"' in page
    assert f'action="/admin/appels/{call.slug}/signataire"' in page
    assert 'name="envelope_eur"' not in page  # the rest stays read-only

    response = admin.post(f"/admin/appels/{call.slug}/signataire", data={
        "signatory_name": "  Camille Durand ", "signatory_title": "La directrice générale du Trésor"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/appels/{call.slug}/parametres")
    db.session.refresh(call)
    assert (call.signatory_name, call.signatory_title) == ("Camille Durand", "La directrice générale du Trésor")
    assert call.status == status
    [event] = _events(db, call)
    assert event.actor_id == admin_user.id
    assert event.summary == {"before": {"signatory_name": "", "signatory_title": ""}, "after": SIGNATORY}
    page = _text(admin.get(f"/admin/appels/{call.slug}/parametres"))
    assert "Le signataire des lettres de décision a été enregistré." in page
    assert 'value="Camille Durand"' in page  # the form shows the signatory now set

    # The same again: nothing changes, nothing is audited; then cleared (the awarding body signs again).
    assert admin.post(f"/admin/appels/{call.slug}/signataire", data=SIGNATORY).status_code == 302
    assert len(_events(db, call)) == 1
    assert admin.post(f"/admin/appels/{call.slug}/signataire",
                      data={"signatory_name": "", "signatory_title": ""}).status_code == 302
    db.session.refresh(call)
    assert (call.signatory_name, call.signatory_title) == ("", "")
    assert _events(db, call)[-1].summary == {"before": SIGNATORY, "after": {"signatory_name": "",
                                                                            "signatory_title": ""}}


@pytest.mark.parametrize("status", [CallStatus.PUBLISHED, CallStatus.ARCHIVED])
def test_the_signatory_is_frozen_once_the_results_are_published(admin, make_call, db, admin_user, status):
    call = make_call(status=status, **SIGNATORY)
    page = _text(admin.get(f"/admin/appels/{call.slug}/parametres"))
    assert 'id="formulaire-signataire"' not in page and "Camille Durand" in page  # shown, read-only

    refused = admin.post(f"/admin/appels/{call.slug}/signataire",
                         data={"signatory_name": "Autre Personne", "signatory_title": ""})
    assert refused.status_code == 400
    assert "le signataire des lettres de décision ne peut plus être modifié" in _text(refused)
    with pytest.raises(DomainError):
        call_service.set_signatory(call, "Autre Personne", "", by=admin_user)
    with pytest.raises(DomainError):
        call_service.update_call(call, {"signatory_name": "Autre Personne"}, by=admin_user)
    db.session.rollback()
    db.session.refresh(call)
    assert call.signatory_name == "Camille Durand" and _events(db, call) == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("signatory_name", "Camille Durand https://exemple.fr", "sans adresse web"),
    ("signatory_name", "Camille\nDurand", "sur une seule ligne"),
    ("signatory_title", "x" * 201, "200 caractères au maximum"),
])
def test_a_bad_signatory_is_refused_beside_its_field_and_what_was_typed_is_kept(admin, make_call, db, field, value,
                                                                                message):
    call = make_call(status=CallStatus.REVIEW)
    typed = {"signatory_name": "Camille Durand", "signatory_title": "La directrice", field: value}
    response = admin.post(f"/admin/appels/{call.slug}/signataire", data=typed)
    assert response.status_code == 400
    page = _text(response)
    assert message in page
    assert f'id="{field}-desc-error"' in page and 'id="error-summary"' in page  # beside the field, and listed
    other = "signatory_title" if field == "signatory_name" else "signatory_name"
    assert f'value="{typed[other]}"' in page  # what was typed is kept
    if "\n" not in value:
        assert f'value="{value}"' in page
    db.session.refresh(call)
    assert (call.signatory_name, call.signatory_title) == ("", "") and _events(db, call) == []


def test_the_signatory_checks_are_those_of_the_draft_form():
    from ptce_aap.domain.call_settings import settings_problems, signatory_problems

    bad = {"signatory_name": "www.exemple.fr", "signatory_title": "y" * 201}
    assert set(signatory_problems(bad)) == {"signatory_name", "signatory_title"}
    whole = settings_problems(bad)
    assert {k: whole[k] for k in bad} == signatory_problems(bad)
    assert signatory_problems({"signatory_name": "", "signatory_title": ""}) == {}


def test_every_other_setting_stays_frozen_once_the_call_is_open(admin, make_call, db, admin_user):
    call = make_call(status=CallStatus.DELIBERATION)
    title, envelope = call.title, call.envelope_eur
    values = call_service.call_values(call)
    with pytest.raises(DomainError, match="seule sa date limite"):
        call_service.update_call(call, values | {"title": "Autre titre", **SIGNATORY}, by=admin_user)
    db.session.rollback()
    db.session.refresh(call)
    assert (call.title, call.signatory_name) == (title, "")
    # The signatory alone goes through update_call too (the call's one write path), audited the same way.
    changed = call_service.update_call(call, values | SIGNATORY, by=admin_user)
    db.session.commit()
    assert set(changed) == {"signatory_name", "signatory_title"} and call.signatory_name == "Camille Durand"
    assert len(_events(db, call)) == 1
    # The deadline does not move in deliberation.
    with pytest.raises(DomainError):
        call_service.update_call(call, {"closes_at": call.closes_at.replace(year=call.closes_at.year + 1)},
                                 by=admin_user)
    db.session.rollback()
    # The signatory form carries nothing else: extra fields posted to it are ignored.
    assert admin.post(f"/admin/appels/{call.slug}/signataire",
                      data=SIGNATORY | {"title": "Autre titre", "envelope_eur": "1"}).status_code == 302
    db.session.refresh(call)
    assert (call.title, call.envelope_eur) == (title, envelope)


def test_a_draft_sets_its_signatory_with_its_other_settings(admin, make_call, db):
    call = make_call(status=CallStatus.DRAFT)
    page = _text(admin.get(f"/admin/appels/{call.slug}/parametres"))
    assert 'id="formulaire-signataire"' not in page and 'id="signataire"' in page  # the full form has it
    assert admin.post(f"/admin/appels/{call.slug}/signataire", data=SIGNATORY).status_code == 404
    db.session.refresh(call)
    assert call.signatory_name == ""


def test_applicants_and_reviewers_cannot_set_the_signatory(client, login_as, make_call, make_user, db):
    call = make_call(status=CallStatus.REVIEW)
    for roles in [(Role.APPLICANT,), (Role.REVIEWER,)]:
        login_as(make_user(roles=roles, institution="ANCT" if Role.REVIEWER in roles else None))
        assert client.post(f"/admin/appels/{call.slug}/signataire", data=SIGNATORY).status_code == 403, roles
        assert client.get(f"/admin/appels/{call.slug}/parametres").status_code == 403, roles
    db.session.refresh(call)
    assert call.signatory_name == "" and _events(db, call) == []


def test_the_notification_page_says_who_signs_when_nobody_is_set(admin, make_call, db):
    call = make_call(status=CallStatus.DELIBERATION, awarding_body_name="Ministère de l'Économie")
    page = _text(admin.get(f"/admin/appels/{call.slug}/notification-des-decisions"))
    assert ("Aucun signataire n’est indiqué : les lettres de décision seront signées au nom de l’organisme "
            "attribuant, « Ministère de l'Économie ».") in page
    assert f'href="/admin/appels/{call.slug}/parametres#signataire"' in page

    assert admin.post(f"/admin/appels/{call.slug}/signataire", data=SIGNATORY).status_code == 302
    page = _text(admin.get(f"/admin/appels/{call.slug}/notification-des-decisions"))
    assert "Aucun signataire" not in page

    published = make_call(status=CallStatus.PUBLISHED)  # the letters have gone: nothing left to set
    assert "Aucun signataire" not in _text(admin.get(f"/admin/appels/{published.slug}/notification-des-decisions"))


def test_the_settings_page_in_english_has_the_signatory_form(admin, make_call):
    call = make_call(status=CallStatus.REVIEW)
    assert admin.post("/langue/en").status_code == 302
    page = _text(admin.get(f"/admin/appels/{call.slug}/parametres"))
    assert "Signatory of the decision letters" in page and "Save the signatory" in page
    refused = _text(admin.post(f"/admin/appels/{call.slug}/signataire",
                               data={"signatory_name": "https://exemple.fr", "signatory_title": ""}))
    assert "Write this text on a single line, without a web address" in refused
