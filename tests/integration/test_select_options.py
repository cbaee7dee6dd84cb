"""The row selects' options are rendered once and reused (``applicants.forms.CachedOptionsSelect``): the page
gets exactly what WTForms' own ``Select`` writes, whatever is chosen and in either language."""

from __future__ import annotations

import pytest
from flask import session
from wtforms.widgets import Select

from ptce_aap.applicants.forms import MemberRowForm, ResourceRowForm


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("row", [
    {},
    {"category": "", "department": "", "role": ""},
    {"category": "ess", "department": "2A", "role": "fondateur"},
    {"category": "not-a-choice", "department": "999", "role": "fondateur"},
])
def test_member_row_selects_are_those_of_wtforms(app, lang, row):
    with app.test_request_context("/"):
        session["lang"] = lang
        app.preprocess_request()
        for _ in range(2):  # rendered, then taken from the cache
            form = MemberRowForm(formdata=None, data=row, prefix="members-3-")
            for name in ("category", "department", "role"):
                field = form[name]
                assert str(field(class_="fr-select", **{"aria-invalid": False})) == \
                    str(Select()(field, class_="fr-select", **{"aria-invalid": False}))
            # the chosen option (the blank one when the data is blank), none for an unknown value or no data
            assert str(form.category()).count("<option selected ") == (row.get("category") in ("", "ess"))


def test_resource_row_selects_are_those_of_wtforms(app):
    with app.test_request_context("/"):
        app.preprocess_request()
        form = ResourceRowForm(formdata=None, data={"source": "cotisations", "status": "acquis"}, prefix="resources-0-")
        for name in ("source", "status"):
            assert str(form[name]()) == str(Select()(form[name]))
