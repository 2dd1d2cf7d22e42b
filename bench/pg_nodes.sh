#!/usr/bin/env bash
# Issue 17: the bbox items query on the embedded store (SQLite) beside one and two nodes on one
# PostgreSQL 15 + PostGIS 3 database, in the same run, on the same 100,000 hotspots (copied into
# PostgreSQL by `vigil migrate`, which is timed too). wrk with the shared bbox script. Then the
# deployment mode whole: a SIZE² RGBN scene (8192 by default, cached with bench/ingest.sh's)
# ingested with the store on PostgreSQL and the tiles on SeaweedFS's S3 gateway (timed), and its
# display tiles served from object storage by one node and by two nodes.
#
#   bench/pg_nodes.sh            N=100000 hotspots, 10 s per wrk run (DURATION), SIZE=8192
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
  [ -n "${WEED_PID:-}" ] && { kill "$WEED_PID" 2>/dev/null || true; }
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
P1=$(free_port); P2=$(free_port); P3=$(free_port)
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

# ---------------------------------------------------------------- PostgreSQL + object storage
SIZE=${SIZE:-8192}; GSD=0.1; SEED=7; CRS=EPSG:32648
WEED=${WEED:-$PWD/.venv-test/bin/weed}
[ -x "$WEED" ] || die "no SeaweedFS at $WEED (make test installs it into .venv-test; or set WEED)"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
SCENE_DIR=bench/work/ingest/scene-s${SEED}-${SIZE}px-${GSD}m-EPSG_32648
TIF=$SCENE_DIR/scene.tif
if [ ! -s "$TIF" ]; then
  log "generating the ${SIZE}x${SIZE} scene (cached for bench/ingest.sh too)"
  rm -rf "$SCENE_DIR.tmp"; mkdir -p "$SCENE_DIR.tmp"
  $V sample-imagery --out "$SCENE_DIR.tmp" --name scene --seed "$SEED" --size "$SIZE" --gsd "$GSD" \
    --layout rgbn --crs "$CRS" >"$SCENE_DIR.tmp/generate.log" 2>&1 || die "vigil sample-imagery failed"
  rm -rf "$SCENE_DIR"; mv "$SCENE_DIR.tmp" "$SCENE_DIR"
fi
start_weed "$WEED" "$W/weed"
export VIGIL_STORAGE_URL=s3://vigil/bench
# node A ingests (the CLI is a worker like any node); its data dir keeps only scratch files.
cat "$TIF" >/dev/null
t=$(now_ns)
$V ingest --data-dir "$W/pg1" "$TIF" --name bench-s3 >"$W/ingest.out" 2>"$W/ingest.err" \
  || { tail -20 "$W/ingest.err" >&2; die "ingest into PostgreSQL + S3 failed"; }
INGEST_MS=$(ms_since "$t")
SURVEY=$(grep '^{' "$W/ingest.out" | tail -n 1 | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["state"] == "ready", d; print(d["survey"])')
PUBLISH=$(grep '^{' "$W/ingest.out" | tail -n 1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d.get("stages") or []:
    n, v = (s[0], s[1]) if isinstance(s, list) else (s.get("name"), s.get("seconds"))
    if n == "publish": print("%.2f" % v)')
log "ingest of the ${SIZE}x${SIZE} scene with the store on PostgreSQL and tiles on S3: $INGEST_MS ms (publish ${PUBLISH:-?} s)"
(cd "$W/pg1/tiles/$SURVEY" && find . -regextype posix-extended -regex '\./[0-9]+/[0-9]+/[0-9]+\.(png|webp)' -printf '%P\n') \
  | sed "s|^|/tiles/$SURVEY/|" | sort >"$W/tiles.txt"
# Neither node holds the tiles: every one comes from the archive on S3 (then the node's cache).
rm -rf "$W/pg1/tiles/$SURVEY"
P4=$(free_port); P5=$(free_port)
serve "$W/pg1" "$P4"; serve "$W/pg2" "$P5"
export TILE_FILE=$W/tiles.txt AUTH_TOKEN=$TOKEN
trps() { TILE_SEED=$1 wrk "${@:2}" -d "$DURATION" --timeout 10s -s bench/wrk_tiles.lua | awk '/Requests\/sec/ {print $2}'; }
TILE_SEED=3 wrk -t2 -c8 -d3s -s bench/wrk_tiles.lua "http://127.0.0.1:$P4" >/dev/null  # warm-up: fills A's cache
TILE_SEED=4 wrk -t2 -c8 -d3s -s bench/wrk_tiles.lua "http://127.0.0.1:$P5" >/dev/null
t_one=$(trps 1 -t2 -c8 "http://127.0.0.1:$P4")
trps 1 -t1 -c4 "http://127.0.0.1:$P4" >"$W/ta" &
other=$!
trps 2 -t1 -c4 "http://127.0.0.1:$P5" >"$W/tb"
wait "$other"
t_two=$(awk '{s += $1} END {print s}' "$W/ta" "$W/tb")
printf '\n| PostgreSQL + SeaweedFS, %s² RGBN scene, %s display tiles | figure |\n|---|---:|\n' "$SIZE" "$(wc -l <"$W/tiles.txt")"
printf '| ingest (vigil ingest: tile, classify, publish, store), s | %s |\n' "$(awk -v m="$INGEST_MS" 'BEGIN {printf "%.2f", m / 1000}')"
printf '| of which publish to S3, s | %s |\n' "${PUBLISH:-?}"
printf '| tiles from object storage, one node, req/s | %s |\n' "$t_one"
printf '| tiles from object storage, two nodes, same machine, req/s | %s (%s of one node) |\n' "$t_two" "$(awk -v a="$t_two" -v b="$t_one" 'BEGIN {printf "%.2f", a / b}')"
