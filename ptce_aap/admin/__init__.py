from ptce_aap.admin import (  # noqa: F401
    assignments,
    call_dashboard,
    calls,
    conflicts,
    decision_notices,
    decisions,
    documents_zip,
    grid,
    instruction,
    pool,
    reading,
    regional,
    routes,
    scores,
    sessions,
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
