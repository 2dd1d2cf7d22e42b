#!/usr/bin/env python3
"""PySAL's side of bench/analytics.sh: Getis-Ord Gi* of active hotspots per commune with esda, on
the data Vigil answered from in the same run, timed with time.perf_counter, and checked against
Vigil's answer.

  read   the commune polygons (the boundaries file the data dir was loaded from) as shapely
         geometries, in the order of Vigil's features, and the active hotspots (status reported,
         verifying or reemerged, not deleted) from the data dir's SQLite store
  (a)    hotspots counted per commune: shapely STRtree, `intersects`, a point on a shared edge
         counted once, for the commune listed first
  (a')   the same counts from the commune code each hotspot was given on import (the store's
         `commune_code`, as Vigil counts), with collections.Counter
  (b)    queen contiguity: libpysal.weights.Queen.from_iterable
  (c)    esda.G_Local(y, w, transform="B", star=True, permutations=P, seed=S, n_jobs=1) with y =
         Vigil's counts, so that both Gi* inputs are identical whatever (a) finds

Each stage runs RUNS times; prints key=value lines (medians in seconds, and the agreement).

usage: esda_gistar.py DATA_DIR COMMUNES_GEOJSON VIGIL_GISTAR_JSON [RUNS] [PERMUTATIONS] [SEED]
"""
import collections
import contextlib
import json
import sqlite3
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")  # esda's DeprecationWarning, libpysal's island warnings

import numpy as np
import shapely
from shapely.geometry import shape

import esda
from libpysal.weights import Queen

try:  # esda's permutations are compiled with numba when it is installed, plain numpy otherwise
    from importlib.metadata import version

    numba_version = version("numba")
except Exception:
    numba_version = "none"

data_dir, communes_path, vigil_path = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
permutations = int(sys.argv[5]) if len(sys.argv) > 5 else 999
seed = int(sys.argv[6]) if len(sys.argv) > 6 else 12345

with open(vigil_path, encoding="utf-8") as f:
    vigil = [feat["properties"] for feat in json.load(f)["features"]]
ids = [p["id"] for p in vigil]
n = len(ids)
v_value = np.array([p["value"] for p in vigil], dtype=float)
v_z = np.array([p["z"] if p["z"] is not None else np.nan for p in vigil], dtype=float)
v_p = np.array([p["p_value"] for p in vigil], dtype=float)
v_psim = np.array([p["p_sim"] if p["p_sim"] is not None else np.nan for p in vigil], dtype=float)
v_fdr_sig = np.array([bool(p["fdr_significant"]) for p in vigil])
v_nb = np.array([p["neighbours"] for p in vigil])

times = {k: [] for k in ("read", "counts", "counts_code", "queen", "g_local")}


def timed(key, fn):
    t = time.perf_counter()
    out = fn()
    times[key].append(time.perf_counter() - t)
    return out


def read():
    with open(communes_path, encoding="utf-8") as f:
        by_code = {ft["properties"]["code"]: ft["geometry"] for ft in json.load(f)["features"]}
    polys = [shape(by_code[i]) for i in ids]
    db = sqlite3.connect(f"file:{data_dir}/vigil.sqlite?mode=ro", uri=True)
    rows = db.execute(
        "SELECT lon, lat, commune_code FROM hotspots WHERE deleted_at IS NULL "
        "AND status IN ('reported', 'verifying', 'reemerged')"
    ).fetchall()
    xy = np.array([r[:2] for r in rows], dtype=float)
    codes = [r[2] for r in rows]
    total = db.execute("SELECT count(*) FROM hotspots WHERE deleted_at IS NULL").fetchone()[0]
    db.close()
    return polys, xy, codes, total


def counts(polys, xy):
    tree = shapely.STRtree(polys)
    pt, unit = tree.query(shapely.points(xy), predicate="intersects")
    order = np.lexsort((unit, pt))  # by point, then by unit: the first row of a point is its first unit
    pt, unit = pt[order], unit[order]
    first = np.unique(pt, return_index=True)[1]
    return np.bincount(unit[first], minlength=len(polys)).astype(float)


def counts_by_code(codes):
    c = collections.Counter(codes)  # the fastest of Counter, pandas value_counts, np.unique here
    return np.array([c.get(i, 0) for i in ids], dtype=float)


def queen(polys):
    with contextlib.redirect_stdout(sys.stderr):
        return Queen.from_iterable(polys, silence_warnings=True)


def g_local(w):
    return esda.G_Local(
        v_value, w, transform="B", star=True, permutations=permutations, seed=seed,
        n_jobs=1, keep_simulations=False,
    )


for _ in range(runs):
    polys, xy, codes, total = timed("read", read)
    y = timed("counts", lambda: counts(polys, xy))
    y_code = timed("counts_code", lambda: counts_by_code(codes))
    w = timed("queen", lambda: queen(polys))
    g = timed("g_local", lambda: g_local(w))

med = {k: statistics.median(v) for k, v in times.items()}
totals = [sum(times[k][i] for k in ("counts", "queen", "g_local")) for i in range(runs)]
with_read = [totals[i] + times["read"][i] for i in range(runs)]
totals_code = [sum(times[k][i] for k in ("counts_code", "queen", "g_local")) for i in range(runs)]

# Agreement with Vigil's answer.
e_nb = np.array([w.cardinalities[i] for i in w.id_order])
islands = e_nb == 0
e_z = np.asarray(g.Zs, dtype=float)
e_p = np.minimum(2 * np.asarray(g.p_norm, dtype=float), 1.0)  # two-sided, as Vigil's p_value
e_psim = np.asarray(g.p_sim, dtype=float)
finite = np.isfinite(e_z) & np.isfinite(v_z)
dz = float(np.max(np.abs(e_z[finite] - v_z[finite]))) if finite.any() else float("nan")


def bh_significant(p, alpha=0.05):
    """Benjamini-Hochberg at alpha over the units that are not islands (Vigil's FDR family)."""
    sig = np.zeros(len(p), dtype=bool)
    idx = np.flatnonzero(~islands)
    q = p[idx]
    order = np.argsort(q)
    m = len(q)
    passed = np.flatnonzero(q[order] <= alpha * np.arange(1, m + 1) / m)
    if len(passed):
        sig[idx[order[: passed[-1] + 1]]] = True
    return sig


e_fdr_sig = bh_significant(e_p)
live = ~islands
kv = {
    "units": n,
    "hotspots": total,
    "active": len(xy),
    "active_counted_esda": int(y.sum()),
    "active_counted_vigil": int(v_value.sum()),
    "counts_equal": int(np.sum(y == v_value)),
    "counts_code_equal": int(np.sum(y_code == v_value)),
    "neighbours_equal": int(np.sum(e_nb == v_nb)),
    "islands": int(islands.sum()),
    "max_dz": f"{dz:.3g}",
    "z_nonfinite_esda": int(np.sum(~np.isfinite(e_z))),
    "sig95_vigil": int(np.sum(v_p < 0.05)),
    "sig95_esda": int(np.sum(e_p < 0.05)),
    "sig95_same_units": int(np.sum((v_p < 0.05) == (e_p < 0.05))),
    "fdr_vigil": int(v_fdr_sig.sum()),
    "fdr_esda": int(e_fdr_sig.sum()),
    "fdr_same_units": int(np.sum(v_fdr_sig == e_fdr_sig)),
    "psim05_vigil": int(np.sum(v_psim[live] < 0.05)),
    "psim05_esda": int(np.sum(e_psim[live] < 0.05)),
    "psim_mean_abs_diff": f"{float(np.nanmean(np.abs(v_psim[live] - e_psim[live]))):.4f}",
    "runs": runs,
    "esda": esda.__version__,
    "numba": numba_version,
}
for k, v in med.items():
    kv[f"t_{k}"] = f"{v:.4f}"
kv["t_total"] = f"{statistics.median(totals):.4f}"
kv["t_total_code"] = f"{statistics.median(totals_code):.4f}"
kv["t_total_read"] = f"{statistics.median(with_read):.4f}"
for k, v in kv.items():
    print(f"{k}={v}")
