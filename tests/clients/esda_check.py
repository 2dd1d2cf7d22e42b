#!/usr/bin/env python3
"""Reference results for tests/analytics.rs from the tools analysts use: PySAL (esda, libpysal),
scikit-learn, statsmodels, pymannkendall and numpy.

Reads one JSON object from the file named by its argument (or stdin), {"task": NAME, ...}, and
prints one JSON object on stdout:

  gi_star   values, neighbours (lists of indices), transforms ["B", "R"], permutations, seed,
            alpha, p (p-values for the FDR helpers)
            -> {"B": {z, p_norm, p_sim, g}, "R": {...}, "fdr_threshold", "bh"}
  weights   polygons (exterior rings of [lon, lat]), points ([lon, lat]), k, threshold_m, radius_m
            -> {"queen", "rook", "knn", "band"}: neighbour lists from libpysal
  mann_kendall  series (list of lists) -> [{s, var_s, z, p, tau, trend}]
  dbscan    points ([lon, lat]), eps_m, min_points, radius_m -> {"labels"} from scikit-learn
  kde       points, weights, cells ([lon, lat]), bandwidth_m, radius_m, kernel
            -> {"density"}: the kernel summed directly with numpy over haversine distances, per km²
"""
import contextlib
import json
import sys
import warnings

warnings.filterwarnings("ignore")  # esda's DeprecationWarning about `alternative`, libpysal islands

import numpy as np


def as_w(neighbours):
    from libpysal.weights import W

    n = len(neighbours)
    return W({i: list(nb) for i, nb in enumerate(neighbours)}, id_order=list(range(n)), silence_warnings=True)


def lists(w):
    order = w.id_order
    pos = {k: i for i, k in enumerate(order)}
    return [sorted(pos[j] for j in w.neighbors[k]) for k in order]


def gi_star(req):
    import esda
    from statsmodels.stats.multitest import multipletests

    y = np.asarray(req["values"], dtype=float)
    out = {}
    for transform in req["transforms"]:
        # A fresh W each time: G_Local sets the transform of the W it is given.
        g = esda.G_Local(
            y,
            as_w(req["neighbours"]),
            transform=transform,
            star=True,
            permutations=req["permutations"],
            seed=req["seed"],
            n_jobs=1,
            keep_simulations=False,
        )
        out[transform] = {
            "z": g.Zs.tolist(),
            "p_norm": g.p_norm.tolist(),
            "p_sim": np.asarray(g.p_sim, dtype=float).tolist(),
            "g": g.Gs.tolist(),
        }
    p = np.asarray(req["p"], dtype=float)
    out["fdr_threshold"] = float(esda.fdr(p, req["alpha"]))
    out["bh"] = multipletests(p, alpha=req["alpha"], method="fdr_bh")[1].tolist()
    return out


def weights(req):
    from libpysal.weights import KNN, DistanceBand, Queen, Rook
    from shapely.geometry import Polygon

    polys = [Polygon(ring) for ring in req["polygons"]]
    pts = np.asarray(req["points"], dtype=float)
    r = req["radius_m"]
    return {
        "queen": lists(Queen.from_iterable(polys, silence_warnings=True)),
        "rook": lists(Rook.from_iterable(polys, silence_warnings=True)),
        "knn": lists(KNN(pts, k=req["k"], radius=r, silence_warnings=True)),
        "band": lists(DistanceBand(pts, threshold=req["threshold_m"], binary=True, radius=r, silence_warnings=True)),
    }


def mann_kendall(req):
    import pymannkendall as mk

    out = []
    for x in req["series"]:
        r = mk.original_test(np.asarray(x, dtype=float))
        out.append({"s": float(r.s), "var_s": float(r.var_s), "z": float(r.z), "p": float(r.p), "tau": float(r.Tau), "trend": r.trend})
    return out


def dbscan(req):
    from sklearn.cluster import DBSCAN

    lonlat = np.asarray(req["points"], dtype=float)
    latlon_rad = np.radians(lonlat[:, ::-1])
    model = DBSCAN(eps=req["eps_m"] / req["radius_m"], min_samples=req["min_points"], metric="haversine", algorithm="ball_tree")
    return {"labels": model.fit(latlon_rad).labels_.tolist()}


def kde(req):
    pts = np.radians(np.asarray(req["points"], dtype=float))
    cells = np.radians(np.asarray(req["cells"], dtype=float))
    w = np.asarray(req["weights"], dtype=float) if req.get("weights") is not None else np.ones(len(pts))
    h = req["bandwidth_m"]
    lon1, lat1 = cells[:, 0][:, None], cells[:, 1][:, None]
    lon2, lat2 = pts[:, 0][None, :], pts[:, 1][None, :]
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    d = 2 * np.arcsin(np.sqrt(np.minimum(a, 1.0))) * req["radius_m"]
    u2 = (d / h) ** 2
    inside = u2 < 1
    if req["kernel"] == "quartic":
        k = np.where(inside, (1 - u2) ** 2, 0.0) * 3 / np.pi
    else:
        k = np.where(inside, 1 - u2, 0.0) * 2 / np.pi
    return {"density": ((k * w[None, :]).sum(axis=1) / h**2 * 1e6).tolist()}


def finite_or_null(v):
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    if isinstance(v, dict):
        return {k: finite_or_null(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite_or_null(x) for x in v]
    return v


TASKS = {"gi_star": gi_star, "weights": weights, "mann_kendall": mann_kendall, "dbscan": dbscan, "kde": kde}


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8") as f:
            req = json.load(f)
    else:
        req = json.load(sys.stdin)
    # libpysal prints warnings (islands) on stdout: keep stdout for the answer alone.
    with contextlib.redirect_stdout(sys.stderr):
        answer = TASKS[req["task"]](req)
    json.dump(finite_or_null(answer), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
