from ptce_aap.admin import assignments, conflicts, pool, regional, routes  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
