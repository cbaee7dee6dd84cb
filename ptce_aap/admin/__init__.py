from ptce_aap.admin import (  # noqa: F401
    assignments,
    calls,
    conflicts,
    decision_notices,
    grid,
    pool,
    reading,
    regional,
    routes,
    scores,
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
