"""The formatters of ``domain.formatting`` in the current language, and the Jinja filters built on them.

Templates use ``|eur``, ``|number``, ``|share``, ``|size`` (of a file), ``|paris`` (date and time) and ``|paris_date``; Python code
in a request, a mail or a PDF calls ``format_eur`` / ``format_paris`` here. Jobs run outside a request
and format in French (``i18n.select_locale``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import get_locale

from ptce_aap.domain import formatting


def _locale() -> str:
    return str(get_locale() or "fr")


def format_eur(value: Decimal | int | str | None) -> str:
    """An amount; a string is a stored decimal (``"1234.50"``, as JSON columns keep them)."""
    return formatting.format_amount(Decimal(value) if isinstance(value, str) else value, _locale())


def format_number(value: Decimal | int | float | None) -> str:
    return formatting.format_number(value, _locale())


def format_size(size: int | None) -> str:
    return formatting.format_size(size, _locale())


def format_share(value: Decimal, decimals: int | None = None) -> str:
    return formatting.format_share(value, _locale(), decimals)


def format_paris(value: datetime | None, with_time: bool = True) -> str:
    """``23/11/2026 à 17:00 (heure de Paris)`` — explicit, whatever the server's zone."""
    return formatting.format_datetime(value, _locale(), with_time=with_time)


def format_paris_date(value: date | datetime | str | None) -> str:
    """A date; a string is an ISO date (``"2026-12-03"``, as JSON columns keep them)."""
    return formatting.format_date(date.fromisoformat(value) if isinstance(value, str) else value, _locale())


def init_app(app) -> None:
    app.jinja_env.filters.update({
        "eur": format_eur,
        "number": format_number,
        "share": format_share,
        "size": format_size,
        "paris": format_paris,
        "paris_date": format_paris_date,
    })
