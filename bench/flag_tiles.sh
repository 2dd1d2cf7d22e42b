#!/usr/bin/env bash
# Flag vector tiles (issue 16): every tile of z0–zMAX over Viet Nam for a national user, over the
# reports dataset's 20,000 flags (bench/report_fixture.py, spread over the country's communes):
# tiles/s and p50/p99 cold, warm and with 4 clients (bench/tile_bench.py). The web map asks for
# these whenever its flags layer is on.
#
#   bench/flag_tiles.sh [N_HOTSPOTS]      (default 100000; MAX_ZOOM=10, THREADS=4)
#
# The dataset is cached in bench/work/reports-N (bench/lib.sh's reports_dataset, shared with
# bench/reports.sh); everything started is stopped on exit.
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_TAG=flag-tiles
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
N="${1:-100000}"
reports_dataset "$N"
trap stop_vigil EXIT
trap 'exit 130' INT TERM
start_vigil
log "vigil $("$VIGIL_BIN" --version | cut -d' ' -f2), $N hotspots, $(sqlite3 "$DIR/vigil.sqlite" 'SELECT count(*) FROM flags WHERE superseded_at IS NULL' 2>/dev/null || echo '20000') flags, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
python3 "$HERE/tile_bench.py" "http://127.0.0.1:$PORT/collections/flags/tiles/WebMercatorQuad/{z}/{y}/{x}" \
  --token "$TOKEN" --max-zoom "${MAX_ZOOM:-10}" --threads "${THREADS:-4}" --name vigil-flags >"$DIR/flag-tiles.json"
python3 "$HERE/tile_bench.py" --row "$DIR/flag-tiles.json"
