"""The call form of the secretariat: every SPEC §2 setting as text typed on the page, read into typed
values (``CallForm.read``) with a message beside each field that cannot be read, then the problems of the
whole (``domain.call_settings.settings_problems``) shown beside their fields (``CallForm.show``).

Field names are the settings' names (a date field carries the setting, its ``…_time`` twin the hour), rows
are ``categories-<i>-<field>`` and ``document_types-<i>-<field>``, rules ``eligibility-<code>``: a problem's
key is the name of the field it is shown beside."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, StringField, TextAreaField

from ptce_aap.domain.call_settings import (
    RULE_PARAMETERS,
    SettingError,
    code_of,
    parse_count,
    parse_paris,
    parse_percent,
    slugify,
    split_paris,
)
from ptce_aap.domain.eligibility import CATALOG
from ptce_aap.domain.formatting import format_number, format_typed
from ptce_aap.domain.money import AmountError, parse_amount
from ptce_aap.enums import RuleMode
from ptce_aap.fields import ChoiceRadioField, CleanForm, RowList
from ptce_aap.i18n import translate

DATES = ("opens_at", "closes_at", "review_deadline_at", "regional_deadline_at")
MAX_ROWS = 50


def _amount_text(value: Decimal | None) -> str:
    return format_typed(value, str(get_locale() or "fr"), cents=True)


def _percent_text(value: Decimal | None) -> str:
    return "" if value is None else format_number((value * 100).normalize())


class ProblemsMixin:
    """Problems keyed by field name shown beside their fields, and listed at the top of the page."""

    def fields_by_name(self) -> dict:
        found = {}

        def walk(form):
            for field in form:
                if isinstance(field, FieldList):
                    for entry in field.entries:
                        walk(entry.form)
                elif isinstance(field, FormField):
                    walk(field.form)
                    found[field.name] = field
                else:
                    found[field.name] = field

        walk(self)
        return found

    def show(self, problems: dict[str, str]) -> list[str]:
        """Each problem beside its field (unless the field already shows one); returns those without a field."""
        fields, unplaced = self.fields_by_name(), []
        for name, message in problems.items():
            message = translate(message)  # a domain message, in the reader's language
            field = fields.get(name)
            if field is None:
                unplaced.append(message)
            elif not field.errors:
                field.errors = [*field.errors, message]
        return unplaced

    def error_list(self) -> list[tuple[str, str, str]]:
        """``(field id, label, message)`` of every field showing an error, rows named by their number."""
        listed = []
        for name, field in self.fields_by_name().items():
            if isinstance(field, FormField) or not field.errors:
                continue
            label = str(field.label.text)
            kind, _sep, rest = name.partition("-")
            if kind in ROW_NAMES and rest.split("-")[0].isdigit():
                label = ROW_NAMES[kind] % {"n": int(rest.split("-")[0]) + 1} + " — " + label
            listed.append((field.id, label, " ".join(str(e) for e in field.errors)))
        return listed

    def has_errors(self) -> bool:
        return any(f.errors for f in self.fields_by_name().values() if not isinstance(f, FormField))


ROW_NAMES = {"categories": _l("Catégorie n° %(n)s"), "document_types": _l("Pièce n° %(n)s")}


class CategoryRowForm(CleanForm):
    class Meta:
        csrf = False

    label = StringField(_l("Libellé"))
    code = StringField(_l("Code"))
    max_amount_eur = StringField(_l("Plafond par dossier (€)"))
    quota = StringField(_l("Nombre de lauréats au plus"))


class DocumentTypeRowForm(CleanForm):
    class Meta:
        csrf = False

    label = StringField(_l("Libellé"))
    code = StringField(_l("Code"))
    description = StringField(_l("Précisions pour les porteurs"))
    is_required = BooleanField(_l("Obligatoire"), default=True)


def _eligibility_form() -> type[CleanForm]:
    """One radio group (mode) per rule of the catalog, and a field per parameter (``<code>__<name>``)."""
    attrs: dict = {"Meta": type("Meta", (), {"csrf": False})}
    for rule in CATALOG:
        attrs[rule.code] = ChoiceRadioField(rule.label, choices=RuleMode.choices())
        for name, kind in RULE_PARAMETERS[rule.code].items():
            label = {"minimum": _l("Nombre minimal de membres"),
                     "allow_adjacent": _l("Accepter les membres des départements limitrophes"),
                     "require_clean_scan": _l("Exiger que l’antivirus ait analysé chaque pièce")}.get(name, name)
            attrs[f"{rule.code}__{name}"] = BooleanField(label) if kind == "bool" else StringField(label)
    return type("EligibilityForm", (CleanForm,), attrs)


EligibilityForm = _eligibility_form()


class DeadlineForm(ProblemsMixin, CleanForm):
    """The deadline of an open or closed call: the one setting that can still move."""

    closes_at = StringField(_l("Date limite de dépôt"))
    closes_at_time = StringField(_l("Heure limite de dépôt (heure de Paris)"))


class SignatoryForm(ProblemsMixin, CleanForm):
    """The signatory of the decision letters of a call that has left draft (until its results are published)."""

    signatory_name = StringField(_l("Nom du signataire des lettres de décision"))
    signatory_title = StringField(_l("Qualité du signataire"))

    def read(self) -> dict:
        return {name: (self[name].data or "").strip() for name in ("signatory_name", "signatory_title")}


class CallForm(ProblemsMixin, CleanForm):
    title = StringField(_l("Titre de l’appel à projets"))
    slug = StringField(_l("Adresse courte"))
    description_md = TextAreaField(_l("Présentation de l’appel"))
    opens_at = StringField(_l("Date d’ouverture"))
    opens_at_time = StringField(_l("Heure d’ouverture (heure de Paris)"))
    closes_at = StringField(_l("Date limite de dépôt"))
    closes_at_time = StringField(_l("Heure limite de dépôt (heure de Paris)"))
    review_deadline_at = StringField(_l("Date limite des évaluations"))
    review_deadline_at_time = StringField(_l("Heure limite des évaluations (heure de Paris)"))
    regional_deadline_at = StringField(_l("Date limite des avis régionaux"))
    regional_deadline_at_time = StringField(_l("Heure limite des avis régionaux (heure de Paris)"))
    envelope_eur = StringField(_l("Enveloppe totale (€)"))
    max_amount_eur = StringField(_l("Montant maximal par dossier (€)"))
    max_state_share = StringField(_l("Part maximale de l’État dans le budget du projet (en pourcentage)"))
    reviewers_per_dossier = StringField(_l("Nombre d’évaluateurs par dossier"))
    has_regional_instruction = BooleanField(_l("Instruction régionale avant la consolidation nationale"))
    disagreement_threshold = StringField(_l("Seuil de désaccord entre évaluateurs (en pourcentage de l’échelle)"))
    awarding_body_name = StringField(_l("Nom de l’organisme attribuant"))
    awarding_body_siret = StringField(_l("SIRET de l’organisme attribuant"))
    signatory_name = StringField(_l("Nom du signataire des lettres de décision"))
    signatory_title = StringField(_l("Qualité du signataire"))
    categories = RowList(FormField(CategoryRowForm), min_entries=0, max_entries=MAX_ROWS)
    document_types = RowList(FormField(DocumentTypeRowForm), min_entries=0, max_entries=MAX_ROWS)
    eligibility = FormField(EligibilityForm)

    # --- values -> page ---------------------------------------------------------------------------------
    def fill(self, values: dict) -> None:
        """Show typed values (a GET)."""
        for name in ("title", "slug", "description_md", "awarding_body_name", "awarding_body_siret",
                     "signatory_name", "signatory_title"):
            self[name].data = values.get(name) or ""
        for name in DATES:
            self[name].data, self[f"{name}_time"].data = split_paris(values.get(name))
        self.envelope_eur.data = _amount_text(values.get("envelope_eur"))
        self.max_amount_eur.data = _amount_text(values.get("max_amount_eur"))
        self.max_state_share.data = _percent_text(values.get("max_state_share"))
        self.disagreement_threshold.data = _percent_text(values.get("disagreement_threshold"))
        self.reviewers_per_dossier.data = str(values.get("reviewers_per_dossier") or "")
        self.has_regional_instruction.data = bool(values.get("has_regional_instruction"))
        for name in ("categories", "document_types"):
            while self[name].entries:
                self[name].pop_entry()
            for row in values.get(name) or []:
                self[name].append_entry({**row, "max_amount_eur": _amount_text(row.get("max_amount_eur")),
                                         "quota": "" if row.get("quota") is None else str(row["quota"])}
                                        if name == "categories" else row)
        settings = values.get("eligibility_settings") or {}
        for rule in CATALOG:
            rule_values = {**rule.default_settings(), **settings.get(rule.code, {})}
            self.eligibility[rule.code].data = rule_values.get("mode")
            for name, kind in RULE_PARAMETERS[rule.code].items():
                value = rule_values.get(name)
                self.eligibility[f"{rule.code}__{name}"].data = bool(value) if kind == "bool" else str(value)

    # --- page -> values ---------------------------------------------------------------------------------
    def _parse(self, field, parser, *args, **kwargs):
        return parse_into(field, parser, *args, **kwargs)

    def read(self) -> dict:
        """The typed values; a field that cannot be read gets its message and ``None`` (see ``show``)."""
        text = {name: (self[name].data or "").strip() for name in
                ("title", "slug", "awarding_body_name", "signatory_name", "signatory_title")}
        values = {**text, "description_md": (self.description_md.data or "").replace("\r\n", "\n").strip(),
                  "awarding_body_siret": "".join((self.awarding_body_siret.data or "").split())}
        values["slug"] = values["slug"].lower() or slugify(values["title"])
        for name in DATES:
            values[name] = self._parse(self[name], parse_paris, self[name].data, self[f"{name}_time"].data)
        for name in ("envelope_eur", "max_amount_eur"):
            values[name] = self._parse(self[name], parse_amount, self[name].data)
        for name in ("max_state_share", "disagreement_threshold"):
            values[name] = self._parse(self[name], parse_percent, self[name].data)
        values["reviewers_per_dossier"] = self._parse(self.reviewers_per_dossier, parse_count,
                                                      self.reviewers_per_dossier.data, maximum=99)
        values["has_regional_instruction"] = bool(self.has_regional_instruction.data)
        values["categories"] = [self._category(e.form) for e in self.categories.entries if _filled(e.form)]
        values["document_types"] = [self._document(e.form) for e in self.document_types.entries if _filled(e.form)]
        values["eligibility_settings"] = self._eligibility()
        return values

    def _category(self, row) -> dict:
        label = (row.label.data or "").strip()
        return {"label": label, "code": (row.code.data or "").strip().lower() or code_of(label),
                "max_amount_eur": self._parse(row.max_amount_eur, parse_amount, row.max_amount_eur.data),
                "quota": self._parse(row.quota, parse_count, row.quota.data, maximum=10_000)}

    @staticmethod
    def _document(row) -> dict:
        label = (row.label.data or "").strip()
        return {"label": label, "code": (row.code.data or "").strip().lower() or code_of(label),
                "description": (row.description.data or "").strip(), "is_required": bool(row.is_required.data)}

    def _eligibility(self) -> dict:
        settings = {}
        for rule in CATALOG:
            values = {"mode": self.eligibility[rule.code].data}
            for name, kind in RULE_PARAMETERS[rule.code].items():
                field = self.eligibility[f"{rule.code}__{name}"]
                if kind == "bool":
                    values[name] = bool(field.data)
                else:
                    values[name] = self._parse(field, parse_count, field.data, maximum=kind[2])
            settings[rule.code] = values
        return settings


def parse_into(field, parser, *args, **kwargs):
    """``parser(*args, **kwargs)``, or ``None`` with its French message added to ``field``'s errors."""
    try:
        return parser(*args, **kwargs)
    except (SettingError, AmountError) as exc:
        message = translate(exc.message)
        if message not in field.errors:
            field.errors = [*field.errors, message]
        return None


def _filled(row) -> bool:
    """Whether a row holds something typed (an empty row is dropped, not refused)."""
    return any((f.data or "").strip() for f in row if isinstance(f.data, str) and f.name.split("-")[-1] != "code")
