"""Forms of the reviewer pages: a conflict of interest, declared on one target."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ptce_aap.domain import geography
from ptce_aap.domain.money import ascii_int
from ptce_aap.fields import ChoiceField, ChoiceRadioField, CleanForm

CHOOSE = _l("— Choisir —")


class ConfirmForm(CleanForm):
    """An empty form: its CSRF token protects a confirmed action (withdraw)."""


class ConflictForm(CleanForm):
    """What a conflict is on: one of the call's poles, a structure by SIREN, a department, or the
    involvement of the reviewer's institution. The view fills ``pole_id``'s choices with the call's poles."""

    KIND_LABELS = {"pole": _l("Un pôle candidat de l’appel"), "siren": _l("Une structure (membre ou porteuse) par son SIREN"),
                   "department": _l("Un département"), "institution": _l("L’implication de mon institution")}

    kind = ChoiceRadioField(_l("Le conflit porte sur"), validators=[DataRequired(message=_l("Choisissez sur quoi porte le conflit."))])
    pole_id = ChoiceField(_l("Pôle"), choices=[])
    siren = StringField(_l("SIREN de la structure"), validators=[Length(max=20)])
    department = ChoiceField(_l("Département"), choices=[])
    reason = TextAreaField(_l("Précisions"), validators=[Length(max=2000, message=_l(
        "Les précisions ne doivent pas dépasser 2 000 caractères."))])

    def __init__(self, *args, poles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = list(self.KIND_LABELS.items())
        self.pole_id.choices = [("", CHOOSE), *[(str(pole_id), name) for pole_id, name in poles]]
        self.department.choices = [("", CHOOSE), *[(d.code, d.label) for d in geography.departments().values()]]

    def target_value(self):
        """The value of the chosen target, as the conflicts service takes it."""
        kind = self.kind.data
        if kind == "pole":
            return ascii_int(self.pole_id.data, maximum=2**31 - 1)
        return {"siren": self.siren.data, "department": self.department.data}.get(kind)
