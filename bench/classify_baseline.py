#!/usr/bin/env python3
"""The GIS analyst's baseline for Vigil's classify stage (issue 4, "Performance").

What a competent analyst writes in an afternoon with rasterio + numpy + scipy to flag possible
opium-poppy and cannabis plots in a drone orthomosaic: spectral indices, fixed thresholds,
morphological clean-up, connected components, polygons. It is the reference the Rust classifier's
throughput is compared against (bench/classify.sh runs both on the same file in the same run),
and a sanity reference for what plain thresholds find.

usage:
  classify_baseline.py SCENE.tif OUT.geojson
      classify; writes a GeoJSON FeatureCollection (EPSG:4326) of plots with properties
      class (poppy | cannabis) and area_m2, and prints one JSON line on stdout:
      {"megapixels", "seconds", "mpx_per_s", "plots", "by_class", "stages": {read, features,
       threshold, label, vectorise, write}}  (seconds: wall clock, inside the process, after
      the imports)
  classify_baseline.py score PRED.geojson TRUTH.geojson --like SCENE.tif
      object-level check of PRED (class poppy | cannabis) against a `vigil sample-imagery`
      truth file, on SCENE's grid; prints one JSON line. Not timed, not part of the baseline.

How it works (one pass over the whole raster, all in memory):
  read       rasterio, the whole raster at once (`src.read()`), as most scripts do (no windows):
             for an 8192 x 8192 4-band 8-bit scene that is 256 MiB of uint8, then one float32
             plane per band. Bands are found by colour interpretation / description (red, green,
             blue, NIR; alpha = footprint), else taken as 1-2-3(-4). Nodata (or alpha 0) pixels
             are left out. Planes are freed once used: peak RSS about 2.6 GiB at 8192^2.
  features   (thresholds are on a 0-1 scale: 8-bit / 255, 16-bit / 10000, see SCALE)
               chromatic coordinates  rc, gc, bc = R/S, G/S, B/S with S = R + G + B
               excess green           ExG  = 2 gc - rc - bc
               NDVI                   (N - R) / (N + R)                       (only with NIR)
               flower index           a pixel is a petal when it is
                                        pink / purple:  (R + B)/2 - G   > PETAL_MAGENTA
                                        or red:         (R - G) / I     > PETAL_RED
                                        or white/pale:  I - mean_2m(I)  > PETAL_BRIGHT
                                                        and bc          > PETAL_BLUE_CHROMA
                                      with I = S / 3 (bright against its surroundings and not
                                      yellow, which leaves mustard out); the flower index FI is
                                      the fraction of petal pixels in a FLOWER_WINDOW_M box.
             ExG and NDVI are smoothed over SMOOTH_WINDOW_M (a box filter) before thresholding:
             at 0.1 m a single pixel is a leaf, soil or shadow rather than "the crop".
  threshold  cannabis = ExG > CANNABIS_EXG and NDVI > CANNABIS_NDVI
                        (RGB only: ExG > CANNABIS_EXG and saturation > CANNABIS_SAT_RGB)
             poppy    = FI >= FLOWER_MIN, and max(FI) over the flower window <= FLOWER_MAX,
                        and vegetated (NDVI > POPPY_NDVI_MIN; RGB only: ExG > POPPY_EXG_MIN_RGB),
                        and not cannabis: flowering poppy is a sparse scatter of petals over a
                        green crop; denser white/pink cover (and its rim) is buckwheat or
                        blossoming trees.
             then ndimage.binary_opening and binary_closing, 3x3 square, CLEAN_RADIUS_M / pixel
             iterations. Pre-flowering poppy has no flowers: this baseline does not look for it.
  label      ndimage.label per class (4-connected), components under MIN_AREA_M2 dropped.
  vectorise  rasterio.features.shapes on the kept labels, rasterio.warp.transform_geom to
             EPSG:4326; area_m2 = pixel count x pixel area (projected CRS in metres).
  write      json.dump of the FeatureCollection.

The thresholds were picked the way an analyst would: by looking at per-class values of these
indices on one scene (`vigil sample-imagery --seed 7 --size 2048 --gsd 0.1 --layout rgbn`) and
taking round numbers between the classes. The benchmark scene (seed 7, 8192 px) has that scene's
light, haze and white balance (same seed, same conditions), so they suit it; they are fixed
numbers, and under other light or haze they drift (with seed 23's haze, cannabis ExG falls to
about 0.23 and no cannabis is found).
"""
import json
import math
import sys
import time

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.features import rasterize, shapes
from rasterio.warp import transform_geom
from scipy import ndimage as ndi

# ---------------------------------------------------------------- thresholds (0-1 band scale)
SMOOTH_WINDOW_M = 1.1      # box filter for ExG / NDVI / saturation before thresholding
FLOWER_WINDOW_M = 2.1      # window of the petal density (flower index)
PETAL_BRIGHT = 0.12        # brightness above the 2 m local mean (about 30 of 255)
PETAL_BLUE_CHROMA = 0.30   # bc of a white/pale petal (yellow mustard flowers are far below)
PETAL_MAGENTA = 0.03       # (R + B)/2 - G of pink and purple petals (about 8 of 255)
PETAL_RED = 0.35           # (R - G) / brightness of red petals
FLOWER_MIN = 0.03          # petal density of a flowering poppy field ...
FLOWER_MAX = 0.15          # ... denser flower cover is buckwheat / blossom
POPPY_NDVI_MIN = 0.08      # vegetated (roofs, roads, soil are below)
POPPY_EXG_MIN_RGB = 0.03   # vegetated, RGB-only imagery
CANNABIS_EXG = 0.28        # bright yellow-green canopy
CANNABIS_NDVI = 0.30       # and a live, NIR-bright one
CANNABIS_SAT_RGB = 0.38    # RGB only: saturated canopy
CLEAN_RADIUS_M = 0.2       # binary opening then closing: 3x3 square, iterations = radius / pixel
MIN_AREA_M2 = 20.0         # minimum mapping unit

SCALE = {"uint8": 255.0, "uint16": 10000.0}  # 16-bit: reflectance x 10000 (vigil sample-imagery)


def log(*a):
    print("[classify-baseline]", *a, file=sys.stderr, flush=True)


def odd_px(metres, px_m):
    n = max(1, int(round(metres / px_m)))
    return n if n % 2 else n + 1


def band_indexes(src):
    """(red, green, blue, nir or None, alpha or None) as 0-based indexes into src.read()."""
    names = [(d or "").strip().lower() for d in src.descriptions]
    ci = list(src.colorinterp)
    find = {}
    for i, (name, c) in enumerate(zip(names, ci)):
        for key, words, interp in (("r", ("red", "r"), ColorInterp.red),
                                   ("g", ("green", "g"), ColorInterp.green),
                                   ("b", ("blue", "b"), ColorInterp.blue),
                                   ("n", ("nir", "near-infrared", "near infrared", "nir1"), None),
                                   ("a", ("alpha",), ColorInterp.alpha)):
            if key not in find and (name in words or (interp is not None and c == interp)):
                find[key] = i
                break
    r, g, b = find.get("r", 0), find.get("g", 1), find.get("b", 2)
    a = find.get("a")
    n = find.get("n")
    if n is None and src.count >= 4:
        rest = [i for i in range(src.count) if i not in (r, g, b, a)]
        n = rest[0] if rest else None
    return r, g, b, n, a


def pixel_area_m2(src):
    px_w, px_h = abs(src.transform.a), abs(src.transform.e)
    if src.crs is not None and src.crs.is_geographic:  # degrees: at the raster's centre latitude
        lat = math.radians((src.bounds.top + src.bounds.bottom) / 2)
        return px_w * 111320.0 * math.cos(lat) * px_h * 110540.0, math.sqrt(px_w * px_h) * 111000.0
    unit = src.crs.linear_units_factor[1] if src.crs is not None else 1.0
    return px_w * px_h * unit * unit, math.sqrt(px_w * px_h) * unit


def classify(path, out_path):
    t0 = time.perf_counter()
    marks = {}

    def stage(name, since):
        now = time.perf_counter()
        marks[name] = round(now - since, 3)
        return now

    # ------------------------------------------------------------ read (whole raster)
    t = time.perf_counter()
    with rasterio.open(path) as src:
        ri, gi, bi, ni, ai = band_indexes(src)
        data = src.read()
        nodata = src.nodata
        transform, crs = src.transform, src.crs
        px_area, px_m = pixel_area_m2(src)
        dtype = src.dtypes[0]
    height, width = data.shape[1:]
    t = stage("read", t)

    # ------------------------------------------------------------ features
    if ai is not None:
        valid = data[ai] > 0
    elif nodata is not None:
        valid = np.any(data[[ri, gi, bi] + ([ni] if ni is not None else [])] != nodata, axis=0)
    else:
        valid = np.ones((height, width), bool)
    # thresholds on brightness are given on a 0-1 scale: convert them to the raster's units
    # rather than scaling every band
    full = SCALE.get(dtype, float(np.iinfo(data.dtype).max) if data.dtype.kind in "ui" else 1.0)
    smooth = odd_px(SMOOTH_WINDOW_M, px_m)
    fwin = odd_px(FLOWER_WINDOW_M, px_m)
    r = data[ri].astype(np.float32)
    g = data[gi].astype(np.float32)
    b = data[bi].astype(np.float32)
    n = data[ni].astype(np.float32) if ni is not None else None
    del data
    # (the order below frees each float32 plane once it is done with: peak RSS about 2.6 GiB
    # for an 8192^2 scene instead of well over 3)

    # vegetation: NDVI, smoothed (RGB only: saturation, for the cannabis rule)
    if n is not None:
        ndvi = (n - r) / np.maximum(n + r, 1)
        del n
        veg_s = ndi.uniform_filter(ndvi, smooth)
        del ndvi
    else:
        mx = np.maximum(np.maximum(r, g), b)
        sat = (mx - np.minimum(np.minimum(r, g), b)) / np.maximum(mx, 1e-6)
        del mx
        veg_s = ndi.uniform_filter(sat, smooth)
        del sat

    # excess green on chromatic coordinates, smoothed
    s = r + g + b
    s[s == 0] = 1e-6
    exg = (2 * g - r - b) / s
    exg_s = ndi.uniform_filter(exg, smooth)
    del exg

    # flower index: density of petal specks (pink/purple, red, or bright-and-not-yellow)
    bright = s / 3
    petal = ((r + b) * 0.5 - g) > PETAL_MAGENTA * full
    petal |= (r - g) > PETAL_RED * bright
    bc = b / s
    del r, g, b, s
    local = ndi.uniform_filter(bright, fwin)
    petal |= ((bright - local) > PETAL_BRIGHT * full) & (bc > PETAL_BLUE_CHROMA)
    del local, bc, bright
    petal &= valid
    fi = ndi.uniform_filter(petal.astype(np.float32), fwin)
    del petal
    t = stage("features", t)

    # ------------------------------------------------------------ threshold + clean
    if ni is not None:
        cannabis = (exg_s > CANNABIS_EXG) & (veg_s > CANNABIS_NDVI)
        vegetated = veg_s > POPPY_NDVI_MIN
    else:
        cannabis = (exg_s > CANNABIS_EXG) & (veg_s > CANNABIS_SAT_RGB)
        vegetated = exg_s > POPPY_EXG_MIN_RGB
    del veg_s, exg_s
    # sparse petals over a green crop, and no dense flower cover within a window around the pixel
    # (the rim of a buckwheat field or a blossoming tree has a sparse-looking density too)
    poppy = (fi >= FLOWER_MIN) & vegetated & ~cannabis
    poppy &= ndi.maximum_filter(fi, fwin) <= FLOWER_MAX
    del fi, vegetated
    cannabis &= valid
    poppy &= valid
    se = np.ones((3, 3), bool)
    it = max(1, int(round(CLEAN_RADIUS_M / px_m)))
    masks = {}
    for name, m in (("poppy", poppy), ("cannabis", cannabis)):
        m = ndi.binary_opening(m, structure=se, iterations=it)
        m = ndi.binary_closing(m, structure=se, iterations=it)
        masks[name] = m
    del poppy, cannabis, valid
    t = stage("threshold", t)

    # ------------------------------------------------------------ label + minimum area
    min_px = int(math.ceil(MIN_AREA_M2 / px_area))
    labelled = {}
    for name, m in masks.items():
        lab, count = ndi.label(m)
        sizes = np.bincount(lab.ravel(), minlength=count + 1)
        keep = sizes >= min_px
        keep[0] = False
        # renumber the kept components 1..k, everything else 0
        remap = np.zeros(count + 1, np.int32)
        remap[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
        labelled[name] = (remap[lab], sizes[keep])
    del masks
    t = stage("label", t)

    # ------------------------------------------------------------ vectorise
    features = []
    for name, (lab, sizes) in labelled.items():
        if sizes.size == 0:
            continue
        for geom, value in shapes(lab, mask=lab > 0, transform=transform):
            k = int(value)
            geom = transform_geom(crs, "EPSG:4326", geom) if crs is not None else geom
            features.append({"type": "Feature", "geometry": geom,
                             "properties": {"class": name, "plot": k,
                                            "area_m2": round(float(sizes[k - 1]) * px_area, 2)}})
    del labelled
    t = stage("vectorise", t)

    # ------------------------------------------------------------ write
    with open(out_path, "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f)
    t = stage("write", t)

    seconds = time.perf_counter() - t0
    mpx = width * height / 1e6
    by_class = {}
    for ft in features:
        c = ft["properties"]["class"]
        by_class[c] = by_class.get(c, 0) + 1
    print(json.dumps({"megapixels": round(mpx, 3), "seconds": round(seconds, 3),
                      "mpx_per_s": round(mpx / seconds, 3), "plots": len(features),
                      "by_class": by_class, "stages": marks,
                      "nir": ni is not None, "read": "whole raster"}), flush=True)


def score(pred_path, truth_path, like_path):
    """Object-level: a truth plot is found when a predicted plot of its class covers >= 10 % of it
    or >= 10 m^2 of it; a predicted plot is false when it lies >= 50 % outside every truth
    plot of its class."""
    with rasterio.open(like_path) as src:
        shape, transform, crs = (src.height, src.width), src.transform, src.crs
        px_area, _ = pixel_area_m2(src)
    truth = json.load(open(truth_path))["features"]
    pred = json.load(open(pred_path))["features"]

    def burn(feats):
        items = [(transform_geom("EPSG:4326", crs, f["geometry"]), i + 1) for i, f in enumerate(feats)]
        if not items:
            return np.zeros(shape, np.int32)
        return rasterize(items, out_shape=shape, transform=transform, fill=0, dtype="int32")

    t_lab, p_lab = burn(truth), burn(pred)
    nt, npred = len(truth), len(pred)
    # overlap counts between (truth id, pred id)
    both = (t_lab > 0) & (p_lab > 0)
    pairs = t_lab[both].astype(np.int64) * (npred + 1) + p_lab[both]
    ids, counts = np.unique(pairs, return_counts=True)
    t_px = np.bincount(t_lab.ravel(), minlength=nt + 1)
    p_px = np.bincount(p_lab.ravel(), minlength=npred + 1)
    tcls = [f["properties"]["class"] for f in truth]
    tstage = [f["properties"].get("stage") for f in truth]
    pcls = [f["properties"]["class"] for f in pred]
    found = set()
    p_in = np.zeros(npred + 1, np.int64)   # pixels of pred inside truth plots of its class
    p_hits = {}                              # pred -> truth classes it overlaps
    for pid_, c in zip(ids, counts):
        ti, pi = int(pid_ // (npred + 1)), int(pid_ % (npred + 1))
        p_hits.setdefault(pi, {}).setdefault(tcls[ti - 1], 0)
        p_hits[pi][tcls[ti - 1]] += int(c)
        if tcls[ti - 1] == pcls[pi - 1]:
            p_in[pi] += c
            if c >= 0.10 * t_px[ti] or c * px_area >= 10.0:
                found.add(ti)
    out = {}
    for cls in ("poppy", "cannabis"):
        groups = [("", lambda i: True)]
        if cls == "poppy":
            groups += [("flowering", lambda i: tstage[i] == "flowering"),
                       ("pre_flowering", lambda i: tstage[i] == "pre_flowering")]
        row = {}
        for label, sel in groups:
            idx = [i for i in range(nt) if tcls[i] == cls and sel(i)]
            row[("truth" + ("_" + label if label else ""))] = len(idx)
            row[("found" + ("_" + label if label else ""))] = sum(1 for i in idx if i + 1 in found)
        preds = [i + 1 for i in range(npred) if pcls[i] == cls]
        false = [p for p in preds if p_in[p] < 0.5 * p_px[p]]
        row["predicted"] = len(preds)
        row["false"] = len(false)
        confused = {}
        for p in false:
            hits = {tc: c for tc, c in p_hits.get(p, {}).items() if tc != cls}
            tc = max(hits, key=hits.get) if hits else "background"
            confused[tc] = confused.get(tc, 0) + 1
        row["false_on"] = confused
        out[cls] = row
    print(json.dumps(out))


def main(argv):
    if len(argv) >= 2 and argv[0] == "score":
        if len(argv) != 5 or argv[3] != "--like":
            sys.exit(__doc__)
        score(argv[1], argv[2], argv[4])
    elif len(argv) == 2 and not argv[0].startswith("-"):
        classify(argv[0], argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
