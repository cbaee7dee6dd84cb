"""The API blueprint (routes register on it in ``routes``; ``auth`` adds its hooks)."""

from flask import Blueprint

from ptce_aap.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)
