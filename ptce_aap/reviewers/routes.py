"""Reviewer (rapporteur) pages."""

from flask import render_template

from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate
from ptce_aap.reviewers.blueprint import bp

blueprint_role_gate(bp, Role.REVIEWER)


@bp.route("/")
def dashboard():
    return render_template("reviewers/dashboard.html")
