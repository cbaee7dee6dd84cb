from ptce_aap.admin import routes  # noqa: F401
from ptce_aap.admin import calls  # noqa: F401
from ptce_aap.admin.blueprint import bp

__all__ = ["bp"]
