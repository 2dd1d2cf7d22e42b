"""Deterministic noise and hashing helpers for fieldgen.

Everything is seeded: value-noise fields come from a numpy Generator that the caller passes in,
per-cell random numbers (plants, flowers, clods) come from an integer hash of the cell index and a
per-layer seed, so a plant keeps its size and colour whatever window it is drawn in.
"""
import numpy as np
from scipy import ndimage

U32 = np.uint32


def mix32(x):
    """lowbias32 integer hash (Chris Wellons), on uint32 arrays; wraps silently."""
    x = np.asarray(x, dtype=U32)
    x = x ^ (x >> U32(16))
    x = x * U32(0x7FEB352D)
    x = x ^ (x >> U32(15))
    x = x * U32(0x846CA68B)
    x = x ^ (x >> U32(16))
    return x


def cell_hash(ci, cj, seed):
    """Hash of integer cell coordinates (any int arrays) and a layer seed -> uint32."""
    a = (np.asarray(ci, dtype=np.int64) & 0xFFFFFFFF).astype(U32)
    b = (np.asarray(cj, dtype=np.int64) & 0xFFFFFFFF).astype(U32)
    s = U32(seed & 0xFFFFFFFF)
    return mix32(a ^ mix32(b ^ mix32(np.full(1, s, dtype=U32))))


def u01(h):
    """uint32 hash -> float32 in [0, 1)."""
    return (h >> U32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def rand_k(h, k):
    """k-th independent uniform from a base hash."""
    return u01(mix32(h ^ U32((0x9E3779B9 * (k + 1)) & 0xFFFFFFFF)))


def _normalise(a):
    sub = a[::7, ::7] if a.size > 4096 else a
    s = float(sub.std())
    m = float(sub.mean())
    return ((a - m) / (s if s > 1e-9 else 1.0)).astype(np.float32)


def field(rng, shape, scale_px):
    """Zero-mean, unit-std random field with feature size ~scale_px pixels."""
    h, w = shape
    if scale_px < 1.2:
        return rng.standard_normal(shape, dtype=np.float32)
    if scale_px <= 8.0:
        n = rng.standard_normal(shape, dtype=np.float32)
        return _normalise(ndimage.gaussian_filter(n, scale_px * 0.45, mode="wrap"))
    step = scale_px / 2.0
    gh = int(np.ceil(h / step)) + 4
    gw = int(np.ceil(w / step)) + 4
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    Wy = _bspline_matrix(h, gh, step)
    Wx = _bspline_matrix(w, gw, step)
    return _normalise(Wy @ g @ Wx.T)


def _bspline_matrix(n, m, step):
    """n x m matrix of cubic B-spline weights sampling a coarse grid of spacing `step` pixels."""
    t = np.arange(n, dtype=np.float64) / step + 1.5
    i = np.floor(t).astype(int)
    f = t - i
    W = np.zeros((n, m), np.float32)
    w = [(1 - f) ** 3 / 6, (3 * f ** 3 - 6 * f ** 2 + 4) / 6, (-3 * f ** 3 + 3 * f ** 2 + 3 * f + 1) / 6, f ** 3 / 6]
    rows = np.arange(n)
    for k in range(4):
        W[rows, np.clip(i - 1 + k, 0, m - 1)] += w[k]
    return W


def fbm(rng, shape, scale_px, octaves=4, gain=0.5):
    out = np.zeros(shape, np.float32)
    amp = 1.0
    tot = 0.0
    s = scale_px
    for _ in range(octaves):
        out += amp * field(rng, shape, s)
        tot += amp * amp
        amp *= gain
        s /= 2.0
        if s < 0.6:
            break
    return out / np.float32(np.sqrt(tot))


def att(scale_m, gsd):
    """Amplitude left of a texture of feature size scale_m after averaging over a gsd pixel."""
    return float(min(1.0, scale_m / gsd))


def smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def per_att(period_m, gsd):
    """Amplitude left of a periodic pattern: fades out between 4 and 2 pixels per period (no aliasing)."""
    return float(np.clip((period_m / gsd - 2.0) / 2.0, 0.0, 1.0))
