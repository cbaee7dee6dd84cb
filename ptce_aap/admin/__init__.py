from flask import Blueprint

bp = Blueprint("admin", __name__)

from ptce_aap.admin import routes  # noqa: E402,F401
