from ptce_aap.admin import routes  # noqa: F401  (their routes register on the blueprint)
from ptce_aap.admin.blueprint import bp  # noqa: F401
