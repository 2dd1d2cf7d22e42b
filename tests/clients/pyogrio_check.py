"""Reads Vigil's OGC API – Features through pyogrio (GDAL 3.12 from PyPI), the way geopandas
users do, signing in with GDAL >= 3.7's bearer option (GDAL_HTTP_AUTH=BEARER, GDAL_HTTP_BEARER):
these GDALs ignore GDAL_HTTP_HEADERS for OAPIF.

Usage: pyogrio_check.py URL TOKEN WHERE_JSON
WHERE_JSON is a list of attribute filters (OGR SQL `where`) to run on the hotspots layer.
Prints {"gdal", "layers", "features": {layer: count}, "where": {filter: count}} as JSON.
Exits 2 when pyogrio is missing, 1 on any error.
"""

import json
import os
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, token, wheres = argv[1], argv[2], json.loads(argv[3])
    os.environ["GDAL_HTTP_AUTH"] = "BEARER"
    os.environ["GDAL_HTTP_BEARER"] = token
    os.environ.pop("GDAL_HTTP_HEADERS", None)
    try:
        import pyogrio
        from pyogrio.raw import read
    except ImportError as e:
        print(f"pyogrio_check.py: pyogrio is not installed ({e})", file=sys.stderr)
        return 2
    source = f"OAPIF:{url.rstrip('/')}/"
    layers = [str(name) for name, _ in pyogrio.list_layers(source)]
    counts = {}
    for layer in ("hotspots", "communes", "provinces"):
        meta, _fids, geometry, _fields = read(source, layer=layer)
        counts[layer] = len(geometry)
    filtered = {}
    for where in wheres:
        _meta, _fids, geometry, _fields = read(source, layer="hotspots", where=where)
        filtered[where] = len(geometry)
    print(json.dumps({
        "gdal": pyogrio.__gdal_version_string__,
        "layers": sorted(layers),
        "features": counts,
        "where": filtered,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
