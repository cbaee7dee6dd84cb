"""Odd input never makes a 500: foreign digits, unknown choices, odd row indexes, huge ids (issue 8, finding 5).

A fuzz over every field of every applicant section form and every row action, and over every route
with an integer in its address: the bad value is refused (or kept as typed and flagged) with a French
message next to its field, what else was typed is kept, and the answer is never a server error."""

import itertools
import re

import pytest
from wtforms import FieldList
from wtforms.fields.core import UnboundField

from ptce_aap.applicants import sections
from ptce_aap.models.dossiers import Dossier

ODD = {
    "superscript": "²⁰¹⁹",
    "subscript": "₂₀₁₉",
    "circled": "①②③④",
    "arabic_indic": "٢٠١٩",
    "fullwidth": "２０１９",
    "exponent": "1e3",
    "nan": "NaN",
    "huge": "9" * 40,
    "negative": "-1",
    "empty": "",
    "control": "a\x00b\x07c\x1b",
    "long": "x" * 10_000,
    "unknown_choice": "zzz",
}

HUGE_IDS = ["99999999999999999999999", "9223372036854775808", "2147483648", "0"]


def _post(client, dossier, section, data, **kw):
    return client.post(f"/porteur/dossiers/{dossier.id}/{section}", data=data, **kw)


def _reload(db, dossier):
    db.session.expire_all()
    return db.session.get(Dossier, dossier.id)


@pytest.fixture
def editing(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    return dossier


@pytest.mark.parametrize("year", ["²⁰¹⁹", "①②③④", "٢٠١٩", "２０１９", "1e3", "99999"])
def test_a_year_in_foreign_digits_is_kept_and_flagged(client, editing, db, year):
    response = _post(client, editing, "identite", {"version": editing.version, "cooperation_start_year": year,
                                                   "pole_name": "Pôle gardé"})
    assert response.status_code == 302
    d = _reload(db, editing)
    assert d.cooperation_start_year is None
    assert d.raw_inputs["cooperation_start_year"] == year
    assert d.pole_name == "Pôle gardé"
    page = client.get(f"/porteur/dossiers/{d.id}/identite").get_data(as_text=True)
    assert "n&#39;est pas une année ; saisissez-la sur quatre chiffres" in page


def test_an_unknown_radio_choice_is_refused_next_to_its_field(client, editing, db):
    response = _post(client, editing, "activites", {"version": editing.version, "governance_form": "zzz",
                                                    "governance_text": "Un conseil collégial."})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choisissez une des valeurs proposées." in page
    assert "Un conseil collégial." in page  # what else was typed is kept
    d = _reload(db, editing)
    assert d.governance_form is None and d.governance_text in ("", None)


@pytest.mark.parametrize("field,value", [
    ("carrier_legal_form", "zzz"), ("region_code", "99"), ("departments", "zz"), ("territory_types", "zzz"),
])
def test_an_unknown_select_choice_is_refused(client, editing, field, value):
    response = _post(client, editing, "identite", {"version": editing.version, field: value,
                                                   "pole_name": "Pôle gardé"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choisissez une des valeurs proposées." in page
    assert 'value="Pôle gardé"' in page


def test_an_unknown_choice_in_autosave_is_a_json_error(client, editing):
    response = _post(client, editing, "activites", {"version": editing.version, "governance_form": "zzz"},
                     headers={"X-Autosave": "1", "Accept": "application/json"})
    assert response.status_code == 422
    assert response.json["ok"] is False
    assert response.json["field"] == "governance_form"


@pytest.mark.parametrize("key", ["members-²-name", "members-①-name", "members-٣-name", "members-１-name",
                                 "members-99999999999999999999-name", "members--1-name"])
def test_odd_row_indexes_in_field_names_are_ignored(client, editing, db, key):
    response = _post(client, editing, "membres", {"version": editing.version, key: "Coop fantôme",
                                                  "members-0-name": "Coop réelle"})
    assert response.status_code == 302
    d = _reload(db, editing)
    assert [m.name for m in d.members] == ["Coop réelle"]


@pytest.mark.parametrize("key", ["resources-①-amount_eur", "expenses-²-label"])
def test_odd_budget_row_indexes_are_ignored(client, editing, key):
    response = _post(client, editing, "budget", {"version": editing.version, key: "12"})
    assert response.status_code == 302


@pytest.mark.parametrize("action", ["remove_member:²", "remove_member:①", "remove_member:٣",
                                    "remove_member:99999999999999999999", "remove_member:-1", "remove_member:",
                                    "remove_expense:１", "add_nothing", ":"])
def test_odd_row_actions_change_nothing(client, editing, db, action):
    response = _post(client, editing, "membres", {"version": editing.version, "members-0-name": "Coop A",
                                                  "row_action": action})
    assert response.status_code in (200, 302)
    assert [m.name for m in _reload(db, editing).members] == ["Coop A"]


def test_huge_dossier_id_is_a_404(client, editing):
    for ident in HUGE_IDS:
        assert client.get(f"/porteur/dossiers/{ident}").status_code == 404


@pytest.mark.parametrize("path", ["coediteurs/{}/retirer", "invitations/{}/annuler"])
def test_huge_coeditor_and_invitation_ids_are_a_404(client, editing, path):
    for ident in HUGE_IDS:
        assert client.post(f"/porteur/dossiers/{editing.id}/" + path.format(ident)).status_code == 404, ident


# --- the fuzz ------------------------------------------------------------------------------------------

def _unbound(form_cls):
    return [(name, value) for name in dir(form_cls) if isinstance(value := getattr(form_cls, name), UnboundField)]


def _field_names(section):
    """Every input name of a section's form, with row fields as the first row's."""
    names = []
    for name, unbound in _unbound(sections.SECTION_FORMS[section]):
        if name in ("version", "force", "csrf_token"):
            continue
        if issubclass(unbound.field_class, FieldList):
            row_cls = unbound.args[0].args[0]
            names += [f"{name}-0-{sub}" for sub, _u in _unbound(row_cls)]
        else:
            names.append(name)
    return names


FRENCH_REFUSAL = re.compile(r"Choisissez une des valeurs proposées|n&#39;est pas|Saisissez|trop|caractères|"
                            r"ne peut pas|comporter au plus|doit")
WITNESS = {"identite": ("pole_name", "Pôle témoin"), "activites": ("governance_text", "Texte témoin"),
           "projet": ("summary", "Résumé témoin"), "membres": ("members-1-name", "Coop témoin"),
           "budget": ("expenses-1-label", "Poste témoin")}


@pytest.mark.parametrize("section", list(sections.SECTION_FORMS))
def test_fuzz_section_fields(client, editing, section):
    """Each odd value in each field, a good value in another: never a 500; refused with a French message
    next to the field (422, what else was typed shown again) or saved as typed (302, the page then shows
    it, flagged when it is invalid); the good value is kept. (One test per section: a test's set-up costs
    more than the hundreds of requests.)"""
    fields = _field_names(section)
    assert len(fields) >= 3
    for field in fields:
        for kind, value in ODD.items():
            witness, kept = WITNESS[section]
            data = {field: value} if field == witness else {field: value, witness: kept}
            response = _post(client, editing, section, data)
            where = (field, kind, response.status_code)
            assert response.status_code in (302, 422), where
            if response.status_code == 422:
                page = response.get_data(as_text=True)
                assert f'id="{field}-desc-error"' in page, where  # next to the field…
                assert FRENCH_REFUSAL.search(page), where  # …in French
            else:
                page = client.get(f"/porteur/dossiers/{editing.id}/{section}")
                assert page.status_code == 200, where
                page = page.get_data(as_text=True)
            if field != witness:
                assert kept in page, where


ROW_ACTION_KINDS = ["²", "①", "٣", "３", "1e3", "NaN", "9" * 40, "-1", "", "\x00", "x" * 10_000]
ROW_TARGETS = [("membres", "remove_member"), ("budget", "remove_expense"), ("budget", "remove_resource"),
               ("membres", "add_member"), ("budget", "add_expense"), ("budget", "add_resource"),
               ("identite", "remove_member")]


ROWS = {"membres": {"members-0-name": "Coop A"}, "budget": {"expenses-0-label": "Poste A",
                                                          "resources-0-label": "Ressource A"}, "identite": {}}


def test_fuzz_row_actions(client, editing):
    """Odd row numbers in ``row_action``, with a row present (so that removing is attempted)."""
    for section, target in ROW_TARGETS:
        for index in ROW_ACTION_KINDS:
            response = _post(client, editing, section, {"row_action": f"{target}:{index}", **ROWS[section]})
            assert response.status_code in (200, 302), (section, target, index, response.status_code)


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IntegerConverter"]
        if ints:
            yield rule, ints


@pytest.mark.parametrize("who", ["applicant", "admin_user", "reviewer"])
def test_fuzz_every_route_with_an_integer_id(app, client, login_as, request, who):
    """Every route with ``<int:…>``, for every method, with huge / zero / negative ids: never a 500."""
    login_as(request.getfixturevalue(who))
    seen = 0
    for (rule, ints), ident in itertools.product(list(_int_routes(app)), [*HUGE_IDS, "-1"]):
        values = {}
        for name in rule._converters:
            values[name] = "identite" if name == "section" else ("x" if name not in ints else ident)
        path = "".join(values.get(part, part) if is_var else part for is_var, part in rule._trace)
        path = path.split("|", 1)[1] if "|" in path else path
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, headers={"Accept": "text/html"})
            assert response.status_code < 500, (method, path, response.status_code)
            # 401: the API asks for its bearer token (a session is not one) before reading any id.
            refused = (401,) if path.startswith("/api/") else ()
            assert response.status_code in (302, 400, 403, 404, 405, *refused), (method, path, response.status_code)
            seen += 1
    assert seen > 20


def test_a_nul_in_an_address_or_a_parameter_is_refused_not_a_500(client, login_as, make_call, admin_user, applicant):
    """PostgreSQL refuses a NUL in any text: a slug or a search with one used to reach it (a 500)."""
    call = make_call(slug="aap-nul")
    for path in ("/appels/%00", "/appels/%00/laureats.csv", "/appels/%00/publications", "/appels/a%00b"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/appels/{call.slug}?x=%00").status_code == 400
    login_as(admin_user)
    assert client.get(f"/admin/appels/{call.slug}/dossiers?q=%00").status_code == 400
    assert client.get(f"/admin/appels/{call.slug}/rapporteurs?q=a%00").status_code == 400
    assert client.get("/admin/appels/%00/statistiques").status_code == 404
    assert client.get(f"/admin/appels/{call.slug}/dossiers?q=Tisserands").status_code == 200
    login_as(applicant)
    assert client.get("/porteur/appels/%00/nouveau").status_code == 404
