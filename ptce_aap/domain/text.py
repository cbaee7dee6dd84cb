"""Short user-typed names (people, poles, structures): single line, no control characters. Pure.

A name typed by one user ends up in pages, PDFs and mails sent from the platform's address to other
people; a name spanning several lines, or carrying a web address, would let anyone write a convincing
paragraph with a foreign link in a mail the platform sends. ``name_problem`` refuses such input (forms
call it); ``one_line`` makes any stored text safe to quote on one line (mails call it, for rows
written before the rule existed).
"""

from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators, and every other control or format character (Cc, Cf, Zl, Zp),
# except the ordinary space.
_BAD_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs"}
# A scheme ("https://"), "www.", or a bare host name that mail clients turn into a link: a label of two
# characters or more, a dot, a 2-24 letter top-level domain ("exemple.fr", "ptce-gouv.fr/x"). One-letter
# labels ("S.A.R.L."), a dot before a space ("Coop. du Val") and numbers ("2.0") are not host names.
_WEB_ADDRESS = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|\bwww\.|(?<![\w-])[^\W_][\w-]*[^\W_]\.(?:[\w-]+\.)*[a-z]{2,24}\b)")
_SPACES = re.compile(r"\s+")

LINE_BREAK = "line_break"
CONTROL = "control"
WEB_ADDRESS = "web_address"
TOO_LONG = "too_long"


def name_problem(value: str | None, *, max_length: int) -> str | None:
    """``None`` when ``value`` is an acceptable name, else one of the codes above."""
    if not value:
        return None
    if any(c in "\r\n\v\f\x85\u2028\u2029" for c in value):
        return LINE_BREAK
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in value):
        return CONTROL
    if _WEB_ADDRESS.search(value):
        return WEB_ADDRESS
    if len(value) > max_length:
        return TOO_LONG
    return None


INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})  # spaces, separators, controls, format marks


def without_invisible_start(text: str) -> str:
    """``text`` without the blanks and invisible characters at its start (spaces of every width, line and
    paragraph separators, controls, zero-width and byte-order marks): what a spreadsheet may skip before it
    reads a formula."""
    start = 0
    while start < len(text) and unicodedata.category(text[start]) in INVISIBLE_CATEGORIES:
        start += 1
    return text[start:]


def one_line(value: str | None, *, max_length: int = 120) -> str:
    """``value`` on a single line: control characters dropped, whitespace runs collapsed, cut with
    "…" past ``max_length`` characters."""
    if not value:
        return ""
    kept = "".join(" " if c.isspace() or unicodedata.category(c) in {"Zl", "Zp"} else c
                   for c in str(value) if c.isspace() or unicodedata.category(c) not in _BAD_CATEGORIES)
    text = _SPACES.sub(" ", kept).strip()
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"


def french_sort_key(name: str | None) -> tuple[str, str]:
    """Sort French names as a French reader expects, not by code point: accents, case, hyphens and
    apostrophes ignored at first (« Île-de-France » between « Hauts-de-France » and « Normandie », « Évreux »
    among the E), ties broken by the exact text. Used wherever names of places are listed (regions,
    departments, communes) and for other French names."""
    text = unicodedata.normalize("NFKD", name or "")
    folded = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    folded = _SPACES.sub(" ", re.sub(r"[-'’‐]", " ", folded).replace("œ", "oe").replace("æ", "ae")).strip()
    return folded, name or ""
