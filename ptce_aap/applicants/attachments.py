"""Attachment pages of a dossier (being written)."""

from flask import render_template
from flask_login import current_user

from ptce_aap.applicants import bp
from ptce_aap.applicants.routes import checks_for, load_dossier
from ptce_aap.domain import dossier_checks
from ptce_aap.permissions import can_edit_dossier


@bp.route("/dossiers/<int:dossier_id>/pieces")
def attachments(dossier_id: int):
    d = load_dossier(dossier_id, full=True)
    problems = [p for p in checks_for(d) if p.section == "pieces"]
    return render_template("applicants/attachments.html", dossier=d, call=d.call, problems=problems,
                           section="pieces", section_label=dossier_checks.SECTION_LABELS["pieces"],
                           can_edit=can_edit_dossier(current_user, d))
