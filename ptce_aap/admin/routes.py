"""Administrator (secretariat) pages."""

from flask import render_template

from ptce_aap.admin import bp
from ptce_aap.enums import Role
from ptce_aap.permissions import blueprint_role_gate

blueprint_role_gate(bp, Role.ADMIN)


@bp.route("/")
def dashboard():
    return render_template("admin/dashboard.html")
