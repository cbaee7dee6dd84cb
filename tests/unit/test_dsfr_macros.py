"""The DSFR macros of ``templates/_dsfr/components.html`` render DSFR's documented markup."""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ptce_aap.settings import ROOT


@pytest.fixture(scope="module")
def render():
    env = Environment(loader=FileSystemLoader(ROOT / "templates"), extensions=["jinja2.ext.i18n"],
                      autoescape=True, undefined=StrictUndefined)
    env.install_null_translations(newstyle=True)

    def render(source: str, **context) -> str:
        names = ", ".join(sorted(set(re.findall(r"\b(alert|notice|callout|badge|status_badge|rule_badge|"
                                                r"rule_mode_badge|table)\(", source))))
        template = env.from_string('{% from "_dsfr/components.html" import ' + names + " %}" + source)
        return " ".join(template.render(**context).split())

    return render


def test_table_with_scroll_region_and_caption(render):
    html = render('{% call table("Dossiers déposés", id="dossiers") %}<tbody><tr><td>1</td></tr></tbody>{% endcall %}')
    assert html == (
        '<div class="fr-table ptce-table--wrap" id="dossiers"> <div class="fr-table__wrapper"><div class="fr-table__container" '
        'tabindex="0" role="region" aria-label="Dossiers déposés"><div class="fr-table__content"> <table> '
        "<caption>Dossiers déposés</caption> <tbody><tr><td>1</td></tr></tbody> </table> </div></div></div> </div>")


def test_table_hidden_caption_without_region_with_table_attributes(render):
    html = render('{% call table("Dépenses", classes="ptce-edit-table", hide_caption=True, region=False, '
                  'attrs={"data-total": "expense"}) %}{% endcall %}')
    assert html.startswith('<div class="fr-table ptce-edit-table fr-table--no-caption ptce-table--wrap"> '
                           '<div class="fr-table__wrapper"><div class="fr-table__container"><div class="fr-table__content"> '
                           '<table data-total="expense"> <caption>Dépenses</caption>')
    assert "role=" not in html and "tabindex" not in html


def test_table_can_keep_cells_on_one_line_and_stack_rows_on_a_phone(render):
    """Long texts wrap by default (a 1280 px screen keeps every column); ``stack`` marks the table for the
    phone layout (labelled blocks, static/ptce.js)."""
    html = render('{% call table("Dossiers", wrap=False, stack=True) %}{% endcall %}')
    assert html.startswith('<div class="fr-table" data-stack>')


def test_table_region_label_differs_from_caption(render):
    html = render('{% call table("3 notifications en échec", label="Notifications en échec") %}{% endcall %}')
    assert 'role="region" aria-label="Notifications en échec"' in html
    assert "<caption>3 notifications en échec</caption>" in html


def test_table_caption_is_escaped(render):
    assert "<caption>A &lt;b&gt;</caption>" in render('{% call table("A <b>") %}{% endcall %}')


def test_alert_small_without_title_keeps_its_exact_markup(render):
    env_html = render('{{ alert("Le dépôt est clos.", "info") }}')
    assert env_html == '<div class="fr-alert fr-alert--info fr-alert--sm"> <p>Le dépôt est clos.</p> </div>'


def test_alert_with_title_role_id_and_body(render):
    html = render('{% call alert(kind="error", title="2 points bloquent le dépôt", id="blocking", role="alert", '
                  'tabindex=-1, classes="fr-mb-3w") %}<ul><li>x</li></ul>{% endcall %}')
    assert html == ('<div class="fr-alert fr-alert--error fr-mb-3w" id="blocking" role="alert" tabindex="-1"> '
                    '<h2 class="fr-alert__title">2 points bloquent le dépôt</h2> <ul><li>x</li></ul> </div>')


def test_alert_has_no_role_unless_asked(render):
    assert "role=" not in render('{{ alert("Attention", "warning", small=False) }}')
    assert render('{{ alert("Attention", "warning", small=False) }}') == (
        '<div class="fr-alert fr-alert--warning"> <p>Attention</p> </div>')
    assert '<h3 class="fr-alert__title">T</h3>' in render('{{ alert("m", title="T", level=3) }}')


def test_notice_and_callout(render):
    assert render('{{ notice("2 points à corriger", classes="fr-mb-3w") }}') == (
        '<div class="fr-notice fr-notice--info fr-mb-3w"> <div class="fr-container"><div class="fr-notice__body"> '
        '<p class="fr-notice__title">2 points à corriger</p> </div></div> </div>')
    assert render('{{ callout("Décision", "Motif", id="verdict-force") }}') == (
        '<div class="fr-callout fr-mb-3w" id="verdict-force"> <h3 class="fr-callout__title">Décision</h3> '
        '<p class="fr-callout__text">Motif</p> </div>')


def test_badges(render):
    assert render('{{ badge("Clos", "warning") }}') == '<p class="fr-badge fr-badge--warning fr-badge--sm">Clos</p>'
    assert render('{{ badge("Facultatif", icon=False, tag="span", small=False) }}') == (
        '<span class="fr-badge fr-badge--no-icon">Facultatif</span>')


class Status:
    def __init__(self, value, label):
        self.value, self.label = value, label


@pytest.mark.parametrize(("status", "html"), [
    (Status("laureate", "Lauréat"), '<p class="fr-badge fr-badge--success fr-badge--sm">Lauréat</p>'),
    (Status("withdrawn", "Retiré"), '<p class="fr-badge fr-badge--sm">Retiré</p>'),
    (Status("running", "En cours"), '<p class="fr-badge fr-badge--info fr-badge--sm">En cours</p>'),
    ("closed", '<p class="fr-badge fr-badge--warning fr-badge--sm">closed</p>'),
])
def test_status_badge(render, status, html):
    assert render("{{ status_badge(status) }}", status=status) == html


@pytest.mark.parametrize(("result", "html"), [
    ({"passed": True, "mode": "blocking"}, '<p class="fr-badge fr-badge--success fr-badge--sm">Respectée</p>'),
    ({"passed": False, "mode": "blocking"}, '<p class="fr-badge fr-badge--error fr-badge--sm">Non respectée</p>'),
    ({"passed": False, "mode": "advisory"},
     '<p class="fr-badge fr-badge--warning fr-badge--sm">Point d’attention</p>'),
    ({"passed": True, "mode": "blocking", "not_analysed": True},
     '<p class="fr-badge fr-badge--info fr-badge--sm">Non analysé</p>'),
])
def test_rule_badge_same_for_admin_and_applicant(render, result, html):
    assert render("{{ rule_badge(result) }}", result=result) == html


def test_rule_mode_badge(render):
    assert render("{{ rule_mode_badge(True) }}") == (
        '<span class="fr-badge fr-badge--warning fr-badge--sm fr-badge--no-icon">Condition obligatoire</span>')
    assert render("{{ rule_mode_badge(False) }}") == (
        '<span class="fr-badge fr-badge--info fr-badge--sm fr-badge--no-icon">Critère indicatif</span>')


def test_pages_write_no_dsfr_table_alert_or_badge_by_hand():
    hand_written = re.compile(r'class="fr-(table|alert|badge|notice|callout)[ "]')
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for path in sorted((ROOT / "templates").rglob("*.html"))
                 if path.parent.name not in {"_dsfr", "emails", "pdf"}
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if hand_written.search(line)]
    assert offenders == []


def test_icon_buttons_in_a_button_group_keep_their_text():
    """In a ``fr-btns-group`` without an icon modifier, DSFR shows a button with an icon as a bare 40 px icon
    (its text hidden): a group holding icon buttons says where the icons go (``fr-btns-group--icon-left``)."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if path.name == "_header_tools.html":  # the header's tool links have DSFR rules of their own
            continue
        text = path.read_text(encoding="utf-8")
        for group in re.finditer(r'<(ul|div) class="(fr-btns-group[^"]*)"(.*?)</\1>', text, re.S):
            if re.search(r'fr-icon-|icon=', group.group(3)) and "fr-btns-group--icon-" not in group.group(2):
                offenders.append(f"{path.relative_to(ROOT)}:{text[:group.start()].count(chr(10)) + 1}")
    assert offenders == []


def test_row_field_shows_its_error_on_the_row_tied_by_aria_describedby():
    """A field of a row list (members, budget lines): visible label completed for screen readers, its error under
    it and announced with it (issue 9 point 7: errors were only in the list at the top)."""
    from wtforms import Form, StringField

    env = Environment(loader=FileSystemLoader(ROOT / "templates"), extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_null_translations(newstyle=True)
    template = env.from_string('{% from "_dsfr/forms.html" import row_field %}'
                               '{{ row_field(form.amount, "Montant", "de la dépense n° 2", attrs={"inputmode": "decimal"}) }}')

    class Row(Form):
        amount = StringField()

    form = Row(prefix="expenses-1-", data={"amount": "-5"})
    plain = " ".join(template.render(form=form).split())
    assert plain == ('<div class="fr-input-group"> <label class="fr-label" for="expenses-1-amount">Montant<span '
                     'class="fr-sr-only"> de la dépense n° 2</span></label> <input class="fr-input" '
                     'id="expenses-1-amount" inputmode="decimal" name="expenses-1-amount" type="text" value="-5"> </div>')
    form.amount.errors = ["Le montant doit être positif ou nul."]
    html = " ".join(template.render(form=form).split())
    assert '<div class="fr-input-group fr-input-group--error">' in html
    assert ('<input aria-describedby="expenses-1-amount-desc-error" aria-invalid="true" class="fr-input '
            'fr-input--error" id="expenses-1-amount"') in html
    assert '<p id="expenses-1-amount-desc-error" class="fr-error-text">Le montant doit être positif ou nul.</p>' in html
