from ptce_aap.reviewers import conflicts, dashboard, decline, reading, regional, review, routes  # noqa: F401
from ptce_aap.reviewers.blueprint import bp

__all__ = ["bp"]
