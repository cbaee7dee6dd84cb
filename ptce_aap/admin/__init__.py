from ptce_aap.admin import (  # noqa: F401
    api_tokens,
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
    publication,
    ranking,
    reading,
    regional,
    routes,
    scenarios,
    scores,
    sessions,
    simulator,
    statistics,
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
