#!/usr/bin/env bash
# Issue 17: the bbox items query on the embedded store (SQLite) beside one and two nodes on one
# PostgreSQL 15 + PostGIS 3 database, in the same run, on the same 100,000 hotspots (copied into
# PostgreSQL by `vigil migrate`, which is timed too). wrk with the shared bbox script.
#
#   bench/pg_nodes.sh            N=100000 hotspots, 10 s per wrk run (DURATION)
#
# On one machine the two nodes and wrk share its cores: the two-node figure there says how the
# nodes share a machine, not what two machines give.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=pg-nodes
# shellcheck source=bench/lib.sh
source bench/lib.sh
N=${N:-100000}
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || die "wrk is missing (bench/setup.sh installs it)"
cargo build --release -q
V=$PWD/target/release/vigil
W=$(mktemp -d /tmp/vigil-pg-nodes-XXXXXX)
chmod 755 "$W"  # the cluster below runs as postgres when root
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg-throwaway.sh stop "$W/pg" || true
  rm -rf "$W"
}
trap cleanup EXIT
export VIGIL_LOG=warn
D=$W/lite
$V import boundaries --data-dir "$D" tests/fixtures/boundaries/provinces.geojson --level province >/dev/null
$V import boundaries --data-dir "$D" tests/fixtures/boundaries/communes.geojson --level commune >/dev/null
TOKEN=$($V user add --data-dir "$D" --name bench --role admin --national | tail -n 1)
$V demo seed-hotspots --data-dir "$D" --count "$N" --seed 7 >/dev/null
python3 - "$W/bboxes.txt" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    for _ in range(2000):
        x = random.uniform(104.8, 106.6); y = random.uniform(21.0, 22.4); w = random.uniform(0.02, 0.2)
        f.write(f"{x:.4f},{y:.4f},{x + w:.4f},{y + w:.4f}\n")
PY
scripts/pg-throwaway.sh start "$W/pg" >/dev/null
URL=$(scripts/pg-throwaway.sh createdb "$W/pg" bench)
t=$(now_ns)
VIGIL_DATABASE_URL=$URL $V migrate --data-dir "$D" | tail -n 1 >&2
log "vigil migrate of $N hotspots (and their history and audit): $(ms_since "$t") ms"
for n in pg1 pg2; do
  mkdir -p "$W/$n"
  printf '[store]\ndatabase_url = "%s"\n' "$URL" >"$W/$n/vigil.toml"
done
serve() { # dir port
  $V serve --data-dir "$1" --listen "127.0.0.1:$2" >"$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.1; done
  die "no answer on $2"
}
port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
P1=$(port); P2=$(port); P3=$(port)
serve "$D" "$P1"; serve "$W/pg1" "$P2"; serve "$W/pg2" "$P3"
export BBOX_FILE=$W/bboxes.txt AUTH_TOKEN=$TOKEN LIMIT=100
rps() { wrk "$@" -d "$DURATION" -s bench/wrk_bboxes.lua | awk '/Requests\/sec/ {print $2}'; }
wrk -t2 -c8 -d3s -s bench/wrk_bboxes.lua "http://127.0.0.1:$P1" >/dev/null  # warm-up
wrk -t2 -c8 -d3s -s bench/wrk_bboxes.lua "http://127.0.0.1:$P2" >/dev/null
lite=$(rps -t2 -c8 "http://127.0.0.1:$P1")
one=$(rps -t2 -c8 "http://127.0.0.1:$P2")
rps -t1 -c4 "http://127.0.0.1:$P2" >"$W/a" &
other=$!
rps -t1 -c4 "http://127.0.0.1:$P3" >"$W/b"
wait "$other"  # (not a bare wait: the servers are background jobs too)
two=$(awk '{s += $1} END {print s}' "$W/a" "$W/b")
printf '| bbox items, %s hotspots, wrk 8 connections | req/s | ratio |\n|---|---:|---:|\n' "$N"
printf '| embedded (SQLite) | %s | 1.00 |\n' "$lite"
printf '| one node on PostgreSQL | %s | %s |\n' "$one" "$(awk -v a="$one" -v b="$lite" 'BEGIN {printf "%.2f", a / b}')"
printf '| two nodes on PostgreSQL, same machine | %s | %s of one node |\n' "$two" "$(awk -v a="$two" -v b="$one" 'BEGIN {printf "%.2f", a / b}')"
