"""Jittered-lattice ("cellular") placement of plants, flowers, clods, crowns.

A layer is a lattice in a rotated frame (u along rows, v across rows, metres). Each lattice cell
holds at most one object whose centre, radius and presence come from a hash of the cell index, so
objects are stable and GSD independent. For every pixel the 3x3 neighbouring cells are visited:
the object nearest in normalised distance gives the pixel's attributes (for colour and shading),
and the union of all objects gives the coverage (anti-aliased, area-preserving below a pixel).
Objects far smaller than a pixel are drawn statistically (mean coverage plus binomial-like noise).
"""
import numpy as np

from fg_noise import cell_hash, rand_k


class Layer:
    """Result of a lattice evaluation over a window."""

    def __init__(self):
        self.stat = False

    # per-object uniform random numbers, per pixel (of the nearest object)
    def rand(self, k):
        if self.stat:
            return rand_k(self.pix_hash, k)
        return np.take(self.tab_rand(k), self.best)

    def tab_rand(self, k):
        key = ("r", k)
        if key not in self._cache:
            self._cache[key] = rand_k(self.cell_h, k).ravel()
        return self._cache[key]

    def theta(self):
        if self._theta is None:
            self._theta = np.arctan2(self.dy, self.dx).astype(np.float32)
        return self._theta

    def sunside(self):
        """-1..1 times rho: projection of the position in the object onto the sun direction."""
        return (self.dx * self.su + self.dy * self.sv) / np.maximum(self.r, 1e-6)


def lattice(win, du, dv, angle, seed, jit=(0.3, 0.3), rad=(0.1, 0.2), p=1.0,
            center_ok=None, presence=None, inner=1.0, warp=None, stat_below=0.55, origin=(0.0, 0.0)):
    """Evaluate a jittered lattice layer over window `win`.

    du, dv   cell size along / across rows (m); angle: row direction (rad, image frame)
    jit      jitter as a fraction of the cell size (u, v); 1.0 = anywhere in the cell
    rad      (min, max) object radius (m)
    p        presence probability
    center_ok  bool array (window shape): objects only where their centre pixel is True
    presence   float array (window shape) multiplying p at the centre pixel (patchy gaps)
    inner    radius fraction used for the coverage union (lobed shapes use their inner radius)
    warp     float array (window shape) added to v (curved rows)
    """
    g = win.gsd
    L = Layer()
    L._cache = {}
    L._theta = None
    ca, sa = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    su, sv = win.sun_vec
    L.su = np.float32(su * ca + sv * sa)
    L.sv = np.float32(-su * sa + sv * ca)
    rmean = 0.5 * (rad[0] + rad[1])
    h, w = win.shape
    if rmean / g < stat_below:
        # statistical rendering: mean coverage, with per-pixel variance
        L.stat = True
        dens = p * np.pi * rmean * rmean * inner * inner / (du * dv)
        n_per_px = max(g * g / (du * dv), 1e-3)
        ix = (win.cols.astype(np.int64))
        iy = (win.rows.astype(np.int64))
        L.pix_hash = cell_hash(ix[None, :], iy[:, None], seed)
        noise = rand_k(L.pix_hash, 7) - 0.5
        cov = dens * (1.0 + noise * 1.6 / np.sqrt(n_per_px))
        if presence is not None:
            cov = cov * presence
        if center_ok is not None:
            cov = cov * center_ok
        L.cov = np.clip(cov, 0.0, 1.0).astype(np.float32)
        L.rho = np.full((h, w), 0.5, np.float32)
        L.dx = np.zeros((h, w), np.float32)
        L.dy = np.zeros((h, w), np.float32)
        L.r = np.full((h, w), rmean, np.float32)
        L.inside = L.cov > 0
        L._theta = (rand_k(L.pix_hash, 9) * 2 * np.pi - np.pi).astype(np.float32)
        L.d = L.r * 0.5
        return L

    x = win.xm
    y = win.ym
    u = x * ca + y * sa - np.float32(origin[0])
    v = -x * sa + y * ca - np.float32(origin[1])
    if warp is not None:
        v = v + warp
    fu = u / np.float32(du)
    fv = v / np.float32(dv)
    i0 = np.floor(fu).astype(np.int32)
    j0 = np.floor(fv).astype(np.int32)
    imin = int(i0.min()) - 1
    imax = int(i0.max()) + 1
    jmin = int(j0.min()) - 1
    jmax = int(j0.max()) + 1
    nj = jmax - jmin + 1
    ci, cj = np.meshgrid(np.arange(imin, imax + 1), np.arange(jmin, jmax + 1), indexing="ij")
    hc = cell_hash(ci, cj, seed)
    r1 = rand_k(hc, 0)
    r2 = rand_k(hc, 1)
    r3 = rand_k(hc, 2)
    r4 = rand_k(hc, 3)
    cu = ((ci + 0.5 + jit[0] * (r1 - 0.5)) * du).astype(np.float32)
    cv = ((cj + 0.5 + jit[1] * (r2 - 0.5)) * dv).astype(np.float32)
    rr = (rad[0] + (rad[1] - rad[0]) * r3).astype(np.float32)
    pres = r4 < p
    if center_ok is not None or presence is not None:
        xc = (cu + origin[0]) * ca - (cv + origin[1]) * sa
        yc = (cu + origin[0]) * sa + (cv + origin[1]) * ca
        col = np.floor(xc / g).astype(np.int64) - win.c0
        row = np.floor(yc / g).astype(np.int64) - win.r0
        ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        colc = np.clip(col, 0, w - 1)
        rowc = np.clip(row, 0, h - 1)
        pres &= ok
        if center_ok is not None:
            pres &= center_ok[rowc, colc]
        if presence is not None:
            pres &= r4 < p * presence[rowc, colc]
    far = np.float32(1e6)
    cu = np.where(pres, cu, far).ravel()
    cv = np.where(pres, cv, far).ravel()
    rr = np.where(pres, rr, 1e-3).astype(np.float32).ravel()
    inv_r2 = (1.0 / (rr * rr)).astype(np.float32)
    rin = (rr * inner).astype(np.float32)
    rmin_px = np.float32(0.7 * g)
    rin_eff = np.maximum(rin, rmin_px)
    area_sc = np.minimum(1.0, (rin / rmin_px) ** 2).astype(np.float32)
    L.cell_h = hc.ravel()

    base = (i0 - imin) * nj + (j0 - jmin)
    best = None
    bscore = None
    bdx = bdy = None
    unc = np.ones((h, w), np.float32)  # product of (1 - cov)
    invg = np.float32(1.0 / g)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            idx = base + (di * nj + dj)
            dx = u - np.take(cu, idx)
            dy = v - np.take(cv, idx)
            d2 = dx * dx + dy * dy
            sc = d2 * np.take(inv_r2, idx)
            d = np.sqrt(d2)
            c = np.clip((np.take(rin_eff, idx) - d) * invg + 0.5, 0.0, 1.0) * np.take(area_sc, idx)
            unc *= (1.0 - c)
            if best is None:
                best, bscore, bdx, bdy = idx, sc, dx, dy
            else:
                m = sc < bscore
                best = np.where(m, idx, best)
                bscore = np.where(m, sc, bscore)
                bdx = np.where(m, dx, bdx)
                bdy = np.where(m, dy, bdy)
    L.best = best
    L.rho = np.sqrt(bscore).astype(np.float32)
    L.dx = bdx
    L.dy = bdy
    L.r = np.take(rr, best)
    L.d = L.rho * L.r
    L.cov = (1.0 - unc).astype(np.float32)
    L.inside = L.rho < 1.0
    return L


def shape_cov(L, win, radius_fn):
    """Anti-aliased coverage of the nearest object with a custom edge radius r_edge = radius_fn(L)
    (metres, per pixel), merged with the union coverage of the plain discs."""
    if L.stat:
        return L.cov
    g = win.gsd
    r_edge = radius_fn(L)
    rmin = np.float32(0.7 * g)
    re = np.maximum(r_edge, rmin)
    sc = np.minimum(1.0, (r_edge / rmin) ** 2)
    c = np.clip((re - L.d) / g + 0.5, 0.0, 1.0) * sc
    return np.maximum(c, L.cov).astype(np.float32)


def lobed(k_base, k_var, amp, phase_k=5):
    """radius function: r * (1 + amp*cos(k*theta + phi)), k and phi per object."""
    def fn(L):
        k = np.floor(k_base + k_var * L.rand(4))
        phi = L.rand(phase_k) * np.float32(2 * np.pi)
        return L.r * (1.0 - amp + amp * np.cos(k * L.theta() + phi)).astype(np.float32)
    return fn
