"""The reviewer (rapporteur) blueprint: every view requires the reviewer role."""

from flask import Blueprint

from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate

bp = Blueprint("reviewers", __name__)
blueprint_role_gate(bp, Role.REVIEWER)
