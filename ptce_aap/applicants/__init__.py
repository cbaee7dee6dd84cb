from flask import Blueprint

bp = Blueprint("applicants", __name__)

from ptce_aap.applicants import routes  # noqa: E402,F401
