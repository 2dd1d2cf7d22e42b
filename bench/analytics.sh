#!/usr/bin/env bash
# Gi* benchmark (issue 6): Getis-Ord Gi* of active hotspots over the whole country's 3,321
# communes through the running server, beside PySAL's esda on the same data in the same run.
#
# usage: bench/analytics.sh [N]
# env:
#   VIGIL_BIN, BOUNDARIES   as bench/reports.sh (the data dir bench/work/reports-N is shared with it)
#   ESDA_PYTHON=path        a python with esda, libpysal and shapely (default .venv-test/bin/python,
#                           made by scripts/setup.sh test when missing)
#   GISTAR_QUERY=…          default grid=commune&permutations=$PERMUTATIONS (the whole country for a
#                           national caller)
#   PERMUTATIONS=999 RUNS=5 (Vigil requests) ESDA_RUNS=3 (esda repetitions) WAIT_QUIET=seconds
#
# Vigil: GET /v1/analytics/gistar with a national admin token, the first request after start-up
# (cold: it also builds the communes' queen contiguity, then cached) and the median of RUNS more
# (warm). Each request scans the in-memory hotspot index for the active ones, counts them by the
# commune each was placed in when it was imported, runs Gi* with the permutations and FDR, and
# writes GeoJSON with the communes' outlines.
# esda (bench/esda_gistar.py, time.perf_counter, one process, ESDA_RUNS times): the same polygons
# (the boundaries file the data dir was loaded from) and the same hotspots (the data dir's SQLite),
# (a) counts per commune by point in polygon (shapely STRtree), (a') the same by each hotspot's
# stored commune code (what Vigil does), (b) libpysal Queen weights, (c) esda.G_Local(
# transform="B", star=True) on Vigil's counts; then the two answers are compared (counts,
# neighbours, z to 1e-6, significant units). Prints both, the ratios — Vigil's first request (it
# builds the weights) against (a') + (b) + (c), its warm request against (c) alone — and the last
# bench/reports.sh lines for the same data dir.
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_TAG=analytics
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
N="${1:-1000000}"
PERMUTATIONS="${PERMUTATIONS:-999}"
GISTAR_QUERY="${GISTAR_QUERY:-grid=commune&permutations=$PERMUTATIONS}"
RUNS="${RUNS:-5}"
ESDA_RUNS="${ESDA_RUNS:-3}"
declare -A R

ESDA_PYTHON="${ESDA_PYTHON:-$ROOT/.venv-test/bin/python}"
if [ ! -x "$ESDA_PYTHON" ] && [ "$ESDA_PYTHON" = "$ROOT/.venv-test/bin/python" ]; then
  log "no .venv-test: scripts/setup.sh test"
  "$ROOT/scripts/setup.sh" test >&2
fi
"$ESDA_PYTHON" -c 'import esda, libpysal, shapely' 2>/dev/null \
  || die "$ESDA_PYTHON lacks esda, libpysal or shapely (scripts/setup.sh test installs them)"

reports_dataset "$N"
COMMUNES="$(cat "$DIR/boundaries.path" 2>/dev/null || printf '%s' "$BOUNDARIES")/communes.geojson"
[ -f "$COMMUNES" ] || die "$COMMUNES is missing"
trap stop_vigil EXIT
trap 'exit 130' INT TERM
start_vigil
log "vigil $("$VIGIL_BIN" --version | cut -d' ' -f2), $N hotspots, $(nproc) cores"

wait_quiet vigil
log "vigil: GET /v1/analytics/gistar?$GISTAR_QUERY, $RUNS runs (load average ${R[vigil_load]})"
measure "vigil Gi* (GET /v1/analytics/gistar)" "/v1/analytics/gistar?$GISTAR_QUERY" "$DIR/gistar.json" >"$DIR/gistar.line"
VIGIL_FIRST=$FIRST VIGIL_MEDIAN=$MEDIAN VIGIL_MAX=$MAX
# The same request without permutations: what the scan, counts, z-scores and GeoJSON cost alone.
measure "vigil Gi*, permutations=0" "/v1/analytics/gistar?${GISTAR_QUERY/permutations=$PERMUTATIONS/permutations=0}" >>"$DIR/gistar.line"
VIGIL_P0=$MEDIAN
stop_vigil  # esda gets both cores to itself, as Vigil had

wait_quiet esda
log "esda: $ESDA_RUNS runs of (a) counts, (b) Queen, (c) G_Local (load average ${R[esda_load]})"
"$ESDA_PYTHON" "$HERE/esda_gistar.py" "$DIR" "$COMMUNES" "$DIR/gistar.json" "$ESDA_RUNS" "$PERMUTATIONS" >"$DIR/esda.kv"
kv_into_R e "$DIR/esda.kv"

ok() { if [ "$1" = "$2" ]; then printf 'agree'; else printf 'DIFFER'; fi; }
row() { printf '%-52s %8.3f s\n' "$1" "$2"; }
echo
printf 'Gi* over %s communes, %s active of %s hotspots, %s permutations, %s cores (esda %s, numba %s, n_jobs=1)\n' \
  "${R[e_units]}" "${R[e_active]}" "${R[e_hotspots]}" "$PERMUTATIONS" "$(nproc)" "${R[e_esda]}" "${R[e_numba]}"
row "vigil: first request (+ queen weights, then cached)" "$VIGIL_FIRST"
printf '%-52s %8.3f s  (max %.3f s, %d runs)\n' "vigil: request (counts + Gi* + FDR + GeoJSON)" "$VIGIL_MEDIAN" "$VIGIL_MAX" "$RUNS"
row "vigil: the same with permutations=0" "$VIGIL_P0"
row "esda: read polygons (GeoJSON) and hotspots (SQLite)" "${R[e_t_read]}"
row "esda: (a) counts per commune, point in polygon" "${R[e_t_counts]}"
row "esda: (a') counts by the stored commune code" "${R[e_t_counts_code]}"
row "esda: (b) Queen weights (libpysal)" "${R[e_t_queen]}"
row "esda: (c) G_Local(star=True, transform=B)" "${R[e_t_g_local]}"
printf '%-52s %8.3f s  (median of %s; with (a) instead %.3f s)\n' "esda: (a') + (b) + (c)" "${R[e_t_total_code]}" "${R[e_runs]}" "${R[e_t_total]}"
printf '%-52s %s×\n' "vigil first request vs esda (a') + (b) + (c)" "$(fdiv "${R[e_t_total_code]}" "$VIGIL_FIRST" %.1f)"
printf '%-52s %s×\n' "vigil warm request vs esda (c) alone" "$(fdiv "${R[e_t_g_local]}" "$VIGIL_MEDIAN" %.1f)"
printf 'agreement: counts %s/%s communes equal by code, %s/%s by point in polygon (%s vs %s counted), neighbours %s/%s equal, max |Δz| %s (%s)\n' \
  "${R[e_counts_code_equal]}" "${R[e_units]}" "${R[e_counts_equal]}" "${R[e_units]}" "${R[e_active_counted_vigil]}" "${R[e_active_counted_esda]}" \
  "${R[e_neighbours_equal]}" "${R[e_units]}" "${R[e_max_dz]}" \
  "$(awk -v d="${R[e_max_dz]}" 'BEGIN { print (d + 0 <= 1e-6 ? "within 1e-6" : "OVER 1e-6") }')"
printf 'agreement: significant p<0.05 %s vs %s (%s), FDR 5%% %s vs %s (%s), p_sim<0.05 %s vs %s (own random streams; mean |Δp_sim| %s)\n' \
  "${R[e_sig95_vigil]}" "${R[e_sig95_esda]}" "$(ok "${R[e_sig95_same_units]}" "${R[e_units]}")" \
  "${R[e_fdr_vigil]}" "${R[e_fdr_esda]}" "$(ok "${R[e_fdr_same_units]}" "${R[e_units]}")" \
  "${R[e_psim05_vigil]}" "${R[e_psim05_esda]}" "${R[e_psim_mean_abs_diff]}"
if [ -s "$DIR/reports.last" ]; then
  echo
  echo "KPIs and reports on the same data dir (from $(head -n 1 "$DIR/reports.last")):"
  tail -n +2 "$DIR/reports.last"
fi
