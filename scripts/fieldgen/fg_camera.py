"""Light and camera: terrain shading, cast shadows, sky light, haze, white balance, exposure,
vignetting of the mosaicked photos, blur, sensor noise, tone curve and JPEG blocks."""
import numpy as np
from scipy import ndimage, fft

from fg_noise import smoothstep, field


# ----------------------------------------------------------------------------- shadows
def _shift(a, ox, oy, fill):
    """out[r, c] = a[r + oy, c + ox] (fill outside)."""
    H, W = a.shape
    out = np.full_like(a, fill)
    r0, r1 = max(0, -oy), min(H, H - oy)
    c0, c1 = max(0, -ox), min(W, W - ox)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = a[r0 + oy:r1 + oy, c0 + ox:c1 + ox]
    return out


def shadow_depth(Z, sx, sy, drop_per_px):
    """Height (m) by which the surface Z is below the highest sun ray over it: 0 = sunlit.
    Max-plus scan toward the sun by doubling offsets: Q(p) = max(Z(p), Q(p + t*s) - t*drop)."""
    Q = Z.astype(np.float32).copy()
    H, W = Z.shape
    zr = float(Z.max() - Z.min())
    maxlen = min(zr / max(drop_per_px, 1e-6), 2.0 * max(H, W))
    J = int(np.ceil(np.log2(maxlen + 2))) + 1
    for j in range(J):
        step = 2.0 ** j
        ox = int(round(step * sx))
        oy = int(round(step * sy))
        if ox == 0 and oy == 0:
            continue
        proj = ox * sx + oy * sy
        Q = np.maximum(Q, _shift(Q, ox, oy, -np.inf) - np.float32(proj * drop_per_px))
    return Q - Z


def illuminate(S):
    """Radiance-like linear image (B, G, R, NIR) = reflectance x (direct + diffuse) irradiance,
    normalised so flat sunlit ground gives ~reflectance."""
    g = S.gsd
    el, az = S.sun_el, S.sun_az
    sx, sy = S.sun_vec
    Z = S.dem + S.hgt
    depth = shadow_depth(Z, sx, sy, np.tan(el) * g)
    shade = smoothstep(0.015, 0.12, depth)
    # things on stalks/trunks (flowers, capsules, free-standing crowns): displaced shadows, one
    # copy per height level between their base and top
    fm = S.fcov > 0
    if fm.any():
        tl = np.tan(el)
        h0 = float(S.fbase[fm].min())
        h1 = float(S.ftop[fm].max())
        dh = max(0.05, 0.8 * tl)
        fs = np.zeros_like(shade)
        for h in np.arange(h0, h1 + dh * 0.5, dh):
            lev = np.where((S.fbase <= h + dh * 0.5) & (S.ftop >= h - dh * 0.5), S.fcov, 0.0)
            d = h / tl / g
            if d < 0.5:
                continue
            np.maximum(fs, _shift(lev, int(round(d * sx)), int(round(d * sy)), 0.0), out=fs)
        shade = np.maximum(shade, fs)
    shade = ndimage.gaussian_filter(shade, max(0.5, 0.03 / g))  # penumbra
    # terrain normal (east, north, up); rows run south
    dem_s = ndimage.gaussian_filter(S.dem, max(1.0, 0.15 / g))
    gr, gc = np.gradient(dem_s, g)
    nx, ny, nzz = -gc, gr, np.ones_like(gc)
    nn = np.sqrt(nx * nx + ny * ny + 1.0)
    sun3 = (np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el))
    cosi = (nx * sun3[0] + ny * sun3[1] + nzz * sun3[2]) / nn
    direct = np.clip(cosi / np.sin(el), 0.0, 3.5) * S.dirmul * (1.0 - shade) * S.cloud
    skyview = 0.5 * (1.0 + 1.0 / nn)
    hb = ndimage.gaussian_filter(S.hgt, max(1.0, 0.25 / g))
    ao = np.exp(-np.clip(hb - S.hgt, 0, None) / 0.35) * 0.25 + 0.75
    fdir = S.fdir
    sun_col = S.sun_col
    sky_col = S.sky_col
    out = np.empty_like(S.refl)
    for b in range(4):
        E = fdir * sun_col[b] * direct + (1 - fdir) * sky_col[b] * skyview * ao
        out[b] = S.refl[b] * E
    S.shadow_frac = float((shade > 0.5).mean())
    return out


# ----------------------------------------------------------------------------- atmosphere
def haze(S, L):
    t = S.transmission
    A = S.airlight
    for b in range(4):
        L[b] = L[b] * t + A[b] * (1 - t)
    return L


# ----------------------------------------------------------------------------- camera
def planck_gains(T):
    """Per-band gain (B, G, R, NIR) of light of colour temperature T relative to 5500 K,
    normalised at green (the tint a daylight-balanced camera shows)."""
    lam = np.array([0.475, 0.56, 0.66, 0.84])
    c2 = 14388.0

    def B(t):
        return lam ** -5 / (np.exp(c2 / (lam * t)) - 1)

    r = B(T) / B(5500.0)
    return (r / r[1]).astype(np.float32)


def mosaic_field(S, rng):
    """Vignetting and exposure steps of the photos the orthomosaic was stitched from (computed on a
    4x coarser grid: it is smooth apart from the seams)."""
    N0 = S.N
    f = 4 if N0 >= 256 else 1
    N = -(-N0 // f)
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    if rng.random() < 0.45:
        # one photo dominates the tile: a single radial falloff, centre somewhere near
        cx, cy = rng.uniform(0.2, 0.8, 2) * N
        R = N * rng.uniform(0.8, 1.4)
        k = rng.uniform(0.12, 0.35)
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (R * R)
        out = (1.0 - k * r2 / (1 + 0.5 * r2)).astype(np.float32)
    else:
        # several photos: centres on flight lines, nearest-centre seams that wander a little
        spacing = N * rng.uniform(0.35, 0.8)
        ang = rng.uniform(0, np.pi)
        ca, sa = np.cos(ang), np.sin(ang)
        centres = []
        for i in range(-2, int(N / spacing) + 3):
            for j in range(-2, int(N / spacing) + 3):
                u = (i + rng.uniform(-0.15, 0.15)) * spacing
                v = (j + (0.5 if i % 2 else 0)) * spacing * 0.75
                x = N / 2 + u * ca - v * sa
                y = N / 2 + u * sa + v * ca
                if -spacing < x < N + spacing and -spacing < y < N + spacing:
                    centres.append((x, y))
        warp = field(rng, (N, N), N / 6.0) * spacing * 0.06
        best = np.full((N, N), np.inf, np.float32)
        out = np.ones((N, N), np.float32)
        R = spacing * rng.uniform(1.4, 2.2)
        k = rng.uniform(0.15, 0.4)
        for (x, y) in centres:
            d2 = (xx - x) ** 2 + (yy - y) ** 2
            dd = d2 + warp * np.sqrt(d2 + 1)
            m = dd < best
            best = np.where(m, dd, best)
            val = (1.0 + rng.normal(0, 0.03)) * (1.0 - k * d2 / (R * R))
            out = np.where(m, val, out)
        out = ndimage.gaussian_filter(out, 0.5)
    if f > 1:
        out = ndimage.zoom(out, f, order=1, mode="nearest", grid_mode=True)[:N0, :N0]
    return out.astype(np.float32)


def blur(S, rng, L):
    """Optics and motion: ortho resampling softness always, plus defocus or motion smear."""
    kind = str(rng.choice(["none", "defocus", "motion"], p=[0.25, 0.4, 0.35]))
    sig = rng.uniform(0.2, 0.45) + (rng.uniform(0.3, 0.8) if kind == "defocus" else 0.0)
    S.blur_kind = kind
    for b in range(L.shape[0]):
        L[b] = ndimage.gaussian_filter(L[b], sig)
    if kind == "motion":
        n = int(rng.integers(1, 4))
        ang = rng.uniform(0, np.pi)
        k = np.zeros((n * 2 + 1, n * 2 + 1), np.float32)
        for t in np.linspace(-n, n, 4 * n + 1):
            k[int(round(n + t * np.sin(ang))), int(round(n + t * np.cos(ang)))] += 1
        k /= k.sum()
        for b in range(L.shape[0]):
            L[b] = ndimage.convolve(L[b], k, mode="nearest")
    return L


def add_noise(rng, L, a, rd):
    """Shot + read noise in linear units, with a little spatial correlation (demosaicing)."""
    for b in range(L.shape[0]):
        sig = np.sqrt(np.clip(L[b], 0, None) * a + rd * rd)
        n = rng.standard_normal(L[b].shape, dtype=np.float32)
        n = ndimage.gaussian_filter(n, 0.45) * 1.6
        L[b] += n * sig
    return L


def tone(x, contrast):
    """Display encoding: gamma 1/2.2 then a gentle S-curve (camera picture profile)."""
    y = np.power(np.clip(x, 0, 1), 1 / 2.2)
    if contrast > 0.01:
        k = contrast
        y = 0.5 + 0.5 * np.tanh(k * (y - 0.5)) / np.tanh(0.5 * k)
        # keep the toe: blend back near black so shadows are not crushed completely
        y = np.where(y < 0.0, 0.0, y)
    return y


# ----------------------------------------------------------------------------- JPEG
_QL = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
               np.float32).reshape(8, 8)
_QC = np.array([17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99]
               + [99] * 32, np.float32).reshape(8, 8)


def _qtable(q, base):
    s = 5000 / q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((base * s + 50) / 100), 1, 255).astype(np.float32)


def _dct_quant(ch, Q):
    H, W = ch.shape
    b = ch.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3) - 128.0
    c = fft.dctn(b, type=2, norm="ortho", axes=(2, 3))
    c = np.round(c / Q) * Q
    b = fft.idctn(c, type=2, norm="ortho", axes=(2, 3)) + 128.0
    return b.transpose(0, 2, 1, 3).reshape(H, W)


def jpeg(rgb, q):
    """Baseline JPEG round trip (YCbCr, 4:2:0, IJG tables at quality q) on float 0..255 RGB."""
    H, W = rgb.shape[1:]
    Hp, Wp = -(-H // 16) * 16, -(-W // 16) * 16
    x = np.pad(rgb, ((0, 0), (0, Hp - H), (0, Wp - W)), mode="edge").astype(np.float32)
    R, G, B = x
    Y = 0.299 * R + 0.587 * G + 0.114 * B
    Cb = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B
    Cr = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B
    Y = _dct_quant(Y, _qtable(q, _QL))

    def sub(c):
        s = c.reshape(Hp // 2, 2, Wp // 2, 2).mean((1, 3))
        s = _dct_quant(s, _qtable(q, _QC))
        return ndimage.zoom(s, 2, order=1, mode="nearest", grid_mode=True)[:Hp, :Wp]

    Cb = sub(Cb)
    Cr = sub(Cr)
    R = Y + 1.402 * (Cr - 128)
    G = Y - 0.344136 * (Cb - 128) - 0.714136 * (Cr - 128)
    B = Y + 1.772 * (Cb - 128)
    return np.stack([R, G, B])[:, :H, :W]


# ----------------------------------------------------------------------------- develop
def develop(S, L, bits, layout):
    """Camera/processing chain from linear radiance-like image (B, G, R, NIR) to output bands
    (R, G, B[, NIR]). Returns (data, info)."""
    rng = S.rng_cam
    c = S.condition
    valid = S.fp_mask
    if c == "warm":
        T = rng.uniform(3300, 3800)
    elif c == "cool":
        T = rng.uniform(7500, 9000)
    else:
        T = rng.uniform(4900, 6300)
    wb = planck_gains(T)
    wb[3] = 1.0
    cam = (1 + rng.normal(0, 0.04, 4)).astype(np.float32)
    cam[1] = 1.0
    ev = {"dark": rng.uniform(-2.0, -1.0), "bright": rng.uniform(0.8, 1.6)}.get(c, rng.uniform(-0.3, 0.3))
    V = mosaic_field(S, rng)
    for b in range(4):
        L[b] *= wb[b] * cam[b] * V
    sub = (slice(None, None, 4), slice(None, None, 4))
    vm = valid[sub]
    if bits == 8:
        Y = 0.2126 * L[2][sub] + 0.7152 * L[1][sub] + 0.0722 * L[0][sub]
        yv = Y[vm]
        auto = rng.uniform(0.17, 0.23) / max(float(yv.mean()), 1e-4)
        auto = min(auto, 0.92 / max(float(np.quantile(yv, 0.995)), 1e-4))  # matrix metering: spare highlights
        auto = float(np.clip(auto, 0.6, 4.0))
        auto_n = float(np.clip(0.36 / max(float(L[3][sub][vm].mean()), 1e-4), 0.5, 3.0))
    else:
        auto = auto_n = 1.0
    gain = np.float32(auto * 2 ** ev)
    L[:3] *= gain
    L[3] *= np.float32(auto_n * 2 ** ev)
    blur(S, rng, L)
    a = 0.0007 * rng.uniform(0.6, 1.5)
    rd = 0.0025
    if c == "dark":
        a *= 3.0
        rd *= 3.0
    if bits == 16:
        a *= 0.5
        rd *= 0.6
    add_noise(rng, L, a, rd)
    np.clip(L, 0, 1, out=L)
    info = {"white_balance_K": round(float(T)), "exposure_ev": round(float(ev), 2), "blur": S.blur_kind}
    if bits == 8:
        Y = 0.2126 * L[2] + 0.7152 * L[1] + 0.0722 * L[0]
        sat = rng.uniform(1.0, 1.35)
        for b in range(3):
            L[b] = np.clip(Y + sat * (L[b] - Y), 0, 1)
        contrast = rng.uniform(0.8, 2.2)
        rgb = tone(L[[2, 1, 0]], contrast) * 255.0
        q = int(rng.integers(70, 93))
        rgb = jpeg(rgb, q)
        nir = tone(L[3], contrast * 0.5) * 255.0
        data = np.clip(np.round(np.concatenate([rgb, nir[None]])), 0, 255).astype(np.uint8)
        info.update(jpeg_quality=q, saturation=round(float(sat), 2), tone_contrast=round(float(contrast), 2))
        vmax = 255
    else:
        data = np.clip(np.round(L[[2, 1, 0, 3]] * 10000.0), 0, 65535).astype(np.uint16)
        vmax = 65535
    if layout == "rgb":
        return data[:3], info
    inv = ~valid
    data[:, inv] = 0
    if layout == "rgba":
        alpha = np.where(valid, vmax, 0).astype(data.dtype)
        return np.concatenate([data[:3], alpha[None]]), info
    # rgbn: nodata 0 outside; no valid pixel may be 0 in all bands
    allzero = valid & (data.max(0) == 0)
    data[3, allzero] = 1
    return data, info
