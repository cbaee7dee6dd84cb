"""Parsing numbers typed by users: amounts the French way ("12 345,50 €") into ``Decimal``, years and
indexes in ASCII digits only. Pure.

The browser computes the live totals of the financing plan with the same rules (``static/amounts.js``;
tests/unit/test_amounts_js.py runs both over the same cases): an amount the server would refuse counts for
nothing in the live total, as in the saved one."""

from __future__ import annotations

import re
from decimal import Decimal

from ptce_aap.domain.messages import N_, Message

MAX_AMOUNT = Decimal("999999999.99")  # fits NUMERIC(12, 2)
_SPACES = re.compile(r"[\s\u00a0\u202f']")
# ASCII digits only: "\d" and Decimal() also take "١٢" (Arabic-Indic) or "1_000", "1e3", "NaN".
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)")


_INTEGER = re.compile(r"[0-9]+")


_EXPONENT = re.compile(r"[0-9]*[.,]?[0-9]+[eE][-+]?[0-9]+")
_MINUS = "-\u2212"  # hyphen-minus and the minus sign


class AmountError(ValueError):
    """The text is not an acceptable amount; ``message`` (and ``str(exc)``) is a French message (translatable:
    ``domain.messages``), ``code`` says why: "format", "exponent", "negative", "zero" or "too_large" (the same
    codes as ``static/amounts.js``)."""

    def __init__(self, message: Message, code: str = "format"):
        super().__init__(message)
        self.message = message
        self.code = code


def _signed(cleaned: str) -> tuple[bool, str]:
    """(negative, the text without its minus sign) — a negative number gets its own message."""
    if cleaned[:1] in _MINUS and cleaned[1:2] not in ("", *_MINUS):
        return True, cleaned[1:]
    return False, cleaned


EXPONENT_MESSAGE = N_("Écrivez le nombre en chiffres, sans exposant : 1000 et non 1e3.")


def ascii_int(text: str | None, *, maximum: int) -> int | None:
    """``text`` as a whole number from 0 to ``maximum`` written in ASCII digits, else ``None``.

    The one parse of an integer typed or sent by a user (a year, a row index): ``str.isdigit()`` and
    ``int()`` also take "²", "①", "٣" or "３", and a huge number would overflow a database column.
    """
    if text is None or not _INTEGER.fullmatch(text) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def parse_year(text: str | None) -> int | None:
    """A year on four ASCII digits (``"2019"`` → 2019); empty → ``None``; otherwise ``AmountError``."""
    text = (text or "").strip()
    if not text:
        return None
    value = ascii_int(text, maximum=9999) if len(text) == 4 else None
    if value is None:
        raise AmountError(N_("Saisissez une année sur quatre chiffres, par exemple 2019."))
    return value


def parse_amount(text: str | None, *, allow_zero: bool = True) -> Decimal | None:
    """``"12 345,5 €"`` → ``Decimal("12345.50")``; empty → ``None``; otherwise ``AmountError``."""
    if text is None:
        return None
    cleaned = _SPACES.sub("", str(text)).removesuffix("€").removesuffix("EUR").strip()
    if not cleaned:
        return None
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    negative, unsigned = _signed(cleaned)
    if _EXPONENT.fullmatch(unsigned):
        raise AmountError(EXPONENT_MESSAGE, "exponent")
    if not _AMOUNT.fullmatch(unsigned) or unsigned.startswith("-"):
        raise AmountError(N_("Saisissez un montant en euros, par exemple 12 500 ou 12 500,50."))
    value = Decimal(unsigned)
    if negative and value != 0:
        raise AmountError(N_("Le montant doit être positif ou nul."), "negative")
    if value == 0 and not allow_zero:
        raise AmountError(N_("Le montant doit être supérieur à zéro."), "zero")
    if value > MAX_AMOUNT:
        raise AmountError(N_("Ce montant est trop élevé : vérifiez le nombre de chiffres."), "too_large")
    return value.quantize(Decimal("0.01"))


def parse_decimal(text: str | None, *, maximum: Decimal = Decimal("100000")) -> Decimal | None:
    """A non-negative number such as a count of full-time equivalents (``"2,5"``)."""
    if text is None:
        return None
    cleaned = _SPACES.sub("", str(text))
    if not cleaned:
        return None
    cleaned = cleaned.replace(",", ".")
    negative, unsigned = _signed(cleaned)
    if _EXPONENT.fullmatch(unsigned):
        raise AmountError(EXPONENT_MESSAGE, "exponent")
    if not _NUMBER.fullmatch(unsigned) or unsigned[:1] in "-+" and negative:
        raise AmountError(N_("Saisissez un nombre, par exemple 2 ou 2,5."))
    value = Decimal(unsigned)
    if negative and value != 0:
        raise AmountError(N_("Le nombre doit être positif ou nul, par exemple 2 ou 2,5."), "negative")
    if value > maximum:
        raise AmountError(N_("Ce nombre est trop élevé : vérifiez votre saisie."), "too_large")
    return abs(value).quantize(Decimal("0.01"))
