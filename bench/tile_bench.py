#!/usr/bin/env python3
"""Vector tile pyramid benchmark (issue 16): every tile of z0..zMAX over Viet Nam's box, asked of
one server, with figures a table can take side by side.

usage: bench/tile_bench.py URL_TEMPLATE [--token T] [--max-zoom 10] [--threads 4] [--name NAME]
       bench/tile_bench.py --row RESULT.json   (the markdown row of a result)
  URL_TEMPLATE  e.g. http://127.0.0.1:8080/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}
                or http://127.0.0.1:3000/hotspots/{z}/{x}/{y} (Martin)
Prints one JSON object: the tile count, then for each pass — `cold` (each tile once, in order,
one client: the first time the server sees it), `warm` (the same again: the server's and the
database's caches as they are now) and `concurrent` (THREADS clients over the list once) — tiles/s,
p50, p99 and max in ms, and bytes. Standard library only (http.client, keep-alive per thread).
"""
import argparse
import http.client
import json
import math
import threading
import time
import urllib.parse

BOX = (102.1, 8.2, 109.9, 23.4)  # Viet Nam, mainland and islands


def tiles(max_zoom):
    out = []
    for z in range(0, max_zoom + 1):
        n = 1 << z

        def tx(lon):
            return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

        def ty(lat):
            r = math.radians(lat)
            return min(n - 1, max(0, int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)))

        for x in range(tx(BOX[0]), tx(BOX[2]) + 1):
            for y in range(ty(BOX[3]), ty(BOX[1]) + 1):
                out.append((z, x, y))
    return out


class Client:
    def __init__(self, template, token):
        self.template = template
        u = urllib.parse.urlsplit(template.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        self.host, self.port = u.hostname, u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.headers = {"Accept-Encoding": "identity"}
        if token:
            self.headers["Authorization"] = "Bearer " + token

    def get(self, t):
        z, x, y = t
        url = urllib.parse.urlsplit(self.template.format(z=z, x=x, y=y))
        path = url.path + ("?" + url.query if url.query else "")
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000.0
        if r.status not in (200, 204):
            raise SystemExit(f"{path}: HTTP {r.status} {body[:200]!r}")
        return dt, len(body)


def summary(lat, nbytes, wall):
    s = sorted(lat)

    def q(p):
        return round(s[min(len(s) - 1, int(math.ceil(p * len(s))) - 1)], 1)

    return {"tiles_per_s": round(len(s) / wall, 1), "p50_ms": q(0.50), "p99_ms": q(0.99),
            "max_ms": round(s[-1], 1), "mean_kib": round(nbytes / len(s) / 1024, 1), "wall_s": round(wall, 2)}


def sequential(c, ts):
    lat, nbytes = [], 0
    t0 = time.perf_counter()
    for t in ts:
        dt, n = c.get(t)
        lat.append(dt)
        nbytes += n
    return summary(lat, nbytes, time.perf_counter() - t0)


def concurrent(template, token, ts, threads):
    lat, nbytes, lock = [], [0], threading.Lock()
    parts = [ts[i::threads] for i in range(threads)]

    def run(part):
        c = Client(template, token)
        mine = []
        for t in part:
            dt, n = c.get(t)
            mine.append(dt)
            with lock:
                nbytes[0] += n
        with lock:
            lat.extend(mine)

    th = [threading.Thread(target=run, args=(p,)) for p in parts]
    t0 = time.perf_counter()
    for t in th:
        t.start()
    for t in th:
        t.join()
    return summary(lat, nbytes[0], time.perf_counter() - t0)


def row(path):
    """The markdown row of one result file (for bench/run.sh's report)."""
    with open(path) as f:
        j = json.load(f)
    c, w, k = j["cold"], j["warm"], j["concurrent"]
    print(f"| {j['name']} | {j['tiles']} | {c['tiles_per_s']} | {c['p50_ms']} / {c['p99_ms']} | {w['tiles_per_s']} "
          f"| {w['p99_ms']} | {k['tiles_per_s']} | {k['p99_ms']} | {c['mean_kib']} |")


def main():
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--row":
        row(sys.argv[2])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("--token", default="")
    ap.add_argument("--max-zoom", type=int, default=10)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    ts = tiles(a.max_zoom)
    c = Client(a.template, a.token)
    cold = sequential(c, ts)
    warm = sequential(c, ts)
    conc = concurrent(a.template, a.token, ts, a.threads)
    print(json.dumps({"name": a.name, "tiles": len(ts), "max_zoom": a.max_zoom, "cold": cold, "warm": warm,
                      "concurrent": dict(conc, threads=a.threads)}))


if __name__ == "__main__":
    main()
