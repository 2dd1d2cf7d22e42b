#!/usr/bin/env bash
# Soak test (issue 13): mixed traffic — hotspot reads, creates, transitions, deletes, review
# decisions, KPI reports, uploads that become survey ingests — against a release `vigil serve` on
# 127.0.0.1, killed with SIGKILL and restarted every RESTART_EVERY seconds, for DURATION seconds.
# At the end every count reconciles with the audit log, there must be no 5xx outside the restart
# windows, and the p50/p99 of the reads are printed (bench/soak.py does the traffic and checks).
#
# usage: bench/soak.sh            (or: make soak)
# env:
#   DURATION=600 RESTART_EVERY=120 INGEST_EVERY=30 THREADS=4
#   VIGIL_BIN=path    default: cargo build --release, then ${CARGO_TARGET_DIR:-target}/release/vigil
#   PORT=18383        loopback port (127.0.0.1 only)
#   KEEP=1            keep the data dir (printed) for inspection
# Exit status 1 when a check fails. Everything it starts is stopped on exit.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export DURATION="${DURATION:-600}" RESTART_EVERY="${RESTART_EVERY:-120}"
export INGEST_EVERY="${INGEST_EVERY:-30}" THREADS="${THREADS:-4}"
PORT="${PORT:-18383}"

if [ -z "${VIGIL_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  VIGIL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
fi
export VIGIL_BIN

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vigil-soak-XXXXXX")"
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "data dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
DATA="$WORK/data"
mkdir -p "$DATA"

# Set-up commands log warnings only; the server logs to $WORK/serve.log.
v() { VIGIL_LOG=warn "$VIGIL_BIN" "$@" --data-dir "$DATA"; }
token() { v user add "$@" | tail -n 1; }

echo "soak: ${DURATION} s, kill -9 every ${RESTART_EVERY} s, ${THREADS} threads, data in $DATA"
v import boundaries "$ROOT/tests/fixtures/boundaries/provinces.geojson" --level province >/dev/null
v import boundaries "$ROOT/tests/fixtures/boundaries/communes.geojson" --level commune >/dev/null
ADMIN="$(token --name admin --role admin --national)"
ANALYST="$(token --name analyst --role analyst --province 08)"
OPERATOR="$(token --name operator --role operator --province 08)"
REVIEWER="$(token --name reviewer --role reviewer --province 08)"
v demo seed-hotspots --count 500 --seed 7 >/dev/null
SEEDED=500
# Flags to decide on: one scene with poppy and cannabis plots, ingested before the start; the
# same kind of scene (smaller) is what the uploads send.
VIGIL_LOG=warn "$VIGIL_BIN" sample-imagery --out "$WORK" --name review --seed 9003 --size 1024 --layout rgbn \
  --gsd 0.05 --crs EPSG:32648 --center 105.2,22.0 >/dev/null
v ingest "$WORK/review.tif" --name review --acquired-at 2026-03-01T08:00:00Z >/dev/null 2>&1
VIGIL_LOG=warn "$VIGIL_BIN" sample-imagery --out "$WORK" --name upload --seed 9004 --size 512 --layout rgbn \
  --gsd 0.05 --crs EPSG:32648 --center 105.3,22.1 >/dev/null

export SOAK_DATA="$DATA" SOAK_PORT="$PORT" SOAK_SCENE="$WORK/upload.tif" SOAK_SEEDED="$SEEDED"
export SOAK_LOG="$WORK/serve.log"
export SOAK_TOKENS="{\"admin\":\"$ADMIN\",\"analyst\":\"$ANALYST\",\"operator\":\"$OPERATOR\",\"reviewer\":\"$REVIEWER\"}"
set +e
python3 "$HERE/soak.py"
rc=$?
set -e
if [ "$rc" != 0 ]; then
  echo "--- last lines of the server log ---"
  tail -n 40 "$WORK/serve.log" || true
fi
exit "$rc"
