"""Errors the user can act on."""


class DomainError(Exception):
    """A rule of the domain refused the action; ``message`` is French and shown to the user, written with
    ``domain.messages.N_`` so that it is shown in the reader's language (``i18n.translate``).

    ``web.domain_error_response`` is the one place that turns it into a response: after a rollback (or a
    commit when ``persist``), a flash (``category``) and a redirect for a page, ``{"ok": false, "message"}``
    with ``status`` for a JSON request.
    """

    status: int = 409
    category: str = "error"
    persist: bool = False  # the refusal itself was recorded (e.g. a rejected upload): commit, do not roll back

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
