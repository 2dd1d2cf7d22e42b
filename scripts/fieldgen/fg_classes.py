"""Plant-level renderers, one per class, plus the unlabelled background (grass, scrub, shrubs,
flowering weeds, scattered trees).

Renderers write surface reflectance into S.refl (4 bands, B G R NIR), object height above ground
into S.hgt (for cast shadows and occlusion) and, for tilted roof planes, a direct-light multiplier
into S.dirmul. All sizes are in metres, so the same field looks the same at any GSD; below a pixel
the lattice layers fall back to area-weighted mixing.
"""
import numpy as np

from fg_lattice import lattice, shape_cov, lobed
from fg_noise import smoothstep, att, per_att, rand_k, mix32, U32
from fg_spectra import SPEC

TWO_PI = np.float32(2 * np.pi)


# ----------------------------------------------------------------------------- helpers
def paint(S, win, col, cov):
    R = S.refl[:, win.sl[0], win.sl[1]]
    for b in range(4):
        R[b] += cov * (col[b] - R[b])


def colour(spec, bright, tint=None):
    if tint is None:
        return [spec[b] * bright for b in range(4)]
    return [spec[b] * bright * tint[b] for b in range(4)]


def mixs(a, b, t):
    return [a[k] + (b[k] - a[k]) * t for k in range(4)]


def raise_height(S, win, h):
    v = S.hgt[win.sl]
    np.maximum(v, h, out=v)


def add_float(S, win, cov, base, top, opacity=0.9):
    """Things held up on thin stalks or trunks (flowers, capsules, tree crowns): no solid column in the
    height map; they shade the ground as displaced copies of their coverage between heights base and
    top (see fg_camera.illuminate)."""
    c = cov * opacity
    m = cov > 0.3
    fc = S.fcov[win.sl]
    upd = m & (c >= fc)
    if not upd.any():
        return
    fc[upd] = c[upd] if np.ndim(c) else c
    S.fbase[win.sl][upd] = np.broadcast_to(np.asarray(base, np.float32), win.shape)[upd]
    S.ftop[win.sl][upd] = np.broadcast_to(np.asarray(top, np.float32), win.shape)[upd]


def detail(L, g):
    return np.clip(L.r / g / 2.0 - 0.5, 0.0, 1.0).astype(np.float32)


def tint(r, amp):
    """per-band multiplicative variation from a uniform r: amp = (b, g, r, n) amplitudes."""
    c = (r - 0.5) * 2.0
    return [1.0 + a * c for a in amp]


def allow(P, g, overflow):
    return np.clip((P["sd"] + overflow) / g + 1.0, 0.0, 1.0).astype(np.float32)


def nz(S, win, name):
    return S.noise[name][win.sl]


def frame_uv(win, ang):
    ca, sa = np.cos(ang), np.sin(ang)
    u = win.xm * ca + win.ym * sa
    v = -win.xm * sa + win.ym * ca
    return u.astype(np.float32), v.astype(np.float32)


# ----------------------------------------------------------------------------- ground
def tilled_soil(S, win, P, rowdv=None, weeds=0.05, ridge=0.10, residue=0.0, soil=None,
                clod=1.0, rough=1.0):
    g = S.gsd
    rng = P["rng"]
    spec = SPEC[soil or P.get("soil") or S.soil] * np.float32(rng.uniform(0.85, 1.12))
    nf, nm, nc, nl = (nz(S, win, k) for k in ("fine", "mid", "coarse", "large"))
    b = 1.0 + 0.08 * nc + (0.10 * att(0.1, g) * nm + 0.10 * att(0.03, g) * nf) * rough
    b *= 1.0 - 0.25 * smoothstep(0.5, 1.5, nl + 0.4 * nc) * S.wet
    h = np.zeros(win.shape, np.float32)
    if rowdv:
        _, v = frame_uv(win, P["angle"])
        s = np.sin(TWO_PI * v / np.float32(rowdv) + 0.3 * nc)
        b *= 1.0 + ridge * per_att(rowdv, g) * s
        h += 0.04 * (s + 1)
    if g < 0.07 and clod > 0:
        Lc = lattice(win, 0.075, 0.075, P["angle"] + 0.5, P["seed"] + 11, (1, 1), (0.025, 0.05),
                     0.75 * clod)
        det = detail(Lc, g)
        b *= 1.0 + (0.22 * (Lc.rand(0) - 0.5) + 0.22 * det * Lc.sunside() * (Lc.rho < 1)) * Lc.cov
        h += 0.03 * Lc.cov * (1 - Lc.rho ** 2).clip(0)
    col = colour(spec, b)
    a = smoothstep(-0.06, 0.15, P["sd"] + 0.08 * nm + 0.04 * nf)
    paint(S, win, col, a)
    raise_height(S, win, h * (a > 0.5))
    # pale stones
    if g < 0.1:
        Ls = lattice(win, 0.5, 0.5, 0.2, P["seed"] + 13, (1, 1), (0.015, 0.04), 0.15 * rough,
                     center_ok=P["mask"])
        paint(S, win, colour(SPEC["stone"], 0.8 + 0.4 * Ls.rand(5)), Ls.cov)
    if residue > 0:
        Lr = lattice(win, 0.16, 0.16, 1.1, P["seed"] + 17, (1, 1), (0.03, 0.08), residue,
                     center_ok=P["mask"], inner=0.3)
        cov = shape_cov(Lr, win, lobed(2, 1, 0.35))
        paint(S, win, colour(SPEC["straw"], 0.7 + 0.5 * Lr.rand(5)), cov)
    if weeds > 0:
        Lw = lattice(win, 0.45, 0.45, 0.7, P["seed"] + 19, (1, 1), (0.02, 0.07), weeds,
                     center_ok=P["mask"], inner=0.6)
        cov = shape_cov(Lw, win, lobed(4, 4, 0.2))
        det = detail(Lw, g)
        paint(S, win, colour(SPEC["weed"], (0.8 + 0.4 * Lw.rand(5)) * (1 + 0.2 * det * Lw.sunside())),
              cov)
        raise_height(S, win, 0.1 * (cov > 0.5))


# ----------------------------------------------------------------------------- poppy
PETALS = ("petal_white", "petal_red", "petal_pink", "petal_purple", "petal_lilac")


def poppy(S, win, P):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    flowering = P["stage"] == "flowering"
    ang = P["angle"]
    broadcast = rng.random() < 0.6
    sp = rng.uniform(0.22, 0.32)
    if broadcast:
        du = dv = sp
        jit = (0.95, 0.95)
        rowdv = None
    else:
        dv = rng.uniform(0.30, 0.45)
        du = sp * 0.75
        jit = (0.6, 0.2)
        rowdv = dv
    tilled_soil(S, win, P, rowdv=rowdv, weeds=rng.uniform(0.03, 0.15), residue=rng.uniform(0, 0.08))
    cok = P["cok"].copy()
    inter = P.get("inter")
    if inter == "cabbage":
        ccov = cabbage_plants(S, win, P, rng.uniform(0.45, 0.6), rng.uniform(0.5, 0.7), ang,
                              seed + 500, rng.uniform(0.3, 0.55), (0.14, 0.24), cok)
        cok &= ccov < 0.1
    elif inter == "mustard":
        mcov = mustard_plants(S, win, P, seed + 600, rng.uniform(0.25, 0.5), cok,
                              bloom=rng.uniform(0.3, 0.9))
        cok &= mcov < 0.2
    gaps = 1.0 - 0.85 * smoothstep(0.5, 1.3, nz(S, win, "coarse") * 0.7 + nz(S, win, "large") * 0.5
                                   + rng.uniform(-0.4, 0.4))
    amp = 0.16
    rad = (0.11, 0.21) if flowering else (0.08, 0.17)
    L = lattice(win, du, dv, ang, seed, jit, rad, p=rng.uniform(0.80, 0.95), center_ok=cok,
                presence=gaps, inner=1 - 2 * amp)
    cov = shape_cov(L, win, lobed(5, 4, amp)) * allow(P, g, 0.12)
    det = detail(L, g)
    th = L.theta()
    k2 = np.floor(5 + 4 * L.rand(7))
    leaves = 1.0 + 0.13 * det * np.cos(k2 * th + TWO_PI * L.rand(8))
    nf = nz(S, win, "fine")
    bright = ((1.0 - 0.35 * det * L.rho ** 2) * (1.0 + 0.30 * det * L.sunside()) * leaves
              * (0.88 + 0.24 * L.rand(6)) * (1.0 + 0.10 * att(0.02, g) * nf))
    glauc = P.get("glauc", 1.0)
    spec = mixs(SPEC["poppy_leaf_young"], SPEC["poppy_leaf"], np.clip(L.rand(9) * 0.6 + 0.4 * glauc, 0, 1))
    col = [spec[b] * bright * t for b, t in enumerate(tint(L.rand(10), (0.12, 0.06, 0.10, 0.06)))]
    paint(S, win, col, cov)
    hp = 0.38 if flowering else 0.28
    raise_height(S, win, hp * (1 - 0.6 * L.rho ** 2).clip(0) * (cov > 0.4))
    pcov = cov
    # capsules (flowering) or drooping buds (pre-flowering)
    if flowering:
        Lc = lattice(win, 0.13, 0.13, ang + 0.7, seed + 101, (1, 1), (0.012, 0.022),
                     rng.uniform(0.15, 0.4), center_ok=pcov > 0.5)
        cspec = SPEC["capsule"]
    else:
        Lc = lattice(win, 0.14, 0.14, ang + 0.7, seed + 101, (1, 1), (0.008, 0.015),
                     P.get("buds", rng.uniform(0.05, 0.3)), center_ok=pcov > 0.5)
        cspec = SPEC["bud"]
    dc = detail(Lc, g)
    paint(S, win, colour(cspec, (0.9 + 0.2 * Lc.rand(5)) * (1 + 0.35 * dc * Lc.sunside())), Lc.cov)
    add_float(S, win, Lc.cov, 0.7, 0.7, 0.8)
    if flowering:
        poppy_flowers(S, win, P, pcov)
    if inter == "maize":
        maize_plants(S, win, P, du=rng.uniform(0.3, 0.45), dv=rng.uniform(0.9, 1.4),
                     ang=ang, seed=seed + 700, p=rng.uniform(0.5, 0.8), cok=P["cok"], dry=0.9)


def poppy_flowers(S, win, P, pcov):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    pal = P["palette"]  # probabilities over PETALS
    cum = np.cumsum(pal)
    p_open = P.get("bloom", rng.uniform(0.35, 0.8))
    Lf = lattice(win, 0.12, 0.12, P["angle"] + 0.3, seed + 202, (1, 1), (0.028, 0.052), p_open,
                 center_ok=pcov > 0.45, inner=0.85)
    cov = shape_cov(Lf, win, lobed(4, 0.5, 0.075))
    det = detail(Lf, g)
    r = Lf.rand(6)
    idx = np.searchsorted(cum.astype(np.float32), r * np.float32(cum[-1]))
    idx = np.clip(idx, 0, len(PETALS) - 1)
    petal = [np.choose(idx, [SPEC[n][b] for n in PETALS]).astype(np.float32) for b in range(4)]
    vb = 0.85 + 0.3 * Lf.rand(7)
    rho = Lf.rho
    # cup: darker deep inside, bright rim toward the sun; dark basal blotch in some plants
    shade = (0.78 + 0.22 * det * rho + 0.25 * det * Lf.sunside()) * vb
    has_blotch = Lf.rand(8) < P.get("blotch", 0.4)
    blotch_a = np.where(has_blotch, smoothstep(0.42, 0.28, rho), 0.0) * det
    centre_a = smoothstep(0.2, 0.12, rho) * det
    # averaged colour when the flower is ~1 px: petals dominate, blotch/centre ~15 % of area
    avg_bl = np.where(has_blotch, 0.12, 0.0) * (1 - det)
    col = []
    for b in range(4):
        c = petal[b] * shade
        c = c + (SPEC["petal_blotch"][b] - c) * (blotch_a + avg_bl)
        c = c + (SPEC["capsule"][b] * 1.1 - c) * (centre_a + 0.06 * (1 - det))
        col.append(c)
    paint(S, win, col, cov)
    add_float(S, win, cov, 0.8, 0.85, 0.8)
    # fallen petals on the soil
    if g < 0.06:
        Lp = lattice(win, 0.3, 0.3, 0.9, seed + 303, (1, 1), (0.012, 0.025), 0.12 * p_open,
                     center_ok=(pcov < 0.3) & P["mask"])
        ip = np.clip(np.searchsorted(cum.astype(np.float32), Lp.rand(6) * np.float32(cum[-1])), 0, 4)
        pc = [np.choose(ip, [SPEC[n][b] for n in PETALS]).astype(np.float32) * 0.8 for b in range(4)]
        paint(S, win, pc, Lp.cov)


# ----------------------------------------------------------------------------- brassicas etc.
def cabbage_plants(S, win, P, du, dv, ang, seed, p, rad, cok, presence=None):
    g = S.gsd
    L = lattice(win, du, dv, ang, seed, (0.25, 0.12), rad, p, center_ok=cok, presence=presence,
                inner=0.8)
    cov = shape_cov(L, win, lobed(6, 4, 0.08)) * allow(P, g, 0.15)
    det = detail(L, g)
    rho = L.rho
    th = L.theta()
    k = np.floor(5 + 4 * L.rand(4))
    head = smoothstep(0.45, 0.28, rho)
    rings = 0.5 + 0.5 * np.cos(TWO_PI * (rho * 3.0 + 0.18 * np.cos(k * th + TWO_PI * L.rand(5))))
    ribs = np.abs(np.cos(k * th * 0.5 + TWO_PI * L.rand(8))) ** 24 * smoothstep(0.3, 0.55, rho)
    bright = ((1 - 0.25 * det * rho ** 2) * (1 + 0.35 * det * L.sunside()) * (1 - 0.30 * det * (1 - rings) ** 2)
              * (1 + 0.35 * det * ribs) * (0.9 + 0.25 * L.rand(6))
              * (1 + 0.08 * att(0.03, g) * nz(S, win, "fine")))
    spec = mixs(SPEC["cabbage_outer"], SPEC["cabbage_head"], head * 0.85 * det + 0.2 * (1 - det))
    old = (rho > 0.82) & (L.rand(9) < 0.35)
    spec = [np.where(old, SPEC["cabbage_old"][b], spec[b]) for b in range(4)]
    col = [spec[b] * bright * t for b, t in enumerate(tint(L.rand(10), (0.12, 0.06, 0.08, 0.06)))]
    paint(S, win, col, cov)
    raise_height(S, win, 0.32 * (1 - rho ** 2).clip(0) * (cov > 0.4))
    return cov


def cabbage(S, win, P):
    rng = P["rng"]
    du = rng.uniform(0.38, 0.5)
    dv = rng.uniform(0.5, 0.65)
    tilled_soil(S, win, P, rowdv=dv, weeds=rng.uniform(0.02, 0.1), ridge=0.15)
    cabbage_plants(S, win, P, du, dv, P["angle"], P["seed"], rng.uniform(0.82, 0.97),
                   (rng.uniform(0.15, 0.2), rng.uniform(0.22, 0.3)), P["cok"])


def mustard_plants(S, win, P, seed, p, cok, bloom=0.6):
    g = S.gsd
    rng = P["rng"]
    sp = rng.uniform(0.17, 0.25)
    L = lattice(win, sp, sp, P["angle"], seed, (0.95, 0.95), (0.08, 0.14), p, center_ok=cok,
                inner=0.7)
    cov = shape_cov(L, win, lobed(5, 3, 0.15)) * allow(P, g, 0.1)
    det = detail(L, g)
    bright = (1 - 0.3 * det * L.rho ** 2) * (1 + 0.25 * det * L.sunside()) * (0.85 + 0.3 * L.rand(6))
    paint(S, win, colour(SPEC["mustard_leaf"], bright, tint(L.rand(7), (0.1, 0.05, 0.1, 0.05))), cov)
    raise_height(S, win, 0.6 * (cov > 0.4))
    if bloom > 0:
        Lf = lattice(win, 0.07, 0.07, 0.4, seed + 7, (1, 1), (0.024, 0.042), bloom,
                     center_ok=cov > 0.4, inner=0.8)
        fc = shape_cov(Lf, win, lobed(5, 3, 0.1))
        df = detail(Lf, g)
        speck = 1.0 + 0.25 * att(0.01, g) * nz(S, win, "fine")
        fb = (0.8 + 0.35 * Lf.rand(6)) * (1 + 0.25 * df * Lf.sunside()) * speck
        paint(S, win, colour(SPEC["mustard_flower"], fb, tint(Lf.rand(8), (0.3, 0.05, 0.02, 0.02))), fc)
        raise_height(S, win, 0.8 * (fc > 0.5))
    return cov


def mustard(S, win, P):
    rng = P["rng"]
    tilled_soil(S, win, P, weeds=0.04)
    mustard_plants(S, win, P, P["seed"], rng.uniform(0.85, 0.97), P["cok"],
                   bloom=rng.uniform(0.55, 0.95))


def buckwheat(S, win, P):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    tilled_soil(S, win, P, weeds=0.03)
    sp = rng.uniform(0.11, 0.16)
    L = lattice(win, sp, sp, P["angle"], seed, (0.95, 0.95), (0.06, 0.10), rng.uniform(0.85, 0.97),
                center_ok=P["cok"], inner=0.7)
    cov = shape_cov(L, win, lobed(3, 2, 0.15)) * allow(P, g, 0.08)
    det = detail(L, g)
    bright = (1 - 0.3 * det * L.rho ** 2) * (1 + 0.25 * det * L.sunside()) * (0.85 + 0.3 * L.rand(6))
    spec = mixs(SPEC["buckwheat_leaf"], SPEC["buckwheat_stem"], 0.25 * smoothstep(0.3, 0.0, L.rho) * det
                + 0.08 * (1 - det))
    paint(S, win, colour(spec, bright), cov)
    raise_height(S, win, 0.7 * (cov > 0.4))
    pink = rng.uniform(0.0, 0.8)
    fl = np.where(L.rand(11) < rng.uniform(0.3, 0.7), 1.0, 0.15).astype(np.float32)
    Lf = lattice(win, 0.05, 0.05, 0.9, seed + 9, (1, 1), (0.01, 0.022), rng.uniform(0.5, 0.9),
                 center_ok=cov > 0.3, presence=fl, inner=0.8)
    fc = shape_cov(Lf, win, lobed(4, 4, 0.12))
    df = detail(Lf, g)
    spk = 1.0 + 0.3 * att(0.008, g) * nz(S, win, "fine")
    fs = mixs(SPEC["buck_white"], SPEC["buck_pink"], np.clip(pink + 0.4 * (Lf.rand(5) - 0.5), 0, 1))
    fb = (0.75 + 0.35 * Lf.rand(6)) * (1 + 0.2 * df * Lf.sunside()) * spk
    paint(S, win, colour(fs, fb), fc)
    raise_height(S, win, 0.85 * (fc > 0.5))


# ----------------------------------------------------------------------------- cannabis
def cannabis(S, win, P):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    tilled_soil(S, win, P, weeds=rng.uniform(0.05, 0.2))
    if rng.random() < 0.5:
        du = dv = rng.uniform(0.8, 1.3)
        jit = (0.7, 0.7)
    else:
        du = rng.uniform(0.6, 1.0)
        dv = rng.uniform(0.9, 1.3)
        jit = (0.35, 0.15)
    rad = (rng.uniform(0.30, 0.4), rng.uniform(0.5, 0.68))
    L = lattice(win, du, dv, P["angle"], seed, jit, rad, rng.uniform(0.85, 0.98), center_ok=P["cok"],
                inner=0.76)
    covb = shape_cov(L, win, lobed(7, 5, 0.12)) * allow(P, g, 0.3)
    det = detail(L, g)
    ss = L.sunside()
    yel = P.get("yellow", rng.uniform(-0.5, 0.5))
    ty = [1 - 0.15 * yel, 1 + 0.06 * yel, 1 + 0.2 * yel, 1.0]
    base_b = (0.55 + 0.45 * (0.5 + 0.5 * ss * det)) * (1 - 0.35 * det * L.rho ** 2)
    paint(S, win, colour(SPEC["cannabis_deep"], base_b * 1.3), covb)
    # palmate leaves: 7-leaflet stars on the bush surface
    Ll = lattice(win, 0.13, 0.13, 0.37, seed + 5, (1, 1), (0.07, 0.12), 0.92,
                 center_ok=covb > 0.5, inner=0.35)

    def star(Lx):
        phi = Lx.rand(5) * TWO_PI
        return Lx.r * (0.3 + 0.7 * np.abs(np.cos(3.5 * (Lx.theta() - phi))) ** 1.6)

    lc = shape_cov(Ll, win, star) * covb
    dl = detail(Ll, g)
    lb = ((0.7 + 0.55 * Ll.rand(6)) * (1 + 0.25 * dl * Ll.sunside()) * (0.75 + 0.35 * (0.5 + 0.5 * ss))
          * (1 - 0.2 * L.rho ** 2))
    paint(S, win, colour(SPEC["cannabis_leaf"], lb, [ty[b] * t for b, t in
                                                      enumerate(tint(Ll.rand(7), (0.1, 0.06, 0.1, 0.05)))]),
          lc)
    H = rng.uniform(1.0, 1.9)
    raise_height(S, win, H * np.sqrt((1 - L.rho ** 2).clip(0)) * (covb > 0.35))


# ----------------------------------------------------------------------------- maize
def maize_plants(S, win, P, du, dv, ang, seed, p, cok, dry=0.8):
    g = S.gsd
    L = lattice(win, du, dv, ang, seed, (0.35, 0.12), (0.35, 0.6), p, center_ok=cok, inner=0.05,
                stat_below=0.05)
    th = L.theta()
    k = np.floor(6 + 5 * L.rand(4))
    phi = L.rand(5) * TWO_PI
    sector = TWO_PI / k
    a = np.mod(th - phi, sector)
    m = np.floor(np.mod(th - phi, TWO_PI) / sector).astype(np.uint32)
    hb = np.take(L.cell_h, L.best) if not L.stat else L.pix_hash
    spk = mix32(hb ^ (m * U32(0x2545F491)))
    lfrac = 0.45 + 0.55 * (spk >> U32(8)).astype(np.float32) / np.float32(16777216)
    d = L.d
    leafL = L.r * lfrac
    lat = np.abs(np.sin(a - sector * 0.5)) * d
    w = 0.07 * np.clip(np.sin(np.pi * np.clip(d / np.maximum(leafL, 1e-3), 0, 1)), 0, 1) ** 0.6 + 0.01
    hw = w * 0.5
    hwe = np.maximum(hw, 0.5 * g)
    sc = np.minimum(1.0, hw / (0.5 * g))
    cov = np.clip((hwe - lat) / g + 0.5, 0, 1) * sc * (d < leafL)
    stalk = np.clip((0.022 - d) / g + 0.5, 0, 1) * np.minimum(1, (0.022 / (0.5 * g)) ** 2)
    cov = np.maximum(cov, stalk) * (L.rho < 1) * allow(P, g, 0.4)
    vb = 0.7 + 0.5 * ((spk >> U32(4)) & U32(255)).astype(np.float32) / 255.0
    along = np.cos(TWO_PI * d / 0.17 + phi) * 0.12 * per_att(0.17, g)
    isdry = L.rand(6) < dry
    spec = mixs(SPEC["maize_green"], mixs(SPEC["maize_dry"], SPEC["maize_brown"], L.rand(7) * 0.7),
                isdry.astype(np.float32))
    paint(S, win, colour(spec, vb * (1 + along)), cov)
    H = 1.5 + 0.7 * L.rand(8)
    hl = np.where(d < 0.04, H, H * 0.45 * (1 - np.clip(d / np.maximum(leafL, 1e-3), 0, 1)))
    raise_height(S, win, hl * (cov > 0.4))
    return cov


def maize(S, win, P):
    rng = P["rng"]
    dv = rng.uniform(0.6, 0.8)
    tilled_soil(S, win, P, rowdv=dv, weeds=rng.uniform(0.05, 0.25), residue=rng.uniform(0.1, 0.35))
    maize_plants(S, win, P, rng.uniform(0.25, 0.38), dv, P["angle"], P["seed"],
                 rng.uniform(0.75, 0.95), P["cok"], dry=P.get("dry", rng.uniform(0.6, 1.0)))


# ----------------------------------------------------------------------------- tea
def tea(S, win, P):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    sp = rng.uniform(1.3, 1.8)
    width = rng.uniform(0.75, 1.1)
    dem = S.dem_base[win.sl]
    gy, gx = np.gradient(dem, g)
    slope = float(np.median(np.hypot(gx, gy)[P["mask"]])) if P["mask"].any() else 0.0
    nm = nz(S, win, "mid")
    if slope > 0.12:
        phase = dem / np.float32(sp * slope)
        gn = np.hypot(gx, gy) + 1e-6
        ux, uy = gx / gn, gy / gn  # uphill
    else:
        u, v = frame_uv(win, P["angle"])
        phase = v / np.float32(sp)
        ux = -np.sin(P["angle"]) + 0 * v
        uy = np.cos(P["angle"]) + 0 * v
    phase = phase + 0.05 * nm + 0.08 * nz(S, win, "coarse") + rng.uniform(0, 1)
    f = phase - np.floor(phase)
    hw = width / sp / 2
    q = np.abs(f - 0.5)
    edge = 0.06 / sp
    hedge = smoothstep(hw + edge, hw - edge, q + 0.03 * nz(S, win, "coarse")) * allow(P, g, 0.0)
    # ground between rows: soil with litter
    tilled_soil(S, win, P, weeds=0.05, clod=0.3, residue=0.05)
    paint(S, win, colour(SPEC["understory"], 1.2 + 0.2 * nm), 0.4 * P["mask"])
    cross = np.clip((f - 0.5) / hw, -1, 1)
    sunup = ux * S.sun_vec[0] + uy * S.sun_vec[1]
    Lc = lattice(win, 0.2, 0.2, 0.3, seed + 3, (1, 1), (0.1, 0.16), 1.0, inner=0.9)
    dc = detail(Lc, g)
    bright = ((0.85 + 0.3 * Lc.rand(5)) * (1 + 0.25 * dc * Lc.sunside()) * (1 - 0.3 * dc * Lc.rho ** 2)
              * (1 - 0.25 * cross * sunup - 0.2 * cross ** 2))
    flush = (Lc.rand(6) < rng.uniform(0.05, 0.25)).astype(np.float32)
    spec = mixs(SPEC["tea"], SPEC["tea_flush"], flush * 0.8)
    paint(S, win, colour(spec, bright), hedge)
    raise_height(S, win, rng.uniform(0.7, 1.0) * np.sqrt((1 - cross ** 2).clip(0)) * (hedge > 0.4))


# ----------------------------------------------------------------------------- trees
TREE_KINDS = ("forest_ever", "forest_pine", "bamboo", "decid_bare", "autumn")


def crowns(S, win, L, cov, kinds, H, seed, clump=0.5, canopy=True):
    """Shade and paint tree crowns of lattice L (coverage cov). kinds: probabilities over TREE_KINDS.
    A crown is a dark interior with sunlit clumps of foliage on top; leafless crowns are see-through."""
    g = S.gsd
    det = detail(L, g)
    ss = L.sunside()
    cum = np.cumsum(kinds).astype(np.float32)
    kind = np.clip(np.searchsorted(cum, L.rand(6) * cum[-1]), 0, len(TREE_KINDS) - 1)
    spec = [np.choose(kind, [SPEC[n][b] for n in TREE_KINDS]).astype(np.float32) for b in range(4)]
    tn = tint(L.rand(8), (0.15, 0.1, 0.15, 0.08))
    bare = kind == 3
    fine = 1.0 + 0.2 * att(0.04, g) * nz(S, win, "fine")
    crown_b = (0.5 + 0.5 * (0.5 + 0.5 * ss * det)) * (0.85 + 0.3 * L.rand(7))
    cs = np.where(kind == 2, clump * 0.5, clump)  # bamboo: fine feathery texture
    Lq = lattice(win, clump, clump, 0.6, seed + 3, (1, 1), (clump * 0.42, clump * 0.62), 0.92,
                 center_ok=cov > 0.3, inner=0.8)
    dq = detail(Lq, g)
    qraw = shape_cov(Lq, win, lobed(5, 4, 0.15))
    # lumpy outline: near the rim only the clumps count
    cov = cov * np.where(L.rho < 0.78, 1.0, np.maximum(qraw, smoothstep(0.95, 0.78, L.rho)))
    qcov = qraw * cov * np.where(bare, 0.35, 1.0)
    # interior (self-shadowed foliage)
    cv = cov * np.where(bare, 0.45 + 0.2 * nz(S, win, "mid").clip(-1, 1), 1.0)
    paint(S, win, colour(spec, 0.42 * crown_b * fine, tn), cv)
    qb = ((0.8 + 0.4 * Lq.rand(5)) * (1 + 0.45 * dq * Lq.sunside()) * (1 - 0.35 * dq * Lq.rho ** 2)
          * crown_b * fine * (1 - 0.25 * det * L.rho ** 2))
    paint(S, win, colour(spec, qb, tn), qcov)
    dome = np.sqrt((1 - L.rho ** 2).clip(0))
    Ht = H * (0.85 + 0.3 * L.rand(9))
    if canopy:
        # closed stand: continuous canopy surface, crowns a few metres of relief on top
        hh = Ht * 0.6 + 0.4 * Ht * dome + 0.3 * qcov
        raise_height(S, win, hh * (cov > 0.35) * np.where(bare, (Lq.rand(4) < 0.6), 1.0))
    else:
        # free-standing tree: crown held up on a trunk
        add_float(S, win, cov, 0.35 * Ht, Ht * (0.75 + 0.25 * dome), np.where(bare, 0.5, 0.95))
    del cs


def forest(S, win, P):
    g = S.gsd
    rng = P["rng"]
    # dark understory and litter
    paint(S, win, colour(SPEC["understory"], 1.0 + 0.25 * nz(S, win, "mid") + 0.2 * nz(S, win, "coarse")),
          smoothstep(-0.1, 0.3, P["sd"]))
    cs = rng.uniform(2.6, 4.0)
    L = lattice(win, cs, cs, rng.uniform(0, 3), P["seed"], (0.9, 0.9), (0.5 * cs, 0.75 * cs), rng.uniform(0.9, 1.0),
                center_ok=P["mask"], inner=0.8)
    nm = nz(S, win, "coarse")

    def fuzzy(Lx):
        k = np.floor(5 + 5 * Lx.rand(4))
        return Lx.r * (0.86 + 0.14 * np.cos(k * Lx.theta() + TWO_PI * Lx.rand(5)) + 0.08 * nm)

    cov = shape_cov(L, win, fuzzy) * allow(P, g, 1.0)
    kinds = np.array([0.5, 0.15, 0.12, 0.15, 0.08]) * rng.uniform(0.5, 1.5, 5)
    crowns(S, win, L, cov, kinds, rng.uniform(8, 16), P["seed"], clump=rng.uniform(0.4, 0.7))


def blossoming_tree(S, win, P):
    g = S.gsd
    rng = P["rng"]
    seed = P["seed"]
    # grassy orchard floor with some bare soil rings
    paint(S, win, colour(SPEC[S.soil], 1.0 + 0.1 * nz(S, win, "mid")),
          0.35 * smoothstep(0.2, 0.9, nz(S, win, "coarse")) * P["mask"])
    area = float(P["mask"].sum()) * g * g
    sp = min(rng.uniform(3.8, 5.5), max(2.8, np.sqrt(area) * 0.55))
    cx, cy = P["centroid_m"]
    ca, sa = np.cos(P["angle"]), np.sin(P["angle"])
    org = (cx * ca + cy * sa - 0.5 * sp, -cx * sa + cy * ca - 0.5 * sp)
    L = lattice(win, sp, sp, P["angle"], seed, (0.35, 0.35), (min(1.3, sp * 0.4), min(2.3, sp * 0.55)),
                rng.uniform(0.8, 0.95) if area > 150 else 1.0, center_ok=P["cok"], inner=0.85, origin=org)
    ncz = nz(S, win, "coarse")

    def loose(Lx):
        k = np.floor(4 + 4 * Lx.rand(4))
        return Lx.r * (0.82 + 0.18 * np.cos(k * Lx.theta() + TWO_PI * Lx.rand(5)) + 0.1 * ncz)

    crown = shape_cov(L, win, loose) * allow(P, g, 1.0)
    det = detail(L, g)
    ss = L.sunside()
    # fine twigs darken what is under the crown
    paint(S, win, colour(SPEC["branch"], 1.0), crown * 0.35)
    th = L.theta()
    k = np.floor(5 + 4 * L.rand(4))
    sector = TWO_PI / k
    a = np.mod(th - L.rand(5) * TWO_PI, sector)
    lat = np.abs(np.sin(a - sector * 0.5)) * L.d
    hw = 0.045 * (1 - 0.7 * L.rho).clip(0.2)
    hwe = np.maximum(hw, 0.5 * g)
    br = np.clip((hwe - lat) / g + 0.5, 0, 1) * np.minimum(1, hw / (0.5 * g)) * (L.rho < 0.95)
    paint(S, win, colour(SPEC["branch"], 0.9 + 0.2 * L.rand(6)), br * crown)
    white = P.get("white", rng.uniform(0, 1))
    # a pink/white veil of small flowers on the twigs, denser clusters on top
    veil = mixs(SPEC["blossom_pink"], SPEC["blossom_white"], np.float32(np.clip(white, 0, 1)))
    paint(S, win, colour(veil, 0.8 + 0.2 * nz(S, win, "mid")), crown * 0.3 * (1 - L.rho ** 2).clip(0))
    Lb = lattice(win, 0.09, 0.09, 0.3, seed + 9, (1, 1), (0.02, 0.045), rng.uniform(0.4, 0.75),
                 center_ok=(crown > 0.5) & (L.rho < 0.97)
                 & (nz(S, win, "coarse") + 1.2 * (1 - L.rho) > 0.2), inner=0.8)
    bc = shape_cov(Lb, win, lobed(5, 3, 0.1))
    db = detail(Lb, g)
    sp_b = mixs(SPEC["blossom_pink"], SPEC["blossom_white"],
                np.clip(white + 0.3 * (Lb.rand(5) - 0.5), 0, 1))
    leafy = Lb.rand(7) < 0.08
    sp_b = [np.where(leafy, SPEC["leaf_green"][b] * 1.3, sp_b[b]) for b in range(4)]
    bb = ((0.7 + 0.3 * (0.5 + 0.5 * ss * det)) * (0.8 + 0.35 * Lb.rand(6)) * (1 + 0.25 * db * Lb.sunside())
          * (1 - 0.25 * det * L.rho ** 2))
    paint(S, win, colour(sp_b, bb), bc)
    H = rng.uniform(2.8, 4.8)
    dome = np.sqrt((1 - L.rho ** 2).clip(0))
    add_float(S, win, crown * (0.45 + 0.5 * np.maximum(bc, br)), rng.uniform(0.7, 1.2), H * (0.6 + 0.4 * dome))


# ----------------------------------------------------------------------------- bare soil
def bare_soil(S, win, P):
    rng = P["rng"]
    tilled_soil(S, win, P, rowdv=rng.uniform(0.3, 0.6), weeds=rng.uniform(0.0, 0.12),
                ridge=rng.uniform(0.12, 0.25), residue=rng.uniform(0, 0.15), clod=1.3, rough=1.3)


# ----------------------------------------------------------------------------- built
ROOFS = ("roof_zinc", "roof_rust", "roof_blue", "roof_red", "roof_tile", "roof_fibro", "roof_thatch")


def roof(S, win, P):
    g = S.gsd
    rng = P["rng"]
    mat = P.get("material") or ROOFS[int(rng.choice(len(ROOFS), p=[0.28, 0.14, 0.12, 0.08, 0.16, 0.16, 0.06]))]
    P["material"] = mat
    cx, cy = P["center_m"]
    ang = P["angle"]
    ca, sa = np.cos(ang), np.sin(ang)
    a = (win.xm - cx) * ca + (win.ym - cy) * sa  # along ridge
    c = -(win.xm - cx) * sa + (win.ym - cy) * ca  # across
    W = P["width_m"]
    pitch = np.deg2rad(rng.uniform(12, 30) if mat != "roof_thatch" else 40)
    side = np.sign(c + 1e-6)
    # roof plane normal (east, north, up); image y is south
    nx_img = -sa * side * np.sin(pitch)
    ny_img = ca * side * np.sin(pitch)
    sx, sy = S.sun_vec
    el = S.sun_el
    cosi = (nx_img * sx + ny_img * sy) * np.cos(el) + np.cos(pitch) * np.sin(el)
    ratio = np.clip(cosi / np.sin(el), 0.0, 3.0)
    m = P["mask"]
    dm = S.dirmul[win.sl]
    dm[m] = ratio[m] if np.ndim(ratio) else ratio
    nf, nm, nc = (nz(S, win, k) for k in ("fine", "mid", "coarse"))
    spec = SPEC[mat] * np.float32(rng.uniform(0.85, 1.15))
    b = 1.0 + 0.06 * nc + 0.05 * att(0.05, g) * nm
    if mat in ("roof_zinc", "roof_rust", "roof_blue", "roof_red"):
        b = b * (1 + 0.12 * per_att(0.076, g) * np.sin(TWO_PI * a / 0.076))
        b = b * (1 - 0.15 * smoothstep(0.6, 1.6, nm + 0.5 * nc))  # rust/dirt streaks
        # sheet overlaps every ~0.9 m
        b = b * (1 - 0.12 * att(0.05, g) * (np.mod(a, 0.9) < 0.04))
    elif mat == "roof_tile":
        b = b * (1 + 0.15 * per_att(0.3, g) * np.sin(TWO_PI * np.abs(c) / 0.3)) * (1 - 0.1 * nm.clip(0))
    elif mat == "roof_fibro":
        b = b * (1 + 0.10 * per_att(0.177, g) * np.sin(TWO_PI * a / 0.177)) * (1 - 0.25 * smoothstep(0.3, 1.3, nm))
    else:
        b = b * (1 + 0.2 * att(0.02, g) * nf)
    ridge = np.abs(c) < 0.12
    col = colour(spec, np.where(ridge, b * 0.85, b))
    inside = smoothstep(-0.02, 0.02, P["sd"])
    paint(S, win, col, inside)
    wall = rng.uniform(2.4, 3.4)
    raise_height(S, win, (wall + (W / 2 - np.abs(c)).clip(0) * np.tan(pitch)) * (inside > 0.5))


def road(S, win, P):
    g = S.gsd
    rng = P["rng"]
    from scipy.spatial import cKDTree
    line = P["line_m"]
    seg = np.diff(line, axis=0)
    sl = np.r_[0, np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))]
    n = max(int(sl[-1] / 0.2), 2)
    ss = np.linspace(0, sl[-1], n)
    dense = np.stack([np.interp(ss, sl, line[:, 0]), np.interp(ss, sl, line[:, 1])], 1)
    near = P["sd"] > -0.6
    yy, xx = np.nonzero(near)
    pts = np.stack([win.xm[0, xx], win.ym[yy, 0]], 1)
    tree = cKDTree(dense)
    dist, idx = tree.query(pts)
    along = np.zeros(win.shape, np.float32)
    across = np.zeros(win.shape, np.float32)
    along[yy, xx] = ss[idx]
    tang = np.gradient(dense, axis=0)
    tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1])[:, None], 1e-9)
    rel = pts - dense[idx]
    across[yy, xx] = rel[:, 0] * tang[idx, 1] - rel[:, 1] * tang[idx, 0]
    nm, nc, nf = (nz(S, win, k) for k in ("mid", "coarse", "fine"))
    hw = P["half_w_m"]
    inside = smoothstep(-0.05, 0.12, P["sd"] + 0.1 * nm + 0.05 * nc)
    if P["surface"] == "concrete":
        b = 1.0 + 0.05 * nc + 0.06 * att(0.05, g) * nm + 0.05 * att(0.02, g) * nf
        joint = np.mod(along, P["joint"]) < 0.015
        b = b * np.where(joint, 1 - 0.35 * att(0.015, g), 1.0)
        b = b * (1 - 0.25 * smoothstep(0.7, 1.6, nc + 0.5 * nm))  # mud, tyre dirt
        col = colour(SPEC["concrete"] * np.float32(rng.uniform(0.85, 1.1)), b)
        dirt = smoothstep(hw - 0.25, hw, np.abs(across)) * 0.6
        col = mixs(col, colour(SPEC[S.soil], 1.0 + 0.1 * nm), dirt)
    else:
        b = 1.18 + 0.08 * nc + 0.10 * att(0.05, g) * nm + 0.08 * att(0.02, g) * nf
        rut = smoothstep(0.18, 0.05, np.abs(np.abs(across) - 0.7 * hw))
        b = b * (1 - 0.2 * rut)
        col = colour(SPEC[S.soil] * np.float32(rng.uniform(0.9, 1.1)), b)
        grass = smoothstep(0.2, 0.05, np.abs(across)) * (hw > 0.9) * 0.7 * smoothstep(-0.5, 0.5, nm)
        col = mixs(col, colour(SPEC["grass_dry"], 1.0 + 0.15 * nf), grass)
    paint(S, win, col, inside)


# ----------------------------------------------------------------------------- background
def background(S, win):
    """Unlabelled grass/scrub: winter-dry and green grass, bracken, bare patches, shrubs and flowering
    weeds (Bidens-like white, Ageratum-like lilac), earthen terrace risers."""
    g = S.gsd
    nf, nm, nc, nl, nh = (nz(S, win, k) for k in ("fine", "mid", "coarse", "large", "huge"))
    dry = smoothstep(-0.9, 0.9, 0.8 * nl + 0.35 * nc + 0.6 * nh + S.dryness)
    col = mixs(SPEC["grass_green"], SPEC["grass_dry"], dry)
    b = (1.0 + 0.10 * nc + 0.10 * att(0.08, g) * nm + 0.04 * att(0.02, g) * nf) * 0.8
    col = [c * b for c in col]
    br = smoothstep(0.8, 1.4, S.noise["large2"][win.sl] + 0.3 * nc) * S.bracken
    col = mixs(col, colour(SPEC["bracken"], 0.9 + 0.2 * nm), br)
    bare = smoothstep(1.0, 1.6, -S.noise["large2"][win.sl] + 0.5 * nm) * S.bare_bg
    col = mixs(col, colour(SPEC[S.soil], 1.0 + 0.1 * nm), bare)
    R = S.refl[:, win.sl[0], win.sl[1]]
    for k in range(4):
        R[k] = col[k]
    # grass tussocks: tufts of blades, green/straw mixed by the dryness field
    Lt = lattice(win, 0.15, 0.15, 0.4, S.seed32 + 71, (1, 1), (0.06, 0.12), 0.9 - 0.6 * S.bare_bg * 0.5,
                 inner=0.35)

    def tuft(Lx):
        k = np.floor(9 + 7 * Lx.rand(4))
        return Lx.r * (0.3 + 0.7 * np.abs(np.cos(k * 0.5 * Lx.theta() + TWO_PI * Lx.rand(5))) ** 4)

    ct = shape_cov(Lt, win, tuft) * (1 - 0.8 * bare)
    dt = detail(Lt, g)
    t = np.clip(dry + 0.6 * (Lt.rand(6) - 0.5), 0, 1)
    tc = mixs(SPEC["grass_green"], SPEC["grass_dry"], t)
    tb = (0.75 + 0.45 * Lt.rand(7)) * (1 + 0.3 * dt * Lt.sunside()) * (1 - 0.25 * dt * Lt.rho)
    tb = tb * (1 + 0.1 * nc)
    paint(S, win, colour(tc, tb), ct)
    raise_height(S, win, 0.12 * ct * (1 - Lt.rho).clip(0))
    # risers
    if S.riser is not None:
        rs = S.riser[win.sl]
        paint(S, win, mixs(colour(SPEC["grass_green"], 0.9 + 0.2 * nm), colour(SPEC[S.soil], 1.0),
                           0.5 + 0.4 * nc.clip(-1, 1)), rs * 0.8)
    # shrubs
    cs = S.shrub_cell
    pres = smoothstep(0.2, 1.2, S.noise["large2"][win.sl] + 0.4 * nc + 0.5 * nl)
    Ls = lattice(win, cs, cs, 0.2, S.seed32 + 73, (1, 1), (0.3, 0.95), S.shrubs, presence=pres, inner=0.7)
    cs_ = shape_cov(Ls, win, lobed(5, 5, 0.15))
    ds = detail(Ls, g)
    kind = Ls.rand(6)
    spec = mixs(SPEC["shrub"], SPEC["shrub_grey"], (kind > 0.6).astype(np.float32))
    spec = mixs(spec, SPEC["bracken"], (kind > 0.9).astype(np.float32))
    sb = ((0.75 + 0.5 * Ls.rand(7)) * (1 + 0.3 * ds * Ls.sunside()) * (1 - 0.3 * ds * Ls.rho ** 2)
          * (1 + 0.2 * att(0.04, g) * nf))
    paint(S, win, colour(spec, sb), cs_)
    raise_height(S, win, (0.4 + 1.0 * Ls.rand(8)) * np.sqrt((1 - Ls.rho ** 2).clip(0)) * (cs_ > 0.4))
    # flowering weeds in patches
    wp = smoothstep(0.6, 1.5, S.noise["large2"][win.sl] * 0.5 + nc * 0.8) * S.weedflowers
    Lw = lattice(win, 0.12, 0.12, 1.3, S.seed32 + 79, (1, 1), (0.008, 0.016), 0.5, presence=wp)
    lil = (Lw.rand(5) < S.lilac).astype(np.float32)
    wspec = mixs(SPEC["petal_white"], SPEC["petal_lilac"], lil)
    paint(S, win, colour(wspec, 0.85 + 0.3 * Lw.rand(6)), Lw.cov)


def tree(S, win, cx, cy, R, H, seed, kinds):
    """A single unlabelled tree centred at (cx, cy) metres."""
    g = S.gsd
    dx = (win.xm - cx) + 0 * win.ym
    dy = (win.ym - cy) + 0 * win.xm

    class One:  # a one-object "layer"
        stat = False

    L = One()
    L.dx, L.dy = dx.astype(np.float32), dy.astype(np.float32)
    L.d = np.hypot(L.dx, L.dy)
    L.r = np.full(win.shape, R, np.float32)
    L.rho = L.d / R
    th = np.arctan2(L.dy, L.dx)
    base = mix32(np.array([seed], np.uint32))
    vals = [float(rand_k(base, k)[0]) for k in range(12)]
    L.rand = lambda k: np.float32(vals[k % 12])
    L.sunside = lambda: (L.dx * S.sun_vec[0] + L.dy * S.sun_vec[1]) / R
    kk = np.floor(3 + 4 * vals[4])
    redge = R * (0.9 + 0.05 * np.cos(kk * th + vals[5] * 6.28) + 0.04 * np.cos((kk + 3) * th + vals[7] * 6.28)
                 + 0.05 * S.noise["coarse"][win.sl])
    cov = np.clip((redge - L.d) / g + 0.5, 0, 1).astype(np.float32)
    crowns(S, win, L, cov, kinds, H, seed, clump=0.3 + 0.3 * vals[6], canopy=False)
