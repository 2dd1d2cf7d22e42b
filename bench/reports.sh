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
# Set-up (boundaries, N seeded hotspots, bench/report_fixture.py history; reports_dataset in
# bench/lib.sh, shared with bench/analytics.sh) is cached in bench/work/reports-N. Everything it
# starts is stopped on exit.
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_TAG=reports
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
N="${1:-1000000}"
PROVINCE="${PROVINCE:-08}"
PERIOD="${PERIOD:-2026}"
RUNS="${RUNS:-5}"

reports_dataset "$N"
trap stop_vigil EXIT
trap 'exit 130' INT TERM
start_vigil
# The lines are also kept in DIR/reports.last, which bench/analytics.sh prints in its summary.
MEASURE_LOG="$DIR/reports.last"
printf 'bench/reports.sh, %s, %s UTC, load average %s\n' "$("$VIGIL_BIN" --version)" "$(date -u +%FT%H:%M)" \
  "$(cut -d' ' -f1 /proc/loadavg)" >"$MEASURE_LOG"
log "vigil $("$VIGIL_BIN" --version | cut -d' ' -f2), $N hotspots, $(nproc) cores"
measure "KPIs, whole country ($PERIOD)" "/v1/reports/kpis?period=$PERIOD"
measure "KPIs, province $PROVINCE ($PERIOD)" "/v1/reports/kpis?period=$PERIOD&province=$PROVINCE"
measure "choropleth, province $PROVINCE" "/v1/reports/communes?period=$PERIOD&province=$PROVINCE"
measure "yearly report PDF, province $PROVINCE" "/v1/reports/report.pdf?period=$PERIOD&province=$PROVINCE"
measure "yearly report XLSX, province $PROVINCE" "/v1/reports/report.xlsx?period=$PERIOD&province=$PROVINCE"
measure "yearly report PDF, whole country" "/v1/reports/report.pdf?period=$PERIOD"
