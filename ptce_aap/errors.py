"""Errors the user can act on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A rule of the domain refused the action; ``message`` is French and shown to the user, written with
    ``domain.messages.N_`` so that it is shown in the reader's language (``i18n.translate``).

    ``web.domain_error_response`` is the one place that turns it into a response: after a rollback (or a
    commit when ``persist``), a flash (``category``) and a redirect for a page, ``{"ok": false, "message"}``
    with ``status`` for a JSON request.

    A form checked as a whole refuses with every problem at once (``problems``: ``(field, message)`` pairs,
    see ``Problems``), so that each field shows its own message after one submit; ``message`` and ``field``
    are then those of the first problem.
    """

    status: int = 409
    category: str = "error"
    persist: bool = False  # the refusal itself was recorded (e.g. a rejected upload): commit, do not roll back

    def __init__(self, message: str, *, field: str | None = None,
                 problems: Iterable[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems: list[tuple[str | None, str]] = list(problems) if problems else [(field, message)]


class Problems:
    """Collects the problems of every field of a form before refusing it, instead of stopping at the first::

        problems = Problems()
        code = problems.check(_code, values)        # a DomainError raised by ``_code`` is kept, ``None`` returned
        weight = problems.check(_integer, values["weight"], ...)
        problems.raise_any()                         # one DomainError carrying every problem
    """

    def __init__(self) -> None:
        self.found: list[tuple[str | None, str]] = []

    def check(self, func: Callable[..., T], *args, **kwargs) -> T | None:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            self.found.extend(exc.problems)
            return None

    def add(self, message: str, *, field: str | None = None) -> None:
        self.found.append((field, message))

    def fields(self) -> set[str | None]:
        return {field for field, _message in self.found}

    def raise_any(self) -> None:
        if self.found:
            field, message = self.found[0]
            raise DomainError(message, field=field, problems=self.found)
