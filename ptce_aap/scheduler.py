"""Scheduled work run by ``flask ptce tick``: draft reminders, review reminders."""

from __future__ import annotations


def run_scheduled() -> int:
    """Create the outbox rows of the reminders now due. Returns how many were created."""
    return 0
