import pytest

from ptce_aap.domain import geography


def test_official_codes_of_regions_and_departments():
    assert geography.regions()["84"].name == "Auvergne-Rhône-Alpes"
    assert geography.departments()["2A"].name == "Corse-du-Sud"
    assert geography.departments()["974"].region == "04"
    assert len(geography.regions()) == 18
    assert len(geography.departments()) == 101


def test_adjacency_is_symmetric_and_matches_the_map():
    assert geography.adjacent_departments("75") == {"92", "93", "94"}
    assert geography.adjacent_departments("13") == {"04", "30", "83", "84"}
    assert geography.adjacent_departments("974") == frozenset()
    for code in geography.departments():
        for other in geography.adjacent_departments(code):
            assert code in geography.adjacent_departments(other), (code, other)


def test_department_of_insee_code():
    assert geography.department_of_insee("69123") == "69"
    assert geography.department_of_insee("2A004") == "2A"
    assert geography.department_of_insee("97411") == "974"
    assert geography.department_of_insee("6912") is None
    assert geography.department_of_insee("99999") is None


def test_the_postal_code_of_a_commune_only_when_it_has_one():
    from ptce_aap.domain.geography import postal_code

    assert postal_code("26108") == "26400"  # Crest
    assert postal_code("13201") == "13001"  # Marseille 1er arrondissement
    assert postal_code("13055") is None and postal_code("75056") is None  # several: the address must say it
    assert postal_code("99999") is None and postal_code("") is None


@pytest.mark.parametrize(("address", "insee", "commune", "expected"), [
    ("12 rue des Tisserands", "26108", "Crest", "12 rue des Tisserands, 26400 CREST"),
    ("12 rue des Tisserands 26400", "26108", "Crest", "12 rue des Tisserands 26400, CREST"),
    ("12 rue des Tisserands, 26400 Crest", "26108", "Crest", "12 rue des Tisserands, 26400 Crest"),
    ("3 quai du Port", "13055", "Marseille", "3 quai du Port, MARSEILLE"),
    ("", "26108", "Crest", "26400 CREST"),
    ("", "", "", ""),
])
def test_the_letter_is_addressed_with_the_postal_code(address, insee, commune, expected):
    from types import SimpleNamespace

    from ptce_aap.services.decision_letters import postal_address

    assert postal_address(SimpleNamespace(address=address, commune_insee=insee, commune_name=commune)) == expected
