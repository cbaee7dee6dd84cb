"""Reviewer (rapporteur) pages."""

from flask import render_template  # noqa: F401  (the pages added here)

from ptce_aap.reviewers.blueprint import bp  # noqa: F401

# The dashboard (``reviewers.dashboard``) and the scoring form (``reviewers.review``) have their own modules.
