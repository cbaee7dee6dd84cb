"""The secretariat's side of a dossier's thread on the admin dossier page: its forms and what the page shows
(the views are in ``admin.routes``, next to the page)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.domain.sections import SECTIONS
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import (
    can_request_complements,
    can_write_to_pole,
    open_request,
)
from ptce_aap.services import messages as service


def build_complements_form(dossier: Dossier, formdata=None) -> forms.ComplementsForm:
    form = forms.ComplementsForm(formdata=formdata)
    form.sections.choices = [(section.code, _(section.title)) for section in SECTIONS]
    form.document_types.choices = [(dt.code, dt.label) for dt in dossier.call.document_types]
    return form


def page_context(dossier: Dossier, *, message_form=None, complements_form=None) -> dict:
    """What the admin dossier page shows of the thread, and its two forms (as typed after a refusal)."""
    return {
        "thread": service.thread(dossier), "open_request": open_request(dossier),
        "recipients": [u for u in service.pole_people(dossier) if u.is_active],
        "can_write": can_write_to_pole(current_user, dossier),
        "can_request": can_request_complements(current_user, dossier),
        "message_form": message_form or forms.MessageForm(formdata=None),
        "complements_form": complements_form or build_complements_form(dossier, formdata=None),
    }
