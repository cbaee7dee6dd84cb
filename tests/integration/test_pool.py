"""The reviewer pool of a call (issue 10, point 3): invite by e-mail (a new account that sets its password
through the mailed link, or an existing one that gains the reviewer role), institutions, edit, remove,
regional groups; the admin's list and who may reach these pages."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from ptce_aap.enums import DossierStatus, InstitutionKind, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.outbox import Notification
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.services import pool as service
from tests.integration.test_query_counts import assert_same, queries_for

PASSWORD = "Un-mot-de-passe-2026!"


def text(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def settings(institution, **kw):
    return service.MemberSettings(institution_id=institution.id, **kw)


def test_inviting_a_new_address_creates_an_unverified_reviewer_who_sets_a_password_from_the_mail(
        app, db, make_call, make_institution, admin_user):
    call = make_call()
    institution = make_institution("ANCT", kind=InstitutionKind.STATE_AGENCY)
    member = service.invite_reviewer(call, " Alex.Martin@Exemple.fr ", full_name="Alex Martin",
                                     settings=settings(institution, capacity=8, activity_domains=("numerique",)),
                                     by=admin_user)
    db.session.commit()

    user = db.session.scalar(sa.select(User).where(User.email == "alex.martin@exemple.fr"))
    assert (user.roles, user.is_email_verified, user.password_hash) == ([Role.REVIEWER], False, None)
    assert (member.capacity, member.activity_domains, member.institution_id) == (8, ["numerique"], institution.id)
    mail = db.session.scalar(sa.select(Notification).where(Notification.template == "reviewer_invitation"))
    assert mail.recipient == "alex.martin@exemple.fr"
    assert mail.context["call_title"] == call.title

    # The mailed link is the invitation's own (not the reset link): it sets the password, verifies the
    # address and logs the person in, on the call's conflicts page.
    client = app.test_client()
    path = mail.context["link"].split("localhost", 1)[1]
    assert path.startswith("/compte/invitation-rapporteur/")
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/rapporteur/appels/{call.slug}/conflits"
    assert client.get("/rapporteur/").status_code == 200  # logged in
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.is_email_verified and user.password_hash
    login = client.post("/compte/connexion", data={"email": user.email, "password": PASSWORD})
    assert login.status_code == 302


def test_inviting_an_existing_account_adds_the_reviewer_role_audited(db, make_call, make_user, make_institution,
                                                                     admin_user):
    call = make_call()
    person = make_user("porteuse@example.org")  # an applicant so far
    service.invite_reviewer(call, "porteuse@example.org", full_name="", settings=settings(make_institution()),
                            by=admin_user)
    db.session.commit()
    db.session.refresh(person)
    assert set(person.roles) == {Role.APPLICANT, Role.REVIEWER}
    granted = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.role_granted"))
    assert (granted.actor_id, granted.object_id, granted.summary) == (admin_user.id, str(person.id),
                                                                      {"role": "reviewer"})
    assert db.session.scalar(sa.select(Notification.template).where(
        Notification.recipient == "porteuse@example.org")) == "reviewer_added"
    with pytest.raises(DomainError, match="fait déjà partie"):
        service.invite_reviewer(call, "porteuse@example.org", full_name="", settings=settings(make_institution()),
                                by=admin_user)


@pytest.mark.parametrize("email, name, field", [("pas-une-adresse", "X", "email"), ("nouveau@exemple.fr", " ", "full_name")])
def test_invitation_refusals(db, make_call, make_institution, admin_user, email, name, field):
    with pytest.raises(DomainError) as refused:
        service.invite_reviewer(make_call(), email, full_name=name, settings=settings(make_institution()), by=admin_user)
    assert refused.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"institution_id": None}, "institution_id"), ({"capacity": -1}, "capacity"),
    ({"activity_domains": ("astrologie",)}, "activity_domains"), ({"region_codes": ("99",)}, "region_codes"),
    ({"regional_group_id": 10**6}, "regional_group_id")])
def test_settings_are_checked(db, make_call, make_institution, admin_user, change, field):
    values = {"institution_id": make_institution().id} | change
    with pytest.raises(DomainError) as refused:
        service.invite_reviewer(make_call(), "a@exemple.fr", full_name="A", by=admin_user,
                                settings=service.MemberSettings(**values))
    assert refused.value.field == field


def test_institutions_siren_is_validated_and_names_are_unique(db, admin_user):
    with pytest.raises(DomainError) as refused:
        service.create_institution("DGCS", "ministry", "123 456 789", by=admin_user)
    assert refused.value.field == "institution_siren"
    with pytest.raises(DomainError) as refused:
        service.create_institution("DGCS", "planete", "", by=admin_user)
    assert refused.value.field == "institution_kind"
    created = service.create_institution("DGCS", "ministry", "110 002 011", by=admin_user)
    assert (created.siren, created.kind) == ("110002011", InstitutionKind.MINISTRY)
    with pytest.raises(DomainError, match="porte déjà ce nom"):
        service.create_institution("dgcs", "ministry", "", by=admin_user)


def test_a_member_with_assignments_cannot_be_removed_and_is_told_why(db, make_call, make_dossier, make_pool_member,
                                                                     make_assignment, admin_user):
    call = make_call()
    member, free = make_pool_member(call), make_pool_member(call)
    make_assignment(make_dossier(call=call, complete=True), member.user)
    with pytest.raises(DomainError, match=r"1 dossier\(s\) de cet appel lui ont déjà été attribués"):
        service.remove_member(member, by=admin_user)
    service.remove_member(free, by=admin_user)
    db.session.commit()
    assert db.session.scalars(sa.select(ReviewerPoolMember.id)).all() == [member.id]


def test_regional_groups_only_for_regional_calls(db, make_call, admin_user):
    with pytest.raises(DomainError, match="pas d'instruction régionale"):
        service.create_regional_group(make_call(), "84", by=admin_user)
    call = make_call(has_regional_instruction=True)
    group = service.create_regional_group(call, "84", by=admin_user)
    assert group.name == "Auvergne-Rhône-Alpes"
    with pytest.raises(DomainError, match="déjà son groupe"):
        service.create_regional_group(call, "84", by=admin_user)
    with pytest.raises(DomainError):
        service.create_regional_group(call, "99", by=admin_user)


# --- pages ----------------------------------------------------------------------------------------------

def test_admin_invites_edits_and_removes_through_the_pages(client, login_as, db, make_call, admin_user):
    call = make_call(has_regional_instruction=True)
    login_as(admin_user)
    assert client.get(f"/admin/appels/{call.slug}/rapporteurs").status_code == 200
    assert client.post(f"/admin/appels/{call.slug}/rapporteurs/groupes", data={"region_code": "84"}).status_code == 302
    group = db.session.scalar(sa.select(RegionalGroup))
    client.get(f"/admin/appels/{call.slug}/rapporteurs/inviter")
    # A bad SIREN for the new institution: the form again, everything typed kept, the error beside the field.
    typed = {"email": "nouvelle@exemple.fr", "full_name": "Nina Nouvelle", "institution_id": "nouvelle",
             "institution_name": "Région Auvergne-Rhône-Alpes", "institution_kind": "region",
             "institution_siren": "123456789", "capacity": "6", "activity_domains": ["numerique", "culture"],
             "region_codes": ["84"], "regional_group_id": str(group.id)}
    refused = client.post(f"/admin/appels/{call.slug}/rapporteurs/inviter", data=typed)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'id="institution_siren-desc-error"' in page and "clé de contrôle valide" in text(refused)
    assert 'value="Nina Nouvelle"' in page and 'value="Région Auvergne-Rhône-Alpes"' in page
    assert db.session.scalar(sa.select(sa.func.count(Institution.id))) == 0
    bad_capacity = client.post(f"/admin/appels/{call.slug}/rapporteurs/inviter", data=typed | {"capacity": "six"})
    assert bad_capacity.status_code == 400 and "nombre entier de dossiers" in text(bad_capacity)

    response = client.post(f"/admin/appels/{call.slug}/rapporteurs/inviter", data=typed | {"institution_siren": "234 400 034"})
    assert response.status_code == 302
    member = db.session.scalar(sa.select(ReviewerPoolMember))
    assert (member.capacity, member.regional_group_id, member.institution.siren) == (6, group.id, "234400034")
    listing = text(client.get(f"/admin/appels/{call.slug}/rapporteurs"))
    assert "Nina Nouvelle" in listing and "Compte non activé" in listing and "0 / 6" in listing

    edit = f"/admin/appels/{call.slug}/rapporteurs/{member.id}"
    assert client.get(edit).status_code == 200
    assert client.post(edit, data={"institution_id": str(member.institution_id), "capacity": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewerPoolMember, member.id).capacity is None
    assert client.post(f"{edit}/retrait").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ReviewerPoolMember.id))) == 0


def test_a_refused_removal_says_why(client, login_as, db, make_call, make_dossier, make_pool_member, make_assignment,
                                    admin_user):
    call = make_call()
    member = make_pool_member(call)
    make_assignment(make_dossier(call=call, complete=True), member.user)
    login_as(admin_user)
    response = client.post(f"/admin/appels/{call.slug}/rapporteurs/{member.id}/retrait", follow_redirects=True)
    assert "ne peut pas être retiré(e) du vivier : 1 dossier(s)" in text(response)


def test_list_filters_sorts_and_pages(client, login_as, db, make_call, make_user, make_pool_member, make_institution,
                                      admin_user):
    from ptce_aap.admin import pool as pool_views

    call = make_call()
    anct, cdc = make_institution("ANCT"), make_institution("Caisse des Dépôts", kind=InstitutionKind.CDC)
    for i in range(pool_views.PER_PAGE + 2):
        make_pool_member(call, make_user(f"r{i:02d}@exemple.fr", roles=(Role.REVIEWER,), full_name=f"Rapporteur {i:02d}"),
                         institution=anct if i % 2 else cdc)
    make_pool_member(make_call())  # another call's pool
    login_as(admin_user)
    first = text(client.get(f"/admin/appels/{call.slug}/rapporteurs"))
    assert "52 rapporteurs — page 1 sur 2" in first and "Rapporteur 00" in first and "Rapporteur 51" not in first
    second = text(client.get(f"/admin/appels/{call.slug}/rapporteurs?page=2"))
    assert "Rapporteur 51" in second
    desc = text(client.get(f"/admin/appels/{call.slug}/rapporteurs?tri=nom&ordre=desc"))
    assert desc.index("Rapporteur 51") < desc.index("Rapporteur 50")
    only = text(client.get(f"/admin/appels/{call.slug}/rapporteurs?institution={cdc.id}&q=rapporteur 1"))
    assert "5 rapporteurs" in only  # the Caisse's (even numbers) named "Rapporteur 1…": 10, 12, 14, 16, 18
    assert "Rapporteur 11" not in only and "Rapporteur 20" not in only
    assert client.get(f"/admin/appels/{call.slug}/rapporteurs?page=99999999999&institution=x&tri=zz").status_code == 200


def test_list_query_count_is_constant(client, login_as, db, make_call, make_dossier, make_pool_member,
                                      make_assignment, admin_user):
    call = make_call(has_regional_instruction=True)
    dossier = make_dossier(call=call, complete=True)

    def add(n):
        for _ in range(n):
            member = make_pool_member(call, capacity=3, activity_domains=("numerique",), region_codes=("84",))
            make_assignment(dossier, member.user)

    login_as(admin_user)
    add(3)
    client.get(f"/admin/appels/{call.slug}/rapporteurs")
    few = queries_for(client, db, f"/admin/appels/{call.slug}/rapporteurs")
    add(6)
    many = queries_for(client, db, f"/admin/appels/{call.slug}/rapporteurs")
    assert_same(few, many)
    assert text(client.get(f"/admin/appels/{call.slug}/rapporteurs")).count("1 / 3") == 9


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_only_admins_reach_the_pool(client, login_as, db, make_call, make_user, make_pool_member, who):
    call = make_call()
    member = make_pool_member(call)
    user = member.user if who == "reviewer" else make_user()
    login_as(user)
    base = f"/admin/appels/{call.slug}/rapporteurs"
    for url in (base, f"{base}/inviter", f"{base}/{member.id}"):
        assert client.get(url).status_code == 403, url
    for url in (f"{base}/inviter", f"{base}/{member.id}", f"{base}/{member.id}/retrait", f"{base}/groupes"):
        assert client.post(url, data={"email": "x@exemple.fr"}).status_code == 403, url
    assert db.session.scalar(sa.select(sa.func.count(ReviewerPoolMember.id))) == 1


def test_another_calls_member_is_not_found(client, login_as, db, make_call, make_pool_member, admin_user):
    call, other = make_call(), make_call()
    theirs = make_pool_member(other)
    login_as(admin_user)
    base = f"/admin/appels/{call.slug}/rapporteurs/{theirs.id}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/retrait").status_code == 404
    assert client.get("/admin/appels/inconnu/rapporteurs").status_code == 404
    assert client.get(f"/admin/appels/{call.slug}/rapporteurs/99999999999").status_code == 404


def test_every_field_in_fault_is_reported_at_once(db, make_call, admin_user):
    with pytest.raises(DomainError) as refused:
        service.invite_reviewer(make_call(), "pas-une-adresse", full_name=" ", by=admin_user,
                                settings=service.MemberSettings(institution_id=None, capacity=-1,
                                                                region_codes=("99",)))
    assert [field for field, _message in refused.value.problems] == [
        "email", "institution_id", "capacity", "region_codes", "full_name"]
    with pytest.raises(DomainError) as refused:
        service.create_institution(" ", "planete", "123", by=admin_user)
    assert [field for field, _m in refused.value.problems] == ["institution_name", "institution_kind",
                                                                "institution_siren"]


def test_an_applicant_of_the_call_never_joins_its_pool_nor_reviews_a_competitor(
        db, make_call, make_user, make_dossier, make_institution, make_pool_member, make_assignment, admin_user):
    from ptce_aap import permissions
    from ptce_aap.services import assignments

    call, other_call = make_call(), make_call()
    person = make_user("candidate@example.org", full_name="Claire Candidate")
    make_dossier(call=call, owner=person, pole_name="Pôle des Candidats")  # a draft is enough
    with pytest.raises(DomainError, match="« Pôle des Candidats »") as refused:
        service.invite_reviewer(call, "Candidate@Example.org", full_name="", settings=settings(make_institution()),
                                by=admin_user)
    assert refused.value.field == "email" and "Claire Candidate" in refused.value.message
    db.session.rollback()
    service.invite_reviewer(other_call, "candidate@example.org", full_name="", settings=settings(make_institution()),
                            by=admin_user)  # another call: fine
    db.session.commit()
    # A member who becomes an applicant of the call afterwards: conflicted on the whole call.
    reviewer = make_user("devenu@example.org", roles=(Role.REVIEWER,), full_name="Denis Devenu")
    member = make_pool_member(call, reviewer)
    competitor = make_dossier(call=call, complete=True, pole_name="Pôle Concurrent")
    make_dossier(call=call, owner=reviewer, pole_name="Pôle de Denis")
    assert {(competitor.id, reviewer.id)} <= assignments.blocked_pairs(call)
    with pytest.raises(DomainError, match="« Pôle de Denis »"):
        service.update_member(member, settings(make_institution()), by=admin_user)
    db.session.rollback()
    competitor.status = DossierStatus.ELIGIBLE  # written straight: only the applicant rule may refuse below
    make_assignment(competitor, reviewer)
    db.session.refresh(reviewer)
    assert permissions.reviewer_assignment(reviewer, competitor) is None
    assert competitor.id in permissions.conflicted_dossier_ids(reviewer, [competitor])
