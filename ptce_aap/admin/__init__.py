from ptce_aap.admin import reading, routes, scores  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
