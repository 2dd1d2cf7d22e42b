"""Reads Vigil through OWSLib, a real third-party OGC API - Features client.

Usage: owslib_check.py URL TOKEN EXPECTED_JSON

EXPECTED_JSON is an object written by tests/ogc_clients.rs:
  {"collections": ["hotspots", "communes", "provinces"],
   "bbox": [minx, miny, maxx, maxy],          # hotspots query box
   "limit": 7,                                # page size to ask for
   "matched": 42,                             # numberMatched the server gave for that box
   "provinces": ["08"]}                       # allowed province_code values (optional)

Lists the collections, reads hotspots in the box page by page (following each page's "next"
link through OWSLib), and checks: the collections are listed as feature collections, every page
is at most `limit` long, the pages together hold `matched` distinct features, every feature lies
in the box and (if given) in an allowed province. Prints a JSON summary on stdout; exits 1 with
the mismatches on stderr if anything is off.
"""

import json
import sys
from urllib.parse import parse_qsl, urlsplit

from owslib.ogcapi.features import Features

MAX_PAGES = 1000


def next_params(page):
    """The query parameters of the page's rel=next link, or None on the last page."""
    for link in page.get("links", []):
        if link.get("rel") == "next" and link.get("href"):
            params = dict(parse_qsl(urlsplit(link["href"]).query))
            # OWSLib joins a bbox list itself; hand it a list, not the link's "a,b,c,d" string.
            if "bbox" in params:
                params["bbox"] = [float(v) for v in params["bbox"].split(",")]
            return params
    return None


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, token, expected = argv[1], argv[2], json.loads(argv[3])
    problems = []

    api = Features(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    listed = api.feature_collections()
    for cid in expected["collections"]:
        if cid not in listed:
            problems.append(f"collection {cid!r} not among feature collections {listed}")
        else:
            meta = api.collection(cid)
            if meta.get("id") != cid:
                problems.append(f"/collections/{cid} has id {meta.get('id')!r}")

    # Part 3: queryables and schema of each collection, and a CQL2 filter agreeing with the
    # equivalent simple filter.
    queryables = {}
    for cid in expected["collections"]:
        q = api.collection_queryables(cid)
        schema = api.collection_schema(cid)
        queryables[cid] = sorted(q.get("properties", {}))
        if "geometry" not in q.get("properties", {}):
            problems.append(f"queryables of {cid} lack geometry: {q}")
        if schema.get("properties") != q.get("properties"):
            problems.append(f"schema of {cid} differs from its queryables")
    by_filter = api.collection_items("hotspots", filter="status = 'reported'", limit=1)
    by_param = api.collection_items("hotspots", status="reported", limit=1)
    if by_filter.get("numberMatched") != by_param.get("numberMatched"):
        problems.append(f"filter status = 'reported' matched {by_filter.get('numberMatched')}, "
                        f"status=reported {by_param.get('numberMatched')}")

    bbox = expected["bbox"]
    limit = expected["limit"]
    allowed = set(expected.get("provinces") or [])
    ids = []
    pages = []
    numbers_matched = set()
    params = {"bbox": bbox, "limit": limit}
    for _ in range(MAX_PAGES):
        page = api.collection_items("hotspots", **params)
        feats = page.get("features", [])
        pages.append(len(feats))
        if "numberMatched" in page:
            numbers_matched.add(page["numberMatched"])
        if page.get("numberReturned", len(feats)) != len(feats):
            problems.append(f"numberReturned {page.get('numberReturned')} but {len(feats)} features")
        if len(feats) > limit:
            problems.append(f"page of {len(feats)} features for limit={limit}")
        for f in feats:
            ids.append(f.get("id"))
            lon, lat = f["geometry"]["coordinates"][:2]
            if not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
                problems.append(f"feature {f.get('id')} at {lon},{lat} is outside bbox {bbox}")
            prov = f.get("properties", {}).get("province_code")
            if allowed and prov not in allowed:
                problems.append(f"feature {f.get('id')} in province {prov!r}, allowed {sorted(allowed)}")
        nxt = next_params(page)
        if nxt is None:
            break
        # The next link carries the whole query (bbox, limit and the server's paging token).
        params = nxt
    else:
        problems.append(f"still a next link after {MAX_PAGES} pages")

    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} features returned twice across pages")
    if len(ids) != expected["matched"]:
        problems.append(f"paged through {len(ids)} features, server said numberMatched={expected['matched']}")
    if numbers_matched and numbers_matched != {expected["matched"]}:
        problems.append(f"pages gave numberMatched {sorted(numbers_matched)}, expected {expected['matched']}")

    print(json.dumps({
        "collections": listed,
        "pages": pages,
        "features": len(ids),
        "distinct": len(set(ids)),
        "numberMatched": sorted(numbers_matched),
        "queryables": queryables,
        "filtered": by_filter.get("numberMatched"),
        "problems": problems,
    }))
    if problems:
        for p in problems:
            print(f"mismatch: {p}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
