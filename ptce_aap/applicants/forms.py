"""Forms of the dossier, one per section. Numbers are text fields: a draft keeps what was typed and the
checks (``domain.dossier_checks``) flag what is wrong, so nothing typed is ever refused on save. A value
outside a select's, a radio's or a checkbox's choices cannot be typed: it is refused (``ptce_aap.fields``)."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import BooleanField, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import Select, html_params

from ptce_aap.domain import geography
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import (
    ActivityDomain,
    CooperationForm,
    FundingSource,
    FundingStatus,
    GovernanceForm,
    LegalForm,
    MemberCategory,
    MemberRole,
    TerritoryType,
)
from ptce_aap.extensions import request_translations
from ptce_aap.fields import (
    ChoiceField,
    ChoiceRadioField,
    CleanForm,
    MultiCheckboxField,
    MultipleChoiceField,
    RowList,
)
from ptce_aap.form_validators import SingleLineName


class CachedOptionsSelect(Select):
    """A select of a fixed list of choices whose options are rendered once per list and language, then reused:
    the HTML of WTForms' ``Select`` (its own ``render_option``), ``selected`` on the options whose coerced value
    is the field's data. A member row has three selects (category, department: 100 options, role), a resource
    row two: rendering every option through WTForms for each row cost most of the section pages' time.
    Grouped choices and choices with their own attributes are left to WTForms."""

    _cache: dict = {}
    MAX_LISTS = 256  # the forms' fixed lists × languages; a safety bound, never reached

    def __call__(self, field, **kwargs):
        choices = field.choices
        if self.multiple or not isinstance(choices, list | tuple) or not choices \
                or not isinstance(choices[0], list | tuple):  # groups (a dict), none, or bare values: WTForms'
            return super().__call__(field, **kwargs)
        try:
            values, labels = zip(*choices, strict=True)
            # Per catalogue (lazy labels are translated as shown) and per label object, not its text: hashing a
            # lazy label would translate it. The entry keeps the labels alive, so their ids stay theirs.
            key = (request_translations(), field.coerce, values, tuple(map(id, labels)))
            rendered = self._cache.get(key)
        except (TypeError, ValueError):  # choices with their own attributes, unhashable values: WTForms'
            return super().__call__(field, **kwargs)
        if rendered is None:
            if len(self._cache) >= self.MAX_LISTS:
                self._cache.clear()
            plain = [self.render_option(value, label, False) for value, label in zip(values, labels, strict=True)]
            chosen = [self.render_option(value, label, True) for value, label in zip(values, labels, strict=True)]
            where: dict = {}
            for i, value in enumerate(values):
                where.setdefault(field.coerce(value), []).append(i)
            rendered = self._cache[key] = ("".join(plain), plain, chosen, where, labels)
        joined, plain, chosen, where, _labels = rendered
        try:
            selected = where.get(field.data, ())
        except TypeError:  # unhashable data equals no option's value
            selected = ()
        if selected:
            parts = list(plain)
            for i in selected:
                parts[i] = chosen[i]
            joined = "".join(parts)
        kwargs.setdefault("id", field.id)
        for name in self.validation_attrs:  # as WTForms: the field's flags (required, disabled) unless given
            value = getattr(field.flags, name, None)
            if value is not None and name not in kwargs:
                kwargs[name] = value
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{joined}</select>")  # noqa: S704 (rendered by WTForms)


def _blank_first(choices, label=_l("— Choisir —")):
    return [("", label), *choices]


@cache
def _departments() -> tuple[tuple[str, str], ...]:
    return tuple((d.code, d.label) for d in geography.departments().values())


def department_choices():
    return list(_departments())  # built once: a members page asks for it on every row


def region_choices():
    return [(r.code, r.name) for r in geography.regions().values()]


class VersionedForm(CleanForm):
    version = HiddenField()
    force = HiddenField(default="")
    base = HiddenField()  # the values the form was loaded with (JSON), for a field-by-field merge

    def expected_version(self) -> int | None:
        return ascii_int((self.version.data or "").strip(), maximum=2**31 - 1)


class NewDossierForm(CleanForm):
    pole_id = ChoiceField(_l("Pôle"), choices=[])
    pole_name = StringField(_l("Nom du pôle"), validators=[Optional(), Length(max=200), SingleLineName(200)])


class IdentityForm(VersionedForm):
    pole_name = StringField(_l("Nom du pôle"), validators=[Length(max=200), SingleLineName(200)])
    carrier_legal_name = StringField(_l("Raison sociale de la structure porteuse"),
                                     validators=[Length(max=200), SingleLineName(200)])
    carrier_siret = StringField(_l("SIRET de la structure porteuse"), validators=[Length(max=40)])
    carrier_legal_form = ChoiceField(_l("Forme juridique"), choices=_blank_first(LegalForm.choices()))
    carrier_rna = StringField(_l("Numéro RNA (associations)"), validators=[Length(max=10)])
    address = StringField(_l("Adresse"), validators=[Length(max=300)])
    commune_insee = StringField(_l("Code INSEE de la commune"), validators=[Length(max=5)])
    commune_name = StringField(_l("Commune"), validators=[Length(max=200)])
    region_code = ChoiceField(_l("Région"), choices=[])
    departments = MultipleChoiceField(_l("Départements couverts"), choices=[])
    territory_types = MultiCheckboxField(_l("Type de territoire"), choices=TerritoryType.choices())
    cooperation_start_year = StringField(_l("Année de début de la coopération"), validators=[Length(max=10)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region_code.choices = _blank_first(region_choices())
        self.departments.choices = department_choices()

    def department_groups(self) -> list[tuple[geography.Region, int, list[tuple[str, str, bool]]]]:
        """The department checkboxes grouped by region, the chosen region first, the others in French
        alphabetical order: ``[(region, its alphabetical position, [(code, label, checked), …]), …]`` (the
        page shows them as one fieldset per region; static/departments.js puts a newly chosen region first)."""
        chosen = set(self.departments.data or [])
        by_region: dict[str, list] = {}
        for code, department in geography.departments().items():
            by_region.setdefault(department.region, []).append((code, department.label, code in chosen))
        alphabetical = list(geography.regions().values())
        chosen_region = str(self.region_code.data or "")
        regions = sorted(enumerate(alphabetical), key=lambda item: item[1].code != chosen_region)
        return [(region, position, by_region.get(region.code, [])) for position, region in regions]


class MemberRowForm(CleanForm):
    class Meta:
        csrf = False

    name = StringField(_l("Nom de la structure"), validators=[Length(max=200), SingleLineName(200)])
    siret = StringField(_l("SIRET"), validators=[Length(max=40)])
    category = ChoiceField(_l("Catégorie"), choices=_blank_first(MemberCategory.choices()),
                           widget=CachedOptionsSelect())
    department = ChoiceField(_l("Département"), choices=[], widget=CachedOptionsSelect())
    role = ChoiceField(_l("Rôle"), choices=_blank_first(MemberRole.choices()), widget=CachedOptionsSelect())
    is_legal_person = BooleanField(_l("Personne morale"), default=True)
    joined_on = StringField(_l("Date d'adhésion"), validators=[Length(max=10)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = _blank_first(department_choices())


class MembersForm(VersionedForm):
    members = RowList(FormField(MemberRowForm), min_entries=0, max_entries=200)


class ActivitiesForm(VersionedForm):
    activity_domains = MultiCheckboxField(_l("Domaines d'activité"), choices=ActivityDomain.choices())
    activity_other = StringField(_l("Autre domaine (précisez)"), validators=[Length(max=200)])
    coop_mutualisation_moyens = BooleanField(CooperationForm.SHARED_RESOURCES.lazy_label)
    coop_mutualisation_moyens_text = TextAreaField(_l("Description de la mutualisation de moyens"))
    coop_mutualisation_projets = BooleanField(CooperationForm.SHARED_PROJECTS.lazy_label)
    coop_mutualisation_projets_text = TextAreaField(_l("Description de la mutualisation de projets"))
    coop_cooperation_strategique = BooleanField(CooperationForm.STRATEGIC.lazy_label)
    coop_cooperation_strategique_text = TextAreaField(_l("Description de la coopération stratégique"))
    governance_form = ChoiceRadioField(_l("Forme de gouvernance"), choices=GovernanceForm.choices())
    governance_text = TextAreaField(_l("Modalités de prise de décision"))


class ProjectForm(VersionedForm):
    summary = TextAreaField(_l("Résumé du projet"))
    strategy = TextAreaField(_l("Stratégie du pôle"))
    innovation = TextAreaField(_l("Innovation sociale ou technologique"))
    territorial_anchoring = TextAreaField(_l("Ancrage territorial"))
    expected_impacts = TextAreaField(_l("Impacts attendus"))
    jobs_existing_fte = StringField(_l("Emplois existants (équivalents temps plein)"))
    jobs_to_create_fte = StringField(_l("Emplois à créer (équivalents temps plein)"))
    jobs_text = TextAreaField(_l("Emplois non délocalisables : précisions"))
    rd_partners = TextAreaField(_l("Partenaires de recherche et développement"))


class ExpenseRowForm(CleanForm):
    class Meta:
        csrf = False

    label = StringField(_l("Poste de dépense"), validators=[Length(max=200)])
    amount_eur = StringField(_l("Montant (€)"), validators=[Length(max=40)])


class ResourceRowForm(CleanForm):
    class Meta:
        csrf = False

    source = ChoiceField(_l("Origine"), choices=_blank_first(FundingSource.choices()), widget=CachedOptionsSelect())
    funder = StringField(_l("Financeur"), validators=[Length(max=200)])
    label = StringField(_l("Intitulé"), validators=[Length(max=200)])
    amount_eur = StringField(_l("Montant (€)"), validators=[Length(max=40)])
    status = ChoiceField(_l("Statut"), choices=_blank_first(FundingStatus.choices()), widget=CachedOptionsSelect())


class BudgetForm(VersionedForm):
    category_code = ChoiceField(_l("Catégorie de l'appel"), choices=[])
    total_budget_eur = StringField(_l("Budget total du projet (€)"), validators=[Length(max=40)])
    amount_requested_eur = StringField(_l("Montant demandé à l'État (€)"), validators=[Length(max=40)])
    expenses = RowList(FormField(ExpenseRowForm), min_entries=0, max_entries=100)
    resources = RowList(FormField(ResourceRowForm), min_entries=0, max_entries=100)


class ConfirmForm(CleanForm):
    """An empty form: its CSRF token protects a confirmed action."""


class InviteForm(CleanForm):
    email = StringField(_l("Adresse électronique du co-éditeur"), validators=[DataRequired(), Length(max=254)])


class WithdrawForm(CleanForm):
    reason = TextAreaField(_l("Motif du retrait"), validators=[Length(max=2000)])
    confirm = BooleanField(_l("Je confirme le retrait de ce dossier"), validators=[DataRequired(
        message=_l("Cochez la case pour confirmer le retrait."))])



class ReplyForm(CleanForm):
    """The applicant's reply to a message of the secretariat (checked by ``services.messages``)."""

    body = TextAreaField(_l("Votre message au secrétariat"))


class AnswerForm(CleanForm):
    """The applicant's answer to a request for complements (checked by ``services.messages``)."""

    body = TextAreaField(_l("Votre réponse au secrétariat"))
