#!/usr/bin/python3
"""Web Mercator (XYZ) tile ranges of a georeferenced raster, computed independently of vigil.

usage: bench/tile_ranges.py FILE.tif [--zoom MIN-MAX] [--list PREFIX]
  prints one JSON object: {"native_zoom", "min_zoom", "center": [lon, lat], "gsd_m",
  "bbox_3857": [...], "levels": {"z": {"x0", "y0", "x1", "y1", "tiles"}}, "tiles"}
  --zoom MIN-MAX   the levels to list (default min_zoom-native_zoom)
  --list PREFIX    instead print one request path per tile: PREFIX/z/x/y.png

native_zoom follows src/grid/mod.rs zoom_for_ground_resolution: the shallowest zoom whose
pixels are at least as fine as the ground resolution at the scene centre's latitude
(Web Mercator stretches by 1/cos(lat)). min_zoom is the deepest zoom at which the whole
footprint falls in one tile. The footprint is the raster's outline (64 points per edge)
reprojected to EPSG:3857, so a rotated UTM scene gets its true Mercator bounding box.
Needs GDAL's Python bindings (Debian: python3-gdal), hence /usr/bin/python3.
"""
import json
import math
import sys

from osgeo import gdal, osr

ORIGIN_SHIFT = math.pi * 6378137.0
TILE = 256
MAX_ZOOM = 24
MAX_LAT = 85.05112877980659


def resolution(z):
    return 2 * ORIGIN_SHIFT / (TILE * (1 << z))


def zoom_for_ground_resolution(gsd, lat):
    wanted = gsd / math.cos(math.radians(max(-MAX_LAT, min(MAX_LAT, lat))))
    for z in range(MAX_ZOOM + 1):
        if resolution(z) <= wanted * (1 + 1e-9):
            return z
    return MAX_ZOOM


def tile_xy(mx, my, z):
    n = 1 << z
    size = 2 * ORIGIN_SHIFT / n
    x = int(math.floor((mx + ORIGIN_SHIFT) / size))
    y = int(math.floor((ORIGIN_SHIFT - my) / size))
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_range(b, z):
    x0, y0 = tile_xy(b[0], b[3], z)
    eps = resolution(z) * 1e-6
    x1, y1 = tile_xy(b[2] - eps, b[1] + eps, z)
    return x0, y0, max(x1, x0), max(y1, y0)


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.exit(__doc__)
    path = args[0]
    zoom = args[args.index("--zoom") + 1] if "--zoom" in args else None
    prefix = args[args.index("--list") + 1] if "--list" in args else None

    ds = gdal.Open(path)
    if ds is None:
        sys.exit(f"cannot open {path}")
    gt = ds.GetGeoTransform()
    w, h = ds.RasterXSize, ds.RasterYSize
    src = osr.SpatialReference()
    src.ImportFromWkt(ds.GetProjection())
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    merc = osr.SpatialReference()
    merc.ImportFromEPSG(3857)
    merc.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_merc = osr.CoordinateTransformation(src, merc)
    to_wgs = osr.CoordinateTransformation(src, wgs)

    def geo(px, py):
        return gt[0] + px * gt[1] + py * gt[2], gt[3] + px * gt[4] + py * gt[5]

    n = 64
    outline = []
    for i in range(n + 1):
        t = i / n
        outline += [geo(t * w, 0), geo(t * w, h), geo(0, t * h), geo(w, t * h)]
    pts = [to_merc.TransformPoint(x, y)[:2] for x, y in outline]
    bbox = [min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)]
    lon, lat = to_wgs.TransformPoint(*geo(w / 2, h / 2))[:2]
    gsd = math.sqrt(abs(gt[1] * gt[5] - gt[2] * gt[4]))  # metres per pixel (projected CRS)

    native = zoom_for_ground_resolution(gsd, lat)
    min_zoom = 0
    for z in range(native, -1, -1):
        x0, y0, x1, y1 = tile_range(bbox, z)
        if x0 == x1 and y0 == y1:
            min_zoom = z
            break
    lo, hi = (min_zoom, native) if zoom is None else map(int, zoom.split("-"))

    levels, total = {}, 0
    for z in range(lo, hi + 1):
        x0, y0, x1, y1 = tile_range(bbox, z)
        cnt = (x1 - x0 + 1) * (y1 - y0 + 1)
        total += cnt
        levels[str(z)] = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "tiles": cnt}
        if prefix is not None:
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    print(f"{prefix}/{z}/{x}/{y}.png")
    if prefix is None:
        print(json.dumps({"native_zoom": native, "min_zoom": min_zoom, "center": [lon, lat],
                          "gsd_m": gsd, "width": w, "height": h, "bbox_3857": bbox,
                          "levels": levels, "tiles": total}))


if __name__ == "__main__":
    main()
