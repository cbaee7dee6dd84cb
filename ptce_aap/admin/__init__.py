from ptce_aap.admin import (  # noqa: F401
    assignments,
    calls,
    conflicts,
    decisions,
    grid,
    pool,
    reading,
    regional,
    routes,
    scores,
    sessions,
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
