"""Which responses a browser or a proxy may keep: none that carries personal data.

``Cache-Control: no-store`` on every response of the applicant, reviewer, admin, API and storage
blueprints, on every JSON answer, and on any page shown to a logged-in user (its header names them).
Public pages seen anonymously and static files stay cacheable. (Kept apart from ``security``, which sets
the other headers, so that the two change independently.)"""

from __future__ import annotations

from flask import request
from flask_login import current_user

PRIVATE_BLUEPRINTS = frozenset({"applicants", "reviewers", "admin", "api", "storage", "auth"})
STATIC_ENDPOINTS = frozenset({"static", "dsfr_static"})


def is_private(response) -> bool:
    """Whether ``response`` (to the current request) may carry personal data."""
    if request.endpoint in STATIC_ENDPOINTS:
        return False
    if request.blueprint in PRIVATE_BLUEPRINTS or response.mimetype == "application/json":
        return True
    return bool(getattr(current_user, "is_authenticated", False))


def init_app(app) -> None:
    @app.after_request
    def _no_store(response):
        if is_private(response):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
