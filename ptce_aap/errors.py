"""Errors the user can act on."""


class DomainError(Exception):
    """A rule of the domain refused the action; ``message`` is French and shown to the user."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
