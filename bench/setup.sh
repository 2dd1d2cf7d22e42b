#!/usr/bin/env bash
# Install what the hotspot benchmark needs, idempotently.
#   - Debian: postgresql-15 + postgresql-15-postgis-3, wrk, python3-venv
#   - bench/.venv with pygeoapi (PostgreSQL provider) + psycopg2-binary
# Safe to re-run: skips what is already present.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Pinned peer: pygeoapi 0.20.0 with its PostgreSQL provider, exact dependency set in
# requirements-pygeoapi.txt. (0.21.0 also works but is ~2x slower per request on this
# machine -- 31 vs 18 ms -- so 0.20.0 is the stronger, fairer peer.)
REQS="$HERE/requirements-pygeoapi.txt"

log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
for pkg in postgresql-15 postgresql-15-postgis-3 wrk python3-venv; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    need_apt+=("$pkg")
  fi
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Installing the server for the first time: don't let it create/start a default cluster on
  # 5432 (the bench runs its own throwaway one on a free loopback port).
  if [[ " ${need_apt[*]} " == *" postgresql-15 "* ]] && ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf 2>/dev/null; then
    $SUDO mkdir -p /etc/postgresql-common
    if [ -e /etc/postgresql-common/createcluster.conf ]; then
      $SUDO sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
      grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
        || echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
    else
      echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
else
  log "Debian packages present"
fi

PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { log "missing $PGBIN/initdb"; exit 1; }
[ -e /usr/share/postgresql/15/extension/postgis.control ] || { log "PostGIS extension not installed"; exit 1; }
command -v wrk >/dev/null || { log "wrk not on PATH"; exit 1; }

# Python venv with pygeoapi. Prefer Debian's python3 (python3-venv is installed for it).
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
VENV="$HERE/.venv"
stamp="$VENV/.installed-$(sha256sum "$REQS" | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  log "creating venv $VENV from $(basename "$REQS")"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  "$VENV/bin/python" -c 'import pygeoapi.provider.postgresql, psycopg2, geoalchemy2, gunicorn'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
else
  log "venv present ($VENV)"
fi
log "ok: $("$VENV/bin/pygeoapi" --version 2>/dev/null || echo pygeoapi), $(wrk --version 2>&1 | head -1 | cut -c1-40)"
