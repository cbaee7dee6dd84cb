from flask import Blueprint

bp = Blueprint("public", __name__)

from ptce_aap.public import routes  # noqa: E402,F401
