"""Forms of the admin's reviewer pool and conflicts pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ptce_aap.domain import geography
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import ActivityDomain, InstitutionKind
from ptce_aap.fields import ChoiceField, CleanForm, MultiCheckboxField
from ptce_aap.reviewers.conflict_forms import CHOOSE, ConflictForm

NEW_INSTITUTION = "nouvelle"


class MemberForm(CleanForm):
    """A pool member's settings; ``email`` and ``full_name`` only when inviting."""

    email = EmailField(_l("Adresse électronique"), validators=[Length(max=254)])
    full_name = StringField(_l("Prénom et nom"), validators=[Length(max=200)])
    institution_id = ChoiceField(_l("Institution"), choices=[])
    institution_name = StringField(_l("Nom de la nouvelle institution"), validators=[Length(max=200)])
    institution_kind = ChoiceField(_l("Type d’institution"), choices=[])
    institution_siren = StringField(_l("SIREN de l’institution"), validators=[Length(max=20)])
    capacity = StringField(_l("Charge maximale (nombre de dossiers)"), validators=[Length(max=10)])
    activity_domains = MultiCheckboxField(_l("Domaines d’expertise"), choices=[])
    region_codes = MultiCheckboxField(_l("Régions connues"), choices=[])
    regional_group_id = ChoiceField(_l("Groupe régional"), choices=[])

    def __init__(self, *args, institutions=(), groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.institution_id.choices = [("", CHOOSE), *[(str(i.id), i.name) for i in institutions],
                                       (NEW_INSTITUTION, _l("Nouvelle institution…"))]
        self.institution_kind.choices = [("", CHOOSE), *InstitutionKind.choices()]
        self.activity_domains.choices = ActivityDomain.choices()
        self.region_codes.choices = [(r.code, r.name) for r in geography.regions().values()]
        self.regional_group_id.choices = [("", _l("Aucun")), *[(str(g.id), g.name) for g in groups]]

    def validate_capacity(self, field):
        raw = (field.data or "").strip()
        if raw and ascii_int(raw, maximum=1000) is None:
            raise ValidationError(_l("Indiquez un nombre entier de dossiers entre 0 et 1 000, ou laissez vide "
                                     "pour ne pas fixer de limite."))

    @property
    def capacity_value(self) -> int | None:
        raw = (self.capacity.data or "").strip()
        return ascii_int(raw, maximum=1000) if raw else None

    @property
    def is_new_institution(self) -> bool:
        return self.institution_id.data == NEW_INSTITUTION


class GroupForm(CleanForm):
    region_code = ChoiceField(_l("Région"), choices=[],
                              validators=[DataRequired(message=_l("Choisissez une région."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region_code.choices = [("", CHOOSE), *[(r.code, r.name) for r in geography.regions().values()]]


class AdminConflictForm(ConflictForm):
    """An admin sets a conflict for one reviewer of the pool, on any target."""

    KIND_LABELS = {**ConflictForm.KIND_LABELS, "institution": _l("L’implication de son institution")}

    reviewer_id = ChoiceField(_l("Rapporteur"), choices=[],
                              validators=[DataRequired(message=_l("Choisissez le rapporteur."))])

    def __init__(self, *args, reviewers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer_id.choices = [("", CHOOSE), *[(str(u.id), u.display_name) for u in reviewers]]


class ClearForm(CleanForm):
    reason = TextAreaField(_l("Motif de la levée"), validators=[
        DataRequired(message=_l("Indiquez le motif : il est obligatoire et reste visible avec le conflit.")),
        Length(max=2000, message=_l("Le motif ne doit pas dépasser 2 000 caractères."))])
