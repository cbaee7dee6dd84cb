"""The scoring grid editor (issue 10, point 2): while the call is a draft, admins add, edit, reorder and delete
criteria (SPEC §4 default grid to start with); the grid freezes when the call leaves draft or its first review
exists (audited once); a criterion with scores is never deleted; bad input gets a message beside its field."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CallStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.calls import Call, Criterion
from ptce_aap.services import grid as service

DEFAULT_CODES = ["cooperation", "ancrage", "innovation", "emplois", "modele_eco", "gouvernance"]


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _codes(db, call_id: int) -> list[str]:
    db.session.expire_all()
    return [c.code for c in db.session.get(Call, call_id).criteria]


def _events(db, action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.fixture
def draft(make_call):
    return make_call(status=CallStatus.DRAFT)


@pytest.fixture
def admin(client, login_as, admin_user):
    login_as(admin_user)
    return client


NEW = {"code": "numerique", "label": "Usage du numérique", "guidance": "Outils partagés.", "weight": "10",
       "max_score": "5"}


def test_a_new_call_starts_with_the_default_grid_of_the_spec(admin, draft):
    page = admin.get(f"/admin/appels/{draft.slug}/grille")
    assert page.status_code == 200
    text = _text(page)
    for code in DEFAULT_CODES:
        assert f'data-criterion="{code}"' in text
    assert "Qualité de la coopération et de la mutualisation" in text and "poids total : 100" in text
    assert "Ajouter un critère" in text and "Rétablir la grille par défaut" not in text
    assert service.is_default(draft)


def test_admin_adds_a_criterion_and_it_is_audited(admin, draft, db, admin_user):
    response = admin.post(f"/admin/appels/{draft.slug}/grille", data=NEW)
    assert response.status_code == 302
    assert _codes(db, draft.id) == [*DEFAULT_CODES, "numerique"]
    criterion = db.session.scalars(sa.select(Criterion).where(Criterion.code == "numerique")).one()
    assert (criterion.label, criterion.guidance, criterion.weight, criterion.max_score, criterion.position) == (
        "Usage du numérique", "Outils partagés.", 10, 5, 6)
    [event] = _events(db, "criterion.created")
    assert event.actor_id == admin_user.id and event.summary["after"]["code"] == "numerique"
    assert "Le critère « Usage du numérique » a été ajouté" in _text(admin.get(response.headers["Location"]))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("weight", "douze", "Le poids doit être un nombre entier positif"),
    ("weight", "0", "Le poids doit être compris entre 1 et 100."),
    ("weight", "101", "Le poids doit être compris entre 1 et 100."),
    ("weight", "2,5", "Le poids doit être un nombre entier positif"),
    ("weight", "-3", "Le poids doit être un nombre entier positif"),
    ("weight", "", "Indiquez le poids."),
    ("max_score", "0", "La note maximale doit être comprise entre 1 et 20."),
    ("max_score", "21", "La note maximale doit être comprise entre 1 et 20."),
    ("code", "Coopération!", "Le code du critère commence par une lettre"),
    ("code", "cooperation", "Le code « cooperation » est déjà celui d’un autre critère"),
    ("code", "COOPERATION", "Le code « cooperation » est déjà celui d’un autre critère"),
    ("code", "", "Indiquez le code du critère."),
    ("label", "   ", "Indiquez l’intitulé du critère."),
    ("label", "x" * 201, "L’intitulé ne doit pas dépasser 200 caractères."),
])
def test_bad_input_is_refused_beside_its_field_and_nothing_typed_is_lost(admin, draft, db, field, value, message):
    data = NEW | {field: value}
    response = admin.post(f"/admin/appels/{draft.slug}/grille", data=data)
    assert response.status_code == 400
    text = _text(response)
    assert message in text
    assert f'id="{field}-desc-error"' in text  # beside the field, announced through aria-describedby
    assert 'value="Usage du numérique"' in text or field == "label"  # what was typed is still there
    assert f'value="{value}"' in text or field in ("label",)
    assert _codes(db, draft.id) == DEFAULT_CODES
    assert _events(db, "criterion.created") == []


def test_admin_edits_a_criterion(admin, draft, db):
    criterion = draft.criteria[2]
    page = admin.get(f"/admin/appels/{draft.slug}/grille/{criterion.id}")
    assert page.status_code == 200 and 'value="innovation"' in _text(page)
    response = admin.post(f"/admin/appels/{draft.slug}/grille/{criterion.id}",
                          data={"code": "innovation", "label": "Innovation sociale", "guidance": "Nouveau",
                                "weight": "20", "max_score": "10"})
    assert response.status_code == 302
    db.session.expire_all()
    criterion = db.session.get(Criterion, criterion.id)
    assert (criterion.label, criterion.weight, criterion.max_score) == ("Innovation sociale", 20, 10)
    [event] = _events(db, "criterion.updated")
    assert event.summary["before"] == {"label": "Innovation sociale ou technologique", "guidance": "", "weight": 15,
                                       "max_score": 5}
    # Its own code is not "taken"; another criterion's is.
    taken = admin.post(f"/admin/appels/{draft.slug}/grille/{criterion.id}",
                       data={"code": "ancrage", "label": "X", "weight": "1", "max_score": "5"})
    assert taken.status_code == 400 and "Le code « ancrage » est déjà celui" in _text(taken)


def test_admin_reorders_criteria(admin, draft, db):
    last = draft.criteria[-1]
    assert admin.post(f"/admin/appels/{draft.slug}/grille/{last.id}/deplacer", data={"direction": "haut"}
                      ).status_code == 302
    assert _codes(db, draft.id) == ["cooperation", "ancrage", "innovation", "emplois", "gouvernance", "modele_eco"]
    first = db.session.get(Call, draft.id).criteria[0]
    admin.post(f"/admin/appels/{draft.slug}/grille/{first.id}/deplacer", data={"direction": "bas"})
    assert _codes(db, draft.id) == ["ancrage", "cooperation", "innovation", "emplois", "gouvernance", "modele_eco"]
    admin.post(f"/admin/appels/{draft.slug}/grille/{first.id}/deplacer", data={"direction": "haut"})
    admin.post(f"/admin/appels/{draft.slug}/grille/{first.id}/deplacer", data={"direction": "haut"})  # first: no-op
    assert _codes(db, draft.id)[0] == "cooperation"
    positions = [c.position for c in db.session.get(Call, draft.id).criteria]
    assert positions == list(range(6))
    assert len(_events(db, "criterion.moved")) == 3


def test_deleting_asks_for_a_confirmation_first(admin, draft, db, admin_user):
    criterion = draft.criteria[1]
    page = admin.get(f"/admin/appels/{draft.slug}/grille/{criterion.id}/supprimer")
    assert page.status_code == 200
    assert "Supprimer le critère « Ancrage territorial et implication des acteurs locaux » ?" in _text(page)
    assert _codes(db, draft.id) == DEFAULT_CODES  # nothing deleted by looking
    assert admin.post(f"/admin/appels/{draft.slug}/grille/{criterion.id}/supprimer").status_code == 302
    assert _codes(db, draft.id) == [c for c in DEFAULT_CODES if c != "ancrage"]
    assert [c.position for c in db.session.get(Call, draft.id).criteria] == list(range(5))
    [event] = _events(db, "criterion.deleted")
    assert event.actor_id == admin_user.id and event.summary["before"]["code"] == "ancrage"


def test_the_default_grid_can_be_restored(admin, draft, db):
    admin.post(f"/admin/appels/{draft.slug}/grille/{draft.criteria[0].id}/supprimer")
    admin.post(f"/admin/appels/{draft.slug}/grille", data=NEW)
    page = _text(admin.get(f"/admin/appels/{draft.slug}/grille"))
    assert "Rétablir la grille par défaut" in page
    confirm = admin.get(f"/admin/appels/{draft.slug}/grille/defaut")
    assert "Rétablir la grille par défaut ?" in _text(confirm)
    assert admin.post(f"/admin/appels/{draft.slug}/grille/defaut").status_code == 302
    assert _codes(db, draft.id) == DEFAULT_CODES
    assert len(_events(db, "call.grid_reset")) == 1


def test_the_grid_is_frozen_once_the_call_is_open(admin, make_call, db):
    call = make_call(status=CallStatus.OPEN)
    page = _text(admin.get(f"/admin/appels/{call.slug}/grille"))
    assert "Grille figée" in page and "n’est plus en brouillon (« Ouvert" in page
    assert "Ajouter un critère" not in page and "/supprimer" not in page and "/deplacer" not in page
    criterion = call.criteria[0]
    response = admin.post(f"/admin/appels/{call.slug}/grille", data=NEW)
    assert response.status_code == 400 and "ne peut plus être modifiée" in _text(response)
    refused = admin.post(f"/admin/appels/{call.slug}/grille/{criterion.id}/supprimer", follow_redirects=True)
    assert "ne peut plus être modifiée" in _text(refused)
    admin.post(f"/admin/appels/{call.slug}/grille/{criterion.id}/deplacer", data={"direction": "bas"})
    admin.post(f"/admin/appels/{call.slug}/grille/defaut")
    assert _codes(db, call.id) == DEFAULT_CODES
    assert _events(db, "criterion.created") + _events(db, "criterion.deleted") + _events(db, "criterion.moved") == []


def _dossier_of_a_draft(db, make_call, make_dossier):
    """A dossier of a call that is (back) in draft: only reviews can freeze its grid."""
    call = make_call()
    dossier = make_dossier(call=call, complete=True)
    call.status = CallStatus.DRAFT  # not a transition the app allows: this isolates the review's part
    db.session.commit()
    return call, dossier


def test_the_first_review_freezes_the_grid_and_is_audited_once(admin, db, make_call, make_dossier, make_user,
                                                                make_assignment, make_review):
    reviewers = [make_user(roles=(Role.REVIEWER,)) for _ in range(2)]
    draft, dossier = _dossier_of_a_draft(db, make_call, make_dossier)
    assert not service.is_frozen(draft)
    first = make_review(make_assignment(dossier, reviewers[0]))
    [event] = _events(db, "call.grid_frozen")
    assert (event.object_type, event.object_id, event.actor_id) == ("calls", str(draft.id), reviewers[0].id)
    assert event.summary["after"]["criteria"] == DEFAULT_CODES
    make_review(make_assignment(dossier, reviewers[1]))
    assert len(_events(db, "call.grid_frozen")) == 1  # the second review does not freeze it again
    assert first.id
    db.session.expire_all()
    call = db.session.get(Call, draft.id)
    assert service.is_frozen(call)
    page = _text(admin.get(f"/admin/appels/{draft.slug}/grille"))
    assert "l’évaluation des dossiers a commencé" in page and "Ajouter un critère" not in page
    response = admin.post(f"/admin/appels/{draft.slug}/grille", data=NEW)
    assert response.status_code == 400
    assert _codes(db, draft.id) == DEFAULT_CODES


def test_a_scored_criterion_is_never_deleted(db, make_call, make_dossier, reviewer, make_assignment, make_review,
                                             admin_user):
    draft, dossier = _dossier_of_a_draft(db, make_call, make_dossier)
    criterion = draft.criteria[0]
    make_review(make_assignment(dossier, reviewer), scores={criterion: 3})
    with pytest.raises(DomainError, match="a déjà reçu des notes : il ne peut pas être supprimé"):
        service.delete_criterion(criterion, by=admin_user)
    db.session.rollback()
    assert service.scored_criterion_ids(draft) == {criterion.id}


def test_only_admins_edit_a_grid(client, login_as, draft, applicant, reviewer):
    for user in (applicant, reviewer):
        login_as(user)
        assert client.get(f"/admin/appels/{draft.slug}/grille").status_code == 403
        assert client.post(f"/admin/appels/{draft.slug}/grille", data=NEW).status_code == 403


def test_the_call_page_links_to_its_grid(admin, draft):
    assert f"/admin/appels/{draft.slug}/grille" in _text(admin.get(f"/admin/appels/{draft.slug}/dossiers"))


def test_every_field_in_fault_is_reported_after_one_submit(admin, draft, db):
    """A bad code and a weight of « 1e3 »: both messages at once, each beside its field."""
    data = NEW | {"code": "Mauvais code!", "weight": "1e3", "label": " ", "max_score": "30"}
    response = admin.post(f"/admin/appels/{draft.slug}/grille", data=data)
    assert response.status_code == 400
    text = _text(response)
    assert "Le code du critère commence par une lettre" in text
    assert "Le poids doit être un nombre entier positif" in text and "« 1e3 » n’en est pas un" in text
    assert "Indiquez l’intitulé du critère." in text
    assert "La note maximale doit être comprise entre 1 et 20." in text
    for field in ("code", "weight", "label", "max_score"):
        assert f'id="{field}-desc-error"' in text
    assert 'value="1e3"' in text and 'value="Mauvais code!"' in text
    assert _events(db, "criterion.created") == []


def test_editing_reports_every_field_in_fault_at_once(admin, draft, db):
    criterion = db.session.get(Call, draft.id).criteria[0]
    response = admin.post(f"/admin/appels/{draft.slug}/grille/{criterion.id}",
                          data=NEW | {"code": "", "weight": "0", "max_score": "x"})
    assert response.status_code == 400
    text = _text(response)
    assert "Indiquez le code du critère." in text and "Le poids doit être compris entre 1 et 100." in text
    assert "La note maximale doit être un nombre entier positif" in text


def test_the_service_refuses_with_every_problem(draft):
    with pytest.raises(DomainError) as refused:
        service.clean_values(draft, NEW | {"code": "", "weight": "1e3"})
    assert [field for field, _message in refused.value.problems] == ["code", "weight"]
