from ptce_aap.admin import grid, reading, routes  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
