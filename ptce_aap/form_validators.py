"""WTForms validators shared by several blueprints' forms (French messages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from ptce_aap.domain import text


class SingleLineName:
    """A name on one line: no line break, no control character, no web address, at most ``max_length``
    characters (see ``domain.text``)."""

    def __init__(self, max_length: int = 200):
        self.max_length = max_length

    def __call__(self, form, field):
        problem = text.name_problem(field.data if isinstance(field.data, str) else None,
                                    max_length=self.max_length)
        if problem == text.LINE_BREAK:
            raise ValidationError(_l("Saisissez le nom sur une seule ligne, sans retour à la ligne."))
        if problem == text.CONTROL:
            raise ValidationError(_l("Le nom contient des caractères invisibles ou de contrôle : retirez-les."))
        if problem == text.WEB_ADDRESS:
            raise ValidationError(_l("Le nom ne doit pas contenir d’adresse web."))
        if problem == text.TOO_LONG:
            raise ValidationError(_l("Le nom ne doit pas dépasser %(n)d caractères.", n=self.max_length))
