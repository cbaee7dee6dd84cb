"""A reviewer gives back a dossier assigned to them (for a conflict of interest or another reason)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from ptce_aap.extensions import db
from ptce_aap.fields import CleanForm
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import require, reviewer_assignment
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.services import assignments as service
from ptce_aap.web import domain_errors, load_or_404


class DeclineForm(CleanForm):
    reason = TextAreaField(
        _l("Raison"),
        validators=[DataRequired(message=_l("Indiquez la raison pour laquelle vous déclinez ce dossier.")),
                    Length(max=2000, message=_l("La raison ne doit pas dépasser 2 000 caractères."))])
    for_conflict = BooleanField(_l("Je décline pour conflit d’intérêts avec ce pôle"))


@bp.route("/dossiers/<int:dossier_id>/declin", methods=["GET", "POST"])
@domain_errors(back=lambda dossier_id: url_for("reviewers.decline", dossier_id=dossier_id))
def decline(dossier_id: int):
    dossier = load_or_404(Dossier, dossier_id)
    assignment = reviewer_assignment(current_user, dossier)
    require(assignment is not None)
    form = DeclineForm()
    if form.validate_on_submit():
        service.decline(assignment, by=current_user, reason=form.reason.data, for_conflict=form.for_conflict.data)
        db.session.commit()
        flash(_("Vous avez décliné le dossier « %(pole)s ». L’équipe de l’appel à projets en est informée et "
                "le confiera à un autre rapporteur.", pole=dossier.pole_name), "success")
        return redirect(url_for("reviewers.dashboard"))
    return render_template("reviewers/decline.html", dossier=dossier, assignment=assignment, form=form,
                           can_decline=service.can_decline(assignment)), 400 if form.errors else 200
