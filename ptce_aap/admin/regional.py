"""The national view of regional instruction: the regional rankings side by side, progress per region, missing
avis flagged; and the regional deadline (set, extend, reopen after it passed)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField
from wtforms.validators import InputRequired, ValidationError

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.formatting import PARIS
from ptce_aap.domain.geography import region_name
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.fields import CleanForm
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_manage_call, regional_opinions_open, require
from ptce_aap.services import regional as regional_service
from ptce_aap.web import domain_errors, load_or_404, show_on_form


class DeadlineForm(CleanForm):
    deadline = DateTimeLocalField(
        _l("Nouvelle échéance de l’instruction régionale"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message=_l("Saisissez la date et l’heure de l’échéance."))])

    def deadline_utc(self) -> datetime:
        """The date and time typed, read in Paris time, as an aware UTC datetime."""
        return self.deadline.data.replace(tzinfo=PARIS).astimezone(UTC)

    def validate_deadline(self, field) -> None:
        if field.data is not None and self.deadline_utc() <= utcnow():
            raise ValidationError(_("Choisissez une échéance à venir."))


def reading_endpoint() -> str:
    """The dossier's full reading view once it exists (another part of the app), else its admin page."""
    return "admin.dossier_read" if "admin.dossier_read" in current_app.view_functions else "admin.dossier"


def _render(call, form: DeadlineForm, status: int = 200):
    rows = regional_service.national_view(call) if call.has_regional_instruction else []
    return render_template(
        "admin/regional.html", call=call, rows=rows, form=form, region_name=region_name,
        reading_endpoint=reading_endpoint(), is_open=regional_opinions_open(call, utcnow()),
        authors=regional_service.authors(o for row in rows for o in row.opinions.values()),
        is_given=regional_service.is_given), status


@bp.route("/appels/<slug>/avis-regionaux")
def regional(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form = DeadlineForm(formdata=None)
    if call.regional_deadline_at:
        form.deadline.data = call.regional_deadline_at.astimezone(PARIS).replace(tzinfo=None)
    return _render(call, form)


@bp.route("/appels/<slug>/avis-regionaux/echeance", methods=["POST"])
@domain_errors(back=lambda slug: url_for("admin.regional", slug=slug))
def regional_deadline(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form = DeadlineForm()
    if not form.validate_on_submit():
        return _render(call, form, 400)
    try:
        regional_service.set_regional_deadline(call, form.deadline_utc(), by=current_user, now=utcnow())
    except DomainError as exc:
        show_on_form(exc, form)
        return _render(call, form, 422)
    db.session.commit()
    flash(_("L’échéance de l’instruction régionale a été enregistrée."), "success")
    return redirect(url_for("admin.regional", slug=slug))
