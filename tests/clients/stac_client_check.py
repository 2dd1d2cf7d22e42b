"""Searches Vigil's STAC API with pystac-client (PyPI), as a user's script would.

Usage: stac_client_check.py URL TOKEN SPEC.json

SPEC is a JSON object {"searches": [{"name": ..., "method": "GET"|"POST", "args": {...}}]} whose
args go to pystac_client.Client.search (bbox, intersects, datetime, ids, collections, limit,
max_items). For each search the script prints the ids of every item pystac-client yields (it
follows rel=next pages itself) and the number of pages it fetched; the test compares them with
what it expects. It also prints the landing page's conformance as pystac-client saw it and the
collections it lists. Exits 2 when pystac-client is missing, 1 on any error.
"""

import json
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, token, spec_path = argv[1:]
    try:
        from pystac_client import Client
        from pystac_client.stac_api_io import StacApiIO
    except ImportError as e:
        print(f"stac_client_check.py: pystac-client is not installed ({e})", file=sys.stderr)
        return 2
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)

    pages = {"n": 0}

    class Counting(StacApiIO):
        def request(self, *a, **kw):
            pages["n"] += 1
            return super().request(*a, **kw)

    io = Counting(headers={"Authorization": f"Bearer {token}"})
    client = Client.open(url.rstrip("/") + "/stac", stac_io=io)
    out = {
        "conforms_to": {c: client.conforms_to(c) for c in ("CORE", "ITEM_SEARCH", "COLLECTIONS",
                                                            "FEATURES")},
        "collections": sorted(c.id for c in client.get_collections()),
        "searches": [],
    }
    for s in spec["searches"]:
        pages["n"] = 0
        search = client.search(method=s.get("method", "POST"), **s["args"])
        items = list(search.items())
        out["searches"].append({
            "name": s["name"],
            "ids": [i.id for i in items],
            "matched": search.matched(),
            "requests": pages["n"],
            "epsg": [i.properties.get("proj:epsg") for i in items],
        })
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
