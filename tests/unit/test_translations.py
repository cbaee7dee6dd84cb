"""The English catalog is complete: every French source string has a reviewed English translation.

When one of these tests fails after adding or changing a string: run ``make translations`` (extract,
update, compile), then translate the new entries of ``ptce_aap/translations/en/LC_MESSAGES/messages.po``
(and remove their ``#, fuzzy`` flag).
"""

from __future__ import annotations

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from ptce_aap.settings import ROOT

TRANSLATIONS = ROOT / "ptce_aap" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
HOW_TO_FIX = ("run `make translations`, then translate the entries of "
              "ptce_aap/translations/en/LC_MESSAGES/messages.po (and drop their fuzzy flag)")
SKIPPED_DIRS = {"__pycache__", "node_modules", "instance", "tests", "bench", "migrations"}


def load_catalog():
    with open(PO, "rb") as f:
        return read_po(f, locale="en")


def entries(catalog):
    return [m for m in catalog if m.id]


def forms(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def describe(message) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    return f"{forms(message.id)[0]!r} ({where})"


def extracted_ids() -> dict:
    """The msgids found in the sources now, as ``pybabel extract -F babel.cfg -k _l -k lazy_gettext`` would."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

    def wanted(dirpath: str) -> bool:
        name = dirpath.replace("\\", "/").rsplit("/", 1)[-1]
        return not name.startswith(".") and name not in SKIPPED_DIRS

    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords, directory_filter=wanted):
        found.setdefault((message, context), f"{filename}:{lineno}")
    return found


def test_catalog_has_every_string_of_the_sources():
    catalog = load_catalog()
    known = {(m.id, m.context) for m in entries(catalog)}
    missing = [f"{key[0]!r} ({where})" for key, where in extracted_ids().items() if key not in known]
    assert not missing, (f"{len(missing)} source string(s) missing from the English catalog: {HOW_TO_FIX}.\n"
                         + "\n".join(missing))


def test_every_entry_is_translated_and_reviewed():
    catalog = load_catalog()
    assert len(entries(catalog)) > 100
    untranslated = [describe(m) for m in entries(catalog) if not all(s.strip() for s in forms(m.string))]
    fuzzy = [describe(m) for m in entries(catalog) if m.fuzzy]
    assert not untranslated, (f"{len(untranslated)} untranslated string(s): {HOW_TO_FIX}.\n"
                              + "\n".join(untranslated))
    assert not fuzzy, f"{len(fuzzy)} fuzzy string(s) to review: {HOW_TO_FIX}.\n" + "\n".join(fuzzy)


def test_placeholders_are_kept():
    """``%(name)s`` placeholders match, and no stray ``%``: templates %-format every string."""
    catalog = load_catalog()
    errors = [f"{describe(m)}: {'; '.join(map(str, errs))}" for m, errs in catalog.check()]
    stray = [describe(m) for m in entries(catalog)
             if "%" not in "".join(forms(m.id)) and "%" in "".join(forms(m.string))]
    assert not errors, "Placeholders differ between French and English:\n" + "\n".join(errors)
    assert not stray, "A '%' in a translation must be written '%%':\n" + "\n".join(stray)


def test_compiled_catalog_matches_the_po():
    assert MO.exists(), f"{MO} is missing: run `make translations` (the .mo files are not committed)"
    with open(MO, "rb") as f:
        compiled = {(forms(m.id), m.context): forms(m.string) for m in read_mo(f) if m.id}
    source = {(forms(m.id), m.context): forms(m.string) for m in entries(load_catalog())}
    assert compiled == source, f"{MO} is out of date: run `make translations`"
