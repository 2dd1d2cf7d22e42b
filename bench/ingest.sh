#!/usr/bin/env bash
# End-to-end benchmark of survey ingest and tile serving (issue 3).
#
#   1. ingest: the same seeded RGBN GeoTIFF (8192 x 8192, 0.1 m, EPSG:32648) tiled by
#        vigil ingest --data-dir DIR FILE --name NAME
#      and by
#        gdal2tiles.py --xyz --processes=2 -z MIN-MAX -w none FILE OUT
#      over the same zoom range (vigil's min_zoom-native_zoom), one after the other in the same
#      run; wall time, source megapixels per second and peak memory of each process tree.
#   2. serving: vigil serve on the ingested data dir, wrk -t2 -c4 --latency over random existing
#      tiles (GET /tiles/{survey}/{z}/{x}/{y}.png with a viewer token), against the issue's
#      reference for Martin serving the same tiles from MBTiles (8,666 req/s with 4 connections).
#
# usage: bench/ingest.sh [--quick] [--fresh]
#   --quick    2048 x 2048 image and 5 s wrk runs (a smoke run)
#   --fresh    regenerate the cached scene first
# env:
#   SIZE=8192 GSD=0.1 SEED=7 CRS=EPSG:32648   scene (cached under bench/work/ingest/)
#   PROCESSES=2                               gdal2tiles --processes
#   ZOOM=MIN-MAX                              force the zoom range (default: vigil's, or computed
#                                             by bench/tile_ranges.py when SKIP_VIGIL=1)
#   DURATION=15 WARMUP=3 CONNECTIONS=4 THREADS=2   wrk settings
#   MARTIN_RPS=8666                           reference req/s for the serving goal
#   VIGIL_BIN=path                            default: cargo build --release, then
#                                             ${CARGO_TARGET_DIR:-target}/release/vigil
#   VIGIL_REV=label                           what VIGIL_BIN was built from, for the report
#   SKIP_VIGIL=1 / SKIP_GDAL2TILES=1 / SKIP_SERVE=1   leave a part out
#   KEEP_TILES=1                              keep gdal2tiles' output tree (261 MB at 8192)
#   NO_RECORD=1                               don't append the block to bench/RESULTS.md
#   BENCH_STRICT=1                            exit 3 when a goal is missed
#   WAIT_QUIET=S                              wait up to S s for the load average to drop below
#                                             0.7 before each measured step (shared machine)
# Needs (Debian): gdal-bin python3-gdal wrk time curl. Everything it starts is stopped on exit.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WORK="$HERE/work/ingest"
RUN_DIR="$WORK"

QUICK=0
FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --fresh) FRESH=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then SIZE="${SIZE:-2048}"; DURATION="${DURATION:-5}"; WARMUP="${WARMUP:-1}"; fi
SIZE="${SIZE:-8192}"
GSD="${GSD:-0.1}"
SEED="${SEED:-7}"
CRS="${CRS:-EPSG:32648}"
PROCESSES="${PROCESSES:-2}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-4}"
THREADS="${THREADS:-2}"
MARTIN_RPS="${MARTIN_RPS:-8666}"
SKIP_VIGIL="${SKIP_VIGIL:-0}"
SKIP_GDAL2TILES="${SKIP_GDAL2TILES:-0}"
SKIP_SERVE="${SKIP_SERVE:-0}"
[ "$SKIP_VIGIL" != 1 ] || SKIP_SERVE=1
PY=/usr/bin/python3   # Debian's, for GDAL's bindings (python3 on PATH may be another one)

BENCH_TAG=ingest-bench
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# ---------------------------------------------------------------- cleanup
PIDS=()
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
  [ $rc = 0 ] || log "exit $rc (servers stopped; logs in $RUN_DIR)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_200() {  # wait_200 URL DEADLINE_S PID START_NS -> ms since START_NS at the first 200
  local url="$1" deadline_s="$2" pid="$3" start="$4" code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null || true)
    [ "$code" = 200 ] && { ms_since "$start"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    [ $(( ( $(now_ns) - start ) / 1000000000 )) -lt "$deadline_s" ] || return 1
    sleep 0.01
  done
}

declare -A R

# ---------------------------------------------------------------- tools
missing=()
G2T=""
if [ "$SKIP_GDAL2TILES" != 1 ]; then
  G2T=$(command -v gdal2tiles.py || command -v gdal2tiles || true)
  [ -n "$G2T" ] || missing+=("gdal2tiles.py (apt-get install gdal-bin python3-gdal)")
fi
"$PY" -c 'from osgeo import gdal' 2>/dev/null || missing+=("GDAL Python bindings for $PY (apt-get install python3-gdal)")
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (apt-get install time)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
[ "$SKIP_SERVE" = 1 ] || command -v wrk >/dev/null || missing+=("wrk (apt-get install wrk)")
[ "${#missing[@]}" = 0 ] || die "missing: ${missing[*]}"

VIGIL=""
if [ -n "${VIGIL_BIN:-}" ]; then
  VIGIL="$VIGIL_BIN"
else
  log "cargo build --release (vigil)"
  fg timeout 3600 cargo build --release --quiet --bin vigil --manifest-path "$ROOT/Cargo.toml" || die "cargo build --release failed"
  VIGIL="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
fi
[ -x "$VIGIL" ] || die "vigil binary not found at $VIGIL"
if [ "$SKIP_VIGIL" != 1 ] && ! "$VIGIL" ingest --help >/dev/null 2>&1; then
  die "$VIGIL has no 'ingest' subcommand (issue 3 not in this build?); SKIP_VIGIL=1 times gdal2tiles alone"
fi

# ---------------------------------------------------------------- scene
SCENE_DIR="$WORK/scene-s${SEED}-${SIZE}px-${GSD}m-$(echo "$CRS" | tr -c 'A-Za-z0-9\n' '_')"
TIF="$SCENE_DIR/scene.tif"
if [ "$FRESH" = 1 ]; then log "--fresh: removing $SCENE_DIR"; rm -rf "$SCENE_DIR"; fi
if [ ! -s "$TIF" ]; then
  rm -rf "$SCENE_DIR.tmp"; mkdir -p "$SCENE_DIR.tmp"
  log "generating the ${SIZE}x${SIZE} RGBN scene (seed $SEED, ${GSD} m, $CRS)"
  fg timeout 1800 "$VIGIL" sample-imagery --out "$SCENE_DIR.tmp" --name scene --seed "$SEED" --size "$SIZE" \
    --gsd "$GSD" --layout rgbn --crs "$CRS" >"$SCENE_DIR.tmp/generate.log" 2>&1 \
    || { tail -20 "$SCENE_DIR.tmp/generate.log" >&2; die "vigil sample-imagery failed"; }
  rm -rf "$SCENE_DIR"; mv "$SCENE_DIR.tmp" "$SCENE_DIR"
fi
RUN_DIR="$WORK/run-${SIZE}"
mkdir -p "$RUN_DIR"
"$PY" "$HERE/tile_ranges.py" "$TIF" >"$RUN_DIR/ranges.json" || die "bench/tile_ranges.py failed on $TIF"
read -r W H CALC_NATIVE CALC_MIN CALC_TILES LAT < <("$PY" -c '
import json, sys; d = json.load(open(sys.argv[1]))
print(d["width"], d["height"], d["native_zoom"], d["min_zoom"], d["tiles"], "%.3f" % d["center"][1])' "$RUN_DIR/ranges.json")
MPX=$(awk -v w="$W" -v h="$H" 'BEGIN{printf "%.3f", w * h / 1e6}')
R[scene]="${W}x${H} px, 4 bands (RGBN, 8-bit, nodata 0), ${GSD} m, $CRS, centre lat $LAT, $(du -h "$TIF" | cut -f1) GeoTIFF (deflate, 256x256 blocks)"
log "scene: $TIF (${R[scene]}); ${MPX} Mpx; computed zooms ${CALC_MIN}-${CALC_NATIVE} (${CALC_TILES} tiles in range)"

# measure NAME CMD...: run under bench/treemem.py and /usr/bin/time -v; R[NAME_*] filled
measure() {
  local name="$1"; shift
  cat "$TIF" >/dev/null   # same page-cache state for every tool
  wait_quiet "$name"
  log "$name: $*"
  local rc=0
  fg "$PY" "$HERE/treemem.py" "$RUN_DIR/$name.mem" -- /usr/bin/time -v -o "$RUN_DIR/$name.time" "$@" \
    >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err" || rc=$?
  if [ $rc != 0 ]; then tail -30 "$RUN_DIR/$name.err" >&2; die "$name exited $rc (logs: $RUN_DIR/$name.out, .err)"; fi
  kv_into_R "$name" "$RUN_DIR/$name.mem"
  R[${name}_time_rss_kb]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$RUN_DIR/$name.time")
  R[${name}_cpu]=$(awk -F': ' '/Percent of CPU/{print $2}' "$RUN_DIR/$name.time")
  R[${name}_mpxs]=$(fdiv "$MPX" "${R[${name}_wall_s]}")
  log "$name: ${R[${name}_wall_s]} s wall, ${R[${name}_mpxs]} Mpx/s, CPU ${R[${name}_cpu]}, peak tree RSS $(kb_to_mib "${R[${name}_peak_rss_sum_kb]}") MiB (PSS $(kb_to_mib "${R[${name}_peak_pss_sum_kb]}") MiB, largest process $(kb_to_mib "${R[${name}_peak_rss_max_kb]}") MiB)"
}

# ---------------------------------------------------------------- vigil ingest
ZMIN="" ZMAX=""
DD="$RUN_DIR/vigil-data"
SURVEY=""
if [ "$SKIP_VIGIL" != 1 ]; then
  rm -rf "$DD"; mkdir -p "$DD"
  measure vigil "$VIGIL" ingest --data-dir "$DD" "$TIF" --name "bench-${SIZE}"
  # the last JSON line on stdout is the file's result
  line=$(grep '^{' "$RUN_DIR/vigil.out" | tail -n 1 || true)
  [ -n "$line" ] || { cat "$RUN_DIR/vigil.out" >&2; die "vigil ingest printed no JSON line on stdout"; }
  read -r SURVEY STATE V_TILES V_NATIVE V_MIN V_SECONDS V_MPX V_ANALYSIS V_STAGES < <("$PY" -c '
import json, sys; d = json.loads(sys.argv[1])
st = ",".join("%s=%.2fs" % (s[0], s[1]) if isinstance(s, list) else "%s=%.2fs" % (s.get("name"), s.get("seconds") or 0)
              for s in d.get("stages") or [])
print(d.get("survey") or d.get("id"), d.get("state"), d.get("tiles"), d.get("native_zoom"), d.get("min_zoom"),
      d.get("seconds"), d.get("megapixels"), d.get("analysis_tiles"), st or "-")' "$line") \
    || die "cannot parse vigil's JSON line: $line"
  [ "$STATE" = ready ] || die "vigil ingest ended in state '$STATE': $line"
  R[vigil_tiles]=$V_TILES; R[vigil_native]=$V_NATIVE; R[vigil_min]=$V_MIN
  R[vigil_self_seconds]=$V_SECONDS; R[vigil_self_mpx]=$V_MPX; R[vigil_analysis]=$V_ANALYSIS; R[vigil_stages]=${V_STAGES//,/, }
  ZMIN=$V_MIN; ZMAX=$V_NATIVE
  [ "$V_NATIVE" = "$CALC_NATIVE" ] && [ "$V_MIN" = "$CALC_MIN" ] \
    || log "NOTE: vigil's zooms $V_MIN-$V_NATIVE differ from bench/tile_ranges.py's $CALC_MIN-$CALC_NATIVE"
  log "vigil: survey $SURVEY, zooms $V_MIN-$V_NATIVE, $V_TILES tiles, own timer ${V_SECONDS} s for ${V_MPX} Mpx"
fi
if [ -n "${ZOOM:-}" ]; then ZMIN=${ZOOM%-*}; ZMAX=${ZOOM#*-}; fi
if [ -z "$ZMIN" ]; then ZMIN=$CALC_MIN; ZMAX=$CALC_NATIVE; fi
R[zoom]="$ZMIN-$ZMAX"

# ---------------------------------------------------------------- gdal2tiles
if [ "$SKIP_GDAL2TILES" != 1 ]; then
  G2T_OUT="$RUN_DIR/gdal2tiles"
  rm -rf "$G2T_OUT"
  R[g2t_version]=$(gdalinfo --version | cut -d, -f1)
  measure gdal2tiles "$G2T" --xyz "--processes=$PROCESSES" -z "$ZMIN-$ZMAX" -w none "$TIF" "$G2T_OUT"
  R[gdal2tiles_tiles]=$(find "$G2T_OUT" -name '*.png' | wc -l)
  R[gdal2tiles_bytes]=$(du -sb "$G2T_OUT" | cut -f1)
  log "gdal2tiles: ${R[gdal2tiles_tiles]} tiles, $(( R[gdal2tiles_bytes] / 1048576 )) MiB"
  [ "${KEEP_TILES:-0}" = 1 ] || rm -rf "$G2T_OUT"
fi

# ---------------------------------------------------------------- serving
if [ "$SKIP_SERVE" != 1 ]; then
  TOKEN=$(timeout 60 "$VIGIL" user add --data-dir "$DD" --name bench --role viewer --national 2>>"$RUN_DIR/vigil-user.log" | tail -n 1)
  [[ "$TOKEN" == vgl_* ]] || die "vigil user add did not print a vgl_ token (got '$TOKEN')"
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  log "starting vigil serve on 127.0.0.1:$PORT"
  t=$(now_ns)
  "$VIGIL" serve --data-dir "$DD" --listen "127.0.0.1:$PORT" >"$RUN_DIR/vigil-serve.log" 2>&1 &
  PIDS+=($!)
  SERVE_PID=$!
  R[serve_startup_ms]=$(wait_200 "$BASE/healthz" 120 "$SERVE_PID" "$t") \
    || { tail -30 "$RUN_DIR/vigil-serve.log" >&2; die "vigil did not answer 200 on /healthz within 120 s"; }

  # The tile list: the display tiles in the store (TILES_DIR/{survey}/{z}/{x}/{y}.png), else every
  # tile of the computed ranges; either way only those answering 200 over HTTP are kept.
  TILES="$RUN_DIR/tiles.txt"
  STORE="$DD/tiles/$SURVEY"
  if [ -d "$STORE" ]; then
    (cd "$STORE" && find . -regextype posix-extended -regex '\./[0-9]+/[0-9]+/[0-9]+\.(png|webp)' -printf '%P\n') \
      | sed "s|^|/tiles/$SURVEY/|" | sort >"$TILES.cand"
    R[tile_list]="the tile files in $STORE"
  else
    "$PY" "$HERE/tile_ranges.py" "$TIF" --zoom "$ZMIN-$ZMAX" --list "/tiles/$SURVEY" >"$TILES.cand"
    R[tile_list]="the computed tile ranges (no tile directory at $STORE)"
  fi
  [ -s "$TILES.cand" ] || die "no candidate tiles found for survey $SURVEY"
  log "probing $(wc -l <"$TILES.cand") candidate tiles from ${R[tile_list]}"
  sed "s|^|url = \"$BASE|; s|$|\"\noutput = \"/dev/null\"|" "$TILES.cand" >"$RUN_DIR/probe.curl"
  curl -s --max-time 600 -H "Authorization: Bearer $TOKEN" -K "$RUN_DIR/probe.curl" \
    -w '%{http_code}\t%{content_type}\t%{size_download}\t%{url_effective}\n' >"$RUN_DIR/probe.txt" || true
  awk -F'\t' -v b="$BASE" '$1 == 200 { sub(b, "", $4); print $4 }' "$RUN_DIR/probe.txt" >"$TILES"
  R[tiles_listed]=$(wc -l <"$TILES")
  R[tiles_probe_other]=$(awk -F'\t' '$1 != 200' "$RUN_DIR/probe.txt" | wc -l)
  R[tile_mean_bytes]=$(awk -F'\t' '$1 == 200 { s += $3; n++ } END { if (n) printf "%d", s / n }' "$RUN_DIR/probe.txt")
  [ "${R[tiles_listed]}" -gt 0 ] || { head -5 "$RUN_DIR/probe.txt" >&2; die "no tile answered 200 (see $RUN_DIR/probe.txt)"; }
  [ "${R[tiles_probe_other]}" = 0 ] || log "NOTE: ${R[tiles_probe_other]} candidate tiles did not answer 200: $(awk -F'\t' '$1 != 200 {print $1}' "$RUN_DIR/probe.txt" | sort | uniq -c | tr -s ' \n' ' ')"
  log "${R[tiles_listed]} tiles answer 200 ($(awk -F'\t' '$1 == 200 {print $2}' "$RUN_DIR/probe.txt" | sort | uniq -c | tr -s ' \n' ' '), mean ${R[tile_mean_bytes]} B)"

  common=(-t "$THREADS" -c "$CONNECTIONS" --timeout 10s -s "$HERE/wrk_tiles.lua")
  log "serve: warm-up ${WARMUP}s"
  TILE_FILE="$TILES" AUTH_TOKEN="$TOKEN" TILE_SEED=2 WRK_RESULT_FILE="$RUN_DIR/serve-warmup.txt" \
    fg timeout $((WARMUP + 30)) wrk "${common[@]}" -d "${WARMUP}s" "$BASE" >/dev/null
  wait_quiet serve
  log "serve: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency"
  TILE_FILE="$TILES" AUTH_TOKEN="$TOKEN" TILE_SEED=1 WRK_RESULT_FILE="$RUN_DIR/serve-wrk.txt" \
    fg timeout $((DURATION + 60)) wrk "${common[@]}" -d "${DURATION}s" --latency "$BASE" >"$RUN_DIR/serve-wrk.out"
  cat "$RUN_DIR/serve-wrk.out" >&2
  kv_into_R serve "$RUN_DIR/serve-wrk.txt"
  R[serve_errors]=$(( R[serve_err_connect] + R[serve_err_read] + R[serve_err_write] + R[serve_err_status] + R[serve_err_timeout] ))
  [ "${R[serve_err_status]}" = 0 ] || die "serve: ${R[serve_err_status]} non-2xx/3xx responses under load (see $RUN_DIR/serve-wrk.out)"
  [ "${R[serve_requests]}" -gt 0 ] || die "serve: no completed requests"
  R[serve_rss_mb]=$(ps -o rss= -p "$SERVE_PID" 2>/dev/null | awk '{printf "%d", $1/1024}')
  kill -TERM "$SERVE_PID" 2>/dev/null || true
fi

# ---------------------------------------------------------------- report
STAMP=$(date -u +%Y-%m-%dT%H:%MZ)
if [ -n "${VIGIL_REV:-}" ]; then REV="vigil $VIGIL_REV"
elif [ -n "${VIGIL_BIN:-}" ]; then REV="vigil from VIGIL_BIN"
else
  REV="vigil $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || REV="$REV+uncommitted"
fi
row() {  # row TOOL LABEL TILES
  local t="$1"
  printf '| %-34s | %7s | %7s | %5s | %12s | %12s | %16s | %6s |\n' "$2" "${R[${t}_wall_s]:--}" "${R[${t}_mpxs]:--}" \
    "${R[${t}_cpu]:--}" "$(kb_to_mib "${R[${t}_peak_rss_sum_kb]:-0}")" "$(kb_to_mib "${R[${t}_peak_pss_sum_kb]:-0}")" \
    "$(kb_to_mib "${R[${t}_time_rss_kb]:-0}")" "${3:--}"
}
REPORT="$RUN_DIR/results.md"
{
  echo "### Survey ingest and tile serving, ${W}x${H} RGBN at ${GSD} m$([ "$QUICK" = 1 ] && echo ' (--quick)') — $STAMP"
  echo
  echo "\`bench/ingest.sh$([ "$QUICK" = 1 ] && echo ' --quick')\`, $REV (\`${VIGIL/#$ROOT\//}\`); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')."
  echo "Scene: ${R[scene]}; ${MPX} source Mpx. Zooms ${R[zoom]} for both tools."
  echo
  printf '| %-34s |  wall s |   Mpx/s |   CPU | tree RSS MiB | tree PSS MiB | largest proc MiB |  tiles |\n' "ingest"
  echo "|------------------------------------|--------:|--------:|------:|-------------:|-------------:|-----------------:|-------:|"
  [ "$SKIP_VIGIL" = 1 ] || row vigil "vigil ingest" "${R[vigil_tiles]}"
  [ "$SKIP_GDAL2TILES" = 1 ] || row gdal2tiles "gdal2tiles --xyz --processes=$PROCESSES" "${R[gdal2tiles_tiles]}"
  echo
  echo "Peak memory is sampled every 0.1 s over the whole process tree (bench/treemem.py): RSS summed over the processes, PSS summed (shared pages split, what the tree really holds), and the largest single process (/usr/bin/time -v)."
  [ "$SKIP_GDAL2TILES" = 1 ] || echo "gdal2tiles: ${R[g2t_version]}, default average resampling, PNG tiles incl. fully transparent ones in range, $(( ${R[gdal2tiles_bytes]:-0} / 1048576 )) MiB written, up to ${R[gdal2tiles_peak_procs]} processes (incl. /usr/bin/time)."
  [ "$SKIP_VIGIL" = 1 ] || echo "vigil: its own timer ${R[vigil_self_seconds]} s for ${R[vigil_self_mpx]} Mpx (stages: ${R[vigil_stages]}); ${R[vigil_tiles]} display tiles (none wholly outside the footprint; bench/tile_ranges.py counts ${CALC_TILES} in the range) plus ${R[vigil_analysis]} analysis tiles at the native zoom, $(( $(du -sb "$DD/tiles" | cut -f1) / 1048576 )) MiB in the tile store."
  echo "1-min load average before each run: vigil ${R[vigil_load]:--}, gdal2tiles ${R[gdal2tiles_load]:--}, serve ${R[serve_load]:--}"
  if [ "$SKIP_SERVE" != 1 ]; then
    echo
    echo "| tile serving                   |      req/s |  p50 ms  |  p99 ms  | errors | tiles in list |"
    echo "|--------------------------------|-----------:|---------:|---------:|-------:|--------------:|"
    printf '| %-30s | %10s | %8s | %8s | %6s | %13s |\n' "vigil serve" "${R[serve_rps]}" "${R[serve_p50_ms]}" "${R[serve_p99_ms]}" "${R[serve_errors]}" "${R[tiles_listed]}"
    printf '| %-30s | %10s | %8s | %8s | %6s | %13s |\n' "Martin, MBTiles (issue figure)" "$MARTIN_RPS" "-" "-" "-" "-"
    echo
    echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), loopback, uniform random draws from ${R[tiles_listed]} tiles (${R[tile_list]}), mean ${R[tile_mean_bytes]} B, viewer token; p90 ${R[serve_p90_ms]} ms, p99.9 ${R[serve_p999_ms]} ms, max ${R[serve_max_ms]} ms; vigil start-up ${R[serve_startup_ms]} ms, RSS after load ${R[serve_rss_mb]:-?} MiB."
    echo "Martin: no prebuilt binary can be had from the registries this machine reaches (npm, PyPI, Debian) and compiling it would take the shared cores, so its row is the issue's measured figure (same 4 connections), not a same-run measurement."
  fi
} >"$REPORT"

GOAL_MISS=0
goals=()
if [ "$SKIP_VIGIL" != 1 ] && [ "$SKIP_GDAL2TILES" != 1 ]; then
  ratio=$(fdiv "${R[vigil_mpxs]}" "${R[gdal2tiles_mpxs]}" "%.1f")
  if awk -v r="$ratio" 'BEGIN{exit !(r >= 10)}'; then v=met; else v=missed; GOAL_MISS=1; fi
  goals+=("Mpx/s ${ratio}× gdal2tiles (≥ 10×): $v")
fi
if [ "$SKIP_VIGIL" != 1 ]; then
  peak=$(kb_to_mib "${R[vigil_peak_rss_sum_kb]}")
  if [ "$peak" -lt 2048 ]; then v=met; else v=missed; GOAL_MISS=1; fi
  goals+=("vigil peak RSS ${peak} MiB (< 2048 MiB): $v")
fi
if [ "$SKIP_SERVE" != 1 ]; then
  if awk -v a="${R[serve_rps]}" -v b="$MARTIN_RPS" 'BEGIN{exit !(a >= b)}'; then v=met; else v=missed; GOAL_MISS=1; fi
  goals+=("tile req/s ${R[serve_rps]} vs Martin's ${MARTIN_RPS} (≥): $v")
  if awk -v p="${R[serve_p99_ms]}" 'BEGIN{exit !(p < 5)}'; then v=met; else v=missed; GOAL_MISS=1; fi
  goals+=("tile p99 ${R[serve_p99_ms]} ms (< 5 ms): $v")
fi
if [ "${#goals[@]}" -gt 0 ]; then
  { echo; echo "Goals: $(IFS=';'; echo "${goals[*]}" | sed 's/;/; /g')."; } >>"$REPORT"
fi
echo >&2
cat "$REPORT"
if [ "${NO_RECORD:-0}" != 1 ]; then
  { echo; cat "$REPORT"; } >>"$HERE/RESULTS.md"
  log "report saved to $REPORT and appended to bench/RESULTS.md"
else
  log "report saved to $REPORT"
fi
if [ "$GOAL_MISS" = 1 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then exit 3; fi
