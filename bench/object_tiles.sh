#!/usr/bin/env bash
# Survey tiles on object storage (issue 17), in one run on the same scene (the 8192 x 8192 RGBN
# GeoTIFF bench/ingest.sh caches):
#   1. ingest embedded (tiles in the data dir) and ingest with VIGIL_STORAGE_URL (the same, then
#      the two archives published to SeaweedFS's S3 gateway): wall time of each, and the publish
#      stage's own time;
#   2. tile serving with wrk over the survey's display tiles, from the local directory and then,
#      with that directory moved away, from the archive on object storage (range reads, then the
#      node's tile cache): req/s, p50 and p99.
#
# usage: bench/object_tiles.sh [--quick]      (--quick: a 2048 x 2048 scene, 5 s wrk runs)
# env: SIZE GSD SEED CRS (as bench/ingest.sh), DURATION=15 WARMUP=3 CONNECTIONS=4 THREADS=2,
#      WEED=path (default .venv-test/bin/weed, from `make test`'s set-up), VIGIL_BIN=path.
# Needs wrk, curl and python3. Everything it starts is stopped on exit.
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_TAG=object-tiles
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
if [ "$QUICK" = 1 ]; then SIZE="${SIZE:-2048}"; DURATION="${DURATION:-5}"; WARMUP="${WARMUP:-1}"; fi
SIZE="${SIZE:-8192}"; GSD="${GSD:-0.1}"; SEED="${SEED:-7}"; CRS="${CRS:-EPSG:32648}"
DURATION="${DURATION:-15}"; WARMUP="${WARMUP:-3}"; CONNECTIONS="${CONNECTIONS:-4}"; THREADS="${THREADS:-2}"
WEED="${WEED:-$ROOT/.venv-test/bin/weed}"
[ -x "$WEED" ] || die "no SeaweedFS at $WEED (make test installs it into .venv-test; or set WEED)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"

if [ -z "${VIGIL_BIN:-}" ]; then
  log "cargo build --release (vigil)"
  cargo build --release --quiet --bin vigil --manifest-path "$ROOT/Cargo.toml" || die "cargo build --release failed"
  VIGIL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
fi

WORK="$HERE/work/object-tiles"
rm -rf "$WORK"; mkdir -p "$WORK"
SCENE_DIR="$HERE/work/ingest/scene-s${SEED}-${SIZE}px-${GSD}m-$(echo "$CRS" | tr -c 'A-Za-z0-9\n' '_')"
TIF="$SCENE_DIR/scene.tif"
if [ ! -s "$TIF" ]; then
  log "generating the ${SIZE}x${SIZE} scene (cached for bench/ingest.sh too)"
  rm -rf "$SCENE_DIR.tmp"; mkdir -p "$SCENE_DIR.tmp"
  "$VIGIL_BIN" sample-imagery --out "$SCENE_DIR.tmp" --name scene --seed "$SEED" --size "$SIZE" \
    --gsd "$GSD" --layout rgbn --crs "$CRS" >"$SCENE_DIR.tmp/generate.log" 2>&1 || die "vigil sample-imagery failed"
  rm -rf "$SCENE_DIR"; mv "$SCENE_DIR.tmp" "$SCENE_DIR"
fi

WEED_PID="" SERVE_PID=""
cleanup() {
  for p in $SERVE_PID $WEED_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- SeaweedFS
start_weed "$WEED" "$WORK/weed"
S3_PORT=${AWS_ENDPOINT_URL##*:}
log "SeaweedFS $("$WEED" version 2>/dev/null | head -1 | awk '{print $3}') S3 on 127.0.0.1:$S3_PORT; vigil $("$VIGIL_BIN" --version | cut -d' ' -f2); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

# ---------------------------------------------------------------- ingest, both ways
ingest() {  # ingest NAME [VIGIL_STORAGE_URL]: prints "survey seconds publish_seconds"
  local dd="$WORK/$1" t0 line
  mkdir -p "$dd"
  cat "$TIF" >/dev/null
  t0=$(now_ns)
  VIGIL_STORAGE_URL="${2:-}" "$VIGIL_BIN" ingest --data-dir "$dd" "$TIF" --name "bench-$1" >"$dd/ingest.out" 2>"$dd/ingest.err" \
    || { tail -20 "$dd/ingest.err" >&2; die "ingest $1 failed"; }
  line=$(grep '^{' "$dd/ingest.out" | tail -n 1)
  python3 -c '
import json, sys
d = json.loads(sys.argv[1]); t = float(sys.argv[2])
pub = [s for s in d.get("stages") or [] if (s[0] if isinstance(s, list) else s.get("name")) == "publish"]
p = (pub[0][1] if isinstance(pub[0], list) else pub[0].get("seconds")) if pub else 0
assert d.get("state") == "ready", d
print(d.get("survey"), "%.2f" % t, "%.2f" % p, d.get("tiles"))' "$line" "$(awk -v n="$(( $(now_ns) - t0 ))" 'BEGIN{print n / 1e9}')"
}
read -r _ LOCAL_S _ LOCAL_TILES < <(ingest embedded)
log "embedded ingest: ${LOCAL_S} s, $LOCAL_TILES tiles"
read -r SURVEY S3_S PUBLISH_S S3_TILES < <(ingest s3 "s3://vigil/bench")
log "ingest with object storage: ${S3_S} s (publish ${PUBLISH_S} s), $S3_TILES tiles"
DIR="$WORK/s3"
ARCHIVE_BYTES=$(du -sb "$WORK/weed" | cut -f1)

# ---------------------------------------------------------------- serving
TOKEN=$("$VIGIL_BIN" user add --data-dir "$DIR" --name bench --role viewer --national 2>/dev/null | tail -n 1)
(cd "$DIR/tiles/$SURVEY" && find . -regextype posix-extended -regex '\./[0-9]+/[0-9]+/[0-9]+\.(png|webp)' -printf '%P\n') \
  | sed "s|^|/tiles/$SURVEY/|" | sort >"$WORK/tiles.txt"
serve() {  # serve LABEL: wrk over the tile list against a fresh `vigil serve` (VIGIL_STORAGE_URL set)
  local p
  p=$(free_port)
  VIGIL_STORAGE_URL="s3://vigil/bench" VIGIL_LOG=warn "$VIGIL_BIN" serve --data-dir "$DIR" --listen "127.0.0.1:$p" >/dev/null 2>"$WORK/serve-$1.log" &
  SERVE_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.2; done
  local first
  first=$(head -1 "$WORK/tiles.txt")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$p$first")" = 200 ] \
    || die "$first does not answer 200 ($1; see $WORK/serve-$1.log)"
  local common=(-t "$THREADS" -c "$CONNECTIONS" --timeout 10s -s "$HERE/wrk_tiles.lua")
  TILE_FILE="$WORK/tiles.txt" AUTH_TOKEN="$TOKEN" TILE_SEED=2 WRK_RESULT_FILE="$WORK/warm-$1.txt" \
    wrk "${common[@]}" -d "${WARMUP}s" "http://127.0.0.1:$p" >/dev/null
  TILE_FILE="$WORK/tiles.txt" AUTH_TOKEN="$TOKEN" TILE_SEED=1 WRK_RESULT_FILE="$WORK/wrk-$1.txt" \
    wrk "${common[@]}" -d "${DURATION}s" --latency "http://127.0.0.1:$p" >"$WORK/wrk-$1.out"
  # the first pass over cold tiles: the warm-up's own figures
  kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=""
  grep -q '^err_status=0$' "$WORK/wrk-$1.txt" || die "non-2xx answers under load ($1; see $WORK/wrk-$1.out)"
}
kv() { awk -F= -v k="$2" '$1 == k { print $2 }' "$WORK/$1"; }
serve local
mv "$DIR/tiles/$SURVEY" "$WORK/moved-tiles"
serve object

N=$(wc -l <"$WORK/tiles.txt")
echo
echo "### Survey tiles on object storage — $(date -u +%Y-%m-%d), ${SIZE}² scene, $(nproc) cores"
echo
echo "| | local tile directory | object storage (SeaweedFS S3, one PMTiles archive per survey) | ratio |"
echo "|---|---:|---:|---:|"
echo "| ingest wall time (s) | $LOCAL_S | $S3_S (publish $PUBLISH_S) | $(fdiv "$S3_S" "$LOCAL_S") |"
for k in rps p50_ms p99_ms; do
  echo "| tiles: $k, wrk -t$THREADS -c$CONNECTIONS ${DURATION}s over $N tiles | $(kv wrk-local.txt $k) | $(kv wrk-object.txt $k) | $(fdiv "$(kv wrk-object.txt $k)" "$(kv wrk-local.txt $k)") |"
done
echo "| first ${WARMUP}s (cold archive and cache): req/s | $(kv warm-local.txt rps) | $(kv warm-object.txt rps) | $(fdiv "$(kv warm-object.txt rps)" "$(kv warm-local.txt rps)") |"
echo
echo "Bucket size after both archives: $(( ARCHIVE_BYTES / 1048576 )) MiB on SeaweedFS's disk; $S3_TILES display tiles."
