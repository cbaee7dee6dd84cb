"""Messages of the domain, translatable where they are shown. Pure: no Flask.

A ``Message`` is a French string (what it renders to with no translation: mails, PDFs, logs, tests keep using
it as a ``str``) that also remembers its message id and parameters, so that the web layer can translate it
(``i18n.translate``, the ``tr`` template filter)::

    N_("Le pôle compte %(count)s membres.", count=3)

``N_`` is a keyword pybabel extracts: write the French text as a literal. Parameters may be plain values,
other messages (translated too), ``Money``/``Number``/``Share``/``Moment``/``Size`` (formatted in the reader's language) or an
enum member of ``ptce_aap.enums`` (its label, translated). ``join`` puts messages side by side.
Messages survive JSON (``to_json``/``from_json``: the stored eligibility results).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ptce_aap.domain.formatting import (
    format_amount,
    format_datetime,
    format_number,
    format_share,
    format_size,
)

Gettext = Callable[[str], str]


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Money:
    eur: Decimal

    def render(self, locale: str) -> str:
        return format_amount(self.eur, locale)


@dataclass(frozen=True)
class Number:
    value: int | Decimal

    def render(self, locale: str) -> str:
        return format_number(self.value, locale)


@dataclass(frozen=True)
class Share:
    value: Decimal

    def render(self, locale: str) -> str:
        return format_share(self.value, locale)


@dataclass(frozen=True)
class Size:
    size: int  # bytes

    def render(self, locale: str) -> str:
        return format_size(self.size, locale)


@dataclass(frozen=True)
class Moment:
    at: datetime

    def render(self, locale: str) -> str:
        return format_datetime(self.at, locale)


def _value(value, gettext: Gettext, locale: str):
    if isinstance(value, Message):
        return value.translate(gettext, locale)
    if isinstance(value, Money | Number | Share | Moment | Size):
        return value.render(locale)
    if hasattr(value, "label_msgid"):  # a Labelled enum member
        return gettext(value.label_msgid)
    return value


class Message(str):
    """A French message with its id and parameters (see the module's docstring)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, /, **params):
        self = super().__new__(cls, cls._render(msgid, params, _identity, "fr"))
        self.msgid = msgid
        self.params = params
        return self

    @staticmethod
    def _render(msgid: str, params: dict, gettext: Gettext, locale: str) -> str:
        text = gettext(msgid)
        if not params:
            return text
        return text % {key: _value(value, gettext, locale) for key, value in params.items()}

    def translate(self, gettext: Gettext, locale: str) -> str:
        return self._render(self.msgid, self.params, gettext, locale)

    def __add__(self, other):  # "a" + "b" stays translatable
        return Joined((self, other), "") if isinstance(other, str) else NotImplemented

    def __radd__(self, other):
        return Joined((other, self), "") if isinstance(other, str) else NotImplemented

    def __reduce__(self):  # copies and pickles keep the id and parameters (str's would keep the French only)
        return _message, (self.msgid, self.params)

    def to_json(self) -> dict:
        return {"msgid": self.msgid, "params": {k: _encode(v) for k, v in self.params.items()}}

    @staticmethod
    def from_json(data: dict) -> Message:
        if "lower_first" in data:
            return lower_first(Message.from_json(data["lower_first"]))
        if "join" in data:
            return join((Message.from_json(part) for part in data["join"]), data.get("sep", " "),
                        strip=data.get("strip", ""))
        return Message(data["msgid"], **{k: _decode(v) for k, v in (data.get("params") or {}).items()})


class Joined(Message):
    """Messages side by side (``join``): each translated, then joined. (``trim``, not ``strip``: the
    attribute must not hide ``str.strip``.)"""

    parts: tuple[Message, ...]
    sep: str
    trim: str  # characters taken off the end of each part (« . » for a list of sentences: « a ; b »)

    def __new__(cls, parts: Iterable[Message], sep: str = " ", strip: str = ""):
        parts = tuple(p if isinstance(p, Message) else Message("%(text)s", text=p) for p in parts)  # verbatim
        self = str.__new__(cls, sep.join(p.rstrip(strip) if strip else p for p in parts))
        self.msgid, self.params, self.parts, self.sep, self.trim = "", {}, parts, sep, strip
        return self

    def translate(self, gettext: Gettext, locale: str) -> str:
        texts = (p.translate(gettext, locale) for p in self.parts)
        return self.sep.join(t.rstrip(self.trim) if self.trim else t for t in texts)

    def __reduce__(self):
        return Joined, (self.parts, self.sep, self.trim)

    def to_json(self) -> dict:
        return {"join": [p.to_json() for p in self.parts], "sep": self.sep} | ({"strip": self.trim} if self.trim
                                                                                 else {})


class LowerFirst(Message):
    """A message continuing a sentence (« Membre n° 2 : le numéro SIRET… »): its first letter in lower case,
    in every language."""

    inner: Message

    def __new__(cls, inner: Message):
        self = str.__new__(cls, inner[:1].lower() + inner[1:])
        self.msgid, self.params, self.inner = "", {}, inner
        return self

    def translate(self, gettext: Gettext, locale: str) -> str:
        text = self.inner.translate(gettext, locale)
        return text[:1].lower() + text[1:]

    def __reduce__(self):
        return LowerFirst, (self.inner,)

    def to_json(self) -> dict:
        return {"lower_first": self.inner.to_json()}


def lower_first(message: Message) -> Message:
    return LowerFirst(message if isinstance(message, Message) else Message("%(text)s", text=message))


def _message(msgid: str, params: dict) -> Message:  # for ``Message.__reduce__``
    return Message(msgid, **params)


def N_(msgid: str, /, **params) -> Message:  # noqa: N802 -- a keyword pybabel knows
    """A translatable French message (extracted by pybabel, translated where it is shown)."""
    return Message(msgid, **params)


def join(parts: Iterable[Message], sep: str = " ", *, strip: str = "") -> Message:
    """``parts`` side by side, each translated; ``strip``: characters taken off the end of each part."""
    return Joined(parts, sep, strip)


def plural(n: int, singular: Message, plural_form: Message) -> Message:
    """The French (and English) choice: singular for exactly one."""
    return singular if n == 1 else plural_form


def _encode(value):
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, Money):
        return {"eur": str(value.eur)}
    if isinstance(value, Share):
        return {"share": str(value.value)}
    if isinstance(value, Number):
        return {"number": str(value.value)}
    if isinstance(value, Moment):
        return {"at": value.at.isoformat()}
    if isinstance(value, Size):
        return {"bytes": value.size}
    if hasattr(value, "label_msgid"):
        return {"msgid": value.label_msgid, "params": {}}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "eur" in value:
            return Money(Decimal(value["eur"]))
        if "share" in value:
            return Share(Decimal(value["share"]))
        if "number" in value:
            return Number(Decimal(value["number"]))
        if "at" in value:
            return Moment(datetime.fromisoformat(value["at"]))
        if "bytes" in value:
            return Size(int(value["bytes"]))
        return Message.from_json(value)
    return value
