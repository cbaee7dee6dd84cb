from ptce_aap.admin import assignments, calls, conflicts, grid, pool, reading, regional, routes, scores  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
