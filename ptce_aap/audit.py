"""The audit helper: every state change calls ``record`` in the same transaction."""

from __future__ import annotations

from flask import g, has_request_context, request

from ptce_aap.extensions import db
from ptce_aap.models.audit import AuditEvent


def _client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def record(action: str, obj=None, *, actor=None, summary: dict | None = None,
           object_type: str | None = None, object_id=None) -> AuditEvent:
    """Add an audit event to the session (the caller commits with the change itself).

    ``summary`` holds a before/after description, e.g. ``{"before": {...}, "after": {...}}``.
    """
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or "-",
        object_id=None if object_id is None else str(object_id),
        summary=summary or {},
        ip=_client_ip(),
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(event)
    return event
