"""One dossier per pole per call (SPEC §2): a structure porteuse that submitted or withdrew a dossier in a call
cannot submit another there (same SIREN, whatever the account or the pole's name). The withdrawal page, the
section and summary checks, the refused submission and the admin list say the same thing."""

import re

import pytest

from ptce_aap.domain import dossier_checks
from ptce_aap.domain.eligibility import CallFacts
from ptce_aap.enums import DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.services import submission

SIREN = "732829320"  # of the SIRET the complete test dossier carries (73282932000074)


def _csrf(client, url: str) -> str:
    """The page's CSRF token: its form's, else the page's own (a refused submission page has no form)."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    return match.group(1)


def _same_carrier(dossier, db):
    """The complete test dossiers of a call each get their own carrier: this one takes the first's."""
    dossier.carrier_siret = "73282932000074"
    db.session.commit()
    return dossier


@pytest.fixture
def withdrawn(make_dossier, applicant, db):
    first = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(first, by=applicant, now=utcnow())
    submission.withdraw_dossier(first, by=applicant, reason="Projet reporté")
    db.session.commit()
    return first


def test_check_flags_a_siren_taken_in_the_call():
    class D:  # the few attributes the check reads
        carrier_siret = "73282932000074"

    withdrawn = list(dossier_checks.check_one_per_call(D(), CallFacts(taken_sirens={SIREN: "withdrawn"})))
    assert [(p.section, p.field, p.kind) for p in withdrawn] == [("identite", "carrier_siret", "invalid")]
    assert "retiré" in withdrawn[0].message and "définitif" in withdrawn[0].message
    submitted = list(dossier_checks.check_one_per_call(D(), CallFacts(taken_sirens={SIREN: "submitted"})))
    assert "un seul dossier par pôle et par appel" in submitted[0].message
    assert list(dossier_checks.check_one_per_call(D(), CallFacts())) == []


def test_withdrawn_siren_blocks_a_new_dossier_of_the_same_carrier(withdrawn, make_dossier, make_user, db):
    other_account = make_user()
    second = _same_carrier(make_dossier(call=withdrawn.call, owner=other_account, pole_name="Autre nom",
                                        complete=True), db)
    assert dossier_service.taken_sirens(second.call, excluding=second.id) == {SIREN: "withdrawn"}
    with pytest.raises(DomainError, match="Le retrait est définitif") as refused:
        submission.submit_dossier(second, by=other_account, now=utcnow())
    assert refused.value.field == "carrier_siret"
    db.session.rollback()
    assert db.session.get(Dossier, second.id).status == DossierStatus.DRAFT
    # Another call is not concerned; a dossier does not block itself.
    assert dossier_service.taken_sirens(withdrawn.call, excluding=withdrawn.id) == {}


def test_pages_say_the_same_thing(withdrawn, make_dossier, applicant, client, login_as, db):
    login_as(applicant)
    second = _same_carrier(make_dossier(call=withdrawn.call, owner=applicant, pole_name="Pôle bis", complete=True), db)
    for url in (f"/porteur/dossiers/{second.id}", f"/porteur/dossiers/{second.id}/identite",
                f"/porteur/dossiers/{second.id}/deposer"):
        page = client.get(url).get_data(as_text=True)
        assert f"SIREN {SIREN}" in page and "Le retrait est définitif" in page, url
    submit_url = f"/porteur/dossiers/{second.id}/deposer"
    response = client.post(submit_url, data={"csrf_token": _csrf(client, submit_url)})
    assert response.status_code == 302
    assert db.session.get(Dossier, second.id).status == DossierStatus.DRAFT


def test_withdraw_confirmation_names_the_siren_and_the_rule(make_dossier, applicant, client, login_as, db):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/retrait").get_data(as_text=True)
    assert "Le retrait est définitif" in page
    assert f"La structure porteuse (SIREN {SIREN}) ne pourra pas non plus déposer un autre dossier" in page


def test_admin_list_flags_dossiers_of_the_same_siren(withdrawn, make_dossier, make_user, admin_user, client,
                                                      login_as, db):
    # A duplicate that got in before the rule (or by a race): the list says so on both rows.
    second = _same_carrier(make_dossier(call=withdrawn.call, owner=make_user(), pole_name="Pôle bis",
                                        complete=True), db)
    second.status = DossierStatus.SUBMITTED  # as it was possible before the rule
    third_owner = make_user()
    third = make_dossier(call=withdrawn.call, owner=third_owner, pole_name="Pôle ter", complete=True)
    assert third.carrier_siret != withdrawn.carrier_siret  # each pole of the fixtures has its own carrier
    submission.submit_dossier(third, by=third_owner, now=utcnow())
    db.session.commit()
    login_as(admin_user)
    page = client.get(f"/admin/appels/{withdrawn.call.slug}/dossiers").get_data(as_text=True)
    assert page.count(f"Même structure porteuse (SIREN {SIREN})") == 2
    for flagged in (withdrawn, second):
        assert "Même structure porteuse" in re.search(rf'<tr data-dossier="{flagged.id}">.*?</tr>', page, re.S).group(0)
    row = re.search(rf'<tr data-dossier="{third.id}">.*?</tr>', page, re.S).group(0)
    assert "Même structure porteuse" not in row


def test_a_dossier_reads_only_its_own_sirens_entry(withdrawn, make_dossier, make_user, applicant, db):
    """A dossier page asks whether *its* carrier's SIREN is taken: the other submitted dossiers of the call (a
    deadline has thousands) are not read. Same verdicts; a dossier without a valid SIRET reads nothing."""
    from tests.fixtures.builders import carrier_siret_for

    other = make_dossier(call=withdrawn.call, owner=make_user(), pole_name="Pôle voisin", complete=True)
    other.carrier_siret = carrier_siret_for(7)
    submission.submit_dossier(other, by=other.pole.memberships[0].user, now=utcnow())
    db.session.commit()
    second = _same_carrier(make_dossier(call=withdrawn.call, owner=make_user(), pole_name="Autre nom",
                                        complete=True), db)
    assert set(dossier_service.taken_sirens(second.call, excluding=second.id)) == {SIREN, carrier_siret_for(7)[:9]}
    assert dossier_service.call_rules(second.call, dossier=second).taken_sirens == {SIREN: "withdrawn"}
    second.carrier_siret = "73282932000075"  # a wrong key: no SIREN to look up
    assert dossier_service.call_rules(second.call, dossier=second).taken_sirens == {}
    db.session.rollback()
