from ptce_aap.admin import grid, reading, routes, scores  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
