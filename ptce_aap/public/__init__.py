from ptce_aap.public import results, routes  # noqa: F401  (their routes register on the blueprint)
from ptce_aap.public.blueprint import bp  # noqa: F401
