"""Scene assembly: terrain, footprint, plot layout, rendering, light and camera."""
import time

import numpy as np
from scipy import ndimage

import fg_classes as C
from fg_geom import (blob_polygon, band_polygon, rect_polygon, footprint_polygon, road_polyline,
                     buffer_polyline, rasterize_rings, geom_area, scale_about, partition, inset, convex_hull)
from fg_noise import field, fbm, smoothstep

CONDITIONS = ("normal", "haze", "shadow", "dark", "warm", "cool", "bright")
CLASSES = ("poppy", "cannabis", "cabbage", "buckwheat", "mustard", "blossoming_tree", "maize", "tea",
           "forest", "bare_soil", "roof", "road")
LOOKALIKES = ("cabbage", "buckwheat", "mustard", "blossoming_tree", "maize", "tea", "forest", "bare_soil")

# plot area range (m^2) per class
AREA = {"poppy": (40, 450), "cannabis": (40, 600), "cabbage": (60, 1200), "mustard": (60, 1500),
        "buckwheat": (80, 1800), "blossoming_tree": (80, 1200), "maize": (200, 2000), "tea": (200, 2000),
        "forest": (400, 4000), "bare_soil": (60, 1500), "roof": (24, 110)}
# how far plants may overhang the drawn outline (m), for windows
OVERHANG = {"forest": 2.5, "blossoming_tree": 1.5, "maize": 0.8, "cannabis": 0.6, "tea": 0.3}

RENDER = {"poppy": C.poppy, "cannabis": C.cannabis, "cabbage": C.cabbage, "buckwheat": C.buckwheat,
          "mustard": C.mustard, "blossoming_tree": C.blossoming_tree, "maize": C.maize, "tea": C.tea,
          "forest": C.forest, "bare_soil": C.bare_soil, "roof": C.roof, "road": C.road}


class Win:
    def __init__(self, S, r0, r1, c0, c1):
        self.r0, self.r1, self.c0, self.c1 = r0, r1, c0, c1
        self.shape = (r1 - r0, c1 - c0)
        self.sl = (slice(r0, r1), slice(c0, c1))
        self.gsd = S.gsd
        self.sun_vec = S.sun_vec
        self.rows = np.arange(r0, r1)
        self.cols = np.arange(c0, c1)
        self.xm = ((self.cols + 0.5) * S.gsd).astype(np.float32)[None, :]
        self.ym = ((self.rows + 0.5) * S.gsd).astype(np.float32)[:, None]


class Scene:
    def __init__(self, seed, size, gsd, condition="normal", season="mixed", layout_opts=None):
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}")
        if season not in ("flowering", "pre_flowering", "mixed"):
            raise ValueError("season must be flowering|pre_flowering|mixed")
        self.seed = int(seed)
        self.seed32 = int(np.random.default_rng([self.seed, 99]).integers(0, 2 ** 31 - 1))
        self.N = int(size)
        self.gsd = float(gsd)
        self.condition = condition
        self.season = season
        self.rng = np.random.default_rng([self.seed, 1])      # layout
        self.rng_tex = np.random.default_rng([self.seed, 2])  # texture fields
        self.rng_bg = np.random.default_rng([self.seed, 3])   # background parameters
        self.rng_cam = np.random.default_rng([self.seed, 4])  # camera
        self.rng_light = np.random.default_rng([self.seed, 5])
        N = self.N
        self.refl = np.zeros((4, N, N), np.float32)
        self.hgt = np.zeros((N, N), np.float32)
        self.dirmul = np.ones((N, N), np.float32)
        self.fcov = np.zeros((N, N), np.float32)
        self.fbase = np.zeros((N, N), np.float32)
        self.ftop = np.zeros((N, N), np.float32)
        self.label = np.zeros((N, N), np.int16)
        self.plots = []
        self.timing = {}

    # ------------------------------------------------------------------ setup
    def setup(self):
        t0 = time.time()
        N, g = self.N, self.gsd
        r = self.rng_tex
        self.noise = {
            "fine": field(r, (N, N), 0.02 / g),
            "mid": field(r, (N, N), 0.08 / g),
            "coarse": fbm(r, (N, N), 0.6 / g, 3),
            "large": fbm(r, (N, N), 5.0 / g, 3),
            "large2": fbm(r, (N, N), 3.0 / g, 3),
            "huge": field(r, (N, N), 25.0 / g),
        }
        self.timing["noise"] = time.time() - t0
        rb = self.rng_bg
        self.soil = str(rb.choice(["soil_red", "soil_brown", "soil_grey"], p=[0.5, 0.3, 0.2]))
        self.wet = rb.uniform(0, 1) if rb.random() < 0.4 else 0.0
        self.dryness = rb.uniform(-0.3, 0.9)
        self.bracken = rb.uniform(0, 1) if rb.random() < 0.5 else 0.0
        self.bare_bg = rb.uniform(0, 0.8)
        self.shrubs = rb.uniform(0.15, 0.55)
        self.weedflowers = rb.uniform(0, 0.6) if rb.random() < 0.7 else 0.0
        self.lilac = rb.uniform(0, 1)
        self.trees_p = rb.uniform(0.2, 0.7)
        self.shrub_cell = rb.uniform(1.6, 2.8)
        self._light()
        self._terrain()

    def _terrain(self):
        N, g = self.N, self.gsd
        r = self.rng_light
        E = N * g
        el = np.rad2deg(self.sun_el)
        smax = 38.0 if self.condition == "shadow" else max(12.0, min(35.0, el - 4.0))
        slope = np.tan(np.deg2rad(r.uniform(8, smax)))
        asp = r.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
        xm, ym = xx * g, yy * g
        relief = fbm(r, (N, N), max(0.7 * N, 40.0 / g), 2) * np.float32(E * r.uniform(0.04, 0.1) + 1.0)
        dem = slope * (xm * np.cos(asp) + ym * np.sin(asp)) + relief
        dem = dem - dem.min()
        self.dem_base = dem.astype(np.float32)
        self.riser = None
        self.terraced = bool(r.random() < 0.35 and E > 12)
        if self.terraced:
            step = r.uniform(0.4, 1.0)
            period = float(np.clip(step / slope, 2.0, 8.0))
            step = period * slope
            zone = smoothstep(-0.3, 0.3, field(r, (N, N), max(N / 2.0, 30.0 / g)) + r.uniform(-0.3, 1.0))
            z = dem / step
            k = np.floor(z)
            f = z - k
            q = min(0.6, (step * 0.5) / period)
            zt = step * (k + smoothstep(0.0, q, f))
            dem = dem + (zt - dem) * zone
            self.riser = (smoothstep(q * 1.05, q * 0.85, f) * zone).astype(np.float32)
            self.terrace_step = step
        self.dem = dem.astype(np.float32)
        self.slope_deg = float(np.rad2deg(np.arctan(slope)))

    def _light(self):
        r = self.rng_light
        N, g = self.N, self.gsd
        c = self.condition
        el = r.uniform(10, 20) if c == "shadow" else r.uniform(22, 44)
        az = r.uniform(115, 165) if r.random() < 0.7 else r.uniform(185, 235)
        self.sun_el = np.deg2rad(el)
        self.sun_az = np.deg2rad(az)
        self.sun_vec = (float(np.sin(self.sun_az)), float(-np.cos(self.sun_az)))
        self.fdir = r.uniform(0.35, 0.55) if c == "haze" else r.uniform(0.68, 0.82)
        low = np.clip((30 - el) / 20, 0, 1)
        sun_col = np.array([1.0 - 0.14 * low, 1.0, 1.0 + 0.05 * low, 1.0 + 0.08 * low], np.float32)
        sky_col = np.array([1.35, 1.1, 0.9, 0.7], np.float32)
        k = self.fdir * sun_col + (1 - self.fdir) * sky_col
        self.sun_col = sun_col / k
        self.sky_col = sky_col / k
        # clouds
        self.cloud = np.ones((N, N), np.float32)
        cov = 0.0
        ridge = c == "shadow" and r.random() < 0.6
        if c == "shadow":
            cov, depth = (r.uniform(0.12, 0.3) if ridge else r.uniform(0.2, 0.45)), r.uniform(0.75, 0.92)
        elif r.random() < 0.2:
            cov, depth = r.uniform(0.08, 0.25), r.uniform(0.4, 0.75)
        if cov > 0:
            cf = fbm(r, (N, N), max(N * 0.5, 20.0 / g), 3)
            thr = float(np.quantile(cf[::4, ::4], 1 - cov))
            soft = 0.12 + 0.2 * r.random()
            self.cloud = (1 - depth * smoothstep(thr - soft, thr + soft, cf)).astype(np.float32)
        if ridge:
            # shadow of a ridge outside the scene, on the side toward the sun
            sx, sy = self.sun_vec
            yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
            proj = ((xx - N / 2) * sx + (yy - N / 2) * sy) / N
            wav = field(r, (N, N), N / 3.0) * 0.06
            cut = r.uniform(0.2, 0.45)
            self.cloud *= (1 - 0.97 * smoothstep(cut - 0.02, cut + 0.02, proj + wav)).astype(np.float32)
        # haze
        if c == "haze":
            t = r.uniform(0.45, 0.7) + 0.12 * field(r, (N, N), max(N / 2.0, 10.0 / g))
            if r.random() < 0.6:
                fog = smoothstep(0.3, 1.5, fbm(r, (N, N), max(N / 3.0, 8.0 / g), 3))
                t = t - r.uniform(0.2, 0.4) * fog
            self.transmission = np.clip(t, 0.15, 0.95).astype(np.float32)
            lvl = r.uniform(0.25, 0.42)
        else:
            self.transmission = np.float32(r.uniform(0.9, 0.98))
            lvl = r.uniform(0.2, 0.3)
        self.airlight = np.array([1.1, 1.04, 1.0, 0.8], np.float32) * np.float32(lvl)

    # ------------------------------------------------------------------ layout
    def footprint(self, layout):
        N = self.N
        rf = np.random.default_rng([self.seed, 6])
        self.fp_ring, fpm = footprint_polygon(rf, N)
        self.fp_used = layout in ("rgba", "rgbn")
        if not self.fp_used:
            self.fp_mask = np.ones((N, N), bool)
        else:
            self.fp_mask = fpm

    def _coarse(self):
        N = self.N
        f = max(1, int(np.ceil(N / 256)))
        self.cf = f
        Nc = int(np.ceil(N / f))
        self.Nc = Nc
        pad = np.zeros((Nc * f, Nc * f), bool)
        pad[:N, :N] = self.fp_mask
        fpc = pad.reshape(Nc, f, Nc, f).mean((1, 3)) >= 0.999
        # keep away from the raster edge too
        m = max(1, int(np.ceil(0.3 / (self.gsd * f))))
        fpc[:m] = fpc[-m:] = False
        fpc[:, :m] = fpc[:, -m:] = False
        self.fpc = fpc
        self.occ = np.zeros((Nc, Nc), bool)
        self._od = None
        self._fe = None

    def _rc(self, rings):
        return rasterize_rings([r / self.cf for r in rings], (self.Nc, self.Nc), all_touched=True)

    def _occ_dist(self):
        if self._od is None:
            self._od = ndimage.distance_transform_edt(~self.occ) if self.occ.any() else \
                np.full(self.occ.shape, 1e9)
        return self._od

    def _fits(self, mc, gap_px, inside=None):
        if not mc.any():
            return False
        if inside is None:
            inside = self.fpc
        if (mc & ~inside).any():
            return False
        return bool(self._occ_dist()[mc].min() > gap_px)

    def _center(self, r, rad_px, inside=None):
        if inside is None:
            if self._fe is None:
                free = self.fpc & ~self.occ
                self._fe = ndimage.distance_transform_edt(free) if free.any() else None
            d = self._fe
        else:
            free = inside & ~self.occ
            d = ndimage.distance_transform_edt(free) if free.any() else None
        if d is None:
            return None
        ok = d >= min(rad_px * 0.8, d.max() * 0.9)
        ys, xs = np.nonzero(ok)
        if len(xs) == 0:
            return None
        k = int(r.integers(0, len(xs)))
        return (xs[k] + r.uniform(0, 1)) * self.cf, (ys[k] + r.uniform(0, 1)) * self.cf

    def contour_angle(self, x, y):
        N = self.N
        i = int(np.clip(y, 0, N - 1))
        j = int(np.clip(x, 0, N - 1))
        i0, i1 = max(i - 3, 0), min(i + 4, N)
        j0, j1 = max(j - 3, 0), min(j + 4, N)
        d = self.dem_base[i0:i1, j0:j1]
        gr, gc = np.gradient(d)
        return float(np.arctan2(gr.mean(), gc.mean()) + np.pi / 2)  # along contour

    def place(self, cls, area_m2, shape=None, inside=None, tries=40, gap_m=None):
        """Find a spot for an irregular plot; returns its exterior ring (pixel coords) or None."""
        r = self.rng
        g = self.gsd
        if gap_m is None:
            gap_m = r.uniform(0.4, 1.6) if self.N * g > 40 else r.uniform(0.25, 0.6)
        gap_px = int(np.ceil(gap_m / (g * self.cf)))
        area = area_m2
        for t in range(tries):
            if t and t % 10 == 0:
                area = max(40.0 if cls != "roof" else 20.0, area * 0.7)
            a_px = area / (g * g)
            rad_px = np.sqrt(a_px / np.pi) / self.cf
            c = self._center(r, rad_px, inside)
            if c is None:
                return None
            cx, cy = c
            ang_c = self.contour_angle(cx, cy)
            kind = shape or ("band" if (self.terraced and r.random() < 0.6) or r.random() < 0.25 else "blob")
            if kind == "band":
                ring = band_polygon(r, cx, cy, a_px, r.uniform(2.0, 5.0), ang_c + r.normal(0, 0.1))
            elif kind == "rect":
                L = np.sqrt(area * r.uniform(1.2, 2.2))
                W = area / L
                ring = rect_polygon(cx, cy, L / g, W / g, r.uniform(0, np.pi))
            else:
                ang = ang_c + r.normal(0, 0.3) if r.random() < 0.6 else r.uniform(0, np.pi)
                ring = blob_polygon(r, cx, cy, a_px, r.uniform(1.0, 2.6), ang)
            if ring[:, 0].min() < 1 or ring[:, 1].min() < 1 or ring[:, 0].max() > self.N - 1 or \
                    ring[:, 1].max() > self.N - 1:
                continue
            mc = self._rc([ring])
            if self._fits(mc, gap_px, inside):
                return ring
        return None

    def add_plot(self, cls, rings, **props):
        pid = len(self.plots) + 1
        self.plots.append(dict(cls=cls, rings=rings, pid=pid, **props))
        self.occ |= self._rc(rings[:1])
        self._od = None
        self._fe = None
        return self.plots[-1]

    def plan(self):
        """Choose and place the plots: roads, hosts with hidden poppy, the required classes, then
        more look-alikes until about half the footprint is cultivated."""
        r = self.rng
        g = self.gsd
        N = self.N
        self._coarse()
        E = N * g
        A_fp = float(self.fp_mask.mean()) * E * E
        self.A_fp = A_fp
        season = self.season
        n_poppy = int(np.clip(A_fp / 2500, 2, 5))
        if season == "mixed":
            stages = ["flowering", "pre_flowering"] + [str(r.choice(["flowering", "pre_flowering"]))
                                                       for _ in range(n_poppy - 2)]
        else:
            stages = [season] * n_poppy
        small = A_fp < 900
        cap = max(45.0, 0.11 * A_fp)
        self.patchwork = A_fp < 2000

        def area(cls):
            lo, hi = AREA[cls]
            hi = min(hi, cap * (2.5 if cls in ("forest", "maize", "tea") else 1.0))
            lo = min(lo, hi)
            if small:
                lo, hi = 40.0 if cls != "roof" else 20.0, max(42.0, min(hi, 0.09 * A_fp))
            return float(np.exp(r.uniform(np.log(lo), np.log(max(hi, lo + 1)))))

        # roads / paths
        if not self.patchwork and E > 25 and r.random() < 0.75:
            for _ in range(1 + int(E > 90 and r.random() < 0.5)):
                line = road_polyline(r, N, g, self.fp_mask)
                if line is None:
                    continue
                conc = r.random() < 0.4
                hw_m = r.uniform(1.2, 1.8) if conc else r.uniform(0.5, 1.0)
                ring = buffer_polyline(line, hw_m / g, r, 0.08)
                mc = self._rc([ring])
                if (mc & self.occ).any():
                    continue
                self.add_plot("road", [ring], line_m=line * g, half_w_m=hw_m,
                              surface="concrete" if conc else "dirt", joint=r.uniform(3.0, 5.0))
        # forest with a poppy clearing; maize with poppy hidden inside
        hidden = []
        if A_fp > 5000 and r.random() < 0.55:
            hidden.append("forest")
        if A_fp > 4000 and r.random() < 0.55:
            hidden.append("maize")
        for host in hidden:
            ring = self.place(host, max(area(host), 350.0), shape="blob")
            if ring is None:
                continue
            hm = self._rc([ring])
            inner = ndimage.binary_erosion(hm, iterations=max(2, int(1.5 / (g * self.cf))))
            if not stages:
                break
            gst = self.place("poppy", r.uniform(40, 160), shape="blob", inside=inner, gap_m=0.0)
            if gst is None:
                self.add_plot(host, [ring])
                continue
            stage = stages.pop(0)
            if host == "forest":
                hole = scale_about(gst, r.uniform(1.2, 1.4))
                if not (self._rc([hole]) & ~inner).any():
                    self.add_plot(host, [ring, hole[::-1]])
                else:
                    self.add_plot(host, [ring, gst[::-1]])
                self.add_plot("poppy", [gst], stage=stage, host=host)
            else:
                self.add_plot(host, [ring, gst[::-1]])
                self.add_plot("poppy", [gst], stage=stage, inter="maize", host=host)
        # required: poppy (both stages), cannabis, then look-alikes
        todo = [("poppy", s) for s in stages]
        todo.append(("cannabis", None))
        if A_fp > 3000:
            todo.append(("cannabis", None))
        la = list(LOOKALIKES)
        if "forest" in hidden:
            la.remove("forest")
        if "maize" in hidden:
            la.remove("maize")
        r.shuffle(la)
        hard = [c for c in ("cabbage", "buckwheat", "mustard", "blossoming_tree") if c in la]
        r.shuffle(hard)
        n_la = int(np.clip(A_fp / 700, 3, 8))
        chosen = hard[:3] + [c for c in la if c not in hard[:3]][: max(0, n_la - 3)]
        todo += [(c, None) for c in chosen]
        # interplanting for one of the poppy plots
        inter_kind = str(r.choice(["cabbage", "mustard", "none"], p=[0.45, 0.3, 0.25]))
        if self.patchwork:
            return self._plan_patchwork(todo, inter_kind)
        if A_fp > 3000:
            todo += [("roof", None)] * int(r.integers(0, 3 if E < 120 else 5))
        target = 0.55 * A_fp
        used = sum(geom_area(p["rings"]) * g * g for p in self.plots if p["cls"] != "road")
        k = 0
        fails = 0
        while True:
            required = k < len(todo)
            if required:
                cls, stage = todo[k]
            else:
                if used > target or fails >= 6 or k > len(todo) + 40:
                    break
                cls = str(r.choice(["poppy", "cannabis"] + list(LOOKALIKES),
                                   p=np.r_[[0.14, 0.06], np.full(len(LOOKALIKES), 0.8 / len(LOOKALIKES))]))
                stage = None
                if cls == "poppy":
                    stage = season if season != "mixed" else str(r.choice(["flowering", "pre_flowering"]))
            k += 1
            ring = self.place(cls, area(cls), shape="rect" if cls == "roof" else None,
                              tries=40 if required else 12)
            if ring is None:
                fails += 1
                continue
            fails = 0
            props = {}
            if cls == "poppy":
                props["stage"] = stage
                if inter_kind != "none":
                    props["inter"] = inter_kind
                    inter_kind = "none"
            self.add_plot(cls, [ring], **props)
            used += geom_area([ring]) * g * g

    def _plan_patchwork(self, todo, inter_kind):
        """Small scenes (low flights): a patchwork of adjacent plots separated by narrow bunds, so the
        required classes fit in a few hundred square metres."""
        r = self.rng
        g = self.gsd
        N = self.N
        region = convex_hull(scale_about(self.fp_ring, 0.97)) if self.fp_used else \
            np.array([[0.03 * N, 0.03 * N], [0.97 * N, 0.03 * N], [0.97 * N, 0.97 * N], [0.03 * N, 0.97 * N]])
        gap = r.uniform(0.2, 0.35) / g
        min_area = (40.5 + 4.2 * np.sqrt(40.0) * gap * g) / (g * g)
        along = self.contour_angle(N / 2, N / 2) if self.terraced else None
        pieces = partition(r, region, len(todo) + 4 + int(r.integers(0, 4)), min_area, along)
        ok = []
        for P in pieces:
            ring = inset(r, P, gap)
            mc = self._rc([ring])
            if mc.sum() and (mc & self.fpc).sum() >= 0.9 * mc.sum() and geom_area([ring]) * g * g >= 39.5:
                ok.append(ring)
        order = np.argsort([-geom_area([q]) for q in ok], kind="stable")
        ok = [ok[i] for i in order]
        # required first (largest pieces to the largest-field classes), the rest: some grass, some crops
        big_first = sorted(todo, key=lambda t: t[0] not in ("forest", "maize", "tea"))
        for i, ring in enumerate(ok):
            if i < len(big_first):
                cls, stage = big_first[i]
            else:
                if r.random() < 0.35:
                    continue
                cls = str(r.choice(["poppy", "cabbage", "mustard", "bare_soil", "maize", "buckwheat"]))
                stage = (self.season if self.season != "mixed" else str(r.choice(["flowering", "pre_flowering"]))) \
                    if cls == "poppy" else None
            props = {}
            if cls == "poppy":
                props["stage"] = stage
                if inter_kind != "none":
                    props["inter"] = inter_kind
                    inter_kind = "none"
            self.add_plot(cls, [ring], **props)

    def plan_gallery(self):
        """Development aid: one plot per class (and per poppy variant) on a grid."""
        self._coarse()
        items = [("poppy", dict(stage="flowering")), ("poppy", dict(stage="pre_flowering")),
                 ("poppy", dict(stage="flowering", inter="cabbage")), ("poppy", dict(stage="flowering", inter="mustard")),
                 ("cannabis", {}), ("cabbage", {}), ("buckwheat", {}), ("mustard", {}),
                 ("blossoming_tree", {}), ("maize", {}), ("tea", {}), ("forest", {}),
                 ("bare_soil", {}), ("poppy", dict(stage="flowering", inter="maize")), ("roof", {}),
                 ("poppy", dict(stage="pre_flowering", inter="cabbage"))]
        n = 4
        cell = self.N / n
        r = self.rng
        for k, (cls, props) in enumerate(items):
            cx = (k % n + 0.5) * cell
            cy = (k // n + 0.5) * cell
            if cls == "roof":
                ring = rect_polygon(cx, cy, cell * 0.5, cell * 0.3, 0.3)
            else:
                ring = blob_polygon(r, cx, cy, (cell * 0.75) ** 2, 1.2, r.uniform(0, 3))
            self.add_plot(cls, [ring], **props)

    # ------------------------------------------------------------------ render
    def plot_window(self, P):
        g = self.gsd
        N = self.N
        ring = P["rings"][0]
        pad = int(np.ceil(OVERHANG.get(P["cls"], 0.4) / g)) + 3
        c0 = max(int(np.floor(ring[:, 0].min())) - pad, 0)
        c1 = min(int(np.ceil(ring[:, 0].max())) + pad, N)
        r0 = max(int(np.floor(ring[:, 1].min())) - pad, 0)
        r1 = min(int(np.ceil(ring[:, 1].max())) + pad, N)
        return Win(self, r0, r1, c0, c1)

    def render(self):
        t0 = time.time()
        T = 512
        for r0 in range(0, self.N, T):
            for c0 in range(0, self.N, T):
                C.background(self, Win(self, r0, min(r0 + T, self.N), c0, min(c0 + T, self.N)))
        self.timing["background"] = time.time() - t0
        g = self.gsd
        order = sorted(self.plots, key=lambda p: (p.get("host") is not None, p["cls"] == "roof"))
        for P in order:
            t1 = time.time()
            win = self.plot_window(P)
            mask = rasterize_rings(P["rings"], win.shape, win.r0, win.c0)
            lab = self.label[win.sl]
            lab[mask & (lab == 0)] = P["pid"]
            din = ndimage.distance_transform_edt(mask)
            dout = ndimage.distance_transform_edt(~mask)
            sd = ((din - dout) * g).astype(np.float32)
            sd = np.where(mask, sd - 0.5 * g, sd + 0.5 * g)
            prng = np.random.default_rng([self.seed, 1000 + P["pid"]])
            cok = mask.copy()
            if self.riser is not None:
                cok &= self.riser[win.sl] < 0.5
            ring = P["rings"][0]
            cx, cy = ring.mean(0)
            ang = self.contour_angle(cx, cy) if prng.random() < 0.7 else prng.uniform(0, np.pi)
            Pd = dict(P)
            Pd.update(rng=prng, seed=int(prng.integers(0, 2 ** 31 - 1)), mask=mask, sd=sd, cok=cok,
                      centroid_m=(float(cx * g), float(cy * g)),
                      angle=ang + prng.normal(0, 0.05))
            if P["cls"] == "poppy":
                dom = int(prng.choice(5, p=[0.34, 0.22, 0.18, 0.18, 0.08]))
                pal = np.full(5, 0.0)
                pal[dom] = prng.uniform(0.55, 0.95)
                rest = prng.dirichlet(np.ones(5) * 0.6) * (1 - pal[dom])
                pal += rest
                Pd["palette"] = pal
                Pd["glauc"] = prng.uniform(0.5, 1.0)
                Pd["blotch"] = prng.uniform(0.0, 0.8)
                P["palette"] = {n.replace("petal_", ""): round(float(v), 3) for n, v in zip(C.PETALS, pal)}
            if P["cls"] == "roof":
                a = ring[1] - ring[0]
                b = ring[2] - ring[1]
                la, lb = np.hypot(*a), np.hypot(*b)
                ax = a if la >= lb else b
                Pd["angle"] = float(np.arctan2(ax[1], ax[0]))
                Pd["center_m"] = (float(cx * g), float(cy * g))
                Pd["width_m"] = float(min(la, lb) * g)
            RENDER[P["cls"]](self, win, Pd)
            for k in ("material",):
                if k in Pd:
                    P[k] = Pd[k]
            self.timing[P["cls"]] = self.timing.get(P["cls"], 0) + time.time() - t1
        t1 = time.time()
        self._trees()
        self.timing["trees"] = time.time() - t1

    def _trees(self):
        """Scattered unlabelled trees on the grassland, some overhanging plots."""
        g = self.gsd
        N = self.N
        r = np.random.default_rng([self.seed, 7])
        E = N * g
        cell = r.uniform(9, 18)
        n = int((E / cell) ** 2 * self.trees_p) + (1 if r.random() < 0.5 else 0)
        if n == 0:
            return
        bg = self.label == 0
        dist = ndimage.distance_transform_edt(bg) * g
        kinds = np.array([0.5, 0.15, 0.15, 0.15, 0.05])
        for i in range(n):
            x, y = r.uniform(0, N), r.uniform(0, N)
            R = r.uniform(1.2, 3.5)
            d = dist[int(y), int(x)]
            if d < 0.5 * R:
                continue
            H = r.uniform(4, 12)
            pad = int(np.ceil(R / g)) + 2
            c0, c1 = max(int(x) - pad, 0), min(int(x) + pad, N)
            r0, r1 = max(int(y) - pad, 0), min(int(y) + pad, N)
            win = Win(self, r0, r1, c0, c1)
            C.tree(self, win, x * g, y * g, R, H, int(r.integers(0, 2 ** 31 - 1)), kinds)
