from ptce_aap.reviewers import dashboard, reading, review, routes  # noqa: F401
from ptce_aap.reviewers.blueprint import bp

__all__ = ["bp"]
