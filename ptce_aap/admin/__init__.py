from ptce_aap.admin import (  # noqa: F401
    assignments,
    calls,
    conflicts,
    grid,
    pool,
    ranking,
    reading,
    regional,
    routes,
    scenarios,
    scores,
    simulator,
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
