"""Decodes Mapbox Vector Tiles with mapbox-vector-tile (PyPI), an independent decoder.

Usage: mvt_decode.py TILE.pbf...
Prints, per file, {"layers": [names], "features", "count" (sum of the `count` properties),
"aggregated" (features with aggregated=true), "ids" (sorted `id`s of point features),
"status": {status: n}, "classes": {class: n}} (points' own values and cells' `status_*` /
`class_*` counts) as one JSON object keyed by the path. Exits 2 when the package is missing.
"""

import json
import sys


def main(argv):
    try:
        import mapbox_vector_tile
    except ImportError as e:
        print(f"mvt_decode.py: mapbox-vector-tile is not installed ({e})", file=sys.stderr)
        return 2
    out = {}
    for path in argv[1:]:
        with open(path, "rb") as f:
            tile = mapbox_vector_tile.decode(f.read())
        feats = [ft for layer in tile.values() for ft in layer["features"]]
        status = {}
        classes = {}
        for ft in feats:
            p = ft["properties"]
            if "status" in p:
                status[p["status"]] = status.get(p["status"], 0) + 1
            if "class" in p:
                classes[p["class"]] = classes.get(p["class"], 0) + 1
            for k, v in p.items():
                if k.startswith("status_"):
                    status[k[len("status_"):]] = status.get(k[len("status_"):], 0) + v
                if k.startswith("class_"):
                    classes[k[len("class_"):]] = classes.get(k[len("class_"):], 0) + v
        out[path] = {
            "layers": sorted(tile),
            "features": len(feats),
            "count": sum(ft["properties"].get("count", 0) for ft in feats),
            "aggregated": sum(1 for ft in feats if ft["properties"].get("aggregated")),
            "ids": sorted(ft["properties"]["id"] for ft in feats if "id" in ft["properties"]),
            "status": status,
            "classes": classes,
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
