"""Row lists (members, expenses, resources) and typed numbers (issue 9 points 7 and 11): each row's error is
shown on its row, on the field in error (aria-describedby), and listed at the top with a link to it; negative
amounts and FTE say "must be positive or zero", « 1e3 » is refused saying how to write it; totals count only
valid amounts and say when some are not counted; the page carries the empty row the script adds in place."""

import re

from ptce_aap.models.dossiers import Dossier

GOOD = {"members-0-name": "Coop A", "members-0-category": "ess", "members-0-department": "69",
        "members-0-role": "fondateur", "members-0-siret": "73282932000074", "members-0-is_legal_person": "y"}


def _post(client, dossier, section, data):
    return client.post(f"/porteur/dossiers/{dossier.id}/{section}", data=data)


def _page(client, dossier, section):
    return client.get(f"/porteur/dossiers/{dossier.id}/{section}").get_data(as_text=True)


def _row(page, row_id):
    """The HTML of one row group (from its fieldset to the next one)."""
    start = page.index(f'<fieldset class="ptce-row" id="{row_id}"')
    end = page.find("</fieldset>", start)
    return page[start:end]


def _field(html, field_id):
    return re.search(rf'<(input|select)[^>]*\bid="{field_id}"[^>]*>', html).group(0)


def test_a_member_row_error_is_on_its_row_and_linked_from_the_top(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "membres", {**GOOD, "version": dossier.version,
                                       "members-1-name": "Entreprise B", "members-1-category": "enterprise",
                                       "members-1-department": "01", "members-1-role": "membre",
                                       "members-1-siret": "123", "members-1-is_legal_person": "y"})
    page = _page(client, dossier, "membres")
    message = ("Membre n° 2 (Entreprise B) : le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
               "(vous en avez saisi 3).")
    second = _row(page, "members-1")
    assert f'<p id="members-1-siret-desc-error" class="fr-error-text">{message}</p>' in second.replace("&#39;", "'")
    siret = _field(second, "members-1-siret")
    assert 'aria-describedby="members-1-siret-desc-error"' in siret and 'aria-invalid="true"' in siret
    assert 'value="123"' in siret  # what was typed stays
    assert "desc-error" not in _row(page, "members-0")  # the first row is fine: no error there
    summary = page[page.index('id="problemes"'):page.index('id="section-form"')]
    assert '<a href="#members-1-siret">' in summary  # the list at the top links to the field


def test_negative_and_exponent_amounts_say_why_on_the_line(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "budget", {
        "version": dossier.version,
        "expenses-0-label": "Salaires", "expenses-0-amount_eur": "-5 000",
        "expenses-1-label": "Loyer", "expenses-1-amount_eur": "12 000",
        "resources-0-source": "etat", "resources-0-funder": "État", "resources-0-label": "AAP",
        "resources-0-amount_eur": "1e3", "resources-0-status": "sollicite",
    })
    page = _page(client, dossier, "budget").replace("&#39;", "'")
    negative = "Dépense « Salaires » : « -5 000 » n'est pas accepté. Le montant doit être positif ou nul."
    exponent = ("Ressource « AAP » : « 1e3 » n'est pas accepté. Écrivez le nombre en chiffres, sans exposant : "
                "1000 et non 1e3.")
    assert f'<p id="expenses-0-amount_eur-desc-error" class="fr-error-text">{negative}</p>' in _row(page, "expenses-0")
    assert 'value="-5 000"' in _field(_row(page, "expenses-0"), "expenses-0-amount_eur")
    assert f'<p id="resources-0-amount_eur-desc-error" class="fr-error-text">{exponent}</p>' in \
        _row(page, "resources-0")
    assert "n'est pas un nombre valide" not in page and "n'est pas un montant valide" not in page
    assert '<a href="#expenses-0-amount_eur">' in page and '<a href="#resources-0-amount_eur">' in page
    # The totals count the valid amounts only, and say that two are not counted.
    assert '<output id="total-expense" aria-live="polite">12\u202f000 €</output>' in page
    assert '<output id="total-resource" aria-live="polite">0 €</output>' in page
    assert "Montants non comptés tant qu’ils ne sont pas corrigés : 2." in page
    assert db.session.get(Dossier, dossier.id).financing_lines[0].amount_eur is None


def test_negative_and_exponent_fte_say_why(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "projet", {"version": dossier.version, "jobs_existing_fte": "-2",
                                      "jobs_to_create_fte": "1e3"})
    page = _page(client, dossier, "projet").replace("&#39;", "'")
    assert ('<p id="jobs_existing_fte-desc-error" class="fr-error-text">Emplois existants (ETP) : « -2 » n\'est pas '
            "accepté. Le nombre doit être positif ou nul, par exemple 2 ou 2,5.</p>") in page
    assert ('<p id="jobs_to_create_fte-desc-error" class="fr-error-text">Emplois à créer (ETP) : « 1e3 » n\'est pas '
            "accepté. Écrivez le nombre en chiffres, sans exposant : 1000 et non 1e3.</p>") in page


def test_rows_show_visible_labels_and_a_template_for_rows_added_in_place(client, login_as, make_dossier,
                                                                         applicant):
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    page = _page(client, dossier, "membres")
    first = _row(page, "members-0")
    assert '<legend class="ptce-row__legend">Membre n° 1</legend>' in first
    assert ('<label class="fr-label" for="members-0-name">Nom<span class="fr-sr-only"> du membre n° 1</span>'
            "</label>") in first
    assert 'value="remove_member:0">Retirer<span class="fr-sr-only"> le membre n° 1</span></button>' in first
    template = page[page.index('<template data-row-template="members">'):]
    assert 'id="members-__i__-name"' in template and "du membre n° __n__" in template
    assert 'data-add-row="members"' in page
    budget = _page(client, dossier, "budget")
    for name in ("expenses", "resources"):
        assert f'<template data-row-template="{name}">' in budget and f'id="{name}-__i__-amount_eur"' in budget


def test_enter_in_a_row_field_saves_instead_of_removing_the_first_row(client, login_as, make_dossier, applicant):
    """The form's first submit button is the one Enter presses: it must save, not « Retirer » row 1."""
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    page = _page(client, dossier, "membres")
    form = page[page.index('id="section-form"'):]
    first_button = re.search(r"<button [^>]*>", form).group(0)
    assert 'type="submit"' in first_button and "name=" not in first_button


def test_row_lists_in_english(client, login_as, make_dossier, applicant, db):
    applicant.locale = "en"
    db.session.commit()
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    page = _page(client, dossier, "membres")
    assert ('<label class="fr-label" for="members-0-name">Name<span class="fr-sr-only"> of member no. 1</span>'
            "</label>") in page
    assert 'data-added="Member no. __n__ added: type its name."' in page
    budget = _page(client, dossier, "budget")
    assert 'data-gap="Difference between resources and expenses: __gap__."' in budget
    assert "Total expenses:" in budget and "Montant" not in budget


def test_without_javascript_a_blank_row_is_dropped_so_errors_land_on_their_rows(client, login_as, make_dossier,
                                                                                 applicant):
    """« Ajouter » without JavaScript, with a blank row left in the middle: the page comes back numbered as the
    stored rows (and their errors), with the new empty row at the end, focused."""
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _post(client, dossier, "membres", {
        **GOOD, "version": dossier.version, "row_action": "add_member",
        "members-1-name": "", "members-1-siret": "", "members-1-is_legal_person": "y",
        "members-2-name": "Entreprise B", "members-2-siret": "123", "members-2-is_legal_person": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    second = _row(page, "members-1")
    assert 'value="Entreprise B"' in _field(second, "members-1-name")
    assert 'id="members-1-siret-desc-error"' in second  # its error, on its row
    assert '<input autofocus class="fr-input" id="members-2-name"' in page  # the new row, empty and focused
    assert 'value=""' in _field(_row(page, "members-2"), "members-2-name")
    assert 'id="members-3-name"' not in page


def _error(html, field_id):
    found = re.search(rf'<p id="{field_id}-desc-error" class="fr-error-text">([^<]*)</p>', html)
    return found.group(1).replace("&#39;", "'") if found else None


def test_every_problem_listed_for_a_row_is_on_its_field_too(client, login_as, make_dossier, applicant):
    """A member with only a bad SIRET: the missing name, category, role and department are marked on their
    fields as well as the SIRET, and the list at the top says the same, in sentence case after the colon."""
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "membres", {**GOOD, "version": dossier.version, "members-1-siret": "123"})
    page = _page(client, dossier, "membres")
    second = _row(page, "members-1")
    expected = {"members-1-name": "Membre n° 2 : nom à renseigner.",
                "members-1-category": "Membre n° 2 : catégorie à choisir.",
                "members-1-role": "Membre n° 2 : rôle à choisir.",
                "members-1-department": "Membre n° 2 : département à choisir.",
                "members-1-siret": "Membre n° 2 : le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
                                   "(vous en avez saisi 3)."}
    summary = page[page.index('id="problemes"'):page.index('id="section-form"')].replace("&#39;", "'")
    for field_id, message in expected.items():
        assert _error(second, field_id) == message
        control = _field(second, field_id)
        assert 'aria-invalid="true"' in control and f'aria-describedby="{field_id}-desc-error"' in control
        assert f'<a href="#{field_id}">{message}</a>' in summary
    assert "desc-error" not in _row(page, "members-0")


def test_every_problem_listed_for_a_budget_line_is_on_its_field_too(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _post(client, dossier, "budget", {"version": dossier.version, "expenses-0-label": "Salaires",
                                      "resources-0-funder": "Région", "resources-0-amount_eur": "1 000"})
    page = _page(client, dossier, "budget")
    resource = _row(page, "resources-0")
    for field_id, message in {"resources-0-label": "Ressource « Région » : intitulé à renseigner.",
                              "resources-0-source": "Ressource « Région » : origine du financement à choisir.",
                              "resources-0-status": "Ressource « Région » : indiquez si le financement est acquis "
                                                    "ou sollicité."}.items():
        assert _error(resource, field_id) == message
        assert 'aria-invalid="true"' in _field(resource, field_id)
    assert _error(_row(page, "expenses-0"), "expenses-0-amount_eur") == "Dépense « Salaires » : montant à renseigner."
