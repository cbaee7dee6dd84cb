from ptce_aap.admin import (
    calls,  # noqa: F401
    routes,  # noqa: F401
)
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
