from flask import Blueprint

from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate

bp = Blueprint("applicants", __name__)
blueprint_role_gate(bp, Role.APPLICANT)

# The pages, by family (each module adds its routes to ``bp``).
from ptce_aap.applicants import attachments, coeditors, dashboard, dossier, submission  # noqa: E402,F401
