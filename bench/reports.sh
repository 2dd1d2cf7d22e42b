#!/usr/bin/env bash
# Report benchmark (issue 6): KPIs over N hotspots (default 1,000,000) and the demo's 3,321
# communes, and a yearly report of one province, through the running server over loopback.
#
# usage: bench/reports.sh [N]
# env:
#   VIGIL_BIN=path          default: cargo build --release, then ${CARGO_TARGET_DIR:-target}/release/vigil
#   BOUNDARIES=dir          provinces.geojson + communes.geojson (default: built by
#                           scripts/demo-boundaries/build.sh into bench/work/boundaries)
#   PROVINCE=08 PERIOD=2026 RUNS=5
# Prints the median and the slowest of RUNS requests for each; the goal is under 1 s each.
# Set-up (boundaries, N seeded hotspots, bench/report_fixture.py history) is cached in
# bench/work/reports-N. Everything it starts is stopped on exit.
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_TAG=reports
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
N="${1:-1000000}"
PROVINCE="${PROVINCE:-08}"
PERIOD="${PERIOD:-2026}"
RUNS="${RUNS:-5}"
WORK="$HERE/work"
DIR="$WORK/reports-$N"
mkdir -p "$WORK"

if [ -z "${VIGIL_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q)
  VIGIL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
fi
BOUNDARIES="${BOUNDARIES:-$WORK/boundaries}"
if [ ! -f "$BOUNDARIES/communes.geojson" ]; then
  log "building the demo boundaries into $BOUNDARIES"
  "$ROOT/scripts/demo-boundaries/build.sh" "$BOUNDARIES" >/dev/null
fi

PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; return 0; }
trap cleanup EXIT INT TERM

if [ ! -f "$DIR/.ready" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  export VIGIL_LOG=warn
  log "loading boundaries and $N hotspots into $DIR"
  "$VIGIL_BIN" import boundaries --data-dir "$DIR" "$BOUNDARIES/provinces.geojson" --level province >/dev/null
  "$VIGIL_BIN" import boundaries --data-dir "$DIR" "$BOUNDARIES/communes.geojson" --level commune >/dev/null
  "$VIGIL_BIN" demo seed-hotspots --data-dir "$DIR" --count "$N" --seed 42 >/dev/null
  log "adding the reporting history: $(python3 "$HERE/report_fixture.py" "$DIR")"
  touch "$DIR/.ready"
fi
TOKEN=$("$VIGIL_BIN" user add --data-dir "$DIR" --name "bench-$$" --role admin --national 2>/dev/null | tail -n 1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
VIGIL_LOG=warn "$VIGIL_BIN" serve --data-dir "$DIR" --listen "127.0.0.1:$PORT" >/dev/null 2>"$DIR/serve.log" &
PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || die "the server did not start; see $DIR/serve.log"

measure() {  # measure NAME PATH: RUNS timed GETs after one warm-up
  local name="$1" path="$2" times=() t
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" || die "$path failed"
  for _ in $(seq 1 "$RUNS"); do
    t=$(curl -sf -o "$DIR/out.bin" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path")
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v bytes="$(stat -c %s "$DIR/out.bin")" '
    { t[NR] = $1 } END { printf "%-44s median %.3f s  max %.3f s  (%d runs, %d bytes)\n", name, t[int((NR + 1) / 2)], t[NR], NR, bytes }'
}
log "vigil $("$VIGIL_BIN" --version | cut -d' ' -f2), $N hotspots, $(nproc) cores"
measure "KPIs, whole country ($PERIOD)" "/v1/reports/kpis?period=$PERIOD"
measure "KPIs, province $PROVINCE ($PERIOD)" "/v1/reports/kpis?period=$PERIOD&province=$PROVINCE"
measure "choropleth, province $PROVINCE" "/v1/reports/communes?period=$PERIOD&province=$PROVINCE"
measure "yearly report PDF, province $PROVINCE" "/v1/reports/report.pdf?period=$PERIOD&province=$PROVINCE"
measure "yearly report XLSX, province $PROVINCE" "/v1/reports/report.xlsx?period=$PERIOD&province=$PROVINCE"
measure "yearly report PDF, whole country" "/v1/reports/report.pdf?period=$PERIOD"
