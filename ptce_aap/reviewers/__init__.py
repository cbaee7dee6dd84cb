from ptce_aap.reviewers import conflicts, decline, reading, regional, routes  # noqa: F401
from ptce_aap.reviewers.blueprint import bp

__all__ = ["bp"]
