#!/usr/bin/env bash
# End-to-end benchmark of the hotspot feature query
#   GET /collections/hotspots/items?bbox=...&limit=100
# for vigil beside pygeoapi (PostgreSQL provider over PostGIS), on the same points and bboxes,
# over loopback, with wrk (2 threads, 2 connections, fixed duration).
#
# usage: bench/run.sh [--quick] [--fresh] [N]
#   N          number of hotspots (default 1000000; --quick: 100000 and 5 s runs)
#   --fresh    drop the cached PostGIS cluster and generated data for this N/seed first
# env:
#   SEED=42 BBOX_SEED=7 BBOX_COUNT=1000   data and bbox generation (cached under bench/work/)
#   DURATION=15 WARMUP=3                  seconds of measured / warm-up load per tool
#   CONNECTIONS=2 THREADS=2               wrk settings
#   PYGEOAPI_WORKERS=2                    gunicorn sync workers serving pygeoapi (= cores)
#   VIGIL_BIN=path                        default: cargo build --release, then
#                                         ${CARGO_TARGET_DIR:-target}/release/vigil
#   SKIP_VIGIL=1 / SKIP_PYGEOAPI=1        run one side only
#   NO_SETUP=1                            don't run bench/setup.sh first
#   TILES=0                               leave out the vector tile pyramid (issue 16): z0–z10 over
#                                         Viet Nam's box from vigil, then from Martin over the same
#                                         PostGIS table (martin is built once with
#                                         --no-default-features --features postgres, kept in
#                                         bench/work/martin/), cold, warm and 4 clients
#   BENCH_STRICT=1                        exit 3 when a goal is missed
#   WAIT_QUIET=S                          wait up to S s for the load average to drop below 0.7
#                                         before each measured run (the machine may be shared)
# Everything it starts (PostgreSQL, gunicorn, vigil) is stopped on exit, error or Ctrl-C.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WORK="$HERE/work"
RUN_DIR="$WORK"   # per-N run directory, set below; logs go there

N=1000000
QUICK=0
FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; N=100000 ;;
    --fresh) FRESH=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    [0-9]*) N="$1" ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
SEED="${SEED:-42}"
BBOX_SEED="${BBOX_SEED:-7}"
BBOX_COUNT="${BBOX_COUNT:-1000}"
if [ "$QUICK" = 1 ]; then DURATION="${DURATION:-5}"; WARMUP="${WARMUP:-1}"; fi
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-2}"
THREADS="${THREADS:-2}"
PYGEOAPI_WORKERS="${PYGEOAPI_WORKERS:-2}"
SKIP_VIGIL="${SKIP_VIGIL:-0}"
SKIP_PYGEOAPI="${SKIP_PYGEOAPI:-0}"
PGBIN=/usr/lib/postgresql/15/bin
VENV="$HERE/.venv"

T0=$(date +%s)
log() { printf '[bench %4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ( $(now_ns) - $1 ) / 1000000 )); }

# ---------------------------------------------------------------- cleanup
PIDS=()          # servers we started (killed on exit)
PG_DATA=""       # cluster we started (stopped on exit)
PG_STARTED=0
as_pg() {  # run a command as the postgres user when root (initdb/postgres refuse root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
CHILD=""        # long-running step in progress (run via fg so signals are handled at once)
fg() {  # run "$@" as a waited-for background job, so INT/TERM traps fire immediately
  local rc=0
  "$@" <&0 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return $rc
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ "$PG_STARTED" = 1 ] && [ -n "$PG_DATA" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  [ $rc = 0 ] || log "exit $rc (servers stopped; logs in $RUN_DIR)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_200 URL DEADLINE_S PID START_NS -> prints ms since START_NS at the first 200; fails on timeout or if PID died
wait_200() {
  local url="$1" deadline_s="$2" pid="$3" start="$4" code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null || true)
    [ "$code" = 200 ] && { ms_since "$start"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    [ $(( ( $(now_ns) - start ) / 1000000000 )) -lt "$deadline_s" ] || return 1
    sleep 0.01
  done
}

# ---------------------------------------------------------------- setup & data
[ "${NO_SETUP:-0}" = 1 ] || "$HERE/setup.sh"
command -v wrk >/dev/null || die "wrk missing (bench/setup.sh)"

DATA="$WORK/data/n${N}-s${SEED}"
RUN_DIR="$WORK/run-n${N}"
mkdir -p "$WORK" "$RUN_DIR"
if [ "$FRESH" = 1 ]; then
  log "--fresh: removing $DATA and cached PostGIS cluster"
  rm -rf "$DATA" "$WORK/pg/n${N}-s${SEED}"
fi
POINTS="$DATA/points.csv"
POINTS_PG="$DATA/points.pg.csv"
BBOXES="$DATA/bboxes-s${BBOX_SEED}-c${BBOX_COUNT}.txt"
if [ ! -s "$POINTS" ] || [ ! -s "$POINTS_PG" ]; then
  mkdir -p "$DATA"
  log "generating $N hotspots (seed $SEED)"
  fg timeout 900 python3 "$HERE/gen_points.py" "$N" "$POINTS.tmp" --pg "$POINTS_PG.tmp" --seed "$SEED"
  mv "$POINTS_PG.tmp" "$POINTS_PG"; mv "$POINTS.tmp" "$POINTS"
fi
if [ ! -s "$BBOXES" ]; then
  fg timeout 300 python3 "$HERE/gen_bboxes.py" "$POINTS" "$BBOXES.tmp" --count "$BBOX_COUNT" --seed "$BBOX_SEED"
  mv "$BBOXES.tmp" "$BBOXES"
fi
log "data: $POINTS ($N rows), bboxes: $BBOXES"

# ---------------------------------------------------------------- vigil binary
VIGIL=""
if [ "$SKIP_VIGIL" != 1 ]; then
  if [ -n "${VIGIL_BIN:-}" ]; then
    VIGIL="$VIGIL_BIN"
  else
    log "cargo build --release (vigil)"
    fg timeout 3600 cargo build --release --quiet --bin vigil --manifest-path "$ROOT/Cargo.toml" || die "cargo build --release failed"
    VIGIL="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
  fi
  [ -x "$VIGIL" ] || die "vigil binary not found at $VIGIL"
fi

# results (key=value), filled as we go
declare -A R
R[n]=$N

# ---------------------------------------------------------------- PostgreSQL + PostGIS
PGPORT=""
start_postgis() {
  PG_DATA="$WORK/pg/n${N}-s${SEED}/data"
  local pgroot="$WORK/pg/n${N}-s${SEED}" sock="$WORK/pg/n${N}-s${SEED}/sock"
  PGPORT=$(free_port)
  if [ ! -e "$pgroot/loaded" ]; then
    rm -rf "$pgroot"; mkdir -p "$pgroot" "$sock"
    [ "$(id -u)" != 0 ] || chown -R postgres:postgres "$pgroot"
    log "initdb throwaway cluster in $PG_DATA"
    as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$RUN_DIR/initdb.log" 2>&1 \
      || { cat "$RUN_DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$PG_DATA/postgresql.conf" <<EOF
# --- vigil bench (throwaway, read-only benchmark; durability off for the load)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
shared_buffers = 1GB
effective_cache_size = 4GB
work_mem = 32MB
maintenance_work_mem = 512MB
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
logging_collector = off
log_min_messages = warning
EOF
  fi
  log "starting PostgreSQL 15 on 127.0.0.1:$PGPORT"
  PG_STARTED=1
  as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$sock" \
    -l "$pgroot/server.log" -w -t 60 start >/dev/null || { tail -20 "$pgroot/server.log" >&2; die "PostgreSQL did not start"; }
  export PGOPTIONS='-c client_min_messages=warning'
  PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres)
  if [ ! -e "$pgroot/loaded" ]; then
    log "loading $N points into PostGIS (COPY + GIST index)"
    local t=$(now_ns)
    "${PSQL[@]}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS hotspots_stage, hotspots;
CREATE UNLOGGED TABLE hotspots_stage (id bigint, lon double precision, lat double precision,
  name text, kind text, status text, reported_on date);
SQL
    fg timeout 1200 "${PSQL[@]}" -c "COPY hotspots_stage FROM STDIN (FORMAT csv, HEADER true)" <"$POINTS_PG"
    fg timeout 1800 "${PSQL[@]}" <<'SQL'
CREATE TABLE hotspots (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  reported_on date,
  geom geometry(Point, 4326) NOT NULL
);
INSERT INTO hotspots SELECT id, name, kind, status, reported_on,
  ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM hotspots_stage ORDER BY id;
DROP TABLE hotspots_stage;
CREATE INDEX hotspots_geom_gist ON hotspots USING GIST (geom);
VACUUM ANALYZE hotspots;
SQL
    R[pg_load_s]=$(awk -v ms="$(ms_since "$t")" 'BEGIN{printf "%.1f", ms/1000}')
    touch "$pgroot/loaded"
    log "PostGIS load: ${R[pg_load_s]} s"
  else
    log "PostGIS cluster cached ($pgroot; --fresh to rebuild)"
  fi
  local cnt
  cnt=$("${PSQL[@]}" -At -c "SELECT count(*) FROM hotspots")
  [ "$cnt" = "$N" ] || die "PostGIS has $cnt rows, expected $N"
  # how many points the bbox list matches (cached per data set): context for the figures
  local stats="$DATA/bbox-stats-s${BBOX_SEED}-c${BBOX_COUNT}.txt"
  if [ ! -s "$stats" ]; then
    log "counting matches for the bboxes in PostGIS (the first 1000 at most)"
    head -n 1000 "$BBOXES" | awk -F, '{printf "%d,%s,%s,%s,%s\n", NR, $1, $2, $3, $4}' | timeout 600 "${PSQL[@]}" -c "
      CREATE TEMP TABLE bb (n int, x1 float8, y1 float8, x2 float8, y2 float8);
      COPY bb FROM STDIN (FORMAT csv);
      CREATE TABLE IF NOT EXISTS bbox_counts AS SELECT 0 AS n, 0::bigint AS c LIMIT 0;
      TRUNCATE bbox_counts;
      INSERT INTO bbox_counts SELECT n, (SELECT count(*) FROM hotspots h
        WHERE ST_Intersects(h.geom, ST_MakeEnvelope(x1, y1, x2, y2, 4326))) FROM bb;"
    "${PSQL[@]}" -At -F' ' -c "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c),
        percentile_disc(0.9) WITHIN GROUP (ORDER BY c), max(c), round(avg(c)),
        count(*) FILTER (WHERE c < 100) FROM bbox_counts" >"$stats"
  fi
  read -r BB_P50 BB_P90 BB_MAX BB_AVG BB_UNDER100 <"$stats"
  R[bbox_stats]="numberMatched over the bbox list: median $BB_P50, p90 $BB_P90, max $BB_MAX, mean $BB_AVG; $BB_UNDER100 of $(( BBOX_COUNT < 1000 ? BBOX_COUNT : 1000 )) boxes match < 100"
  log "${R[bbox_stats]}"
  # warm the cache (index + heap) so neither side is measured cold
  "${PSQL[@]}" -At -c "SELECT count(*) FROM hotspots WHERE geom && ST_MakeEnvelope(102,8,110,24,4326)" >/dev/null
}
pg_count() {  # pg_count minx,miny,maxx,maxy -> count with a bbox-intersects predicate
  local b="$1"
  "${PSQL[@]}" -At -c "SELECT count(*) FROM hotspots WHERE ST_Intersects(geom, ST_MakeEnvelope($b, 4326))"
}

# ---------------------------------------------------------------- pygeoapi
PYG_PORT=""
start_pygeoapi() {
  [ -x "$VENV/bin/gunicorn" ] || die "bench/.venv missing gunicorn (run bench/setup.sh)"
  PYG_PORT=$(free_port)
  local cfg="$RUN_DIR/pygeoapi-config.yml" oapi="$RUN_DIR/pygeoapi-openapi.yml"
  cat >"$cfg" <<EOF
server:
  bind: {host: 127.0.0.1, port: $PYG_PORT}
  url: http://127.0.0.1:$PYG_PORT
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  languages: [en-US]
  cors: false
  pretty_print: false
  limits: {default_items: 10, max_items: 1000}
  map:
    url: https://tile.openstreetmap.org/{z}/{x}/{y}.png
    attribution: OpenStreetMap
logging:
  level: ERROR
metadata:
  identification:
    title: vigil bench peer
    description: pygeoapi over PostGIS, same hotspots as vigil
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: http://127.0.0.1
  license: {name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}
  provider: {name: bench, url: http://127.0.0.1}
  contact: {name: bench, position: bench, address: none, city: none, stateorprovince: none,
            postalcode: '0', country: VN, phone: '0', fax: '0', email: none@example.org,
            url: http://127.0.0.1, hours: none, instructions: none, role: pointOfContact}
resources:
  hotspots:
    type: collection
    title: hotspots
    description: synthetic hotspots
    keywords: [hotspots]
    links: []
    extents:
      spatial:
        bbox: [102.1, 8.5, 109.5, 23.4]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: 127.0.0.1
          port: $PGPORT
          dbname: postgres
          user: postgres
          search_path: [public]
        id_field: id
        table: hotspots
        geom_field: geom
EOF
  PYGEOAPI_CONFIG="$cfg" timeout 120 "$VENV/bin/pygeoapi" openapi generate "$cfg" --output-file "$oapi" \
    >"$RUN_DIR/pygeoapi-openapi.log" 2>&1 || { tail -20 "$RUN_DIR/pygeoapi-openapi.log" >&2; die "pygeoapi openapi generate failed"; }
  log "starting pygeoapi $("$VENV/bin/pip" show pygeoapi 2>/dev/null | awk '/^Version/{print $2}') (gunicorn, $PYGEOAPI_WORKERS workers) on 127.0.0.1:$PYG_PORT"
  local t=$(now_ns)
  PYGEOAPI_CONFIG="$cfg" PYGEOAPI_OPENAPI="$oapi" "$VENV/bin/gunicorn" \
    --bind "127.0.0.1:$PYG_PORT" --workers "$PYGEOAPI_WORKERS" --log-level warning \
    --error-logfile "$RUN_DIR/pygeoapi.log" pygeoapi.flask_app:APP >>"$RUN_DIR/pygeoapi.log" 2>&1 &
  PIDS+=($!)
  local pid=$!
  R[pygeoapi_startup_ms]=$(wait_200 "http://127.0.0.1:$PYG_PORT/" 60 "$pid" "$t") \
    || { tail -30 "$RUN_DIR/pygeoapi.log" >&2; die "pygeoapi did not answer 200 on / within 60 s"; }
  log "pygeoapi up in ${R[pygeoapi_startup_ms]} ms"
}

# ---------------------------------------------------------------- vigil
VIGIL_PORT=""
TOKEN=""
start_vigil() {
  local dd="$RUN_DIR/vigil-data"
  rm -rf "$dd"; mkdir -p "$dd"
  log "vigil import hotspots ($N rows)"
  local t=$(now_ns)
  fg timeout 1800 "$VIGIL" import hotspots --data-dir "$dd" "$POINTS" >"$RUN_DIR/vigil-import.log" 2>&1 \
    || { tail -30 "$RUN_DIR/vigil-import.log" >&2; die "vigil import hotspots failed"; }
  R[vigil_import_s]=$(awk -v ms="$(ms_since "$t")" 'BEGIN{printf "%.1f", ms/1000}')
  log "vigil import: ${R[vigil_import_s]} s ($(du -sh "$dd" | cut -f1) on disk)"
  TOKEN=$(timeout 60 "$VIGIL" user add --data-dir "$dd" --name bench --role viewer --national 2>>"$RUN_DIR/vigil-user.log" | tail -n 1)
  [[ "$TOKEN" == vgl_* ]] || die "vigil user add did not print a vgl_ token (got '$TOKEN')"
  VIGIL_PORT=$(free_port)
  log "starting vigil serve on 127.0.0.1:$VIGIL_PORT"
  t=$(now_ns)
  "$VIGIL" serve --data-dir "$dd" --listen "127.0.0.1:$VIGIL_PORT" >"$RUN_DIR/vigil-serve.log" 2>&1 &
  PIDS+=($!)
  local pid=$!
  R[vigil_startup_ms]=$(wait_200 "http://127.0.0.1:$VIGIL_PORT/healthz" 120 "$pid" "$t") \
    || { tail -30 "$RUN_DIR/vigil-serve.log" >&2; die "vigil did not answer 200 on /healthz within 120 s"; }
  log "vigil up (first 200 on /healthz) in ${R[vigil_startup_ms]} ms"
}

# ---------------------------------------------------------------- checks & load
# check_geojson NAME BASEURL [TOKEN]: first bbox must be a 200 GeoJSON FeatureCollection
check_geojson() {
  local name="$1" base="$2" tok="${3:-}" bb out
  bb=$(head -n 1 "$BBOXES")
  out="$RUN_DIR/$name-check.json"
  local hdr=(-H 'Accept: application/geo+json, application/json')
  [ -z "$tok" ] || hdr+=(-H "Authorization: Bearer $tok")
  local meta
  meta=$(curl -s --max-time 30 "${hdr[@]}" -o "$out" -w '%{http_code} %{content_type}' "$base/collections/hotspots/items?bbox=$bb&limit=100") || true
  python3 - "$name" "$meta" "$out" <<'PY' || die "$name: /collections/hotspots/items is not a 200 GeoJSON FeatureCollection"
import json, sys
name, meta, path = sys.argv[1], sys.argv[2], sys.argv[3]
code, _, ctype = meta.partition(" ")
body = open(path, encoding="utf-8", errors="replace").read()
if code != "200" or "json" not in ctype:
    sys.exit(f"{name}: HTTP {code} {ctype}: {body[:300]}")
d = json.loads(body)
assert d.get("type") == "FeatureCollection", d.get("type")
f = d.get("features") or []
assert 0 < len(f) <= 100, len(f)
assert f[0]["type"] == "Feature" and f[0]["geometry"]["type"] == "Point", f[0]
print(f"[check] {name}: 200 {ctype}, {len(f)} features, numberMatched={d.get('numberMatched')}, {len(body)} bytes", file=sys.stderr)
PY
}
number_matched() {  # number_matched BASEURL BBOX [TOKEN]
  local hdr=()
  [ -z "${3:-}" ] || hdr=(-H "Authorization: Bearer $3")
  curl -s --max-time 60 "${hdr[@]}" "$1/collections/hotspots/items?bbox=$2&limit=1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("numberMatched"))'
}

# run_wrk NAME BASEURL [TOKEN]
run_wrk() {
  local name="$1" base="$2" tok="${3:-}"
  local res="$RUN_DIR/$name-wrk.txt"
  local common=(-t "$THREADS" -c "$CONNECTIONS" --timeout 10s -s "$HERE/wrk_bboxes.lua")
  log "$name: warm-up ${WARMUP}s"
  BBOX_FILE="$BBOXES" AUTH_TOKEN="$tok" WRK_RESULT_FILE="$RUN_DIR/$name-warmup.txt" \
    fg timeout $((WARMUP + 30)) wrk "${common[@]}" -d "${WARMUP}s" "$base" >/dev/null
  if [ "${WAIT_QUIET:-0}" -gt 0 ]; then  # wait (bounded) for other work on the machine to settle
    local until_s=$(( $(date +%s) + WAIT_QUIET ))
    while awk '{exit !($1 > 0.7)}' /proc/loadavg && [ "$(date +%s)" -lt "$until_s" ]; do sleep 5; done
  fi
  R[${name}_load]=$(cut -d' ' -f1 /proc/loadavg)
  awk '{exit !($1 > 1.0)}' /proc/loadavg && log "WARNING: 1-min load average ${R[${name}_load]} before the $name run: other work on this machine will skew the figures"
  log "$name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency"
  BBOX_FILE="$BBOXES" AUTH_TOKEN="$tok" WRK_RESULT_FILE="$res" \
    fg timeout $((DURATION + 60)) wrk "${common[@]}" -d "${DURATION}s" --latency "$base" >"$RUN_DIR/$name-wrk.out"
  cat "$RUN_DIR/$name-wrk.out" >&2
  local k v
  while IFS='=' read -r k v; do R[${name}_$k]=$v; done <"$res"
  local errs=$(( R[${name}_err_connect] + R[${name}_err_read] + R[${name}_err_write] + R[${name}_err_status] + R[${name}_err_timeout] ))
  R[${name}_errors]=$errs
  if [ "${R[${name}_err_status]}" != 0 ]; then
    die "$name: ${R[${name}_err_status]} non-2xx/3xx responses under load (see $RUN_DIR/$name-wrk.out)"
  fi
  [ "${R[${name}_requests]}" -gt 0 ] || die "$name: no completed requests"
}

# ---------------------------------------------------------------- vector tiles (issue 16)
TILES="${TILES:-1}"
MARTIN="$WORK/martin/bin/martin"
tile_bench() {  # name url-template [token]
  log "vector tile pyramid z0-z10 from $1"
  fg timeout 3600 python3 "$HERE/tile_bench.py" "$2" --token "${3:-}" --name "$1" >"$RUN_DIR/tiles-$1.json" \
    || die "tile benchmark of $1 failed"
  log "$1: $(cat "$RUN_DIR/tiles-$1.json")"
}
start_martin() {
  if [ ! -x "$MARTIN" ]; then
    log "building martin 0.18.0 once (--no-default-features --features postgres) into $WORK/martin"
    fg cargo install martin --version 0.18.0 --no-default-features --features postgres --locked --root "$WORK/martin" \
      >"$RUN_DIR/martin-build.log" 2>&1 || { tail -30 "$RUN_DIR/martin-build.log" >&2; die "building martin failed"; }
  fi
  MARTIN_PORT=$(free_port)
  log "starting martin on 127.0.0.1:$MARTIN_PORT over PostGIS"
  local t=$(now_ns)
  "$MARTIN" --listen-addresses "127.0.0.1:$MARTIN_PORT" --workers 2 \
    "postgresql://postgres@127.0.0.1:$PGPORT/postgres" >"$RUN_DIR/martin.log" 2>&1 &
  PIDS+=($!)
  R[martin_startup_ms]=$(wait_200 "http://127.0.0.1:$MARTIN_PORT/health" 120 "$!" "$t") \
    || { tail -30 "$RUN_DIR/martin.log" >&2; die "martin did not answer on /health"; }
  curl -s "http://127.0.0.1:$MARTIN_PORT/catalog" >"$RUN_DIR/martin-catalog.json"
  grep -q '"hotspots"' "$RUN_DIR/martin-catalog.json" || die "martin does not publish the hotspots table: $(cat "$RUN_DIR/martin-catalog.json")"
}

# ---------------------------------------------------------------- the run
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), N=$N, ${DURATION}s per tool"
if [ "$SKIP_PYGEOAPI" != 1 ] || [ "$SKIP_VIGIL" != 1 ]; then start_postgis; fi

if [ "$SKIP_VIGIL" != 1 ]; then
  start_vigil
  check_geojson vigil "http://127.0.0.1:$VIGIL_PORT" "$TOKEN"
  # numberMatched sanity vs PostGIS on 3 bboxes (first, middle, last of the list)
  log "numberMatched sanity (vigil vs PostGIS count)"
  SANITY_OK=1
  for ln in 1 $(( BBOX_COUNT / 2 )) "$BBOX_COUNT"; do
    bb=$(sed -n "${ln}p" "$BBOXES")
    v=$(number_matched "http://127.0.0.1:$VIGIL_PORT" "$bb" "$TOKEN")
    p=$(pg_count "$bb")
    ok=ok; [ "$v" = "$p" ] || { ok=MISMATCH; SANITY_OK=0; }
    printf '[sanity] bbox=%s vigil=%s postgis=%s %s\n' "$bb" "$v" "$p" "$ok" >&2
  done
  R[sanity]=$([ "$SANITY_OK" = 1 ] && echo ok || echo MISMATCH)
  run_wrk vigil "http://127.0.0.1:$VIGIL_PORT" "$TOKEN"
  [ "$TILES" != 1 ] || tile_bench vigil "http://127.0.0.1:$VIGIL_PORT/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}" "$TOKEN"
  R[vigil_rss_mb]=$(ps -o rss= -p "${PIDS[-1]}" 2>/dev/null | awk '{printf "%d", $1/1024}')
  kill -TERM "${PIDS[-1]}" 2>/dev/null || true   # free the cores before the peer runs
fi

if [ "$TILES" = 1 ] && [ -n "$PGPORT" ]; then
  start_martin
  tile_bench martin "http://127.0.0.1:$MARTIN_PORT/hotspots/{z}/{x}/{y}"
  kill -TERM "${PIDS[-1]}" 2>/dev/null || true
fi

if [ "$SKIP_PYGEOAPI" != 1 ]; then
  start_pygeoapi
  check_geojson pygeoapi "http://127.0.0.1:$PYG_PORT"
  bb=$(sed -n 1p "$BBOXES")
  log "[sanity] pygeoapi numberMatched=$(number_matched "http://127.0.0.1:$PYG_PORT" "$bb") postgis=$(pg_count "$bb") for $bb"
  run_wrk pygeoapi "http://127.0.0.1:$PYG_PORT"
fi

# ---------------------------------------------------------------- report
fmt_row() {  # tool
  local t="$1" start="${2:-}"
  printf '| %-8s | %10s | %8s | %8s | %6s | %-24s |\n' "$t" "${R[${t}_rps]:--}" "${R[${t}_p50_ms]:--}" "${R[${t}_p99_ms]:--}" "${R[${t}_errors]:--}" "$start"
}
REPORT="$RUN_DIR/results.md"
{
  echo "### hotspot items query, N=$N, bbox list $BBOX_COUNT (seed $BBOX_SEED), limit=100"
  echo
  echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), loopback; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| tool     |      req/s |  p50 ms  |  p99 ms  | errors | start-up                 |"
  echo "|----------|-----------:|---------:|---------:|-------:|--------------------------|"
  [ "$SKIP_VIGIL" = 1 ] || fmt_row vigil "${R[vigil_startup_ms]} ms (R-tree rebuild)"
  [ "$SKIP_PYGEOAPI" = 1 ] || fmt_row pygeoapi "${R[pygeoapi_startup_ms]} ms (+PostGIS)"
  echo
  [ -z "${R[bbox_stats]:-}" ] || echo "${R[bbox_stats]}"
  echo "1-min load average before each run: vigil ${R[vigil_load]:--}, pygeoapi ${R[pygeoapi_load]:--}"
  [ "$SKIP_VIGIL" = 1 ] || echo "vigil: import ${R[vigil_import_s]} s, RSS after load ${R[vigil_rss_mb]:-?} MiB, p90 ${R[vigil_p90_ms]} ms, p99.9 ${R[vigil_p999_ms]} ms, max ${R[vigil_max_ms]} ms, numberMatched vs PostGIS: ${R[sanity]}"
  [ "$SKIP_PYGEOAPI" = 1 ] || echo "pygeoapi: gunicorn $PYGEOAPI_WORKERS sync workers; p90 ${R[pygeoapi_p90_ms]} ms, p99.9 ${R[pygeoapi_p999_ms]} ms, max ${R[pygeoapi_max_ms]} ms${R[pg_load_s]:+; PostGIS load+index ${R[pg_load_s]} s}"
  if [ "$TILES" = 1 ]; then
    echo
    echo "### vector tiles: every tile of z0–z10 over Viet Nam's box, N=$N (vigil: counts per cell where a tile holds > 10 000; Martin: every point, ST_AsMVT)"
    echo
    echo "| server | tiles | cold tiles/s | cold p50 / p99 ms | warm tiles/s | warm p99 ms | 4 clients tiles/s | 4 clients p99 ms | mean KiB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for t in vigil martin; do
      [ -s "$RUN_DIR/tiles-$t.json" ] || continue
      python3 "$HERE/tile_bench.py" --row "$RUN_DIR/tiles-$t.json"
    done
  fi
} >"$REPORT"

GOAL_MISS=0
if [ "$SKIP_VIGIL" != 1 ] && [ "$SKIP_PYGEOAPI" != 1 ]; then
  verdict=$(awk -v v="${R[vigil_rps]}" -v p="${R[pygeoapi_rps]}" -v p99="${R[vigil_p99_ms]}" -v st="${R[vigil_startup_ms]}" 'BEGIN{
    r = (p > 0) ? v / p : 0; miss = 0
    a = (r >= 100) ? "PASS" : "MISS"; if (a == "MISS") miss = 1
    b = (p99 < 5) ? "PASS" : "MISS"; if (b == "MISS") miss = 1
    c = (st < 3000) ? "PASS" : "MISS"; if (c == "MISS") miss = 1
    printf "goals: %.1fx pygeoapi req/s (>=100x) %s; p99 %.2f ms (<5 ms) %s; start-up %d ms (<3000 ms) %s\n", r, a, p99, b, st, c
    exit miss }') || GOAL_MISS=1
  echo "$verdict" >>"$REPORT"
fi
echo >&2
cat "$REPORT"
log "report saved to $REPORT"
if [ "$GOAL_MISS" = 1 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then exit 3; fi
