"""The memoised SIRET check (``domain.sirets``) gives stdnum's verdict, once per distinct text."""

import pytest
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.fr import siret as siret_mod

from ptce_aap.domain import sirets
from ptce_aap.domain.dossier_checks import siret_problem


@pytest.mark.parametrize("value,expected", [
    ("73282932000074", ("73282932000074", None)),
    ("732 829 320 00074", ("73282932000074", None)),  # stdnum's compaction
    ("73282932000075", (None, InvalidChecksum)),
    ("7328293200007", (None, InvalidLength)),
    ("", (None, InvalidFormat)),
    ("35600000000048", ("35600000000048", None)),  # La Poste: its own key rule
])
def test_check_gives_stdnums_verdict(value, expected):
    assert sirets.check(value) == expected
    assert siret_mod.is_valid(value) == (expected[1] is None)
    assert sirets.siren_of(value) == (expected[0][:9] if expected[0] else None)


def test_each_text_is_validated_once(monkeypatch):
    calls = []
    real = siret_mod.validate
    sirets.check.cache_clear()
    monkeypatch.setattr(siret_mod, "validate", lambda v: calls.append(v) or real(v))
    for _ in range(60):
        sirets.siren_of("44306184100047")
        siret_problem("44306184100048")
    assert sorted(calls) == ["44306184100047", "44306184100048"]
    assert siret_problem("44306184100048").msgid.startswith("Le numéro SIRET n'est pas valide : sa clé")
    assert siret_problem("4430618410004").params == {"digits": 13}
