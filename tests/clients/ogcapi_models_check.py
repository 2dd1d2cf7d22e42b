"""Vigil's landing page, conformance, collections, items and queryables read through
pydantic-ogcapi's models (PyPI), and its OpenAPI document checked by ogcapi-registry (PyPI)
against the conformance classes Vigil declares.

Usage: ogcapi_models_check.py URL TOKEN
Prints {"models": {name: "ok" | error}, "registry": {"compliant", "critical", "warnings",
"tool_bug"}} as JSON. ogcapi-registry 0.4.0 reports `limit`/`bbox` missing on the items path when
the parameters are `$ref`s to components (which OGC's own OpenAPI fragments use): those messages
are its bug and listed under "tool_bug", not counted. Exits 2 when a package is missing, 1 when a
model rejects a document or the registry finds a critical error.
"""

import json
import re
import sys
import urllib.request


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base, token = argv[1].rstrip("/"), argv[2]
    try:
        from pydantic_ogcapi.core.collection import Collection, Collections, ConformanceDeclaration, LandingPage
        from pydantic_ogcapi.core.features import FeatureCollection
        from pydantic_ogcapi.filtering.queryables import Queryables
        from ogcapi_registry import parse_conformance_classes, validate_ogc_api
    except ImportError as e:
        print(f"ogcapi_models_check.py: {e}", file=sys.stderr)
        return 2
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(path):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}",
                                                           "Accept": "application/json"})
        with opener.open(req, timeout=60) as r:
            return json.loads(r.read())

    models = {}
    docs = [
        ("landing", "/", LandingPage),
        ("conformance", "/conformance", ConformanceDeclaration),
        ("collections", "/collections", Collections),
    ]
    for cid in ("hotspots", "communes", "provinces", "surveys", "flags"):
        docs += [
            (f"collection {cid}", f"/collections/{cid}", Collection),
            (f"items {cid}", f"/collections/{cid}/items?limit=5", FeatureCollection),
            (f"queryables {cid}", f"/collections/{cid}/queryables", Queryables),
        ]
    for name, path, model in docs:
        try:
            model.model_validate(get(path))
            models[name] = "ok"
        except Exception as e:  # noqa: BLE001 - the finding is the message
            models[name] = f"{type(e).__name__}: {str(e)[:600]}"

    openapi = get("/api")
    declared = get("/conformance")["conformsTo"]
    result = validate_ogc_api(openapi, parse_conformance_classes(declared))
    # The parameters the items operations declare by reference: a message that one of them is
    # missing is the tool not following `$ref`.
    referenced = set()
    for path, ops in openapi.get("paths", {}).items():
        if path.endswith("/items"):
            for param in ops.get("get", {}).get("parameters", []):
                ref = param.get("$ref", "") if isinstance(param, dict) else ""
                if ref.startswith("#/components/parameters/"):
                    referenced.add(ref.rsplit("/", 1)[1])
    quoted = re.compile(r"'([^']+)' query parameter")

    def split(errors):
        real, bug = [], []
        for err in errors:
            msg = str(err.get("message", err))
            m = quoted.search(msg)
            (bug if m and m.group(1) in referenced else real).append(msg)
        return real, bug

    critical, bug_c = split(result.critical_errors)
    warnings, bug_w = split(result.warnings)
    out = {
        "models": models,
        "registry": {
            "compliant": result.is_compliant,
            "critical": critical,
            "warnings": warnings,
            "tool_bug": sorted(set(bug_c + bug_w)),
        },
    }
    print(json.dumps(out, indent=1, ensure_ascii=False))
    bad = [k for k, v in models.items() if v != "ok"]
    return 1 if bad or critical else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
