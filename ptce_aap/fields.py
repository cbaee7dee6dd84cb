"""Form fields shared by the blueprints' forms: choices checked on the server, row lists that read only
ASCII row numbers.

A value outside a field's choices cannot come from the page (a select, a radio, a checkbox): it is refused
with a message next to the field, never stored. An empty value stays acceptable (a draft). Text fields of a
``CleanForm`` lose their control characters (a NUL cannot even be stored by PostgreSQL); tabs and line
breaks stay."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ptce_aap.domain.money import ascii_int

NOT_A_CHOICE = _l("Choisissez une des valeurs proposées.")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_controls(value):
    """A text without its control characters (tab, line feed and carriage return kept)."""
    return _CONTROLS.sub("", value) if isinstance(value, str) else value


class CleanForm(FlaskForm):
    """A form whose text fields (``StringField`` and its subclasses) drop control characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, StringField):
                options["filters"] = (*unbound_field.kwargs.get("filters", ()), strip_controls)
            return unbound_field.bind(form=form, **options)


def _known(field) -> set[str]:
    return {str(value) for value, _label in field.choices or []}


class ChoiceField(SelectField):
    """A select whose value must be one of its choices (or empty)."""

    def pre_validate(self, form):
        if self.data not in (None, "") and str(self.data) not in _known(self):
            raise ValidationError(NOT_A_CHOICE)


class ChoiceRadioField(RadioField):
    """Radio buttons whose value must be one of the choices; none ticked is accepted (a draft)."""

    def pre_validate(self, form):
        if self.data not in (None, "") and str(self.data) not in _known(self):
            raise ValidationError(NOT_A_CHOICE)


class MultipleChoiceField(SelectMultipleField):
    """A multiple select whose values must all be among its choices."""

    def pre_validate(self, form):
        if any(str(v) not in _known(self) for v in self.data or []):
            raise ValidationError(NOT_A_CHOICE)


class MultiCheckboxField(MultipleChoiceField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RowList(FieldList):
    """A ``FieldList`` reading only rows numbered in ASCII digits below ``max_entries`` (WTForms takes
    ``members-²-name`` for a row, then fails on ``int("²")``; a huge number would make a huge list)."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        limit = (self.max_entries or 1000) - 1
        for key in formdata:
            if key.startswith(prefix):
                index = ascii_int(key[offset:].split(self._field_separator, 1)[0], maximum=limit)
                if index is not None:
                    yield index


def choice_errors(form) -> dict[str, list[str]]:
    """Field name → errors of the form's choice fields (row fields included), after ``validate()``."""
    found: dict[str, list[str]] = {}
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                found |= choice_errors(entry.form) if hasattr(entry, "form") else {}
        elif isinstance(field, (SelectField, RadioField, SelectMultipleField)) and field.errors:
            found[field.name] = list(field.errors)
    return found
