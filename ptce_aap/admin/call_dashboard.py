"""A call's dashboard for the secretariat (/admin/appels/<slug>/tableau-de-bord), the first page of the call's
navigation: dossiers by status (withdrawn apart), submissions per day (an SVG bar chart), dossiers by region
and department (an SVG map of France), eligibility outcomes and each reviewer's progress. Every chart has its
data table beside it. Read-only; a constant number of queries (``services.call_dashboard``)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.eligibility import RULE_LABELS
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services.call_dashboard import call_dashboard as read_dashboard
from ptce_aap.web import load_or_404


@bp.route("/appels/<slug>/tableau-de-bord")
def call_dashboard(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return render_template("admin/call_dashboard.html", call=call, board=read_dashboard(call),
                           rule_labels=RULE_LABELS)
