#!/usr/bin/env python3
"""fieldgen: an independent synthetic drone-orthomosaic generator for Vigil.

Draws opium poppy (flowering and pre-flowering), cannabis and their look-alikes at plant level on
mountain slopes, lights them with a low winter sun, and writes what a drone camera and WebODM would:
a GeoTIFF and, beside it, the plot outlines as GeoJSON truth in lon/lat. See README.md.

  fieldgen.py scene --out DIR --name NAME --seed N [--size 1024] [--gsd 0.08] [--layout rgb|rgba|rgbn]
                    [--bits 8|16] [--crs EPSG:32648] [--center 105.2,22.8]
                    [--condition normal|haze|shadow|dark|warm|cool|bright] [--season flowering|pre_flowering|mixed]
  fieldgen.py suite --out DIR --seed S --count N [--size 1024]
  fieldgen.py selftest
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import fg_camera as K  # noqa: E402
import fg_io  # noqa: E402
from fg_scene import Scene, CONDITIONS, CLASSES, LOOKALIKES  # noqa: E402

VERSION = "1"
LAYOUTS = ("rgb", "rgba", "rgbn")


def generate(out, name, seed, size=1024, gsd=0.08, layout="rgb", bits=8, crs="EPSG:32648",
             center=(105.2, 22.8), condition="normal", season="mixed", quicklook=True, debug=False):
    """Generate one scene; returns (record, scene)."""
    if layout not in LAYOUTS:
        raise ValueError("layout must be rgb|rgba|rgbn")
    if bits not in (8, 16):
        raise ValueError("bits must be 8 or 16")
    t0 = time.time()
    S = Scene(seed, size, gsd, condition, season)
    S.setup()
    S.footprint(layout)
    S.plan()
    t_plan = time.time()
    S.render()
    t_render = time.time()
    L = K.illuminate(S)
    K.haze(S, L)
    data, cinfo = K.develop(S, L, bits, layout)
    t_cam = time.time()
    crs_o, tr = fg_io.georef(crs, center, size, gsd)
    os.makedirs(out, exist_ok=True)
    tif = os.path.join(out, name + ".tif")
    truth = os.path.join(out, name + ".truth.geojson")
    meta = {"generator": "fieldgen", "version": VERSION, "seed": int(seed), "size": int(size),
            "gsd": float(gsd), "crs": crs, "center": [float(center[0]), float(center[1])],
            "condition": condition, "season": season, "layout": layout, "bits": int(bits),
            "sun_elevation_deg": round(float(np.rad2deg(S.sun_el)), 1),
            "sun_azimuth_deg": round(float(np.rad2deg(S.sun_az)), 1),
            "slope_deg": round(S.slope_deg, 1), "terraced": S.terraced, "soil": S.soil.replace("soil_", ""),
            "shadow_fraction": round(S.shadow_frac, 3), **cinfo}
    if S.fp_used:
        meta["footprint"] = [fg_io.ring_lonlat(crs_o, tr, S.fp_ring, True)]
    fg_io.write_tif(tif, data, layout, crs_o, tr)
    fg_io.write_truth(truth, S, crs_o, tr, meta)
    rec = {"file": tif, "truth": truth, "seed": int(seed), "condition": condition, "layout": layout,
           "bits": int(bits), "crs": crs, "gsd": round(float(gsd), 4)}
    if quicklook:
        ql = fg_io.quicklook(data, bits, S.fp_mask)
        fg_io.write_png(os.path.join(out, name + ".png"), ql)
        if debug:
            fg_io.write_png(os.path.join(out, name + ".labels.png"), label_overlay(S, ql))
    S.timing.update(plan=t_plan - t0, render=t_render - t_plan, camera=t_cam - t_render,
                    total=time.time() - t0)
    return rec, S


def gallery(out, name, seed, size, gsd, condition="normal"):
    """Development aid: one plot per class on a grid, flat ground."""
    S = Scene(seed, size, gsd, condition, "mixed")
    S.setup()
    S.dem = S.dem * 0.05
    S.dem_base = S.dem_base * 0.05
    S.riser = None
    S.terraced = False
    S.footprint("rgb")
    S.plan_gallery()
    S.render()
    L = K.illuminate(S)
    K.haze(S, L)
    data, _ = K.develop(S, L, 8, "rgb")
    os.makedirs(out, exist_ok=True)
    fg_io.write_png(os.path.join(out, name + ".png"), fg_io.quicklook(data, 8, S.fp_mask, maxpx=2048))
    return S, data


def label_overlay(S, ql):
    """Quicklook with the plot outlines (internal label map) drawn in class colours."""
    from scipy import ndimage
    cols = {"poppy": (255, 0, 255), "cannabis": (0, 255, 0), "cabbage": (0, 200, 255), "buckwheat": (255, 255, 255),
            "mustard": (255, 255, 0), "blossoming_tree": (255, 128, 192), "maize": (255, 160, 0),
            "tea": (0, 120, 0), "forest": (0, 60, 0), "bare_soil": (160, 60, 0), "roof": (128, 128, 128),
            "road": (90, 90, 90)}
    H = ql.shape[1]
    f = S.N // H if H else 1
    lab = S.label[::f, ::f][:H, :H]
    edge = lab != ndimage.grey_erosion(lab, size=3)
    out = ql.copy()
    for P in S.plots:
        m = edge & (lab == P["pid"])
        c = cols[P["cls"]]
        if P["cls"] == "poppy" and P.get("stage") == "pre_flowering":
            c = (128, 0, 255)
        for b in range(3):
            out[b][m] = c[b]
    return out


def parse_center(s):
    lon, lat = (float(v) for v in s.split(","))
    return lon, lat


def cmd_scene(a):
    rec, S = generate(a.out, a.name, a.seed, a.size, a.gsd, a.layout, a.bits, a.crs, parse_center(a.center),
                      a.condition, a.season, not a.no_quicklook, a.debug)
    if a.timing:
        rec["timing_s"] = {k: round(v, 3) for k, v in S.timing.items()}
    print(json.dumps(rec))


def suite_params(seed, i):
    r = np.random.default_rng([int(seed), 7777, i])
    cond = CONDITIONS[i % len(CONDITIONS)]
    layout = LAYOUTS[i % 3]
    bits = (8, 16)[(i // 3) % 2]
    if i % 5 == 4:
        crs = "EPSG:4326"
    else:
        crs = ("EPSG:32648", "EPSG:3405")[(i // 2) % 2]
    gsd = float(np.round(np.exp(r.uniform(np.log(0.02), np.log(0.20))), 4))
    center = (float(np.round(r.uniform(104.4, 105.9), 5)), float(np.round(r.uniform(22.1, 23.3), 5)))
    sseed = int(seed) * 1000 + i
    return dict(seed=sseed, condition=cond, layout=layout, bits=bits, crs=crs, gsd=gsd, center=center)


def cmd_suite(a):
    for i in range(a.count):
        p = suite_params(a.seed, i)
        rec, S = generate(a.out, f"scene_{i:04d}", p["seed"], a.size, p["gsd"], p["layout"], p["bits"], p["crs"],
                          p["center"], p["condition"], "mixed", not a.no_quicklook, a.debug)
        rec["center"] = list(p["center"])
        rec["season"] = "mixed"
        rec["size"] = a.size
        print(json.dumps(rec), flush=True)


# ----------------------------------------------------------------------------- selftest
def check_scene(out, name, rec, S, layout, bits, crs):
    import rasterio
    from rasterio import features
    from rasterio.crs import CRS
    from rasterio.enums import ColorInterp
    from rasterio.warp import transform_geom
    errs = []
    with rasterio.open(rec["file"]) as ds:
        nb = {"rgb": 3, "rgba": 4, "rgbn": 4}[layout]
        if ds.count != nb:
            errs.append(f"band count {ds.count} != {nb}")
        dt = "uint8" if bits == 8 else "uint16"
        if any(d != dt for d in ds.dtypes):
            errs.append(f"dtype {ds.dtypes}")
        if ds.crs != CRS.from_user_input(crs):
            errs.append(f"crs {ds.crs} != {crs}")
        ci = list(ds.colorinterp)
        want = {"rgb": [ColorInterp.red, ColorInterp.green, ColorInterp.blue],
                "rgba": [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha],
                "rgbn": [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]}[layout]
        if ci != want:
            errs.append(f"colorinterp {ci}")
        arr = ds.read()
        vmax = 255 if bits == 8 else 65535
        if layout == "rgba":
            al = arr[3]
            if not set(np.unique(al).tolist()) <= {0, vmax}:
                errs.append("alpha not 0/max")
            valid = al > 0
        elif layout == "rgbn":
            if any(nd != 0 for nd in ds.nodatavals):
                errs.append(f"nodata {ds.nodatavals}")
            if list(ds.descriptions) != ["red", "green", "blue", "nir"]:
                errs.append(f"descriptions {ds.descriptions}")
            valid = arr.max(0) > 0
            if (valid != S.fp_mask).any():
                errs.append("a footprint pixel is 0 in all bands, or an outside pixel is not 0")
        else:
            valid = np.ones(arr.shape[1:], bool)
        if layout != "rgb":
            fr = valid.mean()
            if not 0.69 <= fr <= 0.91:
                errs.append(f"footprint covers {fr:.2f}")
            if (arr[:, ~valid] != 0).any():
                errs.append("nonzero data outside footprint")
        tr = ds.transform
        dcrs = ds.crs
        shape = (ds.height, ds.width)
    with open(rec["truth"]) as f:
        fc = json.load(f)
    if fc.get("type") != "FeatureCollection" or "fieldgen" not in fc:
        errs.append("truth is not a FeatureCollection with a fieldgen member")
    classes = [ft["properties"]["class"] for ft in fc["features"]]
    if any(c not in CLASSES for c in classes):
        errs.append(f"unknown class in {set(classes)}")
    stages = {ft["properties"].get("stage") for ft in fc["features"] if ft["properties"]["class"] == "poppy"}
    if not {"flowering", "pre_flowering"} <= stages:
        errs.append(f"poppy stages present: {stages}")
    if "cannabis" not in classes:
        errs.append("no cannabis")
    nla = len(set(classes) & set(LOOKALIKES))
    if nla < 3:
        errs.append(f"only {nla} look-alike classes")
    ious = []
    g = S.gsd
    for ft in fc["features"]:
        p = ft["properties"]
        geom = transform_geom("EPSG:4326", dcrs, ft["geometry"])
        m = features.rasterize([(geom, 1)], out_shape=shape, transform=tr, fill=0, dtype="uint8").astype(bool)
        lab = S.label == p["plot_id"]
        inter = (m & lab).sum()
        union = (m | lab).sum()
        iou = inter / max(union, 1)
        ious.append(iou)
        if iou < 0.9:
            errs.append(f"plot {p['plot_id']} ({p['class']}) IoU {iou:.3f}")
        ar = lab.sum() * g * g
        if abs(ar - p["area_m2"]) > 0.1 * p["area_m2"] + 2 * g * np.sqrt(p["area_m2"]) * 4:
            errs.append(f"plot {p['plot_id']} area {p['area_m2']} vs {ar:.1f} px-area")
        if layout != "rgb" and (lab & ~valid).sum() > 0.25 * lab.sum():
            errs.append(f"plot {p['plot_id']} mostly outside footprint")
    mean_iou = float(np.mean(ious)) if ious else 0.0
    return errs, mean_iou, len(ious)


def cmd_selftest(a):
    import tempfile
    import filecmp
    cases = [("rgb", 8, "EPSG:32648", "normal", 0.10),
             ("rgba", 16, "EPSG:3405", "haze", 0.06),
             ("rgbn", 8, "EPSG:4326", "shadow", 0.15),
             ("rgbn", 16, "EPSG:3405", "warm", 0.12),
             ("rgba", 8, "EPSG:32648", "dark", 0.08),
             ("rgb", 16, "EPSG:4326", "bright", 0.2),
             ("rgbn", 8, "EPSG:32648", "cool", 0.07)]
    fails = 0
    with tempfile.TemporaryDirectory() as td:
        for k, (layout, bits, crs, cond, gsd) in enumerate(cases):
            t0 = time.time()
            name = f"t{k}_{layout}_{bits}"
            rec, S = generate(td, name, 11 + k, a.size, gsd, layout, bits, crs, (105.1, 22.7), cond, "mixed",
                              quicklook=False)
            errs, miou, n = check_scene(td, name, rec, S, layout, bits, crs)
            # determinism: same arguments -> same bytes
            rec2, _ = generate(os.path.join(td, "again"), name, 11 + k, a.size, gsd, layout, bits, crs,
                               (105.1, 22.7), cond, "mixed", quicklook=False)
            if not filecmp.cmp(rec["file"], rec2["file"], shallow=False):
                errs.append("GeoTIFF differs between two runs")
            if not filecmp.cmp(rec["truth"], rec2["truth"], shallow=False):
                errs.append("truth differs between two runs")
            st = "ok" if not errs else "FAIL"
            print(f"{st} {name} {crs} {cond} gsd={gsd} plots={n} mean_IoU={miou:.4f} "
                  f"({time.time() - t0:.1f}s)")
            for e in errs:
                print("   ", e)
            fails += bool(errs)
    print(f"{len(cases) - fails} passed, {fails} failed")
    sys.exit(1 if fails else 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scene")
    s.add_argument("--out", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--size", type=int, default=1024)
    s.add_argument("--gsd", type=float, default=0.08)
    s.add_argument("--layout", choices=LAYOUTS, default="rgb")
    s.add_argument("--bits", type=int, choices=(8, 16), default=8)
    s.add_argument("--crs", default="EPSG:32648")
    s.add_argument("--center", default="105.2,22.8")
    s.add_argument("--condition", choices=CONDITIONS, default="normal")
    s.add_argument("--season", choices=("flowering", "pre_flowering", "mixed"), default="mixed")
    s.add_argument("--no-quicklook", action="store_true")
    s.add_argument("--debug", action="store_true", help="also write NAME.labels.png (outlines)")
    s.add_argument("--timing", action="store_true")
    s.set_defaults(fn=cmd_scene)
    u = sub.add_parser("suite")
    u.add_argument("--out", required=True)
    u.add_argument("--seed", type=int, required=True)
    u.add_argument("--count", type=int, required=True)
    u.add_argument("--size", type=int, default=1024)
    u.add_argument("--no-quicklook", action="store_true")
    u.add_argument("--debug", action="store_true")
    u.set_defaults(fn=cmd_suite)
    gl = sub.add_parser("gallery", help="development aid: one plot per class, PNG only")
    gl.add_argument("--out", required=True)
    gl.add_argument("--name", default="gallery")
    gl.add_argument("--seed", type=int, default=1)
    gl.add_argument("--size", type=int, default=1024)
    gl.add_argument("--gsd", type=float, default=0.03)
    gl.add_argument("--condition", choices=CONDITIONS, default="normal")
    gl.set_defaults(fn=lambda a: gallery(a.out, a.name, a.seed, a.size, a.gsd, a.condition))
    t = sub.add_parser("selftest")
    t.add_argument("--size", type=int, default=320)
    t.set_defaults(fn=cmd_selftest)
    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
