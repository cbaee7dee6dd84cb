"""The « Identité » section: RNA number format, the department picker (checkboxes by region), and the
INSEE hint listing every commune of a postal code."""

import re

from ptce_aap.models.dossiers import Dossier


def _post(client, dossier, data):
    return client.post(f"/porteur/dossiers/{dossier.id}/identite", data={"version": dossier.version, **data})


def _reload(db, dossier):
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


def test_rna_number_must_be_w_and_nine_digits(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    assert "la lettre W suivie de 9 chiffres, par exemple W691234567" in page  # the format, before typing

    assert _post(client, dossier, {"carrier_rna": "W12345"}).status_code == 302
    d = _reload(db, dossier)
    assert d.carrier_rna == "W12345"  # kept as typed (a draft), flagged next to the field
    page = client.get(f"/porteur/dossiers/{d.id}/identite").get_data(as_text=True)
    error = re.search(r'<p id="carrier_rna-desc-error" class="fr-error-text">([^<]*)</p>', page)
    assert error is not None
    assert "Le numéro RNA « W12345 » n&#39;a pas le bon format" in error.group(1)
    assert "lettre W suivie de 9 chiffres, par exemple W691234567" in error.group(1)
    assert 'aria-invalid="true"' in page.split('id="carrier_rna"')[0].rsplit("<input", 1)[1] + \
        page.split('id="carrier_rna"')[1].split(">", 1)[0]

    # Spaces and a lower-case w are how people copy it: stored as the RNA writes it, and accepted.
    assert _post(client, d, {"carrier_rna": "w 691 234 567"}).status_code == 302
    d = _reload(db, dossier)
    assert d.carrier_rna == "W691234567"
    page = client.get(f"/porteur/dossiers/{d.id}/identite").get_data(as_text=True)
    assert "carrier_rna-desc-error" not in page
    summary = client.get(f"/porteur/dossiers/{d.id}").get_data(as_text=True)
    assert "Numéro RNA" not in summary or "n&#39;a pas le bon format" not in summary

    for bad in ("W1234567890", "X123456789", "W12345678A"):
        _post(client, _reload(db, dossier), {"carrier_rna": bad})
        page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
        assert "carrier_rna-desc-error" in page, bad


def test_departments_are_checkboxes_grouped_by_region_chosen_region_first(client, login_as, make_dossier,
                                                                           applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, {"region_code": "84", "departments": ["69", "01"]})
    dossier = _reload(db, dossier)
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    assert "Ctrl" not in page and 'multiple' not in page.split('id="departments"')[1][:200]
    picker = page.split('data-department-picker>')[1].split("</fieldset>\n</fieldset>")[0]
    # One fieldset per region, with its legend; the chosen region first.
    regions = re.findall(r'<fieldset class="fr-fieldset ptce-departments__region[^"]*" data-region="(\w+)"', picker)
    assert len(regions) == 18 and regions[0] == "84"
    assert '<legend class="fr-fieldset__legend fr-fieldset__legend--regular fr-text--bold" id="departments-region-84">' \
           'Auvergne-Rhône-Alpes</legend>' in picker
    # 101 labelled checkboxes, those of the dossier ticked.
    boxes = re.findall(r'<input type="checkbox" name="departments" value="(\w+)" id="departments-\1"( checked)?>', picker)
    assert len(boxes) == 101
    assert sorted(code for code, checked in boxes if checked) == ["01", "69"]
    assert '<label class="fr-label" for="departments-26">26 — Drôme</label>' in picker
    assert "Départements cochés : 01 — Ain, 69 — Rhône" in picker  # in the list's order
    # The search box and region switch are for JavaScript only (hidden without it), and post nothing.
    assert re.search(r'data-js-only hidden', picker)
    assert 'id="departments-filter"' in picker and 'name="departments-filter"' not in picker

    # Ticking boxes saves them; a department outside the chosen region is kept, the rules say the rest.
    assert _post(client, dossier, {"region_code": "84", "departments": ["26", "07", "05"]}).status_code == 302
    assert _reload(db, dossier).departments == ["26", "07", "05"]
    # Nothing ticked: saved as none, flagged as missing.
    assert _post(client, _reload(db, dossier), {"region_code": "84"}).status_code == 302
    assert _reload(db, dossier).departments == []
    summary = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    assert "choisissez au moins un département" in summary
    # A value that is no department is refused next to the picker, what was typed elsewhere kept.
    response = _post(client, _reload(db, dossier), {"pole_name": "Pôle gardé", "departments": ["26", "zz"]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="departments-desc-error"' in page and "Choisissez une des valeurs proposées." in page
    assert 'value="Pôle gardé"' in page


def test_the_region_chosen_in_the_form_comes_first(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, {"region_code": "93", "departments": ["13"]})
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    regions = re.findall(r'data-region="(\w+)"', page)
    assert regions[0] == "93"


def test_a_postal_code_lists_every_commune_it_covers(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, {"commune_insee": "26400", "commune_name": "Crest"})
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    error = re.search(r'<p id="commune_insee-desc-error" class="fr-error-text">([^<]*)</p>', page).group(1)
    assert "26400 est un code postal, pas un code INSEE" in error
    assert "parmi les 24 communes de ce code postal" in error
    assert "Crest (26108)" in error  # the one the pole is in, first: the most populous
    assert error.index("Crest (26108)") < error.index("Allex (26006)")
    for commune in ("Aouste-sur-Sye (26011)", "Omblèze (26221)", "Vaunaveys-la-Rochette (26365)", "Saou (26336)"):
        assert commune in error
    assert error.count("(26") == 24
    # With the right code, no message.
    _post(client, _reload(db, dossier), {"commune_insee": "26108", "commune_name": "Crest"})
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    assert "commune_insee-desc-error" not in page


def test_regions_are_in_french_alphabetical_order_after_the_chosen_one(client, login_as, make_dossier, applicant,
                                                                       db):
    """« Île-de-France » among the H–N (accents ignored), not last; the chosen region first, each group
    carrying its alphabetical place so that the script can put a newly chosen region first."""
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, {"region_code": "53", "departments": ["35"]})
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    groups = re.findall(r'data-region="(\w+)" data-order="(\d+)"', page)
    assert groups[0] == ("53", "2")  # Bretagne first, third in the alphabet
    names = re.findall(r'id="departments-region-\w+">([^<]+)</legend>', page)
    assert names[0] == "Bretagne"
    rest = names[1:]
    assert rest.index("Île-de-France") == rest.index("Hauts-de-France") + 1
    assert rest[-1] == "Provence-Alpes-Côte d&#39;Azur"
    assert sorted(int(order) for _code, order in groups) == list(range(18))
    select = page[page.index('id="region_code"'):]
    options = re.findall(r'<option value="\w+"[^>]*>([^<]+)</option>', select[:select.index("</select>")])
    assert options.index("Île-de-France") == options.index("Hauts-de-France") + 1
