from flask import Blueprint

from ptce_aap.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)

from ptce_aap.api import routes  # noqa: E402,F401
