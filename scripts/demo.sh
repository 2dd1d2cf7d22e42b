#!/usr/bin/env bash
# Loads the demo data (once) and serves Vigil with the web map. Called by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR="${DEMO_DIR:-data/demo}"
LISTEN="${DEMO_LISTEN:-127.0.0.1:8080}"
BOUNDARIES="${DEMO_BOUNDARIES:-data/demo-boundaries}"
BIN="${VIGIL_BIN:-target/release/vigil}"
export VIGIL_LOG="${VIGIL_LOG:-warn}"

# Real boundaries built from registry packages (Natural Earth provinces, 2025 communes from
# vietnamadminunits); communes are approximate. See scripts/demo-boundaries/README.md.
scripts/demo-boundaries/build.sh "$BOUNDARIES" >/dev/null

# (A marker, not the SQLite file: with VIGIL_DATABASE_URL set the store is PostgreSQL.)
if [ ! -f "$DEMO_DIR/vigil.sqlite" ] && [ ! -e "$DEMO_DIR/.demo-data-loaded" ]; then
  mkdir -p "$DEMO_DIR"
  echo "demo: loading boundaries and sample hotspots into $DEMO_DIR"
  "$BIN" import boundaries --data-dir "$DEMO_DIR" "$BOUNDARIES/provinces.geojson" --level province
  "$BIN" import boundaries --data-dir "$DEMO_DIR" "$BOUNDARIES/communes.geojson" --level commune
  "$BIN" demo seed-hotspots --data-dir "$DEMO_DIR" --count 3000 --seed 2026
  touch "$DEMO_DIR/.demo-data-loaded"
fi
# The committed sample drone scenes (seeded, synthetic; see sample-imagery/README.md), once.
if [ ! -e "$DEMO_DIR/.sample-imagery-loaded" ]; then
  echo "demo: ingesting the sample drone scenes"
  "$BIN" ingest --data-dir "$DEMO_DIR" sample-imagery/poppy-utm48n-rgba.tif \
    --name "Ảnh mẫu: nương anh túc (UTM 48N, RGBA)" --acquired-at 2026-02-12T08:30:00Z >/dev/null
  "$BIN" ingest --data-dir "$DEMO_DIR" sample-imagery/mixed-vn2000-rgbn.tif \
    --name "Ảnh mẫu: hỗn hợp (VN-2000, RGBN)" --acquired-at 2026-03-05T09:00:00Z >/dev/null
  touch "$DEMO_DIR/.sample-imagery-loaded"
fi

token_for() { # name role args…
  local name="$1"; shift
  if "$BIN" user list --data-dir "$DEMO_DIR" 2>/dev/null | cut -f2 | grep -qx "$name"; then
    "$BIN" user token --data-dir "$DEMO_DIR" --name "$name" | tail -n 1
  else
    "$BIN" user add --data-dir "$DEMO_DIR" --name "$name" "$@" | tail -n 1
  fi
}
admin=$(token_for demo-admin --role admin --national)
analyst=$(token_for demo-analyst-tuyenquang --role analyst --province 08)
operator=$(token_for demo-operator-tuyenquang --role operator --province 08)

cat <<TXT

  Vigil demo — http://$LISTEN/map/
  Mã truy cập quản trị (admin token):          $admin
  Cán bộ phân tích Tuyên Quang (analyst, 08):  $analyst
  Người bay drone Tuyên Quang (operator, 08):  $operator   (tải ảnh bay lên / uploads surveys)
  Ranh giới xã trong bản demo là gần đúng (Voronoi từ tâm xã), không phải ranh giới chính thức.
  Demo commune boundaries are approximate (Voronoi cells of commune centroids), not official.

TXT
VIGIL_LOG="${VIGIL_SERVE_LOG:-info}" exec "$BIN" serve --data-dir "$DEMO_DIR" --listen "$LISTEN"
