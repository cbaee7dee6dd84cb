from ptce_aap.auth import account, invitation, routes  # noqa: F401  (their routes register on the blueprint)
from ptce_aap.auth.blueprint import bp  # noqa: F401
