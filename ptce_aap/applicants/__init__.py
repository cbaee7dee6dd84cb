from ptce_aap.applicants import attachments, routes  # noqa: F401  (their routes register on the blueprint)
from ptce_aap.applicants.blueprint import bp  # noqa: F401
