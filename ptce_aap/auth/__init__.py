from flask import Blueprint

bp = Blueprint("auth", __name__)

from ptce_aap.auth import account, routes  # noqa: E402,F401
