from flask import Blueprint

bp = Blueprint("reviewers", __name__)

from ptce_aap.reviewers import routes  # noqa: E402,F401
