"""Vector geometry in pixel coordinates (x = column, y = row, pixel corners on integers).

Field outlines, the orthomosaic footprint and road corridors are drawn here as polygons; every
raster mask in the scene is a rasterisation of these same polygons, and the truth GeoJSON is the
same polygons transformed to lon/lat, so truth and pixels agree by construction.
"""
import numpy as np
from affine import Affine
from rasterio import features


def ring_area(p):
    x = p[:, 0]
    y = p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def geom_area(rings):
    """Area (pixel units) of exterior minus holes."""
    a = abs(ring_area(rings[0]))
    for h in rings[1:]:
        a -= abs(ring_area(h))
    return a


def rasterize_rings(rings, shape, r0=0, c0=0, all_touched=False):
    """Rasterise a polygon (exterior + holes, pixel coords) into a window at (r0, c0)."""
    geom = {"type": "Polygon", "coordinates": [[tuple(map(float, q)) for q in closed(r)] for r in rings]}
    tr = Affine.translation(c0, r0)
    return features.rasterize([(geom, 1)], out_shape=shape, transform=tr, fill=0,
                              all_touched=all_touched, dtype="uint8").astype(bool)


def closed(r):
    r = np.asarray(r, float)
    if not np.allclose(r[0], r[-1]):
        r = np.vstack([r, r[:1]])
    return r


def _subdivide(rng, pts, wiggle, max_seg):
    """Insert points along each edge with a small perpendicular jitter (hand-dug edges, bunds)."""
    out = []
    n = len(pts)
    for k in range(n):
        p0 = pts[k]
        p1 = pts[(k + 1) % n]
        e = p1 - p0
        ln = float(np.hypot(*e))
        m = int(np.clip(np.ceil(ln / max_seg), 1, 8))
        nrm = np.array([-e[1], e[0]]) / max(ln, 1e-9)
        out.append(p0)
        for t in range(1, m):
            f = t / m
            off = rng.normal(0, wiggle) * ln * np.sin(np.pi * f)
            out.append(p0 + f * e + off * nrm)
    return np.array(out)


def blob_polygon(rng, cx, cy, area, aspect, angle, wiggle=0.035):
    """Irregular field outline: 5-9 corners around an ellipse, jittered, with wobbly edges."""
    nv = int(rng.integers(5, 10))
    t = np.sort((np.arange(nv) + rng.uniform(-0.3, 0.3, nv)) / nv * 2 * np.pi)
    rad = 1.0 + rng.uniform(-0.2, 0.2, nv)
    sa = np.sqrt(aspect)
    pts = np.stack([np.cos(t) * rad * sa, np.sin(t) * rad / sa], 1)
    pts = _subdivide(rng, pts, wiggle, 0.5)
    return _place(pts, cx, cy, area, angle)


def band_polygon(rng, cx, cy, area, aspect, angle, bow=None, wiggle=0.02):
    """Terrace-like strip: long curved sides following the contour, irregular ends."""
    L = np.sqrt(aspect)
    W = 1.0 / np.sqrt(aspect)
    bow = rng.uniform(-0.25, 0.25) * W * aspect ** 0.5 if bow is None else bow
    n = int(rng.integers(4, 8))
    xs = np.linspace(-L / 2, L / 2, n)
    top = W / 2 + bow * (1 - (2 * xs / L) ** 2) + rng.normal(0, wiggle * W * 3, n)
    bot = -W / 2 + bow * (1 - (2 * xs / L) ** 2) + rng.normal(0, wiggle * W * 3, n)
    # ends: slant/cut
    top[0] -= rng.uniform(0, 0.3) * W
    bot[-1] += rng.uniform(0, 0.3) * W
    xt = xs.copy()
    xb = xs.copy()
    xt[0] += rng.uniform(-0.1, 0.1) * L
    xb[0] += rng.uniform(-0.1, 0.1) * L
    xt[-1] += rng.uniform(-0.1, 0.1) * L
    xb[-1] += rng.uniform(-0.1, 0.1) * L
    pts = np.concatenate([np.stack([xb, bot], 1), np.stack([xt[::-1], top[::-1]], 1)])
    pts = _subdivide(rng, pts, wiggle, 0.35)
    return _place(pts, cx, cy, area, angle)


def rect_polygon(cx, cy, length, width, angle):
    pts = np.array([[-length / 2, -width / 2], [length / 2, -width / 2],
                    [length / 2, width / 2], [-length / 2, width / 2]])
    ca, sa = np.cos(angle), np.sin(angle)
    R = np.array([[ca, -sa], [sa, ca]])
    return pts @ R.T + [cx, cy]


def _place(pts, cx, cy, area, angle):
    a = abs(ring_area(pts))
    pts = pts * np.sqrt(area / max(a, 1e-9))
    ca, sa = np.cos(angle), np.sin(angle)
    R = np.array([[ca, -sa], [sa, ca]])
    pts = pts - pts.mean(0)
    return pts @ R.T + [cx, cy]


def scale_about(pts, f):
    c = pts.mean(0)
    return (pts - c) * f + c


def footprint_polygon(rng, size):
    """WebODM-like orthomosaic footprint: a slightly rotated flight block whose bounding box is the
    raster, with a jagged edge where the last photos end and a few bites taken out."""
    for _ in range(60):
        rot = rng.uniform(2.0, 11.0) * np.pi / 180 * rng.choice([-1, 1])
        asp = rng.uniform(0.8, 1.25)
        n = 72
        t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.1)
        # superellipse (rounded rectangle)
        e = 0.25
        cx = np.sign(np.cos(t)) * np.abs(np.cos(t)) ** e * asp
        cy = np.sign(np.sin(t)) * np.abs(np.sin(t)) ** e
        r = 1.0 + 0.035 * np.cumsum(rng.normal(0, 0.35, n))  # slow wander
        r -= np.linspace(0, 1, n) * (r[-1] - r[0])  # close the loop smoothly
        r *= 1 + rng.uniform(-0.012, 0.012, n)  # jagged photo edges
        # a few bites (missing photos / cut at the last flight line)
        for _b in range(int(rng.integers(0, 4))):
            k = int(rng.integers(0, n))
            wdt = int(rng.integers(3, 9))
            depth = rng.uniform(0.05, 0.16)
            idx = (np.arange(k - wdt, k + wdt + 1)) % n
            r[idx] *= 1 - depth * np.hanning(len(idx))
        pts = np.stack([cx * r, cy * r], 1)
        ca, sa = np.cos(rot), np.sin(rot)
        pts = pts @ np.array([[ca, -sa], [sa, ca]]).T
        # fit bbox to raster (touching all sides, as an ortho cropped to its data)
        mn = pts.min(0)
        mx = pts.max(0)
        pts = (pts - mn) / (mx - mn) * (size - 0.01) + 0.005
        f = max(1, size // 256)
        cov = rasterize_rings([pts / f], (size // f, size // f)).mean()
        if 0.71 <= cov <= 0.89:
            break
    return pts, rasterize_rings([pts], (size, size))


def road_polyline(rng, size, gsd, fp_mask):
    """A path/road centreline crossing the scene: smooth random heading walk, pixel coords."""
    step = max(0.5 / gsd, 1.0)  # 0.5 m steps
    for _ in range(30):
        side = int(rng.integers(0, 4))
        s = rng.uniform(0.15, 0.85) * size
        if side == 0:
            p = np.array([s, 0.0]); hd = np.pi / 2
        elif side == 1:
            p = np.array([size, s]); hd = np.pi
        elif side == 2:
            p = np.array([s, float(size)]); hd = -np.pi / 2
        else:
            p = np.array([0.0, s]); hd = 0.0
        hd += rng.uniform(-0.5, 0.5)
        curv = 0.0
        pts = [p.copy()]
        for _k in range(int(4 * size / step)):
            curv = 0.92 * curv + rng.normal(0, 0.015)
            hd += curv * step * gsd / 2.0
            p = p + step * np.array([np.cos(hd), np.sin(hd)])
            pts.append(p.copy())
            if not (-2 <= p[0] <= size + 2 and -2 <= p[1] <= size + 2):
                break
        pts = np.array(pts)
        # keep the longest run inside the footprint
        ij = np.clip(pts.astype(int), 0, size - 1)
        inside = fp_mask[ij[:, 1], ij[:, 0]]
        best = (0, 0)
        start = None
        for k, f in enumerate(list(inside) + [False]):
            if f and start is None:
                start = k
            if not f and start is not None:
                if k - start > best[1] - best[0]:
                    best = (start, k)
                start = None
        run = pts[best[0]:best[1]]
        if len(run) * step * gsd > min(15.0, size * gsd * 0.5):
            return run
    return None


def buffer_polyline(line, half_w, rng=None, wobble=0.0):
    """Polygon of a polyline buffered by half_w (pixel units) on both sides (no self-check;
    the polyline has low curvature)."""
    d = np.gradient(line, axis=0)
    d /= np.maximum(np.hypot(d[:, 0], d[:, 1])[:, None], 1e-9)
    nrm = np.stack([-d[:, 1], d[:, 0]], 1)
    n = len(line)
    wl = np.full(n, half_w)
    wr = np.full(n, half_w)
    if rng is not None and wobble > 0:
        k = max(n // 6, 2)
        wl *= 1 + wobble * np.interp(np.arange(n), np.linspace(0, n - 1, k), rng.uniform(-1, 1, k))
        wr *= 1 + wobble * np.interp(np.arange(n), np.linspace(0, n - 1, k), rng.uniform(-1, 1, k))
    left = line + nrm * wl[:, None]
    right = line - nrm * wr[:, None]
    # thin the vertices (every ~4th) to keep the GeoJSON small
    sel = np.unique(np.r_[np.arange(0, n, 4), n - 1])
    return np.concatenate([left[sel], right[sel][::-1]])


def split_convex(poly, p0, n):
    """Cut a convex polygon by the line through p0 with normal n; returns the two parts."""
    s = (poly - p0) @ n
    A, B = [], []
    m = len(poly)
    for i in range(m):
        a, b = poly[i], poly[(i + 1) % m]
        sa, sb = s[i], s[(i + 1) % m]
        if sa >= 0:
            A.append(a)
        if sa <= 0:
            B.append(a)
        if (sa > 0 > sb) or (sa < 0 < sb):
            q = a + sa / (sa - sb) * (b - a)
            A.append(q)
            B.append(q)
    return np.array(A), np.array(B)


def partition(rng, region, n_target, min_area, along=None):
    """Patchwork of convex plots: split the largest piece across its long axis until n_target pieces
    (or no piece can be split into two of at least min_area)."""
    pieces = [np.asarray(region, float)]
    final = []
    while len(pieces) + len(final) < n_target and pieces:
        areas = [abs(ring_area(p)) for p in pieces]
        k = int(np.argmax(areas))
        P = pieces.pop(k)
        if areas[k] < 2.05 * min_area:
            final.append(P)
            continue
        c = P.mean(0)
        w, v = np.linalg.eigh(np.cov((P - c).T))
        major = v[:, 1]
        kmax = int(areas[k] // min_area)
        frac = (kmax // 2) / kmax
        done = False
        for _ in range(12):
            ang = rng.normal(0, 0.3)
            ca, sa = np.cos(ang), np.sin(ang)
            n = np.array([major[0] * ca - major[1] * sa, major[0] * sa + major[1] * ca])
            if along is not None and rng.random() < 0.5:
                n = np.array([-np.sin(along), np.cos(along)])  # cut along the contour (terraces)
            proj = P @ n
            lo, hi = float(proj.min()), float(proj.max())
            for _b in range(30):  # bisection: cut off the wanted share of the area
                mid = 0.5 * (lo + hi)
                A, B = split_convex(P, n * mid, n)
                fa = abs(ring_area(A)) / areas[k] if len(A) >= 3 else 0.0
                if fa > frac:
                    lo = mid
                else:
                    hi = mid
            if len(A) >= 3 and len(B) >= 3 and min(abs(ring_area(A)), abs(ring_area(B))) >= min_area * 0.999:
                pieces += [A, B]
                done = True
                break
        if not done:
            final.append(P)
    return final + pieces


def inset(rng, P, gap, wiggle=0.01):
    """Shrink a convex piece toward its centroid so neighbours keep ~gap between them, then give it
    slightly hand-drawn edges."""
    a = abs(ring_area(P))
    per = float(np.sum(np.hypot(*np.diff(np.vstack([P, P[:1]]), axis=0).T)))
    f = np.sqrt(max(0.3, 1 - per * gap / max(a, 1e-9)))
    Q = scale_about(P, f)
    return _subdivide(rng, Q, wiggle, max(np.sqrt(a) / 3, 1.0))


def convex_hull(P):
    """Andrew's monotone chain; returns the hull counter-clockwise (in x-right/y-down pixels:
    clockwise on screen)."""
    pts = sorted(map(tuple, np.asarray(P, float)))

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])
