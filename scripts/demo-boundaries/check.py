#!/usr/bin/env python3
"""Self-check of the files build.py wrote: python check.py OUT_DIR [--expect-communes N]

Reads only OUT_DIR/provinces.geojson and OUT_DIR/communes.geojson, so it checks what the importer will see:
34 provinces (or --expect-provinces); unique codes; every geometry a valid, non-empty (multi)polygon in lon/lat around Vietnam;
every commune inside its province; every commune's package centroid inside its own cell; the cells of a
province cover it; provinces do not overlap; coordinates have at most 6 decimals; file size limits.
Prints one summary line and exits 1 on the first class of failure found (listing a few offenders).
"""
import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

MAX_MB = {"provinces.geojson": 5, "communes.geojson": 25}
TOL = 2e-6  # degrees: coordinates are snapped to a 1e-6 grid


def fail(msg, items=()):
    items = list(items)
    print(f"CHECK FAILED: {msg} ({len(items)}): {items[:8]}" if items else f"CHECK FAILED: {msg}")
    sys.exit(1)


def load(path):
    fc = json.loads(path.read_text(encoding="utf-8"))
    feats = fc["features"]
    return [f["properties"] for f in feats], [shape(f["geometry"]) for f in feats]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--expect-provinces", type=int, default=34)
    ap.add_argument("--expect-communes", type=int, default=None)
    args = ap.parse_args()
    out = Path(args.out_dir)

    sizes = {}
    for name, limit in MAX_MB.items():
        p = out / name
        if not p.exists():
            fail(f"{p} missing")
        sizes[name] = p.stat().st_size / 1e6
        if sizes[name] > limit:
            fail(f"{name} is {sizes[name]:.1f} MB, over {limit} MB")
        text = p.read_text(encoding="utf-8")
        long_nums = re.findall(r"-?\d+\.\d{7,}", text)
        if long_nums:
            fail(f"{name} has numbers with more than 6 decimals", long_nums)

    pprops, pgeoms = load(out / "provinces.geojson")
    cprops, cgeoms = load(out / "communes.geojson")

    # --- provinces
    pcodes = [p["code"] for p in pprops]
    if len(pprops) != args.expect_provinces:
        fail(f"expected {args.expect_provinces} provinces, found {len(pprops)}")
    if len(set(pcodes)) != len(pcodes) or not all(re.fullmatch(r"\d\d", c) for c in pcodes):
        fail("province codes must be unique 2-digit strings", pcodes)
    bad = [p["code"] for p in pprops if p.get("level") != "province" or not p.get("name")]
    if bad:
        fail("province without name or with level != province", bad)
    prov = dict(zip(pcodes, pgeoms))

    # --- communes
    ccodes = [p["code"] for p in cprops]
    if len(set(ccodes)) != len(ccodes):
        fail("duplicate commune codes")
    if args.expect_communes is not None and len(cprops) != args.expect_communes:
        fail(f"expected {args.expect_communes} communes, found {len(cprops)}")
    bad = [p["code"] for p in cprops if p.get("level") != "commune" or p.get("approximate") is not True
           or not p.get("name") or p.get("province_code") not in prov]
    if bad:
        fail("commune with missing name / wrong level / approximate != true / unknown province_code", bad)

    # --- geometry: valid, polygonal, non-empty, in Vietnam's lon/lat range
    for kind, props, geoms in (("province", pprops, pgeoms), ("commune", cprops, cgeoms)):
        bad = [p["code"] for p, g in zip(props, geoms)
               if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon") or not g.is_valid]
        if bad:
            fail(f"{kind} geometry invalid, empty or not polygonal", bad)
        b = shapely.total_bounds(np.array(geoms, dtype=object))
        if not (100 <= b[0] and b[2] <= 118 and 6 <= b[1] and b[3] <= 24):
            fail(f"{kind} bounds {b} are not lon/lat around Vietnam")

    # --- nesting, centroids, coverage
    by_prov = defaultdict(list)
    for p, g in zip(cprops, cgeoms):
        by_prov[p["province_code"]].append((p, g))
    missing = [c for c in pcodes if not by_prov[c]]
    if missing:
        fail("province without communes", missing)
    outside, centroid_out, cover_bad = [], [], []
    for c, items in by_prov.items():
        pg = prov[c]
        grown = shapely.buffer(pg, TOL)
        shapely.prepare(grown)
        gs = np.array([g for _, g in items], dtype=object)
        within = shapely.covers(grown, gs)
        outside += [p["code"] for (p, _), ok in zip(items, within) if not ok]
        lon = np.array([p["centroid_lon"] for p, _ in items])
        lat = np.array([p["centroid_lat"] for p, _ in items])
        inside = shapely.contains_xy(gs, lon, lat)
        centroid_out += [p["code"] for (p, _), ok in zip(items, inside) if not ok]
        cell_sum = float(shapely.area(gs).sum())
        union = shapely.union_all(gs)
        if abs(cell_sum - pg.area) > 1e-4 * pg.area or abs(union.area - pg.area) > 1e-4 * pg.area:
            cover_bad.append((c, round(pg.area, 6), round(cell_sum, 6), round(union.area, 6)))
    if outside:
        fail("commune not within its province", outside)
    if centroid_out:
        fail("commune centroid not inside its own cell", centroid_out)
    if cover_bad:
        fail("cells of a province do not tile it (code, province area, sum of cells, union of cells)", cover_bad)

    tree = shapely.STRtree(pgeoms)
    left, right = tree.query(pgeoms, predicate="intersects")
    overlap = 0.0
    pairs = []
    for i, j in zip(left, right):
        if i < j:
            a = shapely.intersection(pgeoms[i], pgeoms[j]).area
            overlap += a
            if a > 1e-7:
                pairs.append((pcodes[i], pcodes[j], a))
    if pairs:
        fail("provinces overlap", pairs)

    moved = sum(1 for p in cprops if p.get("centroid_moved_in"))
    print(f"CHECK OK: {len(pprops)} provinces, {len(cprops)} communes ({moved} needed their province extended to "
          f"their centroid); all geometries valid; every commune inside its province and holding its centroid; "
          f"cells tile each province; province overlap {overlap:.1e} deg2; "
          f"provinces.geojson {sizes['provinces.geojson']:.2f} MB, communes.geojson {sizes['communes.geojson']:.2f} MB")


if __name__ == "__main__":
    main()
