"""Conflict detection, pure (``domain.conflicts.detect``): each SIREN path, the collectivité member, the
co-editor, and what is not a conflict."""

from ptce_aap.domain.conflicts import DossierFacts, MemberFacts, PoolFacts, detect, valid_siren
from ptce_aap.enums import InstitutionKind, MemberCategory

CARRIER, MEMBER, REGION, OTHER = "732829320", "356000000", "552081317", "443061841"
DOSSIERS = [DossierFacts(10, "Pôle Alpha", CARRIER), DossierFacts(20, "Pôle Beta", "")]
MEMBERS = [MemberFacts(20, MEMBER, MemberCategory.ESS), MemberFacts(20, REGION, MemberCategory.COLLECTIVITY),
           MemberFacts(99, OTHER, MemberCategory.ESS)]  # pole 99 has no submitted dossier


def _detect(*pool, coeditors=()):
    return detect(list(pool), DOSSIERS, MEMBERS, list(coeditors))


def test_the_institution_is_the_structure_porteuse():
    found = _detect(PoolFacts(1, CARRIER, InstitutionKind.STATE_AGENCY))
    assert list(found) == [(1, "siren", CARRIER)]
    assert "structure porteuse du pôle « Pôle Alpha »" in found[(1, "siren", CARRIER)]


def test_the_institution_is_a_member():
    found = _detect(PoolFacts(2, MEMBER, InstitutionKind.CDC))
    assert list(found) == [(2, "siren", MEMBER)]
    assert "structure membre du pôle « Pôle Beta »" in found[(2, "siren", MEMBER)]


def test_the_institution_is_a_collectivite_member():
    found = _detect(PoolFacts(3, REGION, InstitutionKind.REGION))
    assert list(found) == [(3, "siren", REGION)]
    assert "collectivité membre du pôle « Pôle Beta »" in found[(3, "siren", REGION)]


def test_a_region_that_is_a_member_of_another_category_is_a_collectivite_member_too():
    found = _detect(PoolFacts(3, MEMBER, InstitutionKind.REGION))
    assert "collectivité membre du pôle « Pôle Beta »" in found[(3, "siren", MEMBER)]


def test_the_person_co_edits_the_dossier():
    found = _detect(PoolFacts(4, None, None), coeditors=[(4, 20), (4, 99), (5, 10)])
    assert found == {(4, "pole_id", 20): "La personne co-édite le dossier du pôle « Pôle Beta »."}


def test_no_siren_no_match_no_conflict():
    assert _detect(PoolFacts(6, None, InstitutionKind.MINISTRY), PoolFacts(7, OTHER, InstitutionKind.MINISTRY),
                   PoolFacts(8, "110002011", InstitutionKind.MINISTRY)) == {}


def test_valid_siren():
    assert valid_siren("732 829 320".replace(" ", "")) == CARRIER
    assert valid_siren("732829321") is None
    assert valid_siren("12345678") is None
    assert valid_siren("") is None
    assert valid_siren(None) is None
