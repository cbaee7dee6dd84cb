"""Writes the French catalog's plural entries (ptce_aap/translations/fr/LC_MESSAGES/messages.po).

The sources are French, so French needs no translation, except for one thing: without a French catalog,
``ngettext`` falls back to the English rule (singular for 1 only) and says « 0 dossiers ». French takes the
singular for 0 and 1 (``plural=(n > 1)``). This catalog holds only the plural messages, each translated by
its own two French forms, so that gettext applies the French rule; every other string falls back to itself.
Run by scripts/translations.sh after extraction."""

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
POT = ROOT / "ptce_aap" / "translations" / "messages.pot"
PO = ROOT / "ptce_aap" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def main() -> int:
    with open(POT, "rb") as f:
        template = read_po(f)
    catalog = Catalog(locale="fr", project="ptce_aap", copyright_holder="PTCE", fuzzy=False,
                      creation_date=template.creation_date, revision_date=template.creation_date)
    for message in template:
        if message.id and message.pluralizable:
            catalog.add(message.id, string=tuple(message.id), context=message.context)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as f:
        write_po(f, catalog, width=120, sort_output=True, no_location=True)
    # CLDR gives French a third form for round millions (« 1 000 000 de dossiers »); the messages here have
    # two, with gettext's classic French rule.
    text = PO.read_text(encoding="utf-8").replace('msgstr[2] ""\n', "")
    PO.write_text(re.sub(r'"Plural-Forms: [^"]*"', r'"Plural-Forms: nplurals=2; plural=(n > 1);\\n"', text),
                  encoding="utf-8")
    print(f"{sum(1 for m in catalog if m.id)} French plural entries in {PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
