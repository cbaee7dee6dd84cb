"""The laureates of a call as open data: SCDL *subventions* v2.1.1 (schema.data.gouv.fr, SPEC §5). Pure: no
Flask, no SQLAlchemy.

``scdl_row`` turns one laureate (a ``Laureate``: the dossier's and its current decision's fields) into a row
whose keys are ``COLUMNS`` in the schema's order; ``to_csv`` writes the rows as the schema's CSV
(comma-separated, UTF-8 without BOM, ``.`` as decimal point, dates ``AAAA-MM-JJ``); ``to_json`` writes them as
a plain JSON list of objects with the same keys in the same order and the very same cell values as the CSV
(strings: nothing is lost to floating point). ``problems`` lists what keeps a row from being valid.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from stdnum.exceptions import ValidationError
from stdnum.fr import siret as siret_mod

from ptce_aap.domain.text import without_invisible_start

SCHEMA = "scdl/subventions"
SCHEMA_VERSION = "2.1.1"
COLUMNS = ("nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire",
           "idBeneficiaire", "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement",
           "datesPeriodeVersement", "idRAE", "notificationUE", "pourcentageSubvention", "dispositifAide")
NATURE = "aide en numéraire"
OBJECT_MAX = 255  # « objet » : under 256 characters
SHARE_MIN, SHARE_MAX = Decimal("0.01"), Decimal("1")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Laureate:
    """What the file says of one laureate: its dossier and its current (notified) decision."""

    dossier_id: int
    decision_id: int
    pole_name: str
    carrier_legal_name: str
    carrier_siret: str
    carrier_rna: str
    departments: tuple[str, ...]
    summary: str
    strategy: str
    total_budget_eur: Decimal | None
    amount_eur: Decimal
    reference: str
    agreement_date: date | None
    decision_date: date | None  # the committee's date (or the notification's): dateConvention without an agreement
    payment_terms: str  # already the schema's value (``PaymentTerms.scdl``), or ""
    payment_period: tuple[date | None, date | None] = (None, None)
    tranche_dates: tuple[date, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Awarding:
    name: str
    siret: str
    programme: str  # dispositifAide: the call's title


def siret_valid(value: str) -> bool:
    """14 digits with a valid Luhn key."""
    try:
        siret_mod.validate(value or "")
    except ValidationError:
        return False
    return len(value) == 14 and value.isdigit()


def amount_text(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def share_text(amount: Decimal, total_budget: Decimal | None) -> str:
    """amount / total budget, kept within 0.01..1, two decimals at most, dot as decimal point; "" without a
    budget."""
    if not total_budget or total_budget <= 0:
        return ""
    share = min(max(amount / total_budget, SHARE_MIN), SHARE_MAX).quantize(CENT, rounding=ROUND_HALF_UP)
    text = f"{share:f}".rstrip("0").rstrip(".")
    return text or "0"


# A spreadsheet runs a cell that starts with one of these: free text typed by a pole never starts the public
# file's cells with them (they mean nothing at the start of a name or of a project's object).
FORMULA_STARTS = "=+-@"


def free_text(value: str) -> str:
    """Text typed by a pole, on one line, without formula characters (nor invisible ones) at its start."""
    text = " ".join((value or "").split())
    while (stripped := without_invisible_start(text).lstrip(FORMULA_STARTS)) != text:
        text = stripped
    return text


def object_text(summary: str, strategy: str, *, limit: int = OBJECT_MAX) -> str:
    """The dossier's summary (its strategy when the summary is empty) on one line, under 256 characters, cut
    on a word with « … » when longer."""
    text = free_text(summary) or free_text(strategy)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def period_text(period: tuple[date | None, date | None], tranche_dates: tuple[date, ...]) -> str:
    """``AAAA-MM-JJ/AAAA-MM-JJ``: the decision's payment period, else the span of its tranches."""
    start, end = period
    if start is None and tranche_dates:
        start, end = min(tranche_dates), max(tranche_dates)
    if start is None:
        return ""
    return f"{start.isoformat()}/{(end or start).isoformat()}"


def scdl_row(laureate: Laureate, awarding: Awarding) -> dict[str, str]:
    # The schema: the agreement's date, or failing one the date of the awarding decision.
    convention = laureate.agreement_date or laureate.decision_date
    row = {
        "nomAttribuant": awarding.name,
        "idAttribuant": awarding.siret,
        "dateConvention": convention.isoformat() if convention else "",
        "referenceDecision": free_text(laureate.reference),
        "nomBeneficiaire": free_text(laureate.carrier_legal_name),
        "idBeneficiaire": laureate.carrier_siret,
        "rnaBeneficiaire": laureate.carrier_rna,
        "objet": object_text(laureate.summary, laureate.strategy),
        "montant": amount_text(laureate.amount_eur),
        "nature": NATURE,
        "conditionsVersement": laureate.payment_terms,
        "datesPeriodeVersement": period_text(laureate.payment_period, laureate.tranche_dates),
        "idRAE": "",
        "notificationUE": "non",
        "pourcentageSubvention": share_text(laureate.amount_eur, laureate.total_budget_eur),
        "dispositifAide": awarding.programme,
    }
    return {column: row[column] for column in COLUMNS}


def problems(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """``(nomBeneficiaire, column)`` for each cell the schema would refuse."""
    found = []
    for row in rows:
        if not siret_valid(row["idAttribuant"]):
            found.append((row["nomBeneficiaire"], "idAttribuant"))
        if not siret_valid(row["idBeneficiaire"]):
            found.append((row["nomBeneficiaire"], "idBeneficiaire"))
        for column in ("nomAttribuant", "nomBeneficiaire", "objet", "dateConvention"):
            if not row[column]:
                found.append((row["nomBeneficiaire"], column))
    return found


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_json(rows: list[dict[str, str]]) -> bytes:
    return json.dumps([{column: row[column] for column in COLUMNS} for row in rows], ensure_ascii=False,
                      indent=2).encode("utf-8")
