"""Every message of the domain, and every text of the scripts, has an English translation.

The domain builds its messages with ``N_("French text", **params)`` (``ptce_aap.domain.messages``); pages
translate them with the catalog. A message pybabel does not extract (written in a way it cannot read) would
stay French in English: here every ``N_`` literal of ``ptce_aap/domain`` is read with ``ast`` and looked up.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal

from babel.messages.pofile import read_po

from ptce_aap.domain.messages import N_, Message, Money, join
from ptce_aap.settings import ROOT

PO = ROOT / "ptce_aap" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
DOMAIN = ROOT / "ptce_aap" / "domain"
SERVICES = ROOT / "ptce_aap" / "services"
# Where ``N_`` messages are written: the domain, the services' refusals, the error pages and script texts.
SOURCES = [*sorted(DOMAIN.glob("*.py")), *sorted(SERVICES.glob("*.py")), ROOT / "ptce_aap" / "web.py",
           ROOT / "ptce_aap" / "i18n.py"]
STATIC = ROOT / "ptce_aap" / "static"


def catalog() -> dict[str, str]:
    with open(PO, "rb") as f:
        return {m.id: m.string for m in read_po(f, locale="en") if m.id and isinstance(m.id, str)}


def domain_msgids() -> dict[str, str]:
    """{msgid: where} of every ``N_("…")`` call whose first argument is a literal."""
    found = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_" and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
    return found


def test_every_domain_message_has_an_english_translation():
    ids, english = domain_msgids(), catalog()
    assert len(ids) > 250
    missing = [f"{msgid!r} ({where})" for msgid, where in ids.items() if not english.get(msgid, "").strip()]
    assert not missing, "Domain messages without English (run scripts/translations.sh):\n" + "\n".join(missing)
    # A real translation, not the French copied: only pure placeholders and acronyms may be identical.
    copied = [msgid for msgid in ids if english[msgid] == msgid and re.search(r"[^\W\d_]{4,}", re.sub(
        r"%\(\w+\)s|SCIC|SCOP", "", msgid))]
    assert not copied, f"French copied as English: {copied}"


REFUSALS = {"DomainError", "AttachmentRefused", "LoginError"}
INTERNAL_ERRORS = {"ValueError", "TypeError", "RuntimeError", "AssertionError", "KeyError", "LookupError",
                   "GiveUp", "SolverError", "SolverFailed"}  # job and solver failures: logs, not pages


def test_refusals_of_the_services_are_translatable_messages():
    """A refusal raised with a French literal or f-string would be shown in French to an English reader."""
    plain = []
    for path in [*sorted(SERVICES.glob("*.py")), *sorted(DOMAIN.glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None) if isinstance(
                node, ast.Call) else None
            if name in REFUSALS | {"__init__"} and any(isinstance(a, ast.JoinedStr) or (
                    isinstance(a, ast.Constant) and isinstance(a.value, str) and " " in a.value) for a in node.args):
                plain.append(f"{path.name}:{node.lineno}")
            # Any other refusal raised with a French text (``OpinionChanged("…")``…); programming errors
            # (ValueError…) are English and never shown.
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args \
                    and (getattr(node.exc.func, "id", None) or getattr(node.exc.func, "attr", None)) \
                    not in INTERNAL_ERRORS:
                first = node.exc.args[0]
                if isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(
                        first.value, str) and " " in first.value):
                    plain.append(f"{path.name}:{node.lineno}")
    assert not plain, f"refusals written as plain French (use N_): {plain}"


def test_messages_translate_with_their_parameters():
    english = {"%(label)s : à renseigner.": "%(label)s: required.", "Nom du pôle": "Hub name",
               "Écart %(gap)s.": "Gap %(gap)s."}
    message = join([N_("%(label)s : à renseigner.", label=N_("Nom du pôle")),
                    N_("Écart %(gap)s.", gap=Money(Decimal("1500")))])

    assert message == "Nom du pôle : à renseigner. Écart 1\u202f500 €."  # the French str, for mails and logs
    assert message.translate(lambda s: english.get(s, s), "en") == "Hub name: required. Gap 1,500 €."
    stored = Message.from_json(message.to_json())  # as stored in an eligibility check
    assert stored.translate(lambda s: english.get(s, s), "en") == "Hub name: required. Gap 1,500 €."


SCRIPT_TEXT = re.compile(r'\bt\(((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
FRENCH = re.compile(r"[éèêàçùôî]|\b(?:le|la|les|des|du|une|vous|vos|votre|est|sur|pour|en cours)\b", re.IGNORECASE)


def test_every_french_text_of_the_scripts_is_translated():
    from ptce_aap.i18n import JS_TEXTS

    english, known = catalog(), {str(text) for text in JS_TEXTS}
    for path in sorted(STATIC.glob("*.js")):
        source = re.sub(r"^\s*//.*$|\s//\s.*$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        texts = ["".join(LITERAL.findall(m.group(1))) for m in SCRIPT_TEXT.finditer(source)]
        assert all(text in known for text in texts), (path.name, [t for t in texts if t not in known])
        outside = [lit for lit in LITERAL.findall(SCRIPT_TEXT.sub("", source)) if FRENCH.search(lit)]
        assert not outside, f"{path.name}: French shown without t(…): {outside}"
    assert all(english.get(text, "").strip() for text in known)


def test_a_selection_conflict_reads_in_english():
    """The selection's explanations (issue 11) are messages too: in English, no French word is left."""
    from ptce_aap.domain.selection import Candidate, Constraints, SelectionInputError, simulate

    english = catalog()

    def gettext(text):
        return english.get(text) or text

    cands = [Candidate(1, Decimal("80"), Decimal("150000"), "53", "", "Alpha"),
             Candidate(2, Decimal("70"), Decimal("100000"), "53", "", "Beta")]
    result = simulate(cands, Decimal("200000"), Constraints(forced_in=frozenset({1, 2})))
    message = result.conflict.message
    assert "retenu d'office" in message  # French where no one translates (mails, logs)
    text = message.translate(gettext, "en")
    assert "selected outright" in text and "200,000 €" in text, text
    assert not re.search(r"[éèàç]|\b(?:le|la|les|des|du|une|est|pour|dossiers?)\b", text, re.IGNORECASE), text
    try:
        simulate(cands, Decimal("200000"), Constraints(amounts={1: Decimal("150000.001")}))
    except SelectionInputError as exc:
        refusal = exc.args[0]
    assert refusal.translate(gettext, "en") == "The adjusted amount of “Alpha” must be a positive amount in euros " \
                                               "and cents."
