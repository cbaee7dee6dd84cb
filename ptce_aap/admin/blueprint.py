"""The administrator blueprint: every view requires the admin role."""

from flask import Blueprint

from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate

bp = Blueprint("admin", __name__)
blueprint_role_gate(bp, Role.ADMIN)
