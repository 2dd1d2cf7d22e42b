# Shell helpers shared by the end-to-end benchmarks (bench/ingest.sh, bench/classify.sh,
# bench/reports.sh, bench/analytics.sh). Source it after setting BENCH_TAG (the log prefix); it
# defines nothing else global but T0 and CHILD, and the issue-6 helpers at the end set the globals
# they name (VIGIL_BIN, BOUNDARIES, DIR, TOKEN, PORT, VIGIL_PID, FIRST, MEDIAN, MAX).
# shellcheck shell=bash

T0=$(date +%s)
log() { printf '[%s %4ds] %s\n' "${BENCH_TAG:-bench}" "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ( $(now_ns) - $1 ) / 1000000 )); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_weed() {  # start_weed WEED DIR: SeaweedFS's `weed mini` (one bucket, `vigil`) on free loopback
  # ports with its files in DIR; sets WEED_PID and exports AWS_* for its S3 gateway (the caller
  # stops it: kill "$WEED_PID").
  local weed=$1 dir=$2 s3 f
  export AWS_ACCESS_KEY_ID=vigil-bench AWS_SECRET_ACCESS_KEY=vigil-bench-secret AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
  s3=$(free_port)
  local args=(-dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket=vigil -admin.ui=false -webdav=false "-s3.port=$s3")
  for f in master.port master.port.grpc volume.port volume.port.grpc filer.port filer.port.grpc s3.port.grpc \
           s3.port.iceberg s3.port.lance admin.port admin.port.grpc; do args+=("-$f=$(free_port)"); done
  mkdir -p "$dir"
  "$weed" mini "${args[@]}" >"$dir.log" 2>&1 &
  WEED_PID=$!
  for _ in $(seq 1 450); do grep -q "S3 Endpoint" "$dir.log" && break; sleep 0.2; done
  grep -q "S3 Endpoint" "$dir.log" || die "weed mini did not start (see $dir.log)"
  export AWS_ENDPOINT_URL=http://127.0.0.1:$s3
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

wait_quiet() {  # bounded wait for other work on the machine to settle; records the load average in R
  if [ "${WAIT_QUIET:-0}" -gt 0 ]; then
    local until_s=$(( $(date +%s) + WAIT_QUIET ))
    while awk '{exit !($1 > 0.7)}' /proc/loadavg && [ "$(date +%s)" -lt "$until_s" ]; do sleep 5; done
  fi
  R[${1}_load]=$(cut -d' ' -f1 /proc/loadavg)
  awk '{exit !($1 > 1.0)}' /proc/loadavg && log "WARNING: 1-min load average ${R[${1}_load]} before the $1 run: other work on this machine will skew the figures"
  return 0
}
kv_into_R() {  # kv_into_R PREFIX FILE: key=value lines into R[PREFIX_key]
  local k v
  while IFS='=' read -r k v; do [ -n "$k" ] && R[${1}_$k]=$v; done <"$2"
}
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN{ if (b > 0) printf f, a / b; else printf "-" }'; }
kb_to_mib() { awk -v k="$1" 'BEGIN{printf "%d", k / 1024}'; }

# --- The issue-6 dataset and server (bench/reports.sh, bench/analytics.sh) ---

# reports_dataset N: the cached data dir bench/work/reports-N in DIR — the demo boundaries
# (BOUNDARIES, default bench/work/boundaries, built by scripts/demo-boundaries/build.sh when missing),
# N seeded hotspots (seed 42) and bench/report_fixture.py's reporting history — loaded the first
# time. Builds the release binary into VIGIL_BIN unless VIGIL_BIN is set.
reports_dataset() {
  local n="$1" here root
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  root="$(cd "$here/.." && pwd)"
  if [ -z "${VIGIL_BIN:-}" ]; then
    (cd "$root" && cargo build --release -q)
    VIGIL_BIN="${CARGO_TARGET_DIR:-$root/target}/release/vigil"
  fi
  BOUNDARIES="${BOUNDARIES:-$here/work/boundaries}"
  if [ ! -f "$BOUNDARIES/communes.geojson" ]; then
    log "building the demo boundaries into $BOUNDARIES"
    "$root/scripts/demo-boundaries/build.sh" "$BOUNDARIES" >/dev/null
  fi
  DIR="$here/work/reports-$n"
  if [ ! -f "$DIR/.ready" ]; then
    rm -rf "$DIR"; mkdir -p "$DIR"
    log "loading boundaries and $n hotspots into $DIR"
    VIGIL_LOG=warn "$VIGIL_BIN" import boundaries --data-dir "$DIR" "$BOUNDARIES/provinces.geojson" --level province >/dev/null
    VIGIL_LOG=warn "$VIGIL_BIN" import boundaries --data-dir "$DIR" "$BOUNDARIES/communes.geojson" --level commune >/dev/null
    VIGIL_LOG=warn "$VIGIL_BIN" demo seed-hotspots --data-dir "$DIR" --count "$n" --seed 42 >/dev/null
    log "adding the reporting history: $(python3 "$here/report_fixture.py" "$DIR")"
    # Which boundaries file the dataset was loaded from (bench/analytics.sh reads the same polygons).
    printf '%s\n' "$BOUNDARIES" >"$DIR/boundaries.path"
    touch "$DIR/.ready"
  fi
}

# start_vigil: a national admin token in TOKEN and `vigil serve` over DIR on a free loopback port
# (PORT, VIGIL_PID); stop it with stop_vigil (call it from the script's EXIT trap).
VIGIL_PID=""
start_vigil() {
  TOKEN=$("$VIGIL_BIN" user add --data-dir "$DIR" --name "bench-$$" --role admin --national 2>/dev/null | tail -n 1)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  VIGIL_LOG=warn "$VIGIL_BIN" serve --data-dir "$DIR" --listen "127.0.0.1:$PORT" >/dev/null 2>"$DIR/serve.log" &
  VIGIL_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || die "the server did not start; see $DIR/serve.log"
}
stop_vigil() {
  if [ -n "$VIGIL_PID" ]; then kill "$VIGIL_PID" 2>/dev/null && wait "$VIGIL_PID" 2>/dev/null; VIGIL_PID=""; fi
  return 0
}

# measure NAME PATH [OUT]: one warm-up GET (its time left in FIRST), then RUNS timed GETs (default
# 5) with the token; prints the median and the slowest (also left in MEDIAN and MAX, seconds) and
# keeps the last body in OUT (default DIR/out.bin). The line is also appended to MEASURE_LOG when
# that is set.
measure() {
  local name="$1" path="$2" out="${3:-$DIR/out.bin}" times=() t line
  FIRST=$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path") || die "$path failed"
  for _ in $(seq 1 "${RUNS:-5}"); do
    t=$(curl -sf -o "$out" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path") || die "$path failed"
    times+=("$t")
  done
  read -r MEDIAN MAX < <(printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)], t[NR] }')
  line=$(printf '%-44s median %.3f s  max %.3f s  (%d runs, %d bytes)' "$name" "$MEDIAN" "$MAX" "${#times[@]}" "$(stat -c %s "$out")")
  printf '%s\n' "$line"
  if [ -n "${MEASURE_LOG:-}" ]; then printf '%s\n' "$line" >>"$MEASURE_LOG"; fi
  return 0
}
