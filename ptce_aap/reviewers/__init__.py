from ptce_aap.reviewers import routes  # noqa: F401  (their routes register on the blueprint)
from ptce_aap.reviewers.blueprint import bp  # noqa: F401
