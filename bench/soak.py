#!/usr/bin/env python3
"""Soak test driver (issue 13), run by bench/soak.sh: mixed traffic against `vigil serve` on a
loopback port, with the server killed (SIGKILL) and restarted every RESTART_EVERY seconds.

Traffic (threads, weighted): hotspot reads (items in a bbox, one item), hotspot creates,
transitions and deletes, review decisions on flagged plots, KPI reports, upload + commit + queue
of a survey (ingest) every INGEST_EVERY seconds.

At the end (server up, queue drained) it reconciles every count with the audit log:
  - hotspots created / transitioned / deleted: acknowledged <= audited <= acknowledged + unknown
    (a request whose answer was lost in a kill may or may not have committed), and the live
    hotspot count equals audited creates - audited deletes (+ the seeded ones);
  - decisions the same way, and every audited decision is a row in the flag's decisions;
  - every queued survey ended ready or failed, and ready audits == ready surveys;
and it requires zero 5xx answers outside the restart windows. Prints p50/p99 of the reads.
Only 127.0.0.1 is ever contacted. Stdlib only.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

BIN = os.environ["VIGIL_BIN"]
DATA = os.environ["SOAK_DATA"]
PORT = int(os.environ["SOAK_PORT"])
DURATION = float(os.environ.get("DURATION", "600"))
RESTART_EVERY = float(os.environ.get("RESTART_EVERY", "120"))
INGEST_EVERY = float(os.environ.get("INGEST_EVERY", "30"))
THREADS = int(os.environ.get("THREADS", "4"))
SCENE = os.environ["SOAK_SCENE"]
TOKENS = json.loads(os.environ["SOAK_TOKENS"])
SEEDED = int(os.environ.get("SOAK_SEEDED", "0"))
LOG = os.environ.get("SOAK_LOG", os.path.join(DATA, "serve.log"))
BASE = f"http://127.0.0.1:{PORT}"
assert BASE.startswith("http://127.0.0.1:")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.read_ms = []
        self.errors = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def get(self, key):
        return self.counts.get(key, 0)


S = Stats()
server = {"proc": None, "down": False, "windows": []}
server_lock = threading.Lock()
stop = threading.Event()


def request(method, path, token=None, body=None, headers=None, timeout=30):
    data = None
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def in_restart_window(t0, t1):
    for a, b in server["windows"]:
        if t0 <= b and t1 >= a:
            return True
    return server["down"]


def call(kind, method, path, token, body=None, headers=None):
    """One request; returns (status, json-or-None). status None: no answer (connection failed)."""
    t0 = time.monotonic()
    try:
        status, raw, hdrs = request(method, path, token, body, headers)
    except Exception as e:  # connection refused/reset during a restart
        t1 = time.monotonic()
        if in_restart_window(t0, t1):
            S.add(f"{kind}.lost")
        else:
            S.add(f"{kind}.conn_error")
            S.errors.append(f"{kind} {method} {path}: {e!r}")
        return None, None
    t1 = time.monotonic()
    if status >= 500:
        if in_restart_window(t0, t1):
            S.add(f"{kind}.5xx_in_restart")
        else:
            S.add("5xx")
            S.errors.append(f"{kind} {method} {path}: {status} {raw[:300]!r}")
    try:
        j = json.loads(raw) if raw else None
    except ValueError:
        j = None
    if kind == "read" and status == 200 and not in_restart_window(t0, t1):
        with S.lock:
            S.read_ms.append((t1 - t0) * 1000)
    return status, j


def wait_healthy(deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            status, _, _ = request("GET", "/healthz", timeout=2)
            if status == 200:
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def start_server():
    log = open(LOG, "ab")
    p = subprocess.Popen(
        [BIN, "serve", "--data-dir", DATA, "--listen", f"127.0.0.1:{PORT}"],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    server["proc"] = p
    if not wait_healthy():
        sys.exit("vigil serve did not answer /healthz within 60 s; see " + LOG)


def restart_loop():
    while not stop.wait(RESTART_EVERY):
        with server_lock:
            t0 = time.monotonic()
            server["down"] = True
            server["proc"].send_signal(signal.SIGKILL)
            server["proc"].wait()
            start_server()
            server["down"] = False
            t1 = time.monotonic()
            # Answers that straddle the kill are part of the window (2 s of slack for them).
            server["windows"].append((t0 - 2.0, t1 + 0.5))
            S.add("restarts")
            print(f"  restart {S.get('restarts')}: down {t1 - t0:.2f} s", flush=True)


BOX = [104.85, 21.55, 105.55, 22.45]  # inside province 08


def rand_point():
    return (random.uniform(BOX[0], BOX[2]), random.uniform(BOX[1], BOX[3]))


live_ids = []
live_lock = threading.Lock()


def op_read():
    a = rand_point()
    bbox = f"{a[0] - 0.1:.4f},{a[1] - 0.1:.4f},{a[0] + 0.1:.4f},{a[1] + 0.1:.4f}"
    call("read", "GET", f"/collections/hotspots/items?bbox={bbox}&limit=50", TOKENS["analyst"])
    S.add("read.sent")
    with live_lock:
        hid = random.choice(live_ids) if live_ids else None
    if hid:
        call("read", "GET", f"/collections/hotspots/items/{hid}", TOKENS["analyst"])
        S.add("read.sent")


def op_create():
    lon, lat = rand_point()
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "soak", "kind": "khac", "reported_on": "2026-01-15"},
    }
    status, j = call("create", "POST", "/collections/hotspots/items", TOKENS["analyst"], body,
                     {"Content-Type": "application/geo+json"})
    if status == 201:
        S.add("create.ok")
        with live_lock:
            live_ids.append(j["id"])
    elif status is None:
        S.add("create.unknown")
    else:
        S.add(f"create.{status}")


NEXT = {"reported": "verifying", "verifying": "eliminated", "eliminated": "reemerged", "reemerged": "verifying"}


def op_transition():
    with live_lock:
        hid = random.choice(live_ids) if live_ids else None
    if not hid:
        return
    status, j = call("read", "GET", f"/collections/hotspots/items/{hid}", TOKENS["analyst"])
    if status != 200:
        return
    to = NEXT.get(j["properties"]["status"], "verifying")
    status, _ = call("transition", "POST", f"/v1/hotspots/{hid}/transitions", TOKENS["analyst"], {"to": to})
    if status == 200:
        S.add("transition.ok")
    elif status is None:
        S.add("transition.unknown")
    else:
        S.add(f"transition.{status}")


def op_delete():
    with live_lock:
        if len(live_ids) < 20:
            return
        hid = live_ids.pop(random.randrange(len(live_ids)))
    status, _ = call("delete", "DELETE", f"/collections/hotspots/items/{hid}", TOKENS["analyst"])
    if status in (200, 204):
        S.add("delete.ok")
    elif status is None:
        S.add("delete.unknown")
    else:
        S.add(f"delete.{status}")


def op_decide():
    status, j = call("read", "GET", "/v1/review/queue?status=new&limit=20", TOKENS["reviewer"])
    if status != 200 or not j or not j.get("items"):
        return
    f = random.choice(j["items"])
    d = random.choice(["confirmed_poppy", "confirmed_cannabis", "false_positive"])
    body = {"decision": d, "version": f["version"]}
    if d == "false_positive":
        body["reason"] = "lookalike_crop"
    status, _ = call("decide", "POST", f"/v1/flags/{f['id']}/decisions", TOKENS["reviewer"], body)
    if status in (200, 201):
        S.add("decide.ok")
    elif status is None:
        S.add("decide.unknown")
    else:
        S.add(f"decide.{status}")


def op_report():
    call("read", "GET", "/v1/reports/kpis?period=2026&province=08", TOKENS["analyst"])
    S.add("report.sent")


def op_ingest(scene_bytes):
    import hashlib
    tok = TOKENS["operator"]
    body = {"filename": f"soak-{random.randrange(1 << 30)}.tif", "size": len(scene_bytes),
            "sha256": hashlib.sha256(scene_bytes).hexdigest(), "content_type": "image/tiff"}
    status, j = call("upload", "POST", "/v1/uploads", tok, body)
    if status != 201:
        return
    uid, chunk = j["id"], j["chunk_size"]
    for n in range(j["chunks"]):
        part = scene_bytes[n * chunk:(n + 1) * chunk]
        for _ in range(20):
            status, _ = call("upload", "PUT", f"/v1/uploads/{uid}/chunks/{n}", tok, part,
                             {"Content-Type": "application/octet-stream"})
            if status == 200:
                break
            time.sleep(0.5)
        else:
            S.add("upload.gave_up")
            return
    for _ in range(20):
        status, _ = call("upload", "POST", f"/v1/uploads/{uid}/commit", tok)
        if status == 200:
            break
        time.sleep(0.5)
    else:
        S.add("upload.gave_up")
        return
    S.add("upload.ok")
    for _ in range(20):
        status, j = call("queue", "POST", "/v1/surveys", tok, {"upload": uid, "acquired_at": "2026-03-01T08:00:00Z"})
        if status == 202:
            S.add("queue.ok")
            return
        if status == 409:  # queued by an earlier try whose answer was lost
            S.add("queue.ok")
            return
        time.sleep(0.5)
    S.add("queue.gave_up")


def worker(seed):
    rnd = random.Random(seed)
    ops = [(op_read, 50), (op_create, 12), (op_transition, 10), (op_delete, 3), (op_decide, 8), (op_report, 4)]
    total = sum(w for _, w in ops)
    while not stop.is_set():
        x = rnd.uniform(0, total)
        for f, w in ops:
            x -= w
            if x <= 0:
                f()
                break


def ingest_loop():
    scene = open(SCENE, "rb").read()
    while not stop.wait(INGEST_EVERY):
        op_ingest(scene)


def audit(entity, action):
    n, before = 0, None
    while True:
        q = f"/v1/audit?entity={entity}&limit=1000" + (f"&before={before}" if before else "")
        status, j = call("final", "GET", q, TOKENS["admin"])
        assert status == 200, (q, status)
        entries = j["entries"]
        n += sum(1 for e in entries if e["action"] == action)
        if len(entries) < 1000:
            return n
        before = entries[-1]["id"]


def main():
    start_server()
    t_start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
    threads.append(threading.Thread(target=ingest_loop, daemon=True))
    threads.append(threading.Thread(target=restart_loop, daemon=True))
    for t in threads:
        t.start()
    while time.monotonic() - t_start < DURATION:
        time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    # Let the ingest queue drain.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status, j = call("final", "GET", "/v1/surveys", TOKENS["admin"])
        items = j.get("surveys", j.get("items", [])) if isinstance(j, dict) else []
        if status == 200 and all(s["state"] in ("ready", "failed", "cancelled") for s in items):
            break
        time.sleep(2)
    ok = True

    def check(name, cond, detail):
        nonlocal ok
        print(f"  {'ok  ' if cond else 'FAIL'} {name}: {detail}")
        ok = ok and cond

    print(f"ran {time.monotonic() - t_start:.0f} s, {THREADS} threads, {S.get('restarts')} kill -9 restarts")
    print("counts:", json.dumps(dict(sorted(S.counts.items()))))
    for what, entity, action in [("create", "hotspot", "create"), ("transition", "hotspot", "transition"),
                                 ("delete", "hotspot", "delete"), ("decide", "flag", "decide")]:
        acked, unknown = S.get(f"{what}.ok"), S.get(f"{what}.unknown")
        audited = audit(entity, action)
        check(f"{what} vs audit", acked <= audited <= acked + unknown,
              f"acknowledged {acked}, unknown outcome {unknown}, audited {audited}")
    creates, deletes = audit("hotspot", "create"), audit("hotspot", "delete")
    status, j = call("final", "GET", "/collections/hotspots/items?limit=1", TOKENS["admin"])
    matched = j["numberMatched"] if j else -1
    check("live hotspots", matched == SEEDED + creates - deletes,
          f"numberMatched {matched} = seeded {SEEDED} + audited creates {creates} - deletes {deletes}")
    status, j = call("final", "GET", "/v1/surveys", TOKENS["admin"])
    items = j.get("surveys", j.get("items", [])) if isinstance(j, dict) else []
    states = {}
    for s in items:
        states[s["state"]] = states.get(s["state"], 0) + 1
    ready_audits = audit("survey", "ready")
    check("surveys finished", all(k in ("ready", "failed", "cancelled") for k in states), f"states {states}")
    check("ready vs audit", states.get("ready", 0) == ready_audits,
          f"ready surveys {states.get('ready', 0)}, audited ready {ready_audits}")
    check("queued vs surveys", len(items) >= S.get("queue.ok"),
          f"queued (acknowledged) {S.get('queue.ok')}, surveys {len(items)}")
    check("no 5xx outside restarts", S.get("5xx") == 0 and S.get("read.conn_error") == 0,
          f"5xx {S.get('5xx')}, connection errors outside restarts "
          f"{sum(v for k, v in S.counts.items() if k.endswith('.conn_error'))}")
    for e in S.errors[:10]:
        print("    ", e)
    lat = sorted(S.read_ms)
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print(f"reads: {len(lat)} answered outside restarts, p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms")
    server["proc"].send_signal(signal.SIGTERM)
    server["proc"].wait(timeout=30)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
