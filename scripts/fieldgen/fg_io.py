"""Writing: GeoTIFF (rasterio), truth GeoJSON (lon/lat), PNG quicklooks (zlib, no Pillow)."""
import json
import struct
import zlib

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform


def georef(crs, center, size, gsd):
    """Affine transform of a size x size grid of gsd metres centred on (lon, lat)."""
    lon, lat = center
    crs = CRS.from_user_input(crs)
    half = size * gsd / 2.0
    if crs.is_geographic:
        dlon = gsd / (111320.0 * np.cos(np.deg2rad(lat)))
        dlat = gsd / 110574.0
        return crs, Affine(dlon, 0, lon - size / 2.0 * dlon, 0, -dlat, lat + size / 2.0 * dlat)
    xs, ys = warp_transform(CRS.from_epsg(4326), crs, [lon], [lat])
    x0 = round((xs[0] - half) / gsd) * gsd
    y0 = round((ys[0] + half) / gsd) * gsd
    return crs, Affine(gsd, 0, x0, 0, -gsd, y0)


def to_lonlat(crs, tr, pts):
    """Pixel-space points (x=col, y=row) -> lon/lat via the raster transform and PROJ."""
    X = tr.a * pts[:, 0] + tr.b * pts[:, 1] + tr.c
    Y = tr.d * pts[:, 0] + tr.e * pts[:, 1] + tr.f
    if crs.is_geographic:
        return np.stack([X, Y], 1)
    lon, lat = warp_transform(crs, CRS.from_epsg(4326), X.tolist(), Y.tolist())
    return np.stack([lon, lat], 1)


def _signed(r):
    return 0.5 * float(np.dot(r[:, 0], np.roll(r[:, 1], -1)) - np.dot(r[:, 1], np.roll(r[:, 0], -1)))


def ring_lonlat(crs, tr, ring, exterior):
    ll = to_lonlat(crs, tr, np.asarray(ring, float))
    if (_signed(ll) > 0) != exterior:  # RFC 7946: exterior counter-clockwise, holes clockwise
        ll = ll[::-1]
    ll = np.vstack([ll, ll[:1]])
    return [[round(float(x), 9), round(float(y), 9)] for x, y in ll]


def write_truth(path, S, crs, tr, meta):
    feats = []
    g = S.gsd
    from fg_geom import geom_area
    for P in S.plots:
        rings = P["rings"]
        coords = [ring_lonlat(crs, tr, rings[0], True)] + [ring_lonlat(crs, tr, h, False) for h in rings[1:]]
        props = {"plot_id": int(P["pid"]), "class": P["cls"],
                 "area_m2": round(geom_area(rings) * g * g, 2)}
        if P["cls"] == "poppy":
            props["stage"] = P["stage"]
            if P.get("inter"):
                props["interplanted_with"] = P["inter"]
            if P.get("host"):
                props["hidden_in"] = P["host"]
            if P["stage"] == "flowering" and "palette" in P:
                props["petal_mix"] = P["palette"]
        if P["cls"] == "road":
            props["surface"] = P["surface"]
        if P["cls"] == "roof" and P.get("material"):
            props["material"] = P["material"].replace("roof_", "")
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": coords}})
    fc = {"type": "FeatureCollection", "fieldgen": meta, "features": feats}
    with open(path, "w") as f:
        json.dump(fc, f, separators=(",", ":"))
        f.write("\n")


def write_tif(path, data, layout, crs, tr):
    nb, H, W = data.shape
    prof = dict(driver="GTiff", width=W, height=H, count=nb, dtype=data.dtype.name, crs=crs, transform=tr,
                tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=2,
                interleave="pixel", photometric="RGB")
    if layout == "rgba":
        prof["alpha"] = "YES"
    if layout == "rgbn":
        prof["nodata"] = 0
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", **prof) as dst:
            dst.write(data)
            if layout == "rgb":
                dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
            elif layout == "rgba":
                dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
            else:
                dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]
                for i, n in enumerate(("red", "green", "blue", "nir"), 1):
                    dst.set_band_description(i, n)
            dst.update_tags(TIFFTAG_SOFTWARE="fieldgen (Vigil synthetic scenes)")


def write_png(path, rgb):
    """rgb: uint8 (3, H, W)."""
    H, W = rgb.shape[1:]
    raw = np.ascontiguousarray(np.transpose(rgb, (1, 2, 0)))
    rows = b"".join(b"\x00" + raw[i].tobytes() for i in range(H))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def quicklook(data, bits, valid, maxpx=1024):
    """8-bit RGB preview, block-averaged down to <= maxpx."""
    rgb = data[:3].astype(np.float32)
    if bits == 16:
        # fixed display gain (not auto-exposed), so dark/bright scenes stay dark/bright
        rgb = np.power(np.clip(rgb / 10000.0 * 2.2, 0, 1), 1 / 2.2) * 255
    rgb = np.where(valid[None], rgb, 40.0)
    H = rgb.shape[1]
    f = int(np.ceil(H / maxpx))
    if f > 1:
        Hc = H // f
        rgb = rgb[:, :Hc * f, :Hc * f].reshape(3, Hc, f, Hc, f).mean((2, 4))
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
