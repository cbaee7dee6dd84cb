"""Numbers, amounts, shares and dates as people read them, French first. Pure: Babel, no Flask.

The one place where amounts, numbers and datetimes become text: templates (filters registered by
``ptce_aap.formatting``), mails, PDFs and the French messages of ``domain`` all go through these
functions. Datetimes are stored aware in UTC and always shown in Europe/Paris, saying so.
French groups thousands with a narrow no-break space (U+202F), as Babel's CLDR data does.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

PARIS = ZoneInfo("Europe/Paris")
NONE_SHOWN = "—"


def _is_english(locale: str) -> bool:
    return str(locale).startswith("en")


def format_number(value: Decimal | int | float | None, locale: str = "fr") -> str:
    """``1234567`` → ``1 234 567`` (U+202F) in French, ``1,234,567`` in English; up to 2 decimals."""
    if value is None:
        return NONE_SHOWN
    return _number(value, str(locale))


@lru_cache(maxsize=4096, typed=True)
def _number(value: Decimal | int | float, locale: str) -> str:
    """Babel takes ~0.1 ms a number: a table of scores shows hundreds of them, most repeated (one decimal)."""
    return format_decimal(value, format="#,##0.##", locale=locale)


def format_amount(value: Decimal | int | None, locale: str = "fr") -> str:
    """Euros: ``120 000 €`` when whole, ``120 000,50 €`` with cents; ``—`` for no amount."""
    if value is None:
        return NONE_SHOWN
    return _amount(Decimal(value), str(locale))


@lru_cache(maxsize=4096)
def _amount(value: Decimal, locale: str) -> str:
    """As ``_number``: the reading view and the eligibility messages show the same few amounts (equal values,
    ``120000`` and ``120000.00``, are written alike)."""
    pattern = "#,##0" if value == value.to_integral_value() else "#,##0.00"
    return f"{format_decimal(value, format=pattern, locale=locale)} €"


def format_typed(value: Decimal | int | None, locale: str = "fr", *, cents: bool = False) -> str:
    """A stored number written back into a text input so that it reads as the person would type it and the
    parsers (``domain.money``, ``static/amounts.js``) read it back to the same value: thousands grouped by a
    plain space (the one grouping they accept in both languages: « 5,000 » would be five euros in French),
    the decimal mark of the page language, as the totals beside it: ``8 500,50`` in French, ``8 500.50`` in
    English. ``cents``: an amount, with two decimals when it is not whole (``2,5`` ETP but ``8 500,50``)."""
    if value is None:
        return ""
    value = Decimal(value)
    pattern = "#,##0.00" if cents and value != value.to_integral_value() else "#,##0.##"
    text = format_decimal(value, format=pattern, locale="fr").replace("\u202f", " ").replace("\u00a0", " ")
    return text.replace(",", ".") if _is_english(locale) else text


def format_size(size: int | None, locale: str = "fr") -> str:
    """A file size: ``12 octets``, ``350 ko``, ``1,2 Mo`` (1 ko = 1 024 octets); ``12 bytes``, ``1.2 MB`` in English."""
    if size is None:
        return NONE_SHOWN
    english = _is_english(locale)
    if size >= 1024 * 1024:
        return f"{format_number(round(size / (1024 * 1024), 1), locale)} {'MB' if english else 'Mo'}"
    if size >= 1024:
        return f"{format_number(round(size / 1024, 1), locale)} {'KB' if english else 'ko'}"
    unit = ("byte" if english else "octet") + ("" if size < 2 else "s")
    return f"{format_number(size, locale)} {unit}"


def format_share(share: Decimal, locale: str = "fr", decimals: int | None = None) -> str:
    """A fraction as a percentage: ``Decimal("0.5")`` → ``50 %`` (no-break space) in French, ``50%`` in English;
    with ``decimals``, always that many (``50,0 %``), so that a column of shares reads alike."""
    digits = "0" * decimals if decimals else "##"
    pattern = f"#,##0.{digits}%" if _is_english(locale) else f"#,##0.{digits}\u00a0%"
    return format_percent(share, format=pattern, locale=str(locale))


def to_paris(value: datetime | None) -> datetime | None:
    """An aware datetime in Europe/Paris. A naive one is refused: the app stores aware UTC only."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: store and pass aware UTC datetimes")
    return value.astimezone(PARIS)


def format_datetime(value: datetime | None, locale: str = "fr", *, with_time: bool = True) -> str:
    """``23/11/2026 à 17:00 (heure de Paris)`` (``… 17:00 (Paris time)`` in English), whatever the server's zone."""
    if value is None:
        return ""
    local = to_paris(value)
    if not with_time:
        return local.strftime("%d/%m/%Y")
    if _is_english(locale):
        return local.strftime("%d/%m/%Y %H:%M (Paris time)")
    return local.strftime("%d/%m/%Y à %H:%M (heure de Paris)")


def format_date(value: date | datetime | None, locale: str = "fr") -> str:
    """``23/11/2026``; a datetime is first brought to Paris (23:30 UTC on 31/12 is already 01/01 in Paris)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value)
    return value.strftime("%d/%m/%Y")


FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre")


def format_long_date(value: date | datetime | None) -> str:
    """« 1er janvier 2014 », « 20 janvier 2014 »: the date as a French letter writes it (Paris day)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {FRENCH_MONTHS[value.month - 1]} {value.year}"


def paris_today(now: datetime) -> date:
    """The calendar day in Paris at the aware instant ``now``."""
    return to_paris(now).date()
