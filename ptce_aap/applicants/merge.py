"""Three-way merge of a section saved over a newer version: field by field, against the values the form was
loaded with (``base``, posted as JSON in a hidden field). A field only one side changed takes that side's
value; only fields both sides changed, differently, are conflicts. A table (members, expenses, resources)
counts as one field."""

from __future__ import annotations

import json

from werkzeug.datastructures import MultiDict

from ptce_aap.applicants import sections

IGNORED = {"version", "force", "csrf_token", "base", "restored"}


def snapshot(section: str, form) -> dict:
    """The form's values, comparable and JSON-safe: what ``base`` carries."""
    data = {k: [row for row in v if not isinstance(row, dict) or _filled(row)] if isinstance(v, list) else v
            for k, v in form.data.items() if k not in IGNORED}
    return json.loads(json.dumps(sections.comparable(section, data)))


def _filled(row: dict) -> bool:
    """A table row with something typed in it (blank rows are not stored, so they are not a change)."""
    return any(isinstance(v, str) and v.strip() for v in row.values())


def dump(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def load(text: str | None) -> dict | None:
    """The posted base values, or None when missing or unreadable (then every difference is a conflict)."""
    try:
        values = json.loads(text or "")
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def three_way(base: dict | None, mine: dict, theirs: dict) -> tuple[list[str], list[str]]:
    """``(take_theirs, conflicts)``: the fields to take from the saved version (changed only there), and
    those both sides changed differently. Without a base, every differing field is a conflict."""
    take_theirs, conflicts = [], []
    for key, value in mine.items():
        their = theirs.get(key)
        if value == their:
            continue
        if base is not None and key in base:
            if value == base[key]:
                take_theirs.append(key)
                continue
            if their == base[key]:
                continue  # only I changed it: mine wins
        conflicts.append(key)
    return take_theirs, conflicts


def _pairs(field) -> list[tuple[str, str]]:
    """What a browser would post for ``field`` (a WTForms field, tables included)."""
    if hasattr(field, "entries"):  # FieldList of FormFields
        return [pair for entry in field.entries for sub in entry.form for pair in _pairs(sub)]
    if field.type in ("CSRFTokenField",):
        return []
    data = field.data
    if field.type == "BooleanField":
        return [(field.name, "y")] if data else []
    if isinstance(data, list):
        return [(field.name, str(v)) for v in data]
    return [] if data is None else [(field.name, str(data))]


def merged_formdata(mine, theirs, take_theirs: list[str]) -> MultiDict:
    """The user's form, with ``take_theirs`` fields replaced by the saved version's."""
    pairs = []
    for field in mine:
        source = theirs[field.short_name] if field.short_name in take_theirs else field
        pairs.extend(_pairs(source))
    return MultiDict(pairs)
