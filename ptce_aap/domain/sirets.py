"""SIRET validation, memoised.

``stdnum.fr.siret.validate`` costs ~0.1 ms (cleaning, two Luhn keys, La Poste's exception); a dossier page
asked it the same fifteen-odd numbers ~60 times (each eligibility rule lists the members' legal persons by
SIREN, the dossier checks validate them again). The outcome depends on the text only: it is computed once
per distinct text (bounded cache) and the callers keep their own messages.
"""

from __future__ import annotations

from functools import lru_cache

from stdnum.exceptions import ValidationError
from stdnum.fr import siret as siret_mod


@lru_cache(maxsize=16384)
def check(value: str) -> tuple[str | None, type[ValidationError] | None]:
    """``(compact SIRET, None)`` when ``value`` is a valid SIRET, else ``(None, the error's class)``."""
    try:
        return siret_mod.validate(value), None
    except ValidationError as exc:
        return None, type(exc)


def siren_of(siret: str | None) -> str | None:
    """The SIREN (first 9 digits) of a valid SIRET, else None."""
    compact, _error = check(siret or "")
    return compact[:9] if compact else None
