#!/usr/bin/env bash
# Translations: extract the French source strings, merge them into each catalog, compile the .mo files.
#   scripts/translations.sh           extract + update + compile (after adding or changing strings)
#   scripts/translations.sh compile   compile only (at install: the .mo files are not committed)
# Every new msgid must then be translated in ptce_aap/translations/<lang>/LC_MESSAGES/messages.po
# (tests/unit/test_translations.py fails while one is empty or fuzzy).
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL=${PYBABEL:-.venv/bin/pybabel}
DIR=ptce_aap/translations
POT=$DIR/messages.pot
LANGS=(en)

compile() {
    "$PYBABEL" compile --statistics -d "$DIR"
}

if [[ "${1:-}" == "compile" ]]; then
    compile
    exit 0
fi

"$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
    --ignore-dirs='.* __pycache__ node_modules instance tests bench migrations' \
    --project=ptce_aap --copyright-holder="PTCE" \
    -o "$POT" .
for lang in "${LANGS[@]}"; do
    "$PYBABEL" -q update --init-missing --ignore-obsolete --no-fuzzy-matching -i "$POT" -d "$DIR" -l "$lang"
done
"${PYTHON:-.venv/bin/python}" scripts/french_plurals.py
compile
