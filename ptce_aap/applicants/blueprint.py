"""The applicant (porteur) blueprint, gated to applicants; the pages add their routes to it."""

from flask import Blueprint

from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate

bp = Blueprint("applicants", __name__)
blueprint_role_gate(bp, Role.APPLICANT)
