from ptce_aap.admin import assignments, routes  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
