"""Background tasks: thin wrappers over services, taking ids only. Registered with ``@task``."""

from __future__ import annotations

from ptce_aap.jobs import task


@task("noop")
def task_noop(**kwargs) -> None:
    """Does nothing; used by health checks and tests of the outbox."""
