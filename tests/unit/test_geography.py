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
