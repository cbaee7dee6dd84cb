from flask import Blueprint

bp = Blueprint("applicants", __name__)

from ptce_aap.applicants import attachments, routes  # noqa: E402,F401
