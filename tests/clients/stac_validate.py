"""Validates Vigil's STAC catalogue with stac_valid (PyPI), fully offline.

Usage:
  stac_validate.py [URL [TOKEN]]     URL/TOKEN default to $VIGIL_URL / $VIGIL_TOKEN
  stac_validate.py --self-test       proves the validator passes a valid Item and fails an
                                     invalid one (tests/clients/stac-samples/), no server needed
  stac_validate.py --file F.json...  validates local files (Item, Collection, Catalog or
                                     ItemCollection), no server needed

Walk: GET URL/stac (must be a STAC API landing page: a Catalog with conformsTo), each rel "child"
(a STAC Collection), then every link of rel "item" (a STAC Item) or
"items" (an ItemCollection, i.e. a GeoJSON FeatureCollection of Items, followed through its
rel=next pages); every Item of an ItemCollection is validated as it appears there and again as
served at its own rel=self link (/stac/items/{id}). Only links on the same origin as URL are
followed, and the token is sent only there.

Every object is checked by stac_valid's Python API (StacValidate.validate_dict, "default" mode:
core schema, plus the schema of each stac_extensions entry) against STAC 1.0.0; each object must
say "stac_version": "1.0.0" (and /stac "type": "Collection", Items "type": "Feature"). No schema is
fetched: stac_valid's schema_map points each schema URL at a local file, namely the STAC 1.0.0
core schemas and the GeoJSON Feature/Geometry schemas that pystac 1.11.0 ships in
pystac/validation/jsonschemas/ (pystac is installed only for those files and is not imported).
Extra schemas (e.g. extensions) are mapped by their "$id" from the *.json files under
$STAC_SCHEMAS_DIR or --schemas-dir, if given. While the script runs, every network connection
other than to the host of URL is refused, so a schema that is not local makes the object fail
(naming the host) instead of being fetched.

stac_valid does not check JSON Schema "format"s, so the script adds one check of its own:
every date-time field the STAC 1.0.0 schemas declare (properties.datetime, start_datetime,
end_datetime, created, updated; Collection extent.temporal.interval) must be RFC 3339.

Prints a JSON summary on stdout ({"checked", "valid", "invalid", "objects": [{"name", "type",
"id", "valid", "error"}]}). Exits 1, after naming each invalid or unreadable object and
its error on stderr, if anything is off; 2 on bad usage or missing packages.
"""

import argparse
import copy
import importlib.util
import json
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "stac-samples"
STAC_VERSION = "1.0.0"
MAX_PAGES = 1000
TIMEOUT = 60

# ------------------------------------------------------------------------------------------
# Network guard: nothing but the Vigil host.
# ------------------------------------------------------------------------------------------

_ALLOWED_HOSTS = set()
_ALLOWED_ADDRS = set()
BLOCKED = []
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name.lower() not in _ALLOWED_HOSTS:
        BLOCKED.append(str(name))
        raise OSError(f"stac_validate.py is offline: no connection to {name!r} (not Vigil)")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check_addr(address):
    if isinstance(address, tuple) and address and address[0] not in _ALLOWED_ADDRS:
        BLOCKED.append(str(address[0]))
        raise OSError(f"stac_validate.py is offline: no connection to {address[0]!r} (not Vigil)")


def _guarded_connect(self, address):
    _check_addr(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_addr(address)
    return _real_connect_ex(self, address)


def go_offline(allowed_url=None):
    """Refuses every connection except to the host (and its addresses) of allowed_url."""
    _ALLOWED_HOSTS.clear()
    _ALLOWED_ADDRS.clear()
    if allowed_url:
        parts = urlsplit(allowed_url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise SystemExit(f"stac_validate.py: not an http(s) URL: {allowed_url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        _ALLOWED_HOSTS.add(host.lower())
        for info in _real_getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
            _ALLOWED_ADDRS.add(info[4][0])
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


# ------------------------------------------------------------------------------------------
# Local schemas and stac_valid
# ------------------------------------------------------------------------------------------


def local_schema_map(extra_dir=None):
    """{schema URL: local file} for STAC 1.0.0 core + GeoJSON (from pystac) and extra_dir."""
    spec = importlib.util.find_spec("pystac")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("stac_validate.py: pystac (its bundled schemas) is not installed")
    root = Path(list(spec.submodule_search_locations)[0]) / "validation" / "jsonschemas"
    files = sorted((root / "stac-spec" / f"v{STAC_VERSION}").glob("*.json"))
    files += sorted((root / "geojson").glob("*.json"))
    if extra_dir:
        files += sorted(Path(extra_dir).rglob("*.json"))
    mapping = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            schema_id = json.load(f).get("$id")
        if isinstance(schema_id, str) and schema_id:
            mapping[schema_id.rstrip("#")] = str(path)
    base = f"https://schemas.stacspec.org/v{STAC_VERSION}"
    needed = [
        f"{base}/item-spec/json-schema/item.json",
        f"{base}/collection-spec/json-schema/collection.json",
        f"{base}/catalog-spec/json-schema/catalog.json",
        "https://geojson.org/schema/Feature.json",
        "https://geojson.org/schema/Geometry.json",
    ]
    missing = [u for u in needed if u not in mapping]
    if missing:
        raise SystemExit(f"stac_validate.py: no local copy of {missing} under {root}")
    return mapping


RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)


def date_time_problems(obj):
    """RFC 3339 check of the date-time fields (stac_valid checks no "format")."""
    values = []
    if obj.get("type") == "Feature":
        props = obj.get("properties") or {}
        for key in ("datetime", "start_datetime", "end_datetime", "created", "updated"):
            if isinstance(props.get(key), str):
                values.append((f"properties -> {key}", props[key]))
    elif obj.get("type") == "Collection":
        try:
            intervals = obj["extent"]["temporal"]["interval"]
        except (KeyError, TypeError):
            intervals = []
        for i, interval in enumerate(intervals if isinstance(intervals, list) else []):
            for j, value in enumerate(interval if isinstance(interval, list) else []):
                if isinstance(value, str):
                    values.append((f"extent -> temporal -> interval -> {i} -> {j}", value))
    return [f"{v!r} is not an RFC 3339 date-time. Error is in {where}"
            for where, v in values if not RFC3339.match(v)]


# Extensions whose JSON schemas no registry package ships (so none can be had offline): their
# fields are checked against the extension's README rules here, and read back through pystac's
# extension classes (a STAC client's view of them).
FIELD_RULES = {
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json": "projection",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json": "eo",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json": "raster",
}
EO_COMMON_NAMES = {"pan", "coastal", "blue", "green", "green05", "yellow", "red", "rededge",
                   "rededge071", "rededge075", "rededge078", "nir", "nir08", "nir09", "cirrus",
                   "swir16", "swir22", "lwir", "lwir11", "lwir12"}
RASTER_DATA_TYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                     "float16", "float32", "float64", "cint16", "cint32", "cfloat32", "cfloat64",
                     "other"}


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def extension_problems(obj, kinds):
    """Field rules of the projection, eo and raster extensions (v1.1.0), and pystac reading them."""
    problems = []
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else {}
    assets = obj.get("assets") if isinstance(obj.get("assets"), dict) else {}
    places = [("properties", props)] + [(f"assets -> {k}", a) for k, a in assets.items()
                                         if isinstance(a, dict)]
    for kind in kinds:
        prefix = {"projection": "proj:", "eo": "eo:", "raster": "raster:"}[kind]
        if not any(k.startswith(prefix) for _, d in places for k in d):
            problems.append(f"declares the {kind} extension but uses no {prefix} field")
    for where, d in places:
        if "proj:epsg" in d and not (d["proj:epsg"] is None or (isinstance(d["proj:epsg"], int)
                                                               and not isinstance(d["proj:epsg"], bool))):
            problems.append(f"proj:epsg must be an integer or null. Error is in {where}")
        shape = d.get("proj:shape", [1, 1])
        if not (isinstance(shape, list) and len(shape) == 2
                and all(isinstance(n, int) and n > 0 for n in shape)):
            problems.append(f"proj:shape must be [rows, columns]. Error is in {where}")
        tr = d.get("proj:transform", [0] * 6)
        if not (isinstance(tr, list) and len(tr) in (6, 9) and all(map(_number, tr))):
            problems.append(f"proj:transform must be 6 or 9 numbers. Error is in {where}")
        bb = d.get("proj:bbox", [0] * 4)
        if not (isinstance(bb, list) and len(bb) in (4, 6) and all(map(_number, bb))):
            problems.append(f"proj:bbox must be 4 or 6 numbers. Error is in {where}")
        for i, band in enumerate(d.get("eo:bands", []) if isinstance(d.get("eo:bands", []), list) else [None]):
            if not isinstance(band, dict):
                problems.append(f"eo:bands must be a list of objects. Error is in {where}")
            elif "common_name" in band and band["common_name"] not in EO_COMMON_NAMES:
                problems.append(f"eo:bands -> {i} -> common_name {band['common_name']!r} is not "
                                f"an eo common name. Error is in {where}")
        for i, band in enumerate(d.get("raster:bands", []) if isinstance(d.get("raster:bands", []), list) else [None]):
            if not isinstance(band, dict):
                problems.append(f"raster:bands must be a list of objects. Error is in {where}")
            else:
                if "data_type" in band and band["data_type"] not in RASTER_DATA_TYPES:
                    problems.append(f"raster:bands -> {i} -> data_type {band['data_type']!r} is "
                                    f"not a raster data type. Error is in {where}")
                if "spatial_resolution" in band and not _number(band["spatial_resolution"]):
                    problems.append(f"raster:bands -> {i} -> spatial_resolution must be a number. "
                                    f"Error is in {where}")
    if problems or obj.get("type") != "Feature":
        return problems
    try:  # a STAC client reads them
        import pystac
        from pystac.extensions.eo import EOExtension
        from pystac.extensions.projection import ProjectionExtension
        from pystac.extensions.raster import RasterExtension

        item = pystac.Item.from_dict(copy.deepcopy(obj), preserve_dict=True)
        if "projection" in kinds:
            ProjectionExtension.ext(item).shape
        for asset in item.assets.values():
            if "eo" in kinds and "eo:bands" in asset.extra_fields:
                [b.name for b in EOExtension.ext(asset).bands or []]
            if "raster" in kinds and "raster:bands" in asset.extra_fields:
                [b.data_type for b in RasterExtension.ext(asset).bands or []]
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        problems.append(f"pystac cannot read the extension fields: {type(e).__name__}: {e}")
    return problems


class Checker:
    def __init__(self, schema_map):
        from stac_validator.validate import StacValidate  # stac_valid

        self.schema_map = schema_map
        self.StacValidate = StacValidate
        self.results = []  # {"name", "type", "id", "valid", "error"}

    def check(self, obj, name, expect_type=None):
        """Validates one STAC object; records and returns the error text, None if valid."""
        errors = []
        if not isinstance(obj, dict):
            errors.append(f"not a JSON object: {type(obj).__name__}")
        else:
            if expect_type and obj.get("type") != expect_type:
                errors.append(f"type is {obj.get('type')!r}, expected {expect_type!r}")
            if obj.get("stac_version") != STAC_VERSION:
                errors.append(f"stac_version is {obj.get('stac_version')!r}, "
                              f"expected {STAC_VERSION!r}")
            blocked_before = len(BLOCKED)
            # Extensions with no offline schema but field rules here: checked by those rules
            # (and read back through pystac's extension API), the rest by stac_valid.
            core = copy.deepcopy(obj)
            declared = core.get("stac_extensions") if isinstance(core.get("stac_extensions"), list) else []
            by_rules = [FIELD_RULES[u] for u in declared
                        if u in FIELD_RULES and u not in self.schema_map]
            if by_rules:
                core["stac_extensions"] = [u for u in declared if FIELD_RULES.get(u) not in by_rules]
                errors += extension_problems(obj, by_rules)
            # StacValidate rewrites its schema_map argument in place: give it a copy.
            validator = self.StacValidate(schema_map=dict(self.schema_map))
            if not validator.validate_dict(core):
                msg = validator.message[-1] if validator.message else {}
                errors.append(f"stac_valid: {msg.get('error_type', '?')}: "
                              f"{str(msg.get('error_message', msg)).strip()}")
            hosts = sorted(set(BLOCKED[blocked_before:]))
            if hosts:
                errors.append(f"needs a schema that is not available offline (host {', '.join(hosts)})")
            errors += date_time_problems(obj)
        error = "; ".join(errors) or None
        self.results.append({
            "name": name,
            "type": obj.get("type") if isinstance(obj, dict) else None,
            "id": obj.get("id") if isinstance(obj, dict) else None,
            "valid": error is None,
            "error": error,
        })
        return error

    def fail(self, name, error):
        self.results.append({"name": name, "type": None, "id": None, "valid": False,
                             "error": error})


# ------------------------------------------------------------------------------------------
# Walking Vigil's /stac
# ------------------------------------------------------------------------------------------


class Vigil:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.origin = urlsplit(self.base)[:2]
        self.token = token
        # Never a proxy: Vigil is reached directly (and the guard allows nothing else).
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def same_origin(self, url):
        return urlsplit(url)[:2] == self.origin

    def get(self, url):
        req = urllib.request.Request(url, headers={"Accept": "application/json, application/geo+json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self.opener.open(req, timeout=TIMEOUT) as resp:
                body = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"GET {url}: HTTP {e.code} {e.read()[:300]!r}") from None
        except (urllib.error.URLError, OSError) as e:
            raise RuntimeError(f"GET {url}: {e}") from None
        try:
            return json.loads(body)
        except ValueError as e:
            raise RuntimeError(f"GET {url}: not JSON ({e}): {body[:200]!r}") from None


def links_of(obj, rels):
    links = obj.get("links") if isinstance(obj, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") in rels and isinstance(link.get("href"), str):
            yield link


def walk(vigil, checker):
    seen = set()

    def fetch(url, name):
        try:
            return vigil.get(url)
        except RuntimeError as e:
            checker.fail(name, str(e))
            return None

    def follow(doc_url, link):
        url = urljoin(doc_url, link["href"])
        if not vigil.same_origin(url):
            checker.fail(url, f"{link['rel']} link leaves Vigil ({vigil.base}); not followed")
            return None
        if url in seen:
            return None
        seen.add(url)
        return url

    root_url = vigil.base + "/stac"
    seen.add(root_url)
    landing = fetch(root_url, root_url)
    if landing is None:
        return
    checker.check(landing, root_url, expect_type="Catalog")
    if not isinstance(landing.get("conformsTo"), list) or \
            "https://api.stacspec.org/v1.0.0/core" not in landing["conformsTo"]:
        checker.fail(root_url, "the landing page must list conformsTo with STAC API core")
    collections = []
    for link in links_of(landing, ("child",)):
        url = follow(root_url, link)
        if url is None:
            continue
        collection = fetch(url, url)
        if collection is not None:
            checker.check(collection, url, expect_type="Collection")
            collections.append((url, collection))
    if not collections:
        checker.fail(root_url, "the landing page links no collection (rel=child)")
    for col_url, collection in collections:
        walk_collection(vigil, checker, col_url, collection, fetch, follow)


def walk_collection(vigil, checker, col_url, collection, fetch, follow):
    for link in links_of(collection, ("item", "items")):
        url = follow(col_url, link)
        if url is None:
            continue
        if link["rel"] == "item":
            item = fetch(url, url)
            if item is not None:
                checker.check(item, url, expect_type="Feature")
            continue
        # rel=items: an ItemCollection, page by page.
        page_url, pages = url, 0
        while page_url and pages < MAX_PAGES:
            pages += 1
            page = fetch(page_url, page_url)
            if page is None:
                break
            if not isinstance(page, dict) or page.get("type") != "FeatureCollection" \
                    or not isinstance(page.get("features"), list):
                checker.fail(page_url, "an items link must give a FeatureCollection with a "
                                       "features array (STAC ItemCollection)")
                break
            for n, feature in enumerate(page["features"]):
                fid = feature.get("id") if isinstance(feature, dict) else None
                checker.check(feature, f"{page_url} features[{n}] (id {fid!r})",
                              expect_type="Feature")
                for self_link in links_of(feature, ("self",)):
                    item_url = follow(page_url, self_link)
                    if item_url:
                        item = fetch(item_url, item_url)
                        if item is not None:
                            checker.check(item, item_url, expect_type="Feature")
            page_url = None
            for next_link in links_of(page, ("next",)):
                page_url = follow(url, next_link)
                break


# ------------------------------------------------------------------------------------------
# Self-test
# ------------------------------------------------------------------------------------------


def self_test(checker):
    """Valid sample passes, invalid sample (and a few mutants) fail for the intended reason."""
    with open(SAMPLES / "valid-item.json", encoding="utf-8") as f:
        valid = json.load(f)
    with open(SAMPLES / "invalid-item.json", encoding="utf-8") as f:
        invalid = json.load(f)

    def mutant(change):
        obj = copy.deepcopy(valid)
        change(obj)
        return obj

    collection = {
        "type": "Collection", "stac_version": STAC_VERSION, "stac_extensions": [],
        "id": "surveys", "description": "Drone surveys", "license": "proprietary",
        "extent": {"spatial": {"bbox": [[-106.06, 40.06, -105.33, 40.62]]},
                   "temporal": {"interval": [["2026-11-20T09:30:00Z", None]]}},
        "links": [{"rel": "items", "href": "http://127.0.0.1:8080/stac/items",
                   "type": "application/geo+json"}],
    }
    cases = [
        # (name, object, expected valid, text the error must contain)
        ("stac-samples/valid-item.json", valid, True, None),
        ("stac-samples/invalid-item.json", invalid, False, "Error is in geometry"),
        ("valid item without datetime", mutant(lambda o: o["properties"].pop("datetime")),
         False, "is not valid under any of the given schemas. Error is in properties"),
        ("valid item, asset without href", mutant(lambda o: o["assets"]["tiles"].pop("href")),
         False, "'href' is a required property"),
        ("valid item, bbox of 3 numbers", mutant(lambda o: o.update(bbox=[1, 2, 3])),
         False, "Error is in bbox"),
        ("valid item, datetime not RFC 3339",
         mutant(lambda o: o["properties"].update(datetime="2026-11-20 09:30Z")),
         False, "not an RFC 3339 date-time"),
        ("valid item declaring a non-local extension",
         mutant(lambda o: o.update(stac_extensions=[
             "https://stac-extensions.github.io/view/v1.0.0/schema.json"])),
         False, "not available offline"),
        ("valid item with the projection extension",
         mutant(lambda o: (o.update(stac_extensions=list(FIELD_RULES)[:1]),
                           o["properties"].update({"proj:epsg": 32648, "proj:shape": [400, 300]}))),
         True, None),
        ("valid item, proj:shape of one number",
         mutant(lambda o: (o.update(stac_extensions=list(FIELD_RULES)[:1]),
                           o["properties"].update({"proj:epsg": 32648, "proj:shape": [400]}))),
         False, "proj:shape must be [rows, columns]"),
        ("valid item declaring eo without eo: fields",
         mutant(lambda o: o.update(stac_extensions=list(FIELD_RULES)[1:2])),
         False, "uses no eo: field"),
        ("valid item, raster data_type unknown",
         mutant(lambda o: (o.update(stac_extensions=list(FIELD_RULES)[2:]),
                           o["assets"]["tiles"].update({"raster:bands": [{"data_type": "u8"}]}))),
         False, "is not a raster data type"),
        ("collection", collection, True, None),
        ("collection without extent", {k: v for k, v in collection.items() if k != "extent"},
         False, "'extent' is a required property"),
    ]
    failures = 0
    for name, obj, expect_valid, expect_text in cases:
        error = checker.check(obj, name)
        ok = (error is None) == expect_valid and (expect_text is None or expect_text in (error or ""))
        failures += not ok
        verdict = "valid" if error is None else f"INVALID: {error}"
        expected = "valid" if expect_valid else f"invalid, with {expect_text!r}"
        print(f"self-test {'ok  ' if ok else 'FAIL'} {name}: {verdict}"
              + ("" if ok else f"  (expected {expected})"), file=sys.stderr)
    print(f"self-test: {len(cases) - failures} of {len(cases)} cases as expected", file=sys.stderr)
    return 1 if failures else 0


# ------------------------------------------------------------------------------------------


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", nargs="?", default=os.environ.get("VIGIL_URL"),
                    help="Vigil base URL (default $VIGIL_URL); /stac is appended")
    ap.add_argument("token", nargs="?", default=os.environ.get("VIGIL_TOKEN"),
                    help="bearer token (default $VIGIL_TOKEN)")
    ap.add_argument("--self-test", action="store_true",
                    help="validate tests/clients/stac-samples and expect pass/fail")
    ap.add_argument("--file", action="append", default=[], metavar="PATH",
                    help="validate this local JSON file instead of a server (repeatable)")
    ap.add_argument("--schemas-dir", default=os.environ.get("STAC_SCHEMAS_DIR"),
                    help="extra local schemas (*.json, mapped by $id), e.g. extensions")
    args = ap.parse_args(argv[1:])
    if not args.self_test and not args.file and not args.url:
        ap.print_usage(sys.stderr)
        print("stac_validate.py: give URL (or $VIGIL_URL), or --self-test", file=sys.stderr)
        return 2

    go_offline(None if args.self_test or args.file else args.url)
    try:
        checker = Checker(local_schema_map(args.schemas_dir))
    except ImportError as e:
        print(f"stac_validate.py: stac_valid is not installed ({e})", file=sys.stderr)
        return 2

    if args.self_test:
        return self_test(checker)

    if args.file:
        for path in args.file:
            try:
                with open(path, encoding="utf-8") as f:
                    obj = json.load(f)
            except (OSError, ValueError) as e:
                checker.fail(path, f"cannot read: {e}")
                continue
            if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
                for n, feature in enumerate(obj.get("features") or []):
                    checker.check(feature, f"{path} features[{n}]", expect_type="Feature")
            else:
                checker.check(obj, path)
    else:
        walk(Vigil(args.url, args.token), checker)
    invalid = [r for r in checker.results if not r["valid"]]
    for r in invalid:
        print(f"INVALID {r['name']}: {r['error']}", file=sys.stderr)
    print(json.dumps({
        "stac_version": STAC_VERSION,
        "checked": len(checker.results),
        "valid": len(checker.results) - len(invalid),
        "invalid": len(invalid),
        "objects": checker.results,
    }, indent=2))
    if not checker.results:
        print("stac_validate.py: nothing validated", file=sys.stderr)
        return 1
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
