from ptce_aap.reviewers import reading, routes  # noqa: F401
from ptce_aap.reviewers.blueprint import bp

__all__ = ["bp"]
