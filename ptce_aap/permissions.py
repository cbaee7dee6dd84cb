"""Who may do what: ``can_<verb>_<noun>(user, obj)`` predicates, used by views and templates.

Every view loads its object, then calls ``require(can_…(current_user, obj))``. Role gates per
blueprint use ``role_required``.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from ptce_aap.enums import Role


class Forbidden(Exception):
    pass


def require(allowed: bool, *, hide: bool = True) -> None:
    """Abort unless allowed: 404 by default so that others' objects are not even confirmed to exist."""
    if not allowed:
        abort(404 if hide else 403)


def has_role(user, role: Role | str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active and user.has_role(role)


def role_required(*roles: Role | str):
    """Decorator (or ``before_request`` helper): the user is logged in and holds one of ``roles``."""

    def check() -> None:
        if not getattr(current_user, "is_authenticated", False):
            from ptce_aap.extensions import login_manager

            abort(login_manager.unauthorized())
        if not any(has_role(current_user, r) for r in roles):
            abort(403)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            check()
            return view(*args, **kwargs)

        return wrapped

    decorator.check = check
    return decorator


def blueprint_role_gate(bp, *roles: Role | str) -> None:
    """Every view of ``bp`` requires one of ``roles``."""
    gate = role_required(*roles).check

    @bp.before_request
    def _gate():
        gate()


# --- object predicates -------------------------------------------------------------------------

def is_pole_member(user, pole_id: int) -> bool:
    from flask import has_request_context, request

    from ptce_aap.extensions import db
    from ptce_aap.models.dossiers import PoleMembership

    if not getattr(user, "is_authenticated", False):
        return False
    cache = {}
    if has_request_context():  # one answer per request (views and templates ask more than once)
        cache = request._get_current_object().__dict__.setdefault("_ptce_pole_members", {})
    key = (pole_id, user.id)
    if key not in cache:
        cache[key] = db.session.query(
            db.session.query(PoleMembership).filter_by(pole_id=pole_id, user_id=user.id).exists()
        ).scalar()
    return cache[key]


def can_view_dossier(user, dossier) -> bool:
    if has_role(user, Role.ADMIN):
        return True
    return has_role(user, Role.APPLICANT) and is_pole_member(user, dossier.pole_id)


def can_edit_dossier(user, dossier) -> bool:
    return dossier.is_editable and has_role(user, Role.APPLICANT) and is_pole_member(user, dossier.pole_id)


def can_manage_pole(user, pole) -> bool:
    """The pole's creator (owner) invites and removes co-editors."""
    from ptce_aap.extensions import db
    from ptce_aap.models.dossiers import PoleMembership

    if not has_role(user, Role.APPLICANT):
        return False
    membership = db.session.query(PoleMembership).filter_by(pole_id=pole.id, user_id=user.id).one_or_none()
    return membership is not None and membership.is_owner


def can_view_call(user, call) -> bool:
    """Everyone sees a call once it leaves draft; drafts only admins."""
    from ptce_aap.enums import CallStatus

    return call.status != CallStatus.DRAFT or has_role(user, Role.ADMIN)


def can_administer(user) -> bool:
    return has_role(user, Role.ADMIN)
