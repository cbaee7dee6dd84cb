"""Reviewer (rapporteur) pages."""

from flask import render_template

from ptce_aap.reviewers.blueprint import bp


@bp.route("/")
def dashboard():
    return render_template("reviewers/dashboard.html")
